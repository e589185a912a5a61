/**
 * Every download link of the 报表, followed the way Grafana and a browser follow it, must give a file
 * holding exactly the rows its panel shows — for a viewer whose browser is not in the tenants' zone
 * (America/Los_Angeles here, UTC-8 in November, against Asia/Shanghai, UTC+8) and with variable values
 * holding every character that means something in a URL.
 *
 * The steps, each from Grafana's own source (Grafana cannot run here; only the rules used are replayed):
 * 1. interpolation: LinkSrv.getLinkUrl (dashboard links, no default format, so glob) and
 *    LinkSrv.getDataLinkUIModel (panel links, default format uriencode), grafana/grafana
 *    public/app/features/panel/panellinks/link_srv.ts; TemplateSrv.replace hands both to the dashboard
 *    scene (public/app/features/templating/template_srv.ts → sceneGraph.interpolate), i.e. grafana/scenes
 *    packages/scenes/src/variables/interpolation/sceneInterpolator.ts with the formats of formatRegistry.ts;
 *    then locationUtil.assureBaseUrl and textUtil.sanitizeUrl (the real @grafana/data functions);
 * 2. the browser resolves the href (WHATWG URL, as Node's URL) and drops any #fragment;
 * 3. Grafana's data source proxy applies the plugin route and re-encodes the query with Go's
 *    url.Values (pkg/api/pluginproxy/utils.go addQueryString: req.URL.RawQuery = q.Encode());
 * 4. the real exporter answers; the panel's own query runs through the plugin
 *    (datasource-plugin/src/datasource.ts) with the same range and variables.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import ExcelJS from 'exceljs';
import { findReport } from '@cs-data-ops/exporter/catalog';
import { testDatabase } from './database.js';
import { startExporter, type Exporter } from '../../exporter/src/exporter.js';
import { loadConfig } from '../../exporter/src/config.js';
import { createLogger } from '../../exporter/src/log.js';
import { dayStartMs, localDay, rangeDays } from '../../exporter/src/time.js';
import { freePort } from '../../exporter/test/helpers/exporter.js';
import { parseCsv } from '../../exporter/test/helpers/reports.js';
import { allDashboards } from '../src/index.js';
import { isPlugin, targets } from '../test/walk.js';
import { scenario } from './scenario.js';

const require = createRequire(import.meta.url);
const kit = require('../../datasource-plugin/test/testkit.ts') as typeof import('../../datasource-plugin/test/testkit.ts');
const pluginTime = require('../../datasource-plugin/src/time.ts') as typeof import('../../datasource-plugin/src/time.ts');
const grafanaData = require('@grafana/data') as typeof import('@grafana/data');

const repo = join(import.meta.dirname, '..', '..');
const TZ = 'Asia/Shanghai';
const VIEWER_TZ = 'America/Los_Angeles';
const API_TOKEN = 'downloads-e2e-token';
const HOUR = 3_600_000;
const dashboards = allDashboards().filter((d) => d.folder === '报表');
// Today's reports are rolled up when asked, not by a timer that could run between a panel and its download.
process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

// Ids and texts with every character that has a meaning in a URL query, and Chinese.
const HG = 'g,&#+% 售后=?';
const HA = 'a,&#+% 客服';
const HU = 'u&#+%, 用户 1';
const HCAT = ['退&款#', '进度+% ,x'];
const HREM = '100% & #1 + 2, 好';

let tmp: string;
let stopPg = async () => {};
let exporter: Exporter;
let info: ReturnType<typeof scenario>;
let now: number;

function hostileEvents(yStart: number, todayStart: number): Record<string, unknown>[] {
  let n = 0;
  const ev = (ms: number, e: Record<string, unknown>) => ({ id: `dl-e2e-${++n}`, time: ms, ...e });
  const y = (h: number, m = 0) => yStart + h * HOUR + m * 60_000;
  // Today's events sit in the part of today already passed, in order, whatever the time of the run.
  const t = (f: number) => todayStart + Math.floor((now - todayStart) * f);
  const session = (id: string, at: (k: number) => number, group: string, agent: string, user: string, summary: boolean) => [
    ev(at(0), { type: 'session.start', sessionId: id, userId: user }),
    ev(at(0), { type: 'session.queue', sessionId: id, groupId: group, via: 'direct' }),
    ev(at(1), { type: 'session.answer', sessionId: id, groupId: group, agentId: agent }),
    ev(at(2), { type: 'session.rate', sessionId: id, score: 2 }),
    ev(at(3), { type: 'session.end', sessionId: id, by: 'user' }),
    ...(summary
      ? [ev(at(4), { type: 'session.summary', sessionId: id, agentId: agent, channel: 'online', category: HCAT, remark: HREM })]
      : []),
  ];
  return [
    ev(y(8), { type: 'group.upsert', groupId: HG, name: '奇怪,组&#' }),
    ev(y(8), { type: 'agent.upsert', agentId: HA, name: '怪 客服+%', workNo: '9,&#', groups: [HG], maxSessions: 3 }),
    ev(y(9), { type: 'agent.status', agentId: HA, status: 'online', seat: 'B-%1' }),
    ev(y(9), { type: 'agent.log', agentId: HA, platform: '在线客服', operation: '登录' }),
    ev(y(10), { type: 'ticket.create', ticketId: 'ht1', ticketType: '退&货#', agentId: HA, node: '一级+处理', deadline: y(10) + 48 * HOUR }),
    ...session('HX1', (k) => y(11, k), HG, HA, HU, true),
    // Same remark, another user and group: the user and group filters must keep it out.
    ...session('HX3', (k) => y(12, k), 'presales', 'a1', 'u-plain', true),
    ...session('HX2', (k) => t(0.5 + k * 0.05), HG, HA, HU, true),
  ];
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'cs-downloads-e2e-'));
  const db = await testDatabase('cs-downloads-e2e');
  stopPg = db.stop;
  const databaseUrl = db.url;
  exporter = await startExporter(
    { ...loadConfig({}), port: await freePort(), databaseUrl, simulate: false, timezone: TZ, apiToken: API_TOKEN },
    createLogger('silent'),
  );
  now = Date.now();
  info = scenario(
    now,
    (ms) => localDay(ms, TZ),
    (day) => dayStartMs(day, TZ),
  );
  const events = [...info.events, ...hostileEvents(dayStartMs(info.yesterday, TZ), dayStartMs(info.today, TZ))];
  const posted = await fetch(`${exporter.url}/api/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  const ack = (await posted.json()) as { accepted: number; rejected: unknown[] };
  assert.deepEqual(ack.rejected, []);
  const rolled = await fetch(`${exporter.url}/api/v1/rollups`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
    body: JSON.stringify({ date: info.yesterday, tenant: 'default' }),
  });
  assert.equal(rolled.status, 200, await rolled.text());
  process.env.CC_EXPORTER_URL = exporter.url;
  process.env.CC_API_TOKEN = API_TOKEN;
  kit.installBackendSrv();
  // The viewer's browser zone, for everything Grafana formats from here on (moment reads it per call).
  process.env.TZ = VIEWER_TZ;
});

after(async () => {
  await exporter?.close();
  await stopPg();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ------------------------------------------------------------------ Grafana's interpolation, as read

/** grafana/scenes packages/scenes/src/variables/constants.ts, VARIABLE_REGEX. */
const VARIABLE_REGEX = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\${(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?}/g;

/** formatRegistry.ts, encodeURIComponentStrict / encodeURIStrict: RFC 3986, so !'()* too. */
const strict = (s: string) => s.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const encodeURIComponentStrict = (v: unknown) => strict(encodeURIComponent(String(v)));
const encodeURIStrict = (v: unknown) => strict(encodeURI(String(v)));

type Raw = string | number | string[];
/** The formats of grafana/scenes packages/scenes/src/variables/interpolation/formatRegistry.ts that these links use, each as written there. */
const FORMATS: Record<string, (value: Raw, args: string[], name: string) => string> = {
  // VariableFormatID.Glob, the default when a reference names no format (sceneInterpolator formatValue).
  glob: (v) => (Array.isArray(v) && v.length > 1 ? `{${v.join(',')}}` : String(v)),
  csv: (v) => (Array.isArray(v) ? v.join(',') : String(v)),
  percentencode: (v) => (Array.isArray(v) ? encodeURIComponentStrict(`{${v.join(',')}}`) : encodeURIComponentStrict(v)),
  uriencode: (v) => (Array.isArray(v) ? encodeURIStrict(`{${v.join(',')}}`) : encodeURIStrict(v)),
  // 'customqueryparam': name (and value prefix) from the arguments, one name=value per value.
  customqueryparam: (v, args, name) => {
    const param = encodeURIComponentStrict(args[0] || name);
    const prefix = encodeURIComponentStrict(args[1] || '');
    return (Array.isArray(v) ? v : [v]).map((x) => `${param}=${prefix}${encodeURIComponentStrict(x)}`).join('&');
  },
  // VariableFormatID.Date: dateTime(ms).format(...) — moment in the browser's own zone.
  date: (v, args) => {
    const ms = typeof v === 'number' ? v : parseInt(String(v), 10);
    if (Number.isNaN(ms)) return 'NaN';
    const arg = args[0] ?? 'iso';
    if (arg === 'ms') return String(v);
    if (arg === 'seconds') return `${Math.round(ms / 1000)}`;
    if (arg === 'iso') return grafanaData.dateTime(ms).toISOString();
    return grafanaData.dateTime(ms).format(args.length > 1 ? args.join(':') : arg);
  },
};

/** A dashboard variable as the scene holds it: its saved model and the value the viewer chose ('$__all' for All). */
interface SceneVar {
  type: string;
  name: string;
  allValue?: string;
  options: string[];
  value: string | string[];
}
class CustomAll {
  constructor(readonly value: string) {}
}

/** MultiValueVariable.getValue / TextBoxVariable.getValue / TimeFromAndToMacro.getValue (timeMacros.ts: epoch ms). */
function getValue(name: string, vars: Map<string, SceneVar>, range: { from: number; to: number }): Raw | CustomAll | undefined {
  if (name === '__from') return range.from;
  if (name === '__to') return range.to;
  const v = vars.get(name);
  if (!v) return undefined;
  const isAll = v.value === '$__all' || (Array.isArray(v.value) && v.value[0] === '$__all');
  if (v.type !== 'textbox' && isAll) return v.allValue ? new CustomAll(v.allValue) : v.options;
  return v.value;
}

/** sceneInterpolator + formatValue; a custom all value per CustomAllValue.formatter (MultiValueVariable.ts). */
function interpolate(target: string, vars: Map<string, SceneVar>, range: { from: number; to: number }, defaultFormat?: string): string {
  return target.replace(VARIABLE_REGEX, (match, var1, var2, fmt2, var3, _fieldPath, fmt3) => {
    const name = var1 || var2 || var3;
    const fmt: string | undefined = fmt2 || fmt3 || defaultFormat;
    const value = getValue(name, vars, range);
    assert.ok(value !== undefined, `link uses ${match}, which the dashboard does not define`);
    if (value instanceof CustomAll) {
      if (fmt === 'text') return 'All';
      const out = fmt === 'percentencode' ? FORMATS.percentencode(value.value, [], name) : value.value;
      assert.notEqual(fmt, 'queryparam', 'queryparam at All is not replayed here');
      return interpolate(out, vars, range);
    }
    const [id, ...args] = (fmt ?? 'glob').split(':');
    const f = FORMATS[id];
    assert.ok(f, `format ${id} is not replayed by this test`);
    return f(value, args, name);
  });
}

/** What the viewer's browser requests for a link: dashboard links (getLinkUrl) and panel links (getDataLinkUIModel) differ in the default format. */
function linkHref(url: string, kind: 'dashboard' | 'panel', vars: Map<string, SceneVar>, range: { from: number; to: number }): string {
  const { locationUtil, textUtil } = grafanaData;
  const href =
    kind === 'dashboard'
      ? locationUtil.assureBaseUrl(interpolate(url, vars, range))
      : interpolate(locationUtil.assureBaseUrl(url.replace(/\n/g, '')), vars, range, 'uriencode');
  return textUtil.sanitizeUrl(href);
}

// ------------------------------------------------------------------ Go's url.Values, as Grafana's proxy uses it

/** net/url unescape(s, encodeQueryComponent): "+" is a space, "%" must lead two hex digits (else the pair is dropped). */
function goQueryUnescape(s: string): string | null {
  if (/%(?![0-9a-fA-F]{2})/.test(s)) return null;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (s[i] === '+') bytes.push(0x20);
    else bytes.push(...Buffer.from(s[i], 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
/** net/url parseQuery (Go ≥ 1.17: a pair holding ";" is refused), as req.URL.Query() keeps what parses. */
function goParseQuery(raw: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const seg of raw.split('&')) {
    if (seg === '' || seg.includes(';')) continue;
    const eq = seg.indexOf('=');
    const key = goQueryUnescape(eq < 0 ? seg : seg.slice(0, eq));
    const value = goQueryUnescape(eq < 0 ? '' : seg.slice(eq + 1));
    if (key === null || value === null) continue;
    m.set(key, [...(m.get(key) ?? []), value]);
  }
  return m;
}
/** net/url QueryEscape: only A–Z a–z 0–9 - _ . ~ stay; a space becomes "+". */
const goQueryEscape = (s: string) =>
  [...Buffer.from(s, 'utf8')]
    .map((b) => {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9\-_.~]/.test(c)) return c;
      if (b === 0x20) return '+';
      return `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
/** net/url Values.Encode: keys sorted, each value escaped. */
const goEncode = (m: Map<string, string[]>) =>
  [...m.keys()]
    .sort()
    .flatMap((k) => m.get(k)!.map((v) => `${goQueryEscape(k)}=${goQueryEscape(v)}`))
    .join('&');

const plugin = JSON.parse(readFileSync(join(repo, 'datasource-plugin/src/plugin.json'), 'utf8')) as {
  routes: { path: string; url: string; headers: { name: string; content: string }[] }[];
};

/** The browser's request for `href`, through Grafana's data source proxy and the plugin's route, to the exporter. */
async function follow(href: string): Promise<Response> {
  const asked = new URL(href, 'http://grafana.example/');
  const prefix = '/api/datasources/proxy/uid/cs-exporter/';
  assert.ok(asked.pathname.startsWith(prefix), href);
  const rest = asked.pathname.slice(prefix.length);
  const route = plugin.routes.find((r) => rest === r.path || rest.startsWith(`${r.path}/`));
  assert.ok(route, `no plugin route for ${rest}`);
  const render = (t: string) => t.replace('{{ .JsonData.url }}', exporter.url).replace('{{ .SecureJsonData.apiToken }}', API_TOKEN);
  const query = goEncode(goParseQuery(asked.search.slice(1)));
  const headers = Object.fromEntries(route.headers.map((h) => [h.name, render(h.content)]));
  return fetch(`${render(route.url)}${rest.slice(route.path.length)}?${query}`, { headers });
}

// ------------------------------------------------------------------ rows, compared

type Frame = { fields: { name: string; type: string; config?: { displayName?: string }; values: unknown[] | { toArray(): unknown[] } }[]; length: number };
const fieldValues = (f: Frame['fields'][number]) => (Array.isArray(f.values) ? f.values : f.values.toArray());

/** A cell of a file read back into the frame's type: times are tenant-local wall clock to the second, booleans 是/否. */
function fromFile(cell: unknown, type: string): unknown {
  if (cell === null || cell === undefined || cell === '') return null;
  if (type === 'number') return Number(cell);
  if (type === 'boolean') return cell === '是' ? true : cell === '否' ? false : `?${String(cell)}`;
  if (type === 'time') {
    const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(String(cell));
    if (!m) return `?${String(cell)}`;
    return dayStartMs(m[1], TZ) + (Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4])) * 1000;
  }
  return String(cell);
}
function fromFrame(v: unknown, type: string): unknown {
  if (v === null || v === undefined || v === '') return null;
  if (type === 'time') return Math.floor(Number(v) / 1000) * 1000;
  return v;
}

/** Where a file and the panel's frames differ: columns the panel lacks, and rows one has and the other not. */
function differences(file: unknown[][], frames: Frame[]): string[] {
  const [header, ...body] = file;
  const fields = frames[0]?.fields ?? [];
  const cols = (header ?? []).map((h) => fields.find((f) => (f.config?.displayName ?? f.name) === h));
  const problems = (header ?? []).filter((_, i) => !cols[i]).map((h) => `column ${String(h)} is not on the panel`);
  if (problems.length) return problems;
  const fileRows = body.map((r) => JSON.stringify(cols.map((f, i) => fromFile(r[i], f!.type))));
  const panelRows = frames.flatMap((fr) =>
    Array.from({ length: fr.length }, (_, i) => JSON.stringify(cols.map((f) => fromFrame(fieldValues(fr.fields.find((x) => x.name === f!.name)!)[i], f!.type)))),
  );
  const count = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  const a = count(fileRows);
  const b = count(panelRows);
  for (const [row, n] of a) if ((b.get(row) ?? 0) !== n) problems.push(`file has ${n}× ${row}, panel ${b.get(row) ?? 0}×`);
  for (const [row, n] of b) if (!a.has(row)) problems.push(`panel has ${n}× ${row}, file none`);
  return problems;
}

async function fileRows(res: Response, format: 'csv' | 'xlsx'): Promise<unknown[][]> {
  const body = Buffer.from(await res.arrayBuffer());
  if (format === 'csv') return parseCsv(body.toString('utf8').replace(/^\uFEFF/, ''));
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(body as never);
  const out: unknown[][] = [];
  const sheet = wb.worksheets[0];
  const width = sheet.getRow(1).cellCount;
  sheet.eachRow((row) => out.push(Array.from({ length: width }, (_, c) => row.getCell(c + 1).value ?? null)));
  return out;
}

// ------------------------------------------------------------------ the cases

/** The viewer's choices: All everywhere, or hostile selections. */
type Choice = Record<string, string | string[]>;
const CHOICES: Record<string, Choice> = {
  'everything at All': {},
  'hostile ids and texts': {
    group: [HG, 'aftersales'],
    agent: [HA, 'a2'],
    userId: HU,
    satisfaction: ['2'],
    category: HCAT[0],
    remark: HREM,
  },
  'one hostile group, not revisited': { group: [HG], revisit: 'no', remark: ' ' },
};

/** What a query variable lists (its options), as Grafana gets them from the plugin's metricFindQuery. */
const listed = new Map<string, string[]>();
async function options(query: unknown): Promise<string[]> {
  const key = JSON.stringify(query);
  if (!listed.has(key)) {
    const found = await kit.makeDataSource({ timezone: TZ }).metricFindQuery(query as never);
    listed.set(key, found.map((f) => String(f.value)));
  }
  return listed.get(key)!;
}

async function sceneVars(dashboardUid: string, choice: Choice): Promise<Map<string, SceneVar>> {
  const d = dashboards.find((x) => x.uid === dashboardUid)!.dashboard;
  const out = new Map<string, SceneVar>();
  for (const v of d.templating?.list ?? []) {
    const saved = v as { type: string; name: string; allValue?: string; multi?: boolean; query?: unknown };
    const chosen = choice[saved.name];
    const value =
      chosen !== undefined ? chosen : saved.type === 'textbox' ? (saved.name === 'tenant' ? 'default' : '') : saved.multi ? ['$__all'] : '$__all';
    const opts =
      saved.type === 'custom'
        ? String(saved.query)
            .split(',')
            .map((o) => (o.includes(' : ') ? o.split(' : ')[1] : o).trim())
        : saved.type === 'query'
          ? await options(saved.query)
          : [];
    if (saved.type === 'query') assert.ok(opts.length > 0, `${dashboardUid}: $${saved.name} lists something`);
    out.set(saved.name, { type: saved.type, name: saved.name, allValue: saved.allValue, options: opts, value });
  }
  return out;
}

/** The same choices for the plugin, through its test template service (datasource-plugin/test/testkit.ts). */
function pluginTemplate(vars: Map<string, SceneVar>): InstanceType<typeof kit.FakeTemplateSrv> {
  return new kit.FakeTemplateSrv(
    [...vars.values()].map((v) => ({
      name: v.name,
      multi: Array.isArray(v.value),
      current: Array.isArray(v.value) ? v.value : [v.value],
      options: v.options.length ? v.options : Array.isArray(v.value) ? v.value : [v.value],
    })),
  );
}

/** Ranges of the dashboard's zone, as Grafana holds them (epoch ms), at the day boundaries where a browser zone shows. */
function ranges() {
  const todayStart = dayStartMs(info.today, TZ);
  const yStart = dayStartMs(info.yesterday, TZ);
  return {
    'today so far': { from: todayStart, to: now },
    // now-1d/d … now-1d/d: the end is the last millisecond of yesterday.
    yesterday: { from: yStart, to: todayStart - 1 },
    'yesterday and today': { from: yStart, to: now },
  };
}

interface Download {
  dashboard: string;
  kind: 'dashboard' | 'panel';
  url: string;
  report: string;
  format: 'csv' | 'xlsx';
  panel: { title: string; target: Record<string, unknown> };
}

/** Every export link of the 报表, with the table panel that shows the same report. */
function downloads(): Download[] {
  const out: Download[] = [];
  for (const d of dashboards) {
    const panels = targets([d]).filter(isPlugin);
    const tableOf = (report: string) => {
      const found = panels.find(
        (t) =>
          (t.target.queryType === 'sessions' ? 'sessions' : t.target.report) === report &&
          ((d.dashboard.panels ?? []) as { title: string; type: string }[]).some((p) => p.title === t.panel && p.type === 'table'),
      );
      assert.ok(found, `${d.uid}: no table shows ${report}`);
      return { title: found.panel, target: found.target };
    };
    const add = (kind: Download['kind'], url: string) => {
      if (!url.includes('/api/v1/export?')) return;
      const report = /report=([a-z_]+)/.exec(url)![1];
      const format = /format=(csv|xlsx)/.exec(url)![1] as 'csv' | 'xlsx';
      out.push({ dashboard: d.uid, kind, url, report, format, panel: tableOf(report) });
    };
    for (const l of d.dashboard.links ?? []) add('dashboard', l.url ?? '');
    for (const p of (d.dashboard.panels ?? []) as { links?: { url: string }[] }[]) for (const l of p.links ?? []) add('panel', l.url);
  }
  return out;
}

async function panelFrames(dl: Download, vars: Map<string, SceneVar>, range: { from: number; to: number }): Promise<Frame[]> {
  const ds = kit.makeDataSource({ timezone: TZ }, pluginTemplate(vars));
  const res = await ds.query(kit.request([dl.panel.target as never], new Date(range.from).toISOString(), new Date(range.to).toISOString()));
  assert.deepEqual(res.errors ?? [], [], `${dl.dashboard} / ${dl.panel.title}`);
  return res.data as Frame[];
}

/** One download against its panel: the problems found (none when the file holds exactly the panel's rows). */
async function check(
  dl: Download,
  choice: Choice,
  range: { from: number; to: number },
  url = dl.url,
  tweak: (vars: Map<string, SceneVar>) => void = () => {},
): Promise<{ problems: string[]; rows: number; file: unknown[][] }> {
  const vars = await sceneVars(dl.dashboard, choice);
  tweak(vars);
  const href = linkHref(url, dl.kind, vars, range);
  const res = await follow(href);
  if (res.status !== 200) return { problems: [`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`], rows: 0, file: [] };
  const file = await fileRows(res, dl.format);
  const frames = await panelFrames(dl, vars, range);
  return { problems: differences(file, frames), rows: file.length - 1, file };
}

test('the viewer is in another zone than the tenants, and Grafana formats dates there', () => {
  // 2026-11-20 00:00 in Shanghai is 2026-11-19 08:00 in Los Angeles: what ${__from:date:YYYY-MM-DD} wrote.
  const shanghaiMidnight = Date.parse('2026-11-19T16:00:00Z');
  assert.equal(FORMATS.date(shanghaiMidnight, ['YYYY-MM-DD'], '__from'), '2026-11-19');
  assert.equal(localDay(shanghaiMidnight, TZ), '2026-11-20');
});

test('the export cuts a range into the days the panels show', () => {
  // The plugin re-exports the exporter's rangeDays (datasource-plugin/src/time.ts), so a panel and its
  // download share one rule; these are its edges, worked by hand for Asia/Shanghai.
  const m = dayStartMs(info.today, TZ);
  const day = (offset: number) => localDay(m + offset * 24 * HOUR, TZ);
  const cases: [number, number, string, string][] = [
    // A whole day ends at the next midnight, which belongs to the next day: the `to` is 1 ms earlier.
    [m, m + 24 * HOUR, day(0), day(0)],
    [m, m + 24 * HOUR + 1, day(0), day(1)],
    // 1 ms before midnight is yesterday.
    [m - 1, m + 1, day(-1), day(0)],
    // An empty range at midnight is that one day.
    [m, m, day(0), day(0)],
  ];
  for (const [from, to, f, t] of cases) {
    assert.deepEqual(rangeDays(from, to, TZ), { from: f, to: t }, `${from}…${to}`);
    assert.deepEqual(pluginTime.rangeDays(from, to, TZ), { from: f, to: t }, `plugin ${from}…${to}`);
  }
});

test('every download link of the 报表 gives exactly the rows of its panel, for a viewer in Los Angeles, with hostile values', async () => {
  const all = downloads();
  // Every 报表 report, in both formats, from the top bar and the panels.
  assert.ok(new Set(all.map((d) => d.report)).size >= 11, `${new Set(all.map((d) => d.report)).size} reports`);
  assert.ok(all.some((d) => d.kind === 'dashboard') && all.some((d) => d.kind === 'panel'));
  const failures: string[] = [];
  const seen = new Map<string, number>();
  const sessionIds = new Map<string, string>();
  for (const [rangeName, range] of Object.entries(ranges()))
    for (const [choiceName, choice] of Object.entries(CHOICES))
      for (const dl of all) {
        const where = `${rangeName} / ${choiceName} / ${dl.dashboard} ${dl.kind} link ${dl.report}.${dl.format}`;
        const { problems, rows, file } = await check(dl, choice, range);
        if (problems.length) failures.push(`${where}:\n  ${problems.slice(0, 5).join('\n  ')}`);
        seen.set(`${rangeName} / ${choiceName} / ${dl.report}`, rows);
        if (dl.report === 'sessions' && dl.format === 'csv')
          sessionIds.set(`${rangeName} / ${choiceName}`, file.slice(1).map((r) => String(r[0])).sort().join(' '));
      }
  assert.deepEqual(failures, []);
  // The comparisons were not of empty files: the hostile choices select the hostile sessions, All selects everything.
  assert.equal(sessionIds.get('yesterday / hostile ids and texts'), 'HX1');
  assert.equal(sessionIds.get('today so far / hostile ids and texts'), 'HX2');
  assert.equal(sessionIds.get('yesterday and today / hostile ids and texts'), 'HX1 HX2');
  assert.match(String(sessionIds.get('yesterday / everything at All')), /(^| )s1( |$)/);
  assert.ok((seen.get('yesterday / hostile ids and texts / group_daily') ?? 0) > 0);
  assert.ok((seen.get('yesterday / hostile ids and texts / agent_daily') ?? 0) > 0);
  assert.ok((seen.get('yesterday / everything at All / ticket_detail') ?? 0) > 0);
});

test('the links as shipped before (browser-zone dates, raw values) fail the same check', async () => {
  // The 会话记录 CSV link of the generated dashboard before this fix, verbatim.
  const old =
    '/api/datasources/proxy/uid/cs-exporter/api/v1/export?report=sessions&from=${__from:date:YYYY-MM-DD}&to=${__to:date:YYYY-MM-DD}' +
    '&format=csv&tenant=${tenant}&groups=${group:csv}&agents=${agent:csv}&userId=${userId}&satisfaction=${satisfaction:csv}' +
    '&category=${category}&revisit=${revisit}&remark=${remark}';
  const dl = downloads().find((d) => d.report === 'sessions' && d.format === 'csv' && d.kind === 'panel')!;
  const r = ranges();
  // In Los Angeles, today (Shanghai) begins on yesterday's date: the file pulls in yesterday's sessions.
  assert.notDeepEqual((await check(dl, CHOICES['everything at All'], r['today so far'], old)).problems, []);
  // `&`, `#`, `+`, `%` and commas in the values break the query.
  assert.notDeepEqual((await check(dl, CHOICES['hostile ids and texts'], r.yesterday, old)).problems, []);
  // Without the custom all value, Grafana writes every listed score at All and the file loses the unrated sessions.
  const noAllValue = (vars: Map<string, SceneVar>) => delete vars.get('satisfaction')!.allValue;
  assert.notDeepEqual((await check(dl, CHOICES['everything at All'], r['yesterday and today'], dl.url, noAllValue)).problems, []);
  // The links as generated now pass both.
  assert.deepEqual((await check(dl, CHOICES['everything at All'], r['today so far'])).problems, []);
  assert.deepEqual((await check(dl, CHOICES['hostile ids and texts'], r.yesterday)).problems, []);
});
