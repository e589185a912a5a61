/** The exporter's catalog, bundled: editors show Chinese names without asking the exporter. */
import { REPORTS, SATISFACTION_LABELS, findReport, type MetricDef, type ReportDef } from '@cs-data-ops/exporter/catalog';

export { REPORTS, SATISFACTION_LABELS, findReport };
export type { MetricDef, ReportDef };

/** Reports a `report` query can ask for (live_* and sessions have their own query types). */
export const T1_REPORTS = REPORTS.filter((r) => r.grain !== 'live' && r.id !== 'sessions');
export const LIVE_REPORTS = REPORTS.filter((r) => r.grain === 'live');

/** Whether a report's rows carry a date (and hour) that can become a time axis. */
export function canBeTimeSeries(r: ReportDef): boolean {
  return r.grain === 'day' || r.grain === 'hour';
}
