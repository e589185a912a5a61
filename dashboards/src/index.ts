import { monitoringDashboards } from './monitoring.js';
import { reportDashboards } from './reports.js';
import type { GeneratedDashboard } from './common.js';

export type { GeneratedDashboard } from './common.js';
export { UID } from './common.js';

/** Where the committed JSON lives, relative to the dashboards workspace: generated/<folder>/<uid>.json. */
export const GENERATED_DIR = 'generated';

export function allDashboards(): GeneratedDashboard[] {
  return [...monitoringDashboards(), ...reportDashboards()];
}

/** The file content exactly as committed: stable key order from the builders, 2-space indent, final newline. */
export function render(d: GeneratedDashboard): string {
  return JSON.stringify(d.dashboard, null, 2) + '\n';
}

export function relativePath(d: GeneratedDashboard): string {
  return `${GENERATED_DIR}/${d.folder}/${d.uid}.json`;
}
