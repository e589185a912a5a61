import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findReport, REPORTS } from '@cs-data-ops/exporter/catalog';
import { allDashboards, relativePath, render, GENERATED_DIR } from '../src/index.js';
import { isPlugin, isProm, targets } from './walk.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = allDashboards();
// The other checks read the dashboards as Grafana will: the JSON, not the builders' objects.
const dashboards = built.map((d) => ({ ...d, dashboard: JSON.parse(render(d)) as typeof d.dashboard }));

test('committed dashboard JSON is what the builders generate (run `npm run generate -w dashboards` when this fails)', () => {
  const expected = new Map(built.map((d) => [relativePath(d), render(d)]));
  const committed = readdirSync(join(root, GENERATED_DIR), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1));
  assert.deepEqual(committed.sort(), [...expected.keys()].sort(), 'generated/ holds exactly one file per dashboard');
  for (const [path, json] of expected) assert.equal(readFileSync(join(root, path), 'utf8'), json, `${path} is stale`);
});

test('dashboards sit in the folders 监控 and 报表 under unique, readable uids', () => {
  const uids = dashboards.map((d) => d.uid);
  assert.equal(new Set(uids).size, uids.length);
  for (const d of dashboards) {
    assert.match(d.uid, /^cs-[a-z-]+$/);
    assert.equal(d.dashboard.uid, d.uid);
  }
  assert.deepEqual(new Set(dashboards.map((d) => d.folder)), new Set(['监控', '报表']));
});

test('every metric of the catalog is queried by some dashboard', () => {
  const plugin = targets(dashboards).filter(isPlugin);
  const missing: string[] = [];
  for (const report of REPORTS) {
    // The sessions list query returns every field of the sessions report; it has no metric list.
    if (report.id === 'sessions') {
      if (!plugin.some((t) => t.target.queryType === 'sessions')) missing.push('sessions (no sessions query)');
      continue;
    }
    for (const m of report.metrics) {
      const found = plugin.some((t) => t.target.report === report.id && (t.target.metrics as string[]).includes(m.id));
      if (!found) missing.push(`${report.id}.${m.id}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('every plugin query names a report and metrics the catalog knows, in the plugin query model, for the URL tenant', () => {
  const problems: string[] = [];
  for (const { dashboard, panel, target: t } of targets(dashboards).filter(isPlugin)) {
    const where = `${dashboard} / ${panel}`;
    if (t.datasource?.type !== 'csdataops-contactcenter-datasource') problems.push(`${where}: datasource type ${t.datasource?.type}`);
    if (t.tenant !== '${tenant}') problems.push(`${where}: tenant ${String(t.tenant)}`);
    if ('_implementsDataqueryVariant' in t) problems.push(`${where}: SDK marker leaked into the JSON`);
    switch (t.queryType) {
      case 'report':
      case 'live': {
        const def = findReport(String(t.report));
        if (!def) {
          problems.push(`${where}: unknown report ${String(t.report)}`);
          break;
        }
        if ((t.queryType === 'live') !== (def.grain === 'live'))
          problems.push(`${where}: ${def.id} is not a ${String(t.queryType)} report`);
        for (const m of t.metrics as string[])
          if (!def.metrics.some((x) => x.id === m)) problems.push(`${where}: ${def.id} has no metric ${m}`);
        if (t.queryType === 'report' && !['table', 'timeseries'].includes(String(t.format)))
          problems.push(`${where}: format ${String(t.format)}`);
        if ((t.groups as string[]).length && !def.filters.includes('groups')) problems.push(`${where}: ${def.id} cannot filter by group`);
        if (((t.agents as string[] | undefined) ?? []).length && !def.filters.includes('agents'))
          problems.push(`${where}: ${def.id} cannot filter by agent`);
        break;
      }
      case 'sessions':
        break;
      case 'session':
        if (!['summary', 'legs', 'parts', 'transcript'].includes(String(t.part))) problems.push(`${where}: part ${String(t.part)}`);
        break;
      default:
        problems.push(`${where}: queryType ${String(t.queryType)}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('every Prometheus series of the contract and every recording rule is on some graph', () => {
  const exprs = targets(dashboards)
    .filter(isProm)
    .map((t) => String(t.target.expr));
  const names = [
    'cs_queue_length',
    'cs_queue_longest_wait_seconds',
    'cs_conversations_active',
    'cs_agents',
    'cs_sessions_inflow_total',
    'cs_sessions_answered_total',
    'cs_sessions_abandoned_total',
    'cs_sessions_rejected_total',
    'cs_transfers_total',
    'cs_queue_wait_seconds_bucket',
    'cs_ratings_total',
    'cs_parts_ended_total',
    'cs_part_duration_seconds_total',
    'cs_agents_required',
    'cs_service_level_expected',
    'cs_agent_status',
    'cs_agent_active_sessions',
    'cs_agent_status_since_timestamp_seconds',
    'cs_exporter_events_ingested_total',
    'cs_exporter_events_rejected_total',
    'cs_exporter_last_event_timestamp_seconds',
    'cs_exporter_ingest_lag_seconds',
    'cs_exporter_scrape_duration_seconds',
    ...[
      'answer_rate:ratio_rate5m',
      'answered_20s_rate:ratio_rate5m',
      'abandon_rate:ratio_rate5m',
      'avg_satisfaction:ratio_rate1h',
      'relative_satisfaction:ratio_rate1h',
    ].flatMap((r) => [`tenant_group:cs_${r}`, `tenant:cs_${r}`]),
  ];
  const missing = names.filter((n) => !exprs.some((e) => new RegExp(`(^|[^a-z_:])${n}([^a-z_:]|$)`).test(e)));
  assert.deepEqual(missing, []);
  for (const e of exprs) assert.match(e, /tenant="\$tenant"|cs_exporter_/, `${e} must stay within the URL's tenant`);
});

test('every variable a query or link uses is defined on its dashboard, so a shared link opens the same view', () => {
  const builtin = new Set(['__from', '__to', '__value', '__data', '__url_time_range', '__all']);
  for (const d of dashboards) {
    const defined = new Set((d.dashboard.templating?.list ?? []).map((v) => v.name));
    const text = JSON.stringify({ panels: d.dashboard.panels, links: d.dashboard.links, vars: d.dashboard.templating });
    const used = new Set([...text.matchAll(/\$\{([a-zA-Z_]+)|\$([a-zA-Z_]+)/g)].map((m) => m[1] ?? m[2]));
    for (const name of used) if (!builtin.has(name)) assert.ok(defined.has(name), `${d.uid} uses $${name} without defining it`);
    for (const v of d.dashboard.templating?.list ?? []) assert.notEqual(v.skipUrlSync, true, `${d.uid}: $${v.name} must be in the URL`);
    assert.ok(defined.has('tenant'), `${d.uid} has no tenant variable`);
  }
});

test('links between dashboards point at dashboards that exist; 监控 and 报表 link to each other', () => {
  const uids = new Set(dashboards.map((d) => d.uid));
  for (const d of dashboards) {
    const text = JSON.stringify(d.dashboard);
    for (const [, uid] of text.matchAll(/\/d\/([a-z-]+)/g)) assert.ok(uids.has(uid), `${d.uid} links to unknown ${uid}`);
    const tagLinks = (d.dashboard.links ?? []).filter((l) => l.type === 'dashboards').flatMap((l) => l.tags);
    assert.deepEqual(tagLinks.sort(), ['cs-报表', 'cs-监控'], `${d.uid} links to both sections`);
  }
  for (const d of dashboards) assert.ok(d.dashboard.tags?.includes(d.folder === '监控' ? 'cs-监控' : 'cs-报表'));
});

test('every panel runs its queries on their own datasource', () => {
  for (const d of dashboards)
    for (const p of (d.dashboard.panels ?? []) as {
      title: string;
      datasource?: { uid?: string };
      targets?: { datasource?: { uid?: string } }[];
    }[]) {
      if (!p.targets?.length) continue;
      const uids = new Set(p.targets.map((t) => t.datasource?.uid));
      assert.equal(p.datasource?.uid, uids.size === 1 ? [...uids][0] : '-- Mixed --', `${d.uid} / ${p.title}`);
    }
});

test('监控 refreshes every 5–10 s, 报表 never on its own', () => {
  for (const d of dashboards) {
    if (d.folder === '监控') assert.ok(['5s', '10s'].includes(String(d.dashboard.refresh)), `${d.uid} refresh ${d.dashboard.refresh}`);
    else assert.ok(!d.dashboard.refresh, `${d.uid} must not auto-refresh`);
  }
});

test('every 报表 table offers its download through the datasource proxy, with the range and the tenant', () => {
  for (const d of dashboards.filter((x) => x.folder === '报表' && x.uid !== 'cs-session-detail')) {
    const urls = (d.dashboard.links ?? []).map((l) => l.url ?? '').filter((u) => u.includes('/export?'));
    assert.ok(urls.length > 0, `${d.uid} has no export link`);
    for (const u of urls) {
      // The range as epoch ms (the exporter cuts days in CS_TIMEZONE); `${__from:date:…}` formats in the
      // viewer's browser zone (see exportUrl in src/common.ts).
      assert.match(
        u,
        /^\/api\/datasources\/proxy\/uid\/cs-exporter\/api\/v1\/export\?report=[a-z_]+&format=(xlsx|csv)&from=\$\{__from\}&to=\$\{__to\}&tenant=\$\{tenant:percentencode\}/,
      );
      // Every other variable goes in encoded: a bare or csv-formatted one breaks on `&`, `#`, `+`, `%` or a comma.
      for (const [ref, name, fmt] of u.matchAll(/\$\{(\w+)(?::([^}]*))?\}/g))
        if (!name.startsWith('__'))
          assert.match(String(fmt), /^(percentencode|customqueryparam:\w+)$/, `${d.uid}: ${ref} in a download link is not encoded`);
    }
  }
  // At All a download must not be narrowed to the options Grafana happens to list (unrated sessions,
  // groups no longer live): the lists a download uses spell All as their blank parameter, which
  // Grafana writes into the link as it stands (see allAsBlankParam in src/common.ts).
  for (const d of dashboards.filter((x) => x.folder === '报表')) {
    const used = JSON.stringify(d.dashboard.links) + JSON.stringify(d.dashboard.panels);
    for (const v of d.dashboard.templating?.list ?? []) {
      if (!v.includeAll) continue;
      const param = new RegExp(`\\$\\{${v.name}:customqueryparam:(\\w+)\\}`).exec(used)?.[1];
      if (param) assert.equal(v.allValue, `${param}=`, `${d.uid}: $${v.name} at All`);
      else if (used.includes(`\${${v.name}:percentencode}`)) assert.equal(v.allValue, ' ', `${d.uid}: $${v.name} at All`);
    }
  }
  const reportsWithTables = new Set(REPORTS.filter((r) => r.section === '报表').map((r) => r.id));
  const exported = new Set(
    dashboards
      .flatMap((d) => JSON.stringify(d.dashboard).match(/export\?report=[a-z_]+/g) ?? [])
      .map((s) => s.slice('export?report='.length)),
  );
  assert.deepEqual(
    [...reportsWithTables].filter((r) => !exported.has(r)),
    [],
    'every 报表 report can be downloaded',
  );
});

test('the sessions list links each row to the 详情 dashboard with its session id', () => {
  const list = dashboards.find((d) => d.uid === 'cs-sessions')!;
  assert.match(JSON.stringify(list.dashboard), /\/d\/cs-session-detail\?var-tenant=\$\{tenant\}&var-session=\$\{__value\.raw\}/);
  const detail = dashboards.find((d) => d.uid === 'cs-session-detail')!;
  const parts = targets([detail]).map((t) => [t.target.queryType, t.target.part, t.target.sessionId]);
  for (const part of ['summary', 'legs', 'transcript'])
    assert.ok(
      parts.some(([q, p, s]) => q === 'session' && p === part && s === '${session}'),
      part,
    );
});
