import { DEFAULT_QUERY, type CCQuery, type CCVariableQuery, type LiveReport, type SessionPart } from './types';

const LIVE: LiveReport[] = ['live_overview', 'live_groups', 'live_agents'];
const PARTS: SessionPart[] = ['summary', 'legs', 'parts', 'transcript'];

// Dashboards saved by earlier versions hold strings where lists are expected now ('$group', 'g1,g2').
function list(v: unknown): string[] {
  if (v === undefined || v === null || v === '') return [];
  if (Array.isArray(v)) return v.filter((x) => typeof x === 'string' && x !== '');
  if (typeof v === 'string') return [v];
  return [];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function stringRecord(v: unknown): Record<string, string> | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined && x !== null && x !== '') out[k] = String(x);
  return Object.keys(out).length ? out : undefined;
}

/**
 * Brings any saved query to the current model. Pure: dashboards keep their
 * JSON as saved and every load goes through here, so older shapes
 * ({report, metric: 'inflow'}, no queryType, string filters) keep working.
 */
export function migrateQuery(raw: Partial<CCQuery> & Record<string, unknown>): CCQuery {
  const q = raw ?? {};
  const common = {
    refId: typeof q.refId === 'string' ? q.refId : 'A',
    ...(q.hide !== undefined ? { hide: q.hide } : {}),
    ...(q.datasource !== undefined ? { datasource: q.datasource } : {}),
    ...(q.key !== undefined ? { key: q.key } : {}),
    ...(str(q.tenant) ? { tenant: str(q.tenant) } : {}),
  };
  const metrics = [...list(q.metrics), ...list(q.metric)];
  const report = str(q.report);
  let type = str(q.queryType);
  if (!type) {
    if (str(q.sessionId)) type = 'session';
    else if (report === 'sessions') type = 'sessions';
    else if (report && (LIVE as string[]).includes(report)) type = 'live';
    else type = 'report';
  }
  switch (type) {
    case 'live':
      return {
        ...common,
        queryType: 'live',
        report: report && (LIVE as string[]).includes(report) ? (report as LiveReport) : 'live_overview',
        metrics,
        groups: list(q.groups),
        ...(str(q.name) ? { name: str(q.name) } : {}),
      };
    case 'sessions': {
      // A dashboard variable (`${revisit}`) stays as written: query() interpolates it. Dropping it here made
      // the panel ignore 24小时内复访 while its download applied it.
      const revisit =
        q.revisit === true || q.revisit === 'yes'
          ? 'yes'
          : q.revisit === false || q.revisit === 'no'
            ? 'no'
            : typeof q.revisit === 'string' && q.revisit.includes('$')
              ? (q.revisit as `${string}$${string}`)
              : '';
      const limit = Number(q.limit);
      return {
        ...common,
        queryType: 'sessions',
        groups: list(q.groups),
        agents: list(q.agents),
        ...(str(q.userId) ? { userId: str(q.userId) } : {}),
        ...(list(q.satisfaction).length || Array.isArray(q.satisfaction)
          ? { satisfaction: (Array.isArray(q.satisfaction) ? q.satisfaction : list(q.satisfaction)).map(String) }
          : {}),
        ...(str(q.category) ? { category: str(q.category) } : {}),
        revisit,
        ...(str(q.remark) ? { remark: str(q.remark) } : {}),
        ...(Number.isInteger(limit) && limit > 0 ? { limit } : {}),
      };
    }
    case 'session':
      return {
        ...common,
        queryType: 'session',
        sessionId: str(q.sessionId) ?? '',
        part: PARTS.includes(q.part as SessionPart) ? (q.part as SessionPart) : 'summary',
      };
    default: {
      const filters = stringRecord(q.filters);
      return {
        ...common,
        queryType: 'report',
        report: report && report !== 'sessions' && !(LIVE as string[]).includes(report) ? report : DEFAULT_QUERY.report,
        metrics,
        groups: list(q.groups),
        agents: list(q.agents),
        ...(filters ? { filters } : {}),
        format: q.format === 'timeseries' ? 'timeseries' : 'table',
      };
    }
  }
}

/** Whether a query is complete enough to send (Grafana skips the others). */
export function filterQuery(q: CCQuery): boolean {
  if (q.hide) return false;
  if (q.queryType === 'session') return q.sessionId.trim() !== '';
  if (q.queryType === 'report' || q.queryType === 'live') return !!q.report;
  return true;
}

/**
 * A variable query as Grafana hands it over: the model `{kind, tenant?}`, a
 * plain string (the kind) from older dashboards, or '' for a new variable.
 */
export function migrateVariableQuery(raw: unknown): CCVariableQuery {
  if (typeof raw === 'string' || raw === undefined || raw === null)
    return { kind: ((raw ?? '').trim() || 'groups') as CCVariableQuery['kind'] };
  const r = raw as Record<string, unknown>;
  const tenant = str(r.tenant);
  return { kind: (str(r.kind) ?? 'groups') as CCVariableQuery['kind'], ...(tenant ? { tenant } : {}) };
}
