import type { ComboboxOption } from '@grafana/ui';
import { getTemplateSrv } from '@grafana/runtime';
import type { ReportDef } from '../catalog';

export function reportOptions(reports: ReportDef[]): Array<ComboboxOption<string>> {
  return reports.map((r) => ({ label: r.name, value: r.id, description: `${r.section} · ${r.id}: ${r.description}` }));
}

export function metricOptions(report: ReportDef | undefined): Array<ComboboxOption<string>> {
  return (report?.metrics ?? []).map((m) => ({ label: m.name, value: m.id, description: m.definition }));
}

/** Dashboard variables as options, so a filter can follow `$group` etc. */
export function variableOptions(): Array<ComboboxOption<string>> {
  try {
    return getTemplateSrv()
      .getVariables()
      .map((v) => ({ label: `$${v.name}`, value: `$${v.name}`, description: 'dashboard variable' }));
  } catch {
    return [];
  }
}

/** Selected values shown even when they are not among the loaded options (variables, ids typed in). */
export function withSelected(options: Array<ComboboxOption<string>>, selected: string[]): Array<ComboboxOption<string>> {
  const known = new Set(options.map((o) => o.value));
  return [...options, ...selected.filter((s) => !known.has(s)).map((s) => ({ label: s, value: s }))];
}
