import type { GeneratedDashboard } from '../src/index.js';

export interface Target {
  dashboard: string;
  panel: string;
  target: Record<string, unknown> & { refId: string; datasource?: { type?: string; uid?: string } };
}

type AnyPanel = { title?: string; targets?: Target['target'][]; panels?: AnyPanel[] };

/** Every query of every panel (rows included), with where it sits for readable failures. */
export function targets(dashboards: GeneratedDashboard[]): Target[] {
  const out: Target[] = [];
  for (const d of dashboards) {
    const visit = (p: AnyPanel) => {
      for (const t of p.targets ?? []) out.push({ dashboard: d.uid, panel: p.title ?? '', target: t });
      for (const inner of p.panels ?? []) visit(inner);
    };
    for (const p of (d.dashboard.panels ?? []) as AnyPanel[]) visit(p);
  }
  return out;
}

export const isPlugin = (t: Target) => t.target.datasource?.uid === 'cs-exporter';
export const isProm = (t: Target) => t.target.datasource?.uid === 'prometheus';
