/**
 * What Grafana checks when it provisions a file, encoded from its source. No Grafana server runs here,
 * so each rule below is one Grafana applies at start-up (or when its provisioning loop re-reads the
 * files), with the file and function of grafana/grafana (or grafana/alerting) it comes from. Each
 * checker returns the problems it finds, worded like Grafana's own error where there is one; an empty
 * list means Grafana would load the file.
 *
 * Versions read: grafana/grafana main as stored in the code index (late 2025/2026, the Grafana 12.x–13
 * line); where an older copy disagreed, the newer code is the one encoded.
 */

// ------------------------------------------------------------------ shared formats

/**
 * prometheus/common model.ParseDuration, which Grafana's alert-rule provisioning uses for the group
 * `interval`, `for` and `keepFiringFor` (pkg/services/provisioning/alerting/rules_types.go,
 * AlertRuleGroupV1.MapToModel and AlertRuleV1.mapToModel): units y w d h m s ms, each at most once and
 * in that order, integers only; "0" is allowed, "" is not. Returns milliseconds.
 */
export function parsePromDuration(s: unknown): number {
  if (typeof s !== 'string') throw new Error(`not a duration string: ${JSON.stringify(s)}`);
  if (s === '0') return 0;
  const m = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(s);
  if (!s || !m) throw new Error(`not a valid duration string: "${s}"`);
  const unit = [365 * 86400e3, 7 * 86400e3, 86400e3, 3600e3, 60e3, 1e3, 1];
  return m.slice(1).reduce((sum, v, i) => sum + (v ? Number(v) * unit[i] : 0), 0);
}

/**
 * Grafana's gtime.ParseDuration (pkg/components/gtime/gtime.go), used for a dashboard's `refresh`
 * (pkg/services/dashboards/service/dashboard_service.go, validateDashboardRefreshInterval): a number
 * with one of d w M y, or else Go's time.ParseDuration (h m s ms us ns, fractions and sequences).
 */
export function parseGrafanaDuration(s: string): number {
  const long = /^(\d+)([dwMy])$/.exec(s);
  if (long) return Number(long[1]) * { d: 86400e3, w: 7 * 86400e3, M: 30 * 86400e3, y: 365 * 86400e3 }[long[2] as 'd']!;
  const unit: Record<string, number> = { h: 3600e3, m: 60e3, s: 1e3, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };
  const re = /(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * unit[m[2]];
    pos = re.lastIndex;
  }
  if (s === '0') return 0;
  if (!s || pos !== s.length) throw new Error(`time: invalid duration "${s}"`);
  return total;
}

/**
 * pkg/util/shortid_generator.go, ValidateUID (IsShortUIDTooLong, IsValidShortUID): at most
 * MaxUIDLength = 40 characters of [a-zA-Z0-9-_]. Alert rules (ngalert/models/alert_rule.go,
 * ValidateAlertRule) and dashboards (dashboards/service/dashboard_service.go, BuildSaveDashboardCommand:
 * ErrDashboardInvalidUid / ErrDashboardUidTooLong) are refused with anything else.
 */
export function uidProblem(uid: unknown): string | undefined {
  if (typeof uid !== 'string') return `uid ${JSON.stringify(uid)} is not a string`;
  if (uid.length > 40) return `UID is longer than 40 symbols: ${uid}`;
  if (!/^[a-zA-Z0-9\-_]*$/.test(uid)) return `invalid format of UID "${uid}". Only letters, numbers, '-' and '_' are allowed`;
  return undefined;
}

/**
 * Environment variables Grafana expands in a provisioned string: pkg/services/provisioning/values/
 * values.go, interpolateValue: the text is split on "$$" (a literal $), and each part goes through
 * os.ExpandEnv, which reads `${NAME}` and `$NAME` (NAME = letters, digits, _). Alert-rule annotations
 * go through StringMapValue.ValueWithBracedVars instead (rules_types.go, mapToModel), which expands
 * only `${NAME}`, so `{{ $labels.x }}` templates survive. Go's os.ExpandEnv has no `${NAME:-default}`:
 * the whole `NAME:-default` is looked up and expands to "".
 */
export function envRefs(s: string, bracedOnly = false): string[] {
  const out: string[] = [];
  for (const part of s.split('$$')) {
    const re = bracedOnly ? /\$\{([^}]*)\}/g : /\$\{([^}]*)\}|\$([A-Za-z0-9_]+)/g;
    for (const m of part.matchAll(re)) out.push(m[1] ?? m[2]);
  }
  return out;
}

/** Every string in a parsed YAML value, with its path, for the interpolation rules above. */
export function strings(v: unknown, path = ''): { path: string; value: string }[] {
  if (typeof v === 'string') return [{ path, value: v }];
  if (Array.isArray(v)) return v.flatMap((x, i) => strings(x, `${path}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => strings(x, path ? `${path}.${k}` : k));
  return [];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

// ------------------------------------------------------------------ datasources

export interface ProvisionedDatasource {
  uid: string;
  name: string;
  type: string;
  orgId: number;
}

/**
 * provisioning/grafana/datasources/*.yml. pkg/services/provisioning/datasources/config_reader.go:
 * parseDatasourceConfig (apiVersion > 0 selects the v1 format), validateDefaultUniqueness (at most one
 * isDefault per org: ErrInvalidConfigToManyDefault, which stops start-up) and validateAccessAndOrgID
 * (the org must exist — a fresh Grafana has only org 1 — and access is "proxy" or "direct"; anything
 * else is silently replaced by proxy, so a typo would not do what the file says). Name and type are
 * checked as this project's own rule (Grafana finds the plugin by type, and the provisioner matches an
 * existing datasource by name), and uids by pkg/util ValidateUID, which the dashboards' and rules'
 * references need.
 */
export function checkDatasourceFiles(files: Obj[]): { problems: string[]; datasources: ProvisionedDatasource[] } {
  const problems: string[] = [];
  const datasources: ProvisionedDatasource[] = [];
  const defaults = new Map<number, number>();
  for (const f of files) {
    if (!(Number(f.apiVersion) >= 1)) problems.push('apiVersion must be 1 (the v0 format is deprecated and reads other keys)');
    for (const [i, ds] of ((f.datasources as Obj[]) ?? []).entries()) {
      const where = `datasources[${i}] (${str(ds.name) || '?'})`;
      const orgId = Number(ds.orgId ?? 1) || 1;
      if (orgId !== 1) problems.push(`${where}: orgId ${orgId} does not exist in a fresh Grafana (only org 1)`);
      if (!str(ds.name).trim()) problems.push(`${where}: name is required`);
      if (!str(ds.type).trim()) problems.push(`${where}: type is required`);
      const access = str(ds.access) || 'proxy';
      if (access !== 'proxy' && access !== 'direct') problems.push(`${where}: invalid access value "${access}" (Grafana would use proxy)`);
      if (ds.uid !== undefined) {
        const p = uidProblem(ds.uid);
        if (p) problems.push(`${where}: ${p}`);
      }
      if (ds.isDefault === true) {
        defaults.set(orgId, (defaults.get(orgId) ?? 0) + 1);
        if (defaults.get(orgId) === 2) problems.push(`datasource.yaml config is invalid. Only one datasource per organization can be marked as default (org ${orgId})`);
      }
      datasources.push({ uid: str(ds.uid), name: str(ds.name), type: str(ds.type), orgId });
    }
  }
  const uids = datasources.map((d) => d.uid).filter(Boolean);
  for (const u of new Set(uids)) if (uids.filter((x) => x === u).length > 1) problems.push(`datasource uid ${u} is provisioned twice`);
  return { problems, datasources };
}

// ------------------------------------------------------------------ dashboard providers

/**
 * provisioning/grafana/dashboards/*.yml. pkg/services/provisioning/dashboards/config_reader.go
 * (readConfig: org must exist, type defaults to file) and file_reader.go (NewDashboardFileReader:
 * options.path must be a string — "failed to load dashboards, path param is not a string"; with
 * foldersFromFilesStructure, 'folder' and 'folderUID' must be empty). Provider names must be unique:
 * provisioned dashboards are tracked by provider name (file_reader.go, getProvisionedDashboardsByPath).
 */
export function checkDashboardProviderFiles(files: Obj[]): { problems: string[]; providers: Obj[] } {
  const problems: string[] = [];
  const providers: Obj[] = [];
  for (const f of files) {
    if (!(Number(f.apiVersion) >= 1)) problems.push('apiVersion must be 1 (the v0 format is a list of providers)');
    for (const [i, p] of ((f.providers as Obj[]) ?? []).entries()) {
      const where = `providers[${i}] (${str(p.name) || '?'})`;
      if (!str(p.name)) problems.push(`${where}: name is required`);
      if ((Number(p.orgId ?? 1) || 1) !== 1) problems.push(`${where}: orgId ${str(p.orgId)} does not exist in a fresh Grafana`);
      if ((str(p.type) || 'file') !== 'file') problems.push(`${where}: type "${str(p.type)}" is not the file provider`);
      const options = isObj(p.options) ? p.options : {};
      if (typeof options.path !== 'string') problems.push(`${where}: failed to load dashboards, path param is not a string`);
      if (options.foldersFromFilesStructure === true && (str(p.folder) || str(p.folderUid)))
        problems.push(`${where}: 'folder' and 'folderUID' should be empty using 'foldersFromFilesStructure' option`);
      if (p.updateIntervalSeconds !== undefined && !(Number.isInteger(p.updateIntervalSeconds) && (p.updateIntervalSeconds as number) >= 0))
        problems.push(`${where}: updateIntervalSeconds must be a whole number of seconds`);
      providers.push(p);
    }
  }
  const names = providers.map((p) => str(p.name));
  for (const n of new Set(names)) if (names.filter((x) => x === n).length > 1) problems.push(`dashboard provider name ${n} is used twice`);
  return { problems, providers };
}

// ------------------------------------------------------------------ dashboards

/**
 * The schema versions Grafana can migrate from and to: apps/dashboard/pkg/migration/schemaversion/
 * migrations.go (MIN_VERSION, LATEST_VERSION; the schemaversion README: "Minimum Version: 13, Latest
 * Version: 42", and 42 is the final version of the v1 dashboard API). apps/dashboard/pkg/migration/
 * migrate.go, migrator.migrate: below MIN_VERSION is a MinimumVersionError (the dashboard does not
 * load); above the target the version cannot be migrated to it ("schema version not migrated to
 * target version"). Grafana 13 keeps loading these classic (v1) dashboards and converts them to the
 * v2 schema when they are loaded (Grafana 13 docs, "Provisioned dashboards and the version 2 schema":
 * "Version 1 dashboards are migrated to version 2 automatically when they are loaded"), after this
 * schemaVersion migration; so a v1 file at a supported schemaVersion is what a file provider ships.
 */
export const SCHEMA_VERSION = { min: 13, max: 42 };
/** conf/defaults.ini [dashboards] min_refresh_interval = 5s. */
export const MIN_REFRESH_MS = 5000;
/** Datasource references that are not provisioned datasources (public/app/plugins/datasource: mixed, grafana, dashboard). */
export const BUILTIN_DATASOURCE_UIDS = new Set(['-- Mixed --', '-- Grafana --', '-- Dashboard --', 'grafana']);

type Panel = Obj & { id?: unknown; type?: string; title?: string; panels?: Panel[]; targets?: Obj[]; datasource?: unknown; links?: Obj[] };

/** Every panel, rows' nested panels included (collapsed rows keep theirs in `panels`). */
export function allPanels(d: Obj): Panel[] {
  const out: Panel[] = [];
  const visit = (p: Panel) => {
    out.push(p);
    for (const inner of p.panels ?? []) visit(inner);
  };
  for (const p of (d.panels as Panel[]) ?? []) visit(p);
  return out;
}

/** Datasource uids a dashboard refers to (panels, targets, template variables, annotations), with where. */
export function datasourceRefs(d: Obj): { where: string; uid: string }[] {
  const out: { where: string; uid: string }[] = [];
  const add = (where: string, ds: unknown) => {
    if (isObj(ds) && typeof ds.uid === 'string') out.push({ where, uid: ds.uid });
    else if (typeof ds === 'string') out.push({ where, uid: ds });
  };
  for (const p of allPanels(d)) {
    add(`panel ${str(p.id)} ${str(p.title)}`, p.datasource);
    for (const t of p.targets ?? []) add(`panel ${str(p.id)} ${str(p.title)} target ${str(t.refId)}`, t.datasource);
  }
  const templating = isObj(d.templating) ? ((d.templating.list as Obj[]) ?? []) : [];
  for (const v of templating) add(`variable ${str(v.name)}`, v.datasource);
  const annotations = isObj(d.annotations) ? ((d.annotations.list as Obj[]) ?? []) : [];
  for (const a of annotations) add(`annotation ${str(a.name)}`, a.datasource);
  return out;
}

/** Dashboard uids named by /d/<uid> links (dashboard links, panel links, data links, text). */
export function dashboardLinks(d: Obj): { where: string; uid: string }[] {
  const out: { where: string; uid: string }[] = [];
  for (const s of strings(d)) for (const m of s.value.matchAll(/\/d\/([A-Za-z0-9_-]+)/g)) out.push({ where: s.path, uid: m[1] });
  return out;
}

/**
 * One dashboard JSON as the file provider loads it. pkg/services/provisioning/dashboards/file_reader.go
 * (createDashboardJSON: title required) and pkg/services/dashboards/service/dashboard_service.go,
 * BuildSaveDashboardCommand: title trimmed non-empty and ≤ 5000 characters, uid ValidateUID,
 * validateDashboardRefreshInterval (refresh parsed by gtime, not below min_refresh_interval);
 * schemaVersion within what Grafana 13 migrates (above). Panel ids: Grafana keys panels by id (alert
 * rules' __panelId__, viewPanel links); a duplicate makes those links ambiguous.
 */
export function checkDashboard(d: Obj, datasourceUids: Set<string>, dashboardUids: Set<string>): string[] {
  const problems: string[] = [];
  const title = str(d.title).trim();
  if (!title) problems.push('Dashboard title cannot be empty');
  if (title.length > 5000) problems.push('Dashboard title cannot be longer than 5000 characters');
  if (!d.uid) problems.push('uid is missing: alert links and dashboard links need a fixed uid');
  const p = uidProblem(d.uid ?? '');
  if (p) problems.push(p);
  const v = d.schemaVersion;
  if (typeof v !== 'number' || !Number.isInteger(v)) problems.push(`schemaVersion ${JSON.stringify(v)} is not an integer`);
  else if (v < SCHEMA_VERSION.min) problems.push(`schemaVersion ${v} is below the minimum Grafana migrates (${SCHEMA_VERSION.min})`);
  else if (v > SCHEMA_VERSION.max) problems.push(`schemaVersion ${v} is above the latest Grafana knows (${SCHEMA_VERSION.max})`);
  if (typeof d.refresh === 'string' && d.refresh && d.refresh !== 'auto') {
    try {
      if (parseGrafanaDuration(d.refresh) < MIN_REFRESH_MS) problems.push(`refresh ${d.refresh} is below min_refresh_interval 5s`);
    } catch (e) {
      problems.push(`parsing refresh duration "${d.refresh}" failed: ${(e as Error).message}`);
    }
  }
  const ids = allPanels(d).map((x) => x.id);
  for (const [i, id] of ids.entries()) {
    if (!Number.isInteger(id)) problems.push(`panel ${i} (${str(allPanels(d)[i].title)}) has no integer id`);
    else if (ids.indexOf(id) !== i) problems.push(`panel id ${str(id)} is used twice`);
  }
  for (const r of datasourceRefs(d)) {
    if (r.uid.startsWith('$') || BUILTIN_DATASOURCE_UIDS.has(r.uid)) continue;
    if (!datasourceUids.has(r.uid)) problems.push(`${r.where}: datasource uid ${r.uid} is not provisioned`);
  }
  for (const l of dashboardLinks(d)) if (!dashboardUids.has(l.uid)) problems.push(`${l.where}: link to dashboard ${l.uid}, which is not provisioned`);
  return problems;
}

// ------------------------------------------------------------------ alert rules

/** pkg/services/ngalert/store: AlertRuleMaxTitleLength and AlertRuleMaxRuleGroupNameLength. */
export const MAX_TITLE = 190;
/** conf/defaults.ini [unified_alerting] min_interval = 10s, the scheduler's base interval (setting.UnifiedAlertingSettings.BaseInterval). */
export const BASE_INTERVAL_MS = 10_000;
/** pkg/expr: the datasource uid of server-side expressions (expr.DatasourceUID; "-100" is its legacy id). */
export const EXPR_UIDS = new Set(['__expr__', '-100']);
/** pkg/expr/commands.go, GetExpressionCommandType / ParseCommandType. */
export const EXPR_TYPES = new Set(['math', 'reduce', 'resample', 'classic_conditions', 'threshold', 'sql']);
/** pkg/expr/mathexp/reduce.go, GetReduceFunc. */
export const REDUCERS = new Set(['sum', 'mean', 'min', 'max', 'count', 'last', 'median']);
/** pkg/expr/threshold.go, the Threshold* function names. */
export const THRESHOLD_TYPES = new Set(['gt', 'lt', 'eq', 'ne', 'ge', 'le', 'within_range', 'outside_range', 'within_range_included', 'outside_range_included']);

export interface LinkedPanel {
  rule: string;
  dashboardUid: string;
  panelId: number;
  exprs: string[];
}

/**
 * provisioning/grafana/alerting rule groups. Each rule below cites where Grafana applies it:
 * - pkg/services/provisioning/alerting/rules_types.go: AlertRuleGroupV1.MapToModel (group name and
 *   folder required, interval parsed by model.ParseDuration, orgId defaults to 1) and
 *   AlertRuleV1.mapToModel (title, uid, data and condition required; for/keepFiringFor durations;
 *   noDataState ∈ NoDataStateFromString, execErrState ∈ ErrStateFromString).
 * - pkg/services/ngalert/models/alert_rule.go: SetDashboardAndPanelFromAnnotations (__dashboardUid__
 *   and __panelId__ both or neither, the panel id a base-10 integer) — called by CreateAlertRule /
 *   the rule-group replace in pkg/services/ngalert/provisioning/alert_rules.go, and a failure there
 *   stops Grafana at start-up; ValidateAlertRule (ValidateUID, title, ValidateRuleGroupInterval: the
 *   interval a non-zero multiple of the scheduler's base interval, `for` not negative).
 * - title ≤ AlertRuleMaxTitleLength (pkg/services/ngalert/store; the API's validateRuleNode refuses longer
 *   titles, and the store's title column holds no more).
 * - pkg/services/ngalert/models/alert_query.go: AlertQuery.PreSave / Validate: a datasource query needs
 *   relativeTimeRange.from > to (whole seconds in the file: RelativeTimeRange UnmarshalYAML).
 * - expressions read existing refIds (pkg/expr/graph.go, buildGraphEdges: "unable to find dependent
 *   node"), and the condition names one of the rule's refIds (the rule evaluates that node's result).
 * Datasource uids must be a provisioned datasource or the expression datasource; the panels linked by
 * annotations are returned for the caller to resolve against the dashboards.
 */
export function checkAlertRuleFiles(files: Obj[], datasourceUids: Set<string>): { problems: string[]; links: LinkedPanel[]; uids: string[] } {
  const problems: string[] = [];
  const links: LinkedPanel[] = [];
  const uids: string[] = [];
  for (const f of files) {
    if (Number(f.apiVersion) !== 1) problems.push('apiVersion must be 1');
    for (const [gi, g] of ((f.groups as Obj[]) ?? []).entries()) {
      const gWhere = `group ${str(g.name) || gi}`;
      if (!str(g.name).trim()) problems.push(`${gWhere}: rule group has no name set`);
      if (str(g.name).length > MAX_TITLE) problems.push(`${gWhere}: rule group name is too long. Max length is ${MAX_TITLE}`);
      if (!str(g.folder).trim()) problems.push(`${gWhere}: rule group has no folder set`);
      if ((Number(g.orgId ?? 1) || 1) !== 1) problems.push(`${gWhere}: orgId ${str(g.orgId)} does not exist in a fresh Grafana`);
      let interval = NaN;
      try {
        interval = parsePromDuration(g.interval);
      } catch (e) {
        problems.push(`${gWhere}: interval: ${(e as Error).message}`);
      }
      if (!Number.isNaN(interval) && (interval <= 0 || interval % BASE_INTERVAL_MS !== 0))
        problems.push(`${gWhere}: interval (${str(g.interval)}) should be non-zero and divided exactly by scheduler interval: 10`);
      for (const [ri, r] of ((g.rules as Obj[]) ?? []).entries()) {
        const title = str(r.title);
        const where = `${gWhere} rule ${title || ri}`;
        if (!title) problems.push(`${where}: rule has no title set`);
        if (title.length > MAX_TITLE) problems.push(`${where}: alert rule title is too long. Max length is ${MAX_TITLE}`);
        if (!str(r.uid)) problems.push(`${where}: rule '${title}' failed to parse: no UID set`);
        const up = str(r.uid) ? uidProblem(r.uid) : undefined;
        if (up) problems.push(`${where}: cannot create rule with UID '${str(r.uid)}': ${up}`);
        uids.push(str(r.uid));
        for (const key of ['for', 'keepFiringFor'] as const) {
          if (r[key] === undefined || r[key] === '') continue;
          try {
            parsePromDuration(r[key]);
          } catch (e) {
            problems.push(`${where}: rule '${title}' failed to parse '${key}' field: ${(e as Error).message}`);
          }
        }
        const noData = str(r.noDataState).trim();
        if (noData && !['Alerting', 'NoData', 'OK'].includes(noData)) problems.push(`${where}: unknown NoData state option ${noData}`);
        const execErr = str(r.execErrState).trim();
        if (execErr && !['Alerting', 'Error', 'OK'].includes(execErr)) problems.push(`${where}: unknown Error state option ${execErr}`);
        const data = (r.data as Obj[]) ?? [];
        if (!data.length) problems.push(`${where}: rule '${title}' failed to parse: no data set`);
        const refIds = data.map((q) => str(q.refId));
        for (const [i, id] of refIds.entries()) {
          if (!id) problems.push(`${where}: data[${i}] has no refId`);
          else if (refIds.indexOf(id) !== i) problems.push(`${where}: refId ${id} is used twice`);
        }
        if (!str(r.condition) && !r.record) problems.push(`${where}: rule '${title}' failed to parse: no condition set`);
        else if (str(r.condition) && !refIds.includes(str(r.condition)))
          problems.push(`${where}: condition ${str(r.condition)} does not exist, must be one of [${refIds.join(',')}]`);
        const exprs: string[] = [];
        for (const q of data) {
          const qWhere = `${where} ${str(q.refId)}`;
          const model = isObj(q.model) ? q.model : {};
          const dsUid = str(q.datasourceUid);
          if (EXPR_UIDS.has(dsUid)) {
            const type = str(model.type);
            if (!EXPR_TYPES.has(type)) problems.push(`${qWhere}: expression type "${type}" is not one of ${[...EXPR_TYPES].join(', ')}`);
            if (type === 'reduce' || type === 'threshold' || type === 'resample') {
              const from = str(model.expression).replace(/^\$/, '');
              if (!refIds.includes(from)) problems.push(`${qWhere}: unable to find dependent node '${from}'`);
            }
            if (type === 'math')
              for (const m of str(model.expression).matchAll(/\$\{?([A-Za-z0-9_]+)\}?/g))
                if (!refIds.includes(m[1])) problems.push(`${qWhere}: unable to find dependent node '${m[1]}'`);
            if (type === 'reduce' && !REDUCERS.has(str(model.reducer))) problems.push(`${qWhere}: reduction ${str(model.reducer)} not implemented`);
            if (type === 'threshold') {
              const conditions = (model.conditions as Obj[]) ?? [];
              if (!conditions.length) problems.push(`${qWhere}: threshold has no conditions`);
              for (const c of conditions) {
                const ev = isObj(c.evaluator) ? c.evaluator : {};
                if (!THRESHOLD_TYPES.has(str(ev.type))) problems.push(`${qWhere}: no such threshold function ${str(ev.type)}`);
                const params = (ev.params as unknown[]) ?? [];
                if (!params.length || !params.every((x) => typeof x === 'number')) problems.push(`${qWhere}: threshold params must be numbers`);
              }
            }
          } else {
            if (!datasourceUids.has(dsUid)) problems.push(`${qWhere}: datasource uid ${dsUid || '(none)'} is neither provisioned nor __expr__`);
            const rtr = isObj(q.relativeTimeRange) ? q.relativeTimeRange : {};
            if (!Number.isInteger(rtr.from) || !Number.isInteger(rtr.to ?? 0)) problems.push(`${qWhere}: relativeTimeRange from/to must be whole seconds`);
            else if (!((rtr.from as number) > ((rtr.to as number) ?? 0))) problems.push(`${qWhere}: invalid relative time range: from must be greater than to`);
            if (typeof model.expr === 'string') exprs.push(model.expr);
          }
        }
        const ann = isObj(r.annotations) ? r.annotations : {};
        const dash = str(ann.__dashboardUid__);
        const panel = str(ann.__panelId__);
        if ((dash && !panel) || (!dash && panel)) problems.push(`${where}: invalid alert rule: both annotations __dashboardUid__ and __panelId__ must be specified`);
        else if (dash) {
          if (!/^[+-]?\d+$/.test(panel)) problems.push(`${where}: invalid alert rule: annotation __panelId__ must be a valid integer Panel ID`);
          else links.push({ rule: where, dashboardUid: dash, panelId: Number(panel), exprs });
        }
        // alert_rule.go, ValidateAlertRule: "cannot have Panel ID without a Dashboard UID" (the file's own fields).
        if (r.panelId !== undefined && !str(r.dashboardUid) && !str(r.dasboardUid)) problems.push(`${where}: invalid alert rule: cannot have Panel ID without a Dashboard UID`);
      }
    }
  }
  for (const u of new Set(uids)) if (u && uids.filter((x) => x === u).length > 1) problems.push(`alert rule uid ${u} is provisioned twice`);
  return { problems, links, uids };
}

// ------------------------------------------------------------------ contact points and policies

/**
 * Required settings per contact-point type, as the receiver factories of grafana/alerting check them
 * (receivers/<type>/config.go, NewConfig), reached from provisioning through ReceiverV1.mapToModel
 * (pkg/services/provisioning/alerting/contact_point_types.go) → ValidateContactPoint. Only the types
 * this project might use are listed; others are rejected here until their rules are read.
 */
export const CONTACT_POINT_REQUIRED: Record<string, { required: string[]; check?: (s: Obj) => string | undefined }> = {
  // receivers/webhook/config.go, NewConfig: "required field 'url' is not specified"; basic auth and an
  // Authorization header together: "both HTTP Basic Authentication and Authorization Header are set,
  // only 1 is permitted". httpMethod defaults to POST.
  webhook: {
    required: ['url'],
    check: (s) =>
      s.authorization_credentials && (s.username || s.password)
        ? 'both HTTP Basic Authentication and Authorization Header are set, only 1 is permitted'
        : undefined,
  },
};

/**
 * contactPoints: ContactPointV1.MapToModel (name required, trimmed) and ReceiverV1.mapToModel (uid,
 * type and settings required, then the type's own validation above, on the settings as expanded from
 * the environment: values.JSONValue.Value()). Receiver uids are the contact points' identity in the
 * provisioning service (pkg/services/ngalert/provisioning/contactpoints.go looks them up by uid), so a
 * uid given twice would make the second overwrite the first.
 */
export function checkContactPoints(files: Obj[], env: Record<string, string>): { problems: string[]; names: Set<string> } {
  const problems: string[] = [];
  const names = new Set<string>();
  const uids: string[] = [];
  for (const f of files) {
    for (const [i, cp] of ((f.contactPoints as Obj[]) ?? []).entries()) {
      const name = str(cp.name).trim();
      const where = `contactPoints[${i}] (${name || '?'})`;
      if (!name) problems.push(`${where}: no name is set`);
      if ((Number(cp.orgId ?? 1) || 1) !== 1) problems.push(`${where}: orgId ${str(cp.orgId)} does not exist in a fresh Grafana`);
      names.add(name);
      for (const [j, r] of ((cp.receivers as Obj[]) ?? []).entries()) {
        const rWhere = `${where} receivers[${j}]`;
        const uid = str(r.uid).trim();
        if (!uid) problems.push(`${rWhere}: ${name}: no uid is set`);
        else {
          const p = uidProblem(uid);
          if (p) problems.push(`${rWhere}: ${p}`);
          uids.push(uid);
        }
        const type = str(r.type).trim();
        if (!type) problems.push(`${rWhere}: ${name}: no type is set`);
        const settings = isObj(r.settings) ? r.settings : {};
        if (!Object.keys(settings).length) problems.push(`${rWhere}: ${name}: no settings are set`);
        const rule = CONTACT_POINT_REQUIRED[type];
        if (type && !rule) problems.push(`${rWhere}: contact point type "${type}" is not one whose rules this test knows`);
        // Settings are expanded from Grafana's environment before validation (values.JSONValue.Value()).
        const expanded = Object.fromEntries(
          Object.entries(settings).map(([k, v]) => [k, typeof v === 'string' ? expand(v, env) : v]),
        );
        for (const key of rule?.required ?? [])
          if (expanded[key] === undefined || expanded[key] === '') problems.push(`${rWhere}: ${name}: required field '${key}' is not specified`);
        const extra = rule?.check?.(expanded);
        if (extra) problems.push(`${rWhere}: ${extra}`);
      }
    }
  }
  for (const u of new Set(uids)) if (uids.filter((x) => x === u).length > 1) problems.push(`contact point uid ${u} is used twice`);
  return { problems, names };
}

/** What Grafana reads after os.ExpandEnv with the given environment (values.go, interpolateValue). */
export function expand(s: string, env: Record<string, string>): string {
  return s
    .split('$$')
    .map((part) => part.replace(/\$\{([^}]*)\}|\$([A-Za-z0-9_]+)/g, (_, a, b) => env[a ?? b] ?? ''))
    .join('$');
}

/**
 * policies: NotificiationPolicyV1.mapToModel (pkg/services/provisioning/alerting/notification_policy_types.go)
 * unmarshals the route; the notification policy service then validates it:
 * pkg/services/ngalert/api/tooling/definitions/alertmanager_validation.go, Route.Validate (root: a
 * receiver, no matchers, no mute time intervals), validateChild (no duplicate group_by label, no `...`
 * beside other labels, group_interval / repeat_interval not zero), ValidateReceivers ("receiver '%s'
 * does not exist" — the policy replaces the whole tree, so every receiver must be a provisioned
 * contact point or one Grafana already has); durations are prometheus model durations;
 * object_matchers go through ObjectMatchers.UnmarshalJSON (alertmanager.go): [name, op, value] with op
 * one of = != =~ !~, the value a valid regexp for =~ and !~ (labels.NewMatcher anchors it).
 */
export function checkPolicies(files: Obj[], receivers: Set<string>): string[] {
  const problems: string[] = [];
  const policies = files.flatMap((f) => (f.policies as Obj[]) ?? []);
  const orgs = policies.map((p) => Number(p.orgId ?? 1) || 1);
  if (new Set(orgs).size !== orgs.length) problems.push('more than one policy tree for the same org: the last silently replaces the others');
  const visit = (r: Obj, where: string, root: boolean) => {
    if (root) {
      if (!str(r.receiver)) problems.push(`${where}: root route must specify a default receiver`);
      if (r.matchers || r.object_matchers || r.match || r.match_re) problems.push(`${where}: root route must not have any matchers`);
      if (r.mute_time_intervals) problems.push(`${where}: root route must not have any mute time intervals`);
    }
    if (str(r.receiver) && !receivers.has(str(r.receiver))) problems.push(`${where}: receiver '${str(r.receiver)}' does not exist`);
    const groupBy = ((r.group_by as unknown[]) ?? []).map(str);
    if (groupBy.includes('...') && groupBy.length > 1) problems.push(`${where}: cannot have wildcard group_by (\`...\`) and other other labels at the same time`);
    for (const [i, l] of groupBy.entries()) if (groupBy.indexOf(l) !== i) problems.push(`${where}: duplicated label "${l}" in group_by`);
    for (const l of groupBy) if (l !== '...' && !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l)) problems.push(`${where}: group_by label "${l}" is not a valid label name`);
    for (const key of ['group_wait', 'group_interval', 'repeat_interval']) {
      if (r[key] === undefined) continue;
      try {
        const ms = parsePromDuration(r[key]);
        if (ms === 0 && key !== 'group_wait') problems.push(`${where}: ${key} cannot be zero`);
      } catch (e) {
        problems.push(`${where}: ${key}: ${(e as Error).message}`);
      }
    }
    for (const m of (r.object_matchers as unknown[]) ?? []) {
      if (!Array.isArray(m) || m.length !== 3 || !m.every((x) => typeof x === 'string')) {
        problems.push(`${where}: object matcher ${JSON.stringify(m)} is not [name, operator, value]`);
        continue;
      }
      const [name, op, value] = m as string[];
      if (!['=', '!=', '=~', '!~'].includes(op)) problems.push(`${where}: unsupported match type "${op}" in matcher`);
      if (!name) problems.push(`${where}: matcher has no label name`);
      if (op === '=~' || op === '!~') {
        try {
          new RegExp(`^(?:${value})$`);
        } catch {
          problems.push(`${where}: matcher value ${value} is not a valid regular expression`);
        }
      }
    }
    for (const [i, child] of ((r.routes as Obj[]) ?? []).entries()) visit(child, `${where}.routes[${i}]`, false);
  };
  for (const [i, p] of policies.entries()) visit(p, `policies[${i}]`, true);
  return problems;
}

// ------------------------------------------------------------------ keys Grafana reads

/**
 * The keys Grafana's alerting file format reads; yaml.Unmarshal drops any other key without a word, so
 * a misspelt `noDataSate` or `contactpoint` silently changes what is provisioned. From
 * pkg/services/provisioning/alerting/file_v1.go (AlertingFileV1), rules_types.go (AlertRuleGroupV1,
 * AlertRuleV1, QueryV1) and contact_point_types.go (ContactPointV1, ReceiverV1).
 */
export const ALERTING_KEYS = {
  file: ['apiVersion', 'groups', 'deleteRules', 'contactPoints', 'deleteContactPoints', 'policies', 'resetPolicies', 'muteTimes', 'deleteMuteTimes', 'templates', 'deleteTemplates'],
  group: ['orgId', 'name', 'folder', 'interval', 'rules'],
  rule: ['uid', 'title', 'condition', 'data', 'dasboardUid', 'dashboardUid', 'panelId', 'noDataState', 'execErrState', 'for', 'keepFiringFor', 'missing_series_evals_to_resolve', 'annotations', 'labels', 'isPaused', 'notification_settings', 'record'],
  query: ['refId', 'queryType', 'relativeTimeRange', 'datasourceUid', 'model'],
  contactPoint: ['orgId', 'name', 'receivers'],
  receiver: ['uid', 'type', 'settings', 'disableResolveMessage'],
};

export function unknownAlertingKeys(doc: Obj): string[] {
  const problems: string[] = [];
  const check = (o: unknown, allowed: string[], where: string) => {
    if (!isObj(o)) return;
    for (const k of Object.keys(o)) if (!allowed.includes(k)) problems.push(`${where}: key "${k}" is not read by Grafana`);
  };
  check(doc, ALERTING_KEYS.file, 'file');
  for (const [gi, g] of ((doc.groups as Obj[]) ?? []).entries()) {
    check(g, ALERTING_KEYS.group, `groups[${gi}]`);
    for (const [ri, r] of ((g.rules as Obj[]) ?? []).entries()) {
      check(r, ALERTING_KEYS.rule, `groups[${gi}].rules[${ri}]`);
      for (const [qi, q] of ((r.data as Obj[]) ?? []).entries()) check(q, ALERTING_KEYS.query, `groups[${gi}].rules[${ri}].data[${qi}]`);
    }
  }
  for (const [ci, c] of ((doc.contactPoints as Obj[]) ?? []).entries()) {
    check(c, ALERTING_KEYS.contactPoint, `contactPoints[${ci}]`);
    for (const [ri, r] of ((c.receivers as Obj[]) ?? []).entries()) check(r, ALERTING_KEYS.receiver, `contactPoints[${ci}].receivers[${ri}]`);
  }
  return problems;
}
