import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as cog from '@grafana/grafana-foundation-sdk/cog';
import { CS_DATASOURCE } from './queries.js';

export type Folder = '监控' | '报表';

/** Dashboard uids, stable and readable: links, alerts and bookmarks rely on them. */
export const UID = {
  liveOverview: 'cs-live-overview',
  liveAgents: 'cs-live-agents',
  liveGroups: 'cs-live-groups',
  reportOverview: 'cs-report-overview',
  reportOnline: 'cs-report-online',
  reportWorkbench: 'cs-report-workbench',
  reportTickets: 'cs-report-tickets',
  sessions: 'cs-sessions',
  sessionDetail: 'cs-session-detail',
  reportStaffing: 'cs-report-staffing',
} as const;

export const TAG = { live: 'cs-监控', report: 'cs-报表' } as const;

export interface GeneratedDashboard {
  folder: Folder;
  uid: string;
  dashboard: dashboard.Dashboard;
}

// ---------------------------------------------------------------- variables

/** A text box rather than a query: the tenant must be settable from a shared link even before it has data. */
export function tenantVariable() {
  return new dashboard.TextBoxVariableBuilder('tenant')
    .label('租户')
    .defaultValue('default')
    .current({ text: 'default', value: 'default' });
}

/**
 * All as a blank, for a single-value list whose links use `percentencode` (24小时内复访): Grafana
 * percent-encodes a custom all value in that format (CustomAllValue.formatter, grafana/scenes
 * packages/scenes/src/variables/variants/MultiValueVariable.ts), so the link carries `%20`, which the
 * exporter reads as "no filter". The plugin never sees it: it drops a variable whose value is $__all.
 */
export const ALL_BLANK = ' ';

/**
 * All for a multi-value list of the 报表, whose links write it with `customqueryparam` (one parameter
 * per value, see exportFilter). CustomAllValue.formatter (same file) applies none of its formats to a
 * custom all value but text, percentencode and queryparam: the value goes into the link as it stands.
 * So it is the download's own blank parameter, `group=`, which the exporter reads as "no filter".
 * Without a custom all value Grafana would list every option it knows, and a download would leave out
 * groups, agents or unrated sessions the list does not name. Prometheus needs the enumeration instead
 * (a regex), so 监控 keeps Grafana's default.
 */
export const allAsBlankParam = (param: string) => `${param}=`;

/** The exporter's parameter for each multi-value list of the 报表 (one value per parameter). */
export const EXPORT_PARAM = { group: 'group', agent: 'agent', satisfaction: 'satisfaction' } as const;

function pluginVariable(name: string, label: string, kind: 'groups' | 'agents' | 'categories' | 'ticket_types', section: Folder) {
  const v = new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(CS_DATASOURCE)
    .query({ kind, tenant: '${tenant}' })
    .refresh(dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .current({ text: ['All'], value: ['$__all'] });
  return section === '报表' ? v.allValue(allAsBlankParam(exportParamOf(name))) : v;
}

function exportParamOf(variable: string): string {
  const p = EXPORT_PARAM[variable as keyof typeof EXPORT_PARAM];
  if (!p) throw new Error(`no export parameter for the 报表 list $${variable}`);
  return p;
}

export const groupVariable = (section: Folder) => pluginVariable('group', '技能组', 'groups', section);
export const agentVariable = (section: Folder) => pluginVariable('agent', '客服', 'agents', section);

export function textVariable(name: string, label: string) {
  return new dashboard.TextBoxVariableBuilder(name).label(label).defaultValue('').current({ text: '', value: '' });
}

// ---------------------------------------------------------------- links

/** Links to every dashboard of the other section (and this one), keeping time range and variables so a shared view stays the same. */
export function sectionLinks() {
  return [
    new dashboard.DashboardLinkBuilder('监控')
      .type(dashboard.DashboardLinkType.Dashboards)
      .tags([TAG.live])
      .asDropdown(true)
      .includeVars(true)
      .keepTime(false)
      .icon('dashboard'),
    new dashboard.DashboardLinkBuilder('报表')
      .type(dashboard.DashboardLinkType.Dashboards)
      .tags([TAG.report])
      .asDropdown(true)
      .includeVars(true)
      .keepTime(false)
      .icon('dashboard'),
  ];
}

/**
 * The exporter's download, through Grafana's datasource proxy (the plugin route adds the API token).
 *
 * How Grafana writes these links (read in its source, and replayed by dashboards/e2e/downloads.e2e.test.ts):
 * - Dashboard links go through LinkSrv.getLinkUrl and panel links through LinkSrv.getDataLinkUIModel
 *   (grafana/grafana public/app/features/panel/panellinks/link_srv.ts); both interpolate with the
 *   dashboard scene (sceneInterpolator, grafana/scenes .../interpolation/sceneInterpolator.ts), then
 *   sanitizeUrl.
 * - The range is `${__from}` / `${__to}`: TimeFromAndToMacro.getValue (grafana/scenes
 *   packages/scenes/src/variables/macros/timeMacros.ts) gives epoch milliseconds. `${__from:date:...}`
 *   is not used: the `date` format (formatRegistry.ts) calls dateTime(ms).format(), which formats in
 *   the viewer's browser zone, so a viewer outside UTC+8 got a range a day off from the panels. The
 *   exporter cuts the milliseconds into days in CS_TIMEZONE with rangeDays, the plugin's own rule.
 * - Free text goes through `percentencode` (encodeURIComponent plus !'()*), so `&`, `#`, `+`, `%`
 *   and `=` stay data.
 */
export function exportUrl(report: string, format: 'xlsx' | 'csv', extra = ''): string {
  return (
    `/api/datasources/proxy/uid/${CS_DATASOURCE.uid}/api/v1/export?report=${report}&format=${format}` +
    '&from=${__from}&to=${__to}&tenant=${tenant:percentencode}' +
    extra
  );
}

export function exportLink(report: string, name: string, format: 'xlsx' | 'csv' = 'xlsx', extra = '') {
  return new dashboard.DashboardLinkBuilder(`导出${format === 'xlsx' ? 'Excel' : 'CSV'}：${name}`)
    .type(dashboard.DashboardLinkType.Link)
    .url(exportUrl(report, format, extra))
    .icon('cloud')
    .targetBlank(true)
    .includeVars(false)
    .keepTime(false);
}

/** Both formats, for a panel's link menu. */
export function exportPanelLinks(report: string, name: string, extra = '') {
  return [exportLink(report, name, 'xlsx', extra), exportLink(report, name, 'csv', extra)];
}

/**
 * A multi-value list as download parameters: `customqueryparam` writes one `name=value` per selected
 * value, each value percent-encoded (formatRegistry.ts, customFormatQueryParameter), so ids holding
 * commas, `&`, `#`, `+`, `%`, spaces or Chinese arrive whole. (`csv` wrote them raw and joined by
 * commas; `percentencode` of a list is `{a,b}`, which a comma in an id makes ambiguous.) At All the
 * variable's custom all value stands in: see allAsBlankParam.
 */
export const exportFilter = (variable: keyof typeof EXPORT_PARAM) => `&\${${variable}:customqueryparam:${EXPORT_PARAM[variable]}}`;
/** A text box as a download parameter, percent-encoded. */
export const exportText = (variable: string, param = variable) => `&${param}=\${${variable}:percentencode}`;

export const GROUP_FILTER = exportFilter('group');
export const AGENT_FILTER = exportFilter('agent');

export function dashboardUrl(uid: string, vars: string): string {
  return `/d/${uid}?var-tenant=\${tenant}${vars}&\${__url_time_range}`;
}

// ---------------------------------------------------------------- thresholds

type Step = [number | null, string];

export function thresholds(steps: Step[]) {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps(steps.map(([value, color]) => ({ value, color })));
}

function thresholdsValue(steps: Step[]) {
  return { mode: dashboard.ThresholdsMode.Absolute, steps: steps.map(([value, color]) => ({ value, color })) };
}

/** Service level (接通率, 20秒接通率, satisfaction): red below 80 %, amber below 90 %. */
export const SERVICE_LEVEL: Step[] = [
  [null, 'red'],
  [0.8, 'orange'],
  [0.9, 'green'],
];
/** Waits: amber from 30 s, red from 60 s (the alert rule fires at 60 s). */
export const WAIT: Step[] = [
  [null, 'green'],
  [30, 'orange'],
  [60, 'red'],
];
/** Queue length: amber from 5 waiting, red from 10 (the alert rule fires at 10). */
export const QUEUE: Step[] = [
  [null, 'green'],
  [5, 'orange'],
  [10, 'red'],
];
/** Abandon and transfer-failure rates: amber from 5 %, red from 10 %. */
export const LOSS_RATE: Step[] = [
  [null, 'green'],
  [0.05, 'orange'],
  [0.1, 'red'],
];
export const NEUTRAL: Step[] = [[null, 'blue']];

/** Which thresholds colour a metric, by its id; none for plain counts. */
export function stepsFor(metricId: string): Step[] | undefined {
  if (/^(answer_rate|answered_20s_rate|direct_answer_rate|avg_satisfaction|relative_satisfaction|responded_30s_rate)$/.test(metricId))
    return SERVICE_LEVEL;
  if (/^(longest_wait_seconds)$/.test(metricId)) return WAIT;
  if (metricId === 'queue_length') return QUEUE;
  if (/^(abandon_rate|very_dissatisfied_rate|dissatisfied_rate)$/.test(metricId)) return LOSS_RATE;
  return undefined;
}

/** Table cell colouring for the metrics that have thresholds. */
export function colourCells<T extends { overrideByName(name: string, props: dashboard.DynamicConfigValue[]): T }>(
  panel: T,
  metricIds: string[],
): T {
  for (const id of metricIds) {
    const steps = stepsFor(id);
    if (!steps) continue;
    panel.overrideByName(id, [
      { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
      { id: 'thresholds', value: thresholdsValue(steps) },
    ]);
  }
  return panel;
}

// ---------------------------------------------------------------- panels

export function statPanel(
  title: string,
  target: cog.Builder<cog.Dataquery>,
  opts: { unit?: string; steps?: Step[]; w?: number; h?: number } = {},
) {
  return new stat.PanelBuilder()
    .title(title)
    .datasource(CS_DATASOURCE)
    .withTarget(target)
    .unit(opts.unit ?? 'none')
    .thresholds(thresholds(opts.steps ?? NEUTRAL))
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.ValueAndName)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .span(opts.w ?? 6)
    .height(opts.h ?? 4);
}

export function tablePanel(
  title: string,
  target: cog.Builder<cog.Dataquery>,
  metricIds: string[],
  opts: { w?: number; h?: number; hide?: string[] } = {},
) {
  const p = new table.PanelBuilder()
    .title(title)
    .datasource(CS_DATASOURCE)
    .withTarget(target)
    .filterable(true)
    .span(opts.w ?? 24)
    .height(opts.h ?? 10);
  // Ids stay in the data (links use them) but users read the names beside them.
  for (const id of opts.hide ?? []) p.overrideByName(id, [{ id: 'custom.hidden', value: true }]);
  return colourCells(p, metricIds);
}

/** The id columns a report's table hides because a name column sits beside them. */
export function idColumns(dimensions: { id: string }[]): string[] {
  const ids = new Set(dimensions.map((d) => d.id));
  return [
    ...(ids.has('group_id') && ids.has('group_name') ? ['group_id'] : []),
    ...(ids.has('agent_id') && ids.has('agent_name') ? ['agent_id'] : []),
  ];
}

export function graphPanel(
  title: string,
  targets: cog.Builder<cog.Dataquery>[],
  opts: { unit?: string; steps?: Step[]; w?: number; h?: number; min?: number; max?: number; stack?: boolean } = {},
) {
  const p = new timeseries.PanelBuilder()
    .title(title)
    .targets(targets)
    .unit(opts.unit ?? 'none')
    .span(opts.w ?? 12)
    .height(opts.h ?? 8)
    .lineWidth(1)
    .fillOpacity(opts.stack ? 40 : 10)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Right)
        .calcs(['lastNotNull', 'max']),
    );
  if (opts.min !== undefined) p.min(opts.min);
  if (opts.max !== undefined) p.max(opts.max);
  if (opts.stack) p.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (opts.steps)
    p.thresholds(thresholds(opts.steps)).thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
    );
  return p;
}

export function barPanel(title: string, target: cog.Builder<cog.Dataquery>, opts: { w?: number; h?: number; xField?: string } = {}) {
  const p = new barchart.PanelBuilder()
    .title(title)
    .datasource(CS_DATASOURCE)
    .withTarget(target)
    .span(opts.w ?? 12)
    .height(opts.h ?? 8);
  if (opts.xField) p.xField(opts.xField);
  return p;
}

export function row(title: string) {
  return new dashboard.RowBuilder(title);
}

// ---------------------------------------------------------------- finishing

/**
 * Panel ids and query refIds by position. The SDK leaves both to the caller; numbering them here keeps
 * the generated JSON deterministic, which the staleness check relies on.
 */
export function finish(d: dashboard.Dashboard): dashboard.Dashboard {
  // The SDK defaults a link's placement to the controls menu, which hides it behind a button in
  // Grafana 12; without the field the links sit in the dashboard's top bar where users look.
  for (const l of d.links ?? []) delete l.placement;
  let id = 1;
  for (const p of (d.panels ?? []) as (dashboard.Panel | dashboard.RowPanel)[]) {
    p.id = id++;
    // A panel link is {title, url, targetBlank}; the dashboard-link fields the builder adds mean nothing there.
    const links = (p as dashboard.Panel).links;
    if (links)
      (p as dashboard.Panel).links = links.map(({ title, url, targetBlank }) => ({ title, url, targetBlank }) as dashboard.DashboardLink);
    for (const inner of (p as dashboard.RowPanel).panels ?? []) inner.id = id++;
    const targets = (p as dashboard.Panel).targets as { refId?: string; datasource?: { type?: string; uid?: string } }[] | undefined;
    targets?.forEach((t, i) => (t.refId ??= String.fromCharCode(65 + i)));
    // A panel without a datasource would run on the default one (the plugin), whatever its queries say.
    const panel = p as dashboard.Panel;
    if (targets?.length && !panel.datasource) {
      const uids = new Set(targets.map((t) => t.datasource?.uid));
      panel.datasource = uids.size === 1 ? targets[0].datasource : { type: 'datasource', uid: '-- Mixed --' };
    }
  }
  return d;
}

export function base(uid: string, title: string, section: Folder, description: string) {
  const b = new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags([section === '监控' ? TAG.live : TAG.report])
    // Reports are days of the tenant's zone (CS_TIMEZONE, default Asia/Shanghai): `now-1d/d` must round
    // to its midnights, not the viewer's. The panels (plugin) and the downloads (exporter) then cut the
    // same epoch-ms range into the same days with rangeDays.
    .timezone(section === '报表' ? 'Asia/Shanghai' : 'browser')
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .links(sectionLinks());
  if (section === '监控') {
    b.refresh('5s')
      .time({ from: 'now-1h', to: 'now' })
      .timepicker(new dashboard.TimePickerBuilder().refreshIntervals(['5s', '10s', '30s', '1m']));
  } else {
    b.time({ from: 'now-7d/d', to: 'now-1d/d' }).timepicker(new dashboard.TimePickerBuilder().refreshIntervals(['1m', '5m', '1h']));
  }
  return b;
}
