/**
 * Every file Grafana provisions here, checked against the rules Grafana applies when it loads it
 * (dashboards/test/grafana-rules.ts names the Grafana source of each). For each file a broken copy,
 * mutated here, must fail the same check: a check that cannot fail proves nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import {
  allPanels,
  checkAlertRuleFiles,
  checkContactPoints,
  checkDashboard,
  checkDashboardProviderFiles,
  checkDatasourceFiles,
  checkPolicies,
  envRefs,
  expand,
  parsePromDuration,
  strings,
  unknownAlertingKeys,
} from './grafana-rules.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (p: string) => readFileSync(join(repo, p), 'utf8');
const yamlOf = (p: string) => parse(read(p), { merge: true }) as Record<string, unknown>;
const clone = <T>(v: T): T => structuredClone(v);
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const compose = yamlOf('docker-compose.yml') as Obj;
const grafana = compose.services.grafana as Obj;

/** A host directory for a path inside the grafana container, through its bind mounts. */
function hostDir(containerPath: string): string {
  const mounts = (grafana.volumes as string[]).map((v) => v.split(':')).sort((a, b) => b[1].length - a[1].length);
  for (const [source, target] of mounts)
    if ((containerPath === target || containerPath.startsWith(target + '/')) && source.startsWith('./'))
      return join(repo, source, posix.relative(target, containerPath));
  throw new Error(`${containerPath} is not bind-mounted into grafana`);
}

/** Grafana reads every *.yaml / *.yml of a provisioning directory (each config_reader.go, readConfig). */
function provisioningFiles(kind: string): { path: string; doc: Obj }[] {
  const dir = hostDir(`/etc/grafana/provisioning/${kind}`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .map((f) => ({ path: join(dir, f), doc: parse(readFileSync(join(dir, f), 'utf8')) as Obj }));
}

/**
 * The grafana service's environment as docker compose hands it over on a machine with no .env:
 * `${VAR:-default}` and `${VAR-default}` give the default, `${VAR}` and `$VAR` give "" (compose-spec,
 * "Interpolation").
 */
function composeEnv(service: Obj, env: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((service.environment ?? {}) as Record<string, string>))
    out[k] = String(v).replace(/\$\{([A-Za-z0-9_]+)(?::?-([^}]*))?\}|\$([A-Za-z0-9_]+)/g, (_, a, def, b) => {
      const name = a ?? b;
      const set = env[name];
      return set !== undefined && set !== '' ? set : (def ?? '');
    });
  return out;
}
const grafanaEnv = composeEnv(grafana);

const datasourceFiles = provisioningFiles('datasources');
const providerFiles = provisioningFiles('dashboards');
const alertingFiles = provisioningFiles('alerting');
const { datasources } = checkDatasourceFiles(datasourceFiles.map((f) => f.doc));
const datasourceUids = new Set(datasources.map((d) => d.uid));

/** The dashboards the file provider loads: *.json under options.path, hidden directories skipped (file_reader.go, validateWalkablePath). */
function providedDashboards(): { path: string; folder: string; json: Obj }[] {
  const out: { path: string; folder: string; json: Obj }[] = [];
  for (const p of checkDashboardProviderFiles(providerFiles.map((f) => f.doc)).providers) {
    const root = hostDir((p.options as Obj).path);
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const full = join(dir, name);
        if (statSync(full).isDirectory()) {
          if (!name.startsWith('.')) walk(full);
        } else if (name.endsWith('.json')) {
          // foldersFromFilesStructure: the folder is the directory's name relative to path.
          out.push({ path: full, folder: posix.relative(root, dir) || '(General)', json: JSON.parse(readFileSync(full, 'utf8')) });
        }
      }
    };
    walk(root);
  }
  return out;
}
const dashboards = providedDashboards();
const dashboardUids = new Set(dashboards.map((d) => String(d.json.uid)));

// ------------------------------------------------------------------ datasources

test('Grafana datasources: the provisioned files load (access, one default per org, org, uids)', () => {
  const { problems } = checkDatasourceFiles(datasourceFiles.map((f) => f.doc));
  assert.deepEqual(problems, []);
  assert.ok(datasourceUids.has('cs-exporter') && datasourceUids.has('prometheus'));
});

test('Grafana datasources: a broken copy fails (two defaults, bad access, a uid Grafana refuses)', () => {
  const docs = datasourceFiles.map((f) => clone(f.doc));
  const list = docs.flatMap((d) => d.datasources as Obj[]);
  list.forEach((d) => (d.isDefault = true));
  assert.ok(checkDatasourceFiles(docs).problems.some((p) => /Only one datasource per organization can be marked as default/.test(p)));
  const access = datasourceFiles.map((f) => clone(f.doc));
  (access[0].datasources as Obj[])[0].access = 'browser';
  assert.ok(checkDatasourceFiles(access).problems.some((p) => /invalid access value "browser"/.test(p)));
  const uid = datasourceFiles.map((f) => clone(f.doc));
  (uid[0].datasources as Obj[])[0].uid = 'cs exporter/1';
  assert.ok(checkDatasourceFiles(uid).problems.some((p) => /Only letters, numbers, '-' and '_' are allowed/.test(p)));
});

// ------------------------------------------------------------------ dashboard providers and dashboards

test('Grafana dashboard providers: the provider loads (path a string, no folder with foldersFromFilesStructure)', () => {
  assert.deepEqual(checkDashboardProviderFiles(providerFiles.map((f) => f.doc)).problems, []);
  assert.ok(dashboards.length >= 9, `the provider finds the generated dashboards (${dashboards.length})`);
  assert.deepEqual([...new Set(dashboards.map((d) => d.folder))].sort(), ['报表', '监控']);
});

test('Grafana dashboard providers: a broken copy fails', () => {
  const folder = providerFiles.map((f) => clone(f.doc));
  (folder[0].providers as Obj[])[0].folder = '客服';
  (folder[0].providers as Obj[])[0].folderUid = 'cs';
  assert.ok(checkDashboardProviderFiles(folder).problems.some((p) => /should be empty using 'foldersFromFilesStructure'/.test(p)));
  const path = providerFiles.map((f) => clone(f.doc));
  ((path[0].providers as Obj[])[0].options as Obj).path = ['/var/lib/grafana/dashboards'];
  assert.ok(checkDashboardProviderFiles(path).problems.some((p) => /path param is not a string/.test(p)));
});

test('Grafana dashboards: every file the provider loads passes what Grafana checks when saving it', () => {
  for (const d of dashboards) assert.deepEqual(checkDashboard(d.json, datasourceUids, dashboardUids), [], d.path);
  // file_reader.go (provisioningSanityChecker.logWarnings): "the same 'uid' is used more than once" and
  // "the same 'title' is used more than once" within one provider are logged as errors (one file wins).
  const uids = dashboards.map((d) => d.json.uid);
  assert.equal(new Set(uids).size, uids.length, 'dashboard uids are unique');
  const titles = dashboards.map((d) => d.json.title);
  assert.equal(new Set(titles).size, titles.length, 'dashboard titles are unique in the provider');
});

test('Grafana dashboards: links of type "dashboards" find dashboards by their tags', () => {
  // Not a load error but what the user sees: a link of type "dashboards" lists the dashboards carrying
  // its tags (Grafana docs, "Manage dashboard links › Dashboard links"); with no match the menu is empty.
  for (const d of dashboards)
    for (const l of (d.json.links ?? []) as Obj[]) {
      if (l.type !== 'dashboards') continue;
      const hits = dashboards.filter((o) => (l.tags as string[]).every((t) => ((o.json.tags ?? []) as string[]).includes(t)));
      assert.ok(hits.length > 0, `${d.json.uid}: link "${l.title}" (tags ${l.tags}) finds a dashboard`);
    }
});

test('Grafana dashboards: a broken copy of each kind fails (uid, title, schemaVersion, refresh, datasource, link)', () => {
  const base = dashboards.find((d) => d.json.uid === 'cs-live-overview')!.json;
  const broken: [string, (d: Obj) => void, RegExp][] = [
    ['uid too long', (d) => (d.uid = 'cs-live-overview-'.repeat(3)), /longer than 40/],
    ['uid charset', (d) => (d.uid = 'cs.live.overview'), /Only letters, numbers/],
    ['no title', (d) => (d.title = '   '), /title cannot be empty/],
    ['schemaVersion too old', (d) => (d.schemaVersion = 12), /below the minimum/],
    ['schemaVersion from the future', (d) => (d.schemaVersion = 99), /above the latest/],
    ['refresh below 5s', (d) => (d.refresh = '1s'), /below min_refresh_interval/],
    ['refresh unparsable', (d) => (d.refresh = 'fast'), /parsing refresh duration/],
    ['unknown datasource', (d) => (allPanels(d).find((p) => p.targets)!.datasource = { type: 'prometheus', uid: 'prom' }), /datasource uid prom is not provisioned/],
    ['duplicate panel id', (d) => (allPanels(d)[1].id = allPanels(d)[0].id), /panel id .* is used twice/],
  ];
  for (const [name, mutate, expected] of broken) {
    const d = clone(base);
    mutate(d);
    const problems = checkDashboard(d, datasourceUids, dashboardUids);
    assert.ok(problems.some((p) => expected.test(p)), `${name}: ${JSON.stringify(problems)}`);
  }
  const withLink = clone(dashboards.find((d) => JSON.stringify(d.json).includes('/d/cs-session-detail'))!.json);
  const text = JSON.stringify(withLink).replaceAll('/d/cs-session-detail', '/d/cs-session-detial');
  assert.ok(checkDashboard(JSON.parse(text), datasourceUids, dashboardUids).some((p) => /link to dashboard cs-session-detial/.test(p)));
});

// ------------------------------------------------------------------ alert rules

const ruleFiles = alertingFiles.filter((f) => f.doc.groups);

/** Metric names of a PromQL expression: what is left without label matchers, by/without groups, functions and numbers. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/"[^"]*"/g, ' ');
  // An identifier followed by "(" is a function or an aggregation, not a metric.
  return [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(?!\s*[a-zA-Z0-9_:(])/g)]
    .map((m) => m[0])
    .filter((n) => !/^(and|or|unless|bool|offset|by|without|on|ignoring|inf|nan)$/i.test(n));
}

test('Grafana alert rules: the provisioned groups load (uid, title, interval a multiple of 10s, states, refIds, condition, time ranges, datasources)', () => {
  const { problems, links } = checkAlertRuleFiles(ruleFiles.map((f) => f.doc), datasourceUids);
  assert.deepEqual(problems, []);
  assert.ok(links.length >= 2, 'the queue rules link to their panels');
});

test('Grafana alert rules: every __dashboardUid__/__panelId__ names an existing panel that shows the rule\'s figure', () => {
  const { links } = checkAlertRuleFiles(ruleFiles.map((f) => f.doc), datasourceUids);
  for (const l of links) {
    const d = dashboards.find((x) => x.json.uid === l.dashboardUid);
    assert.ok(d, `${l.rule}: dashboard ${l.dashboardUid} is provisioned`);
    const panel = allPanels(d.json).find((p) => p.id === l.panelId);
    assert.ok(panel, `${l.rule}: panel ${l.panelId} exists in ${l.dashboardUid}`);
    assert.notEqual(panel.type, 'row', `${l.rule}: panel ${l.panelId} is a panel, not a row`);
    const shown = new Set(((panel.targets ?? []) as Obj[]).flatMap((t) => (typeof t.expr === 'string' ? metricNames(t.expr) : [])));
    const figure = l.exprs.flatMap(metricNames);
    assert.ok(figure.length > 0, `${l.rule}: its query names a metric`);
    for (const m of figure) assert.ok(shown.has(m), `${l.rule}: panel ${l.panelId} (${panel.title}) shows ${m}; it shows ${[...shown]}`);
  }
});

test('Grafana alert rules: the copy shipped before this fix, and other broken copies, fail', () => {
  const docs = () => ruleFiles.map((f) => clone(f.doc));
  const firstRule = (d: Obj[]) => ((d[0].groups as Obj[])[0].rules as Obj[])[0];
  const cases: [string, (d: Obj[]) => void, RegExp][] = [
    // The defect: a dashboard link without its panel stops Grafana at start-up.
    ['__dashboardUid__ without __panelId__', (d) => delete firstRule(d).annotations.__panelId__, /both annotations __dashboardUid__ and __panelId__ must be specified/],
    ['__panelId__ not an integer', (d) => (firstRule(d).annotations.__panelId__ = 'queue'), /must be a valid integer Panel ID/],
    ['interval not a multiple of 10s', (d) => ((d[0].groups as Obj[])[0].interval = '45s'), /divided exactly by scheduler interval/],
    ['interval not a duration', (d) => ((d[0].groups as Obj[])[0].interval = '1.5m'), /not a valid duration string/],
    ['unknown noDataState', (d) => (firstRule(d).noDataState = 'Ok'), /unknown NoData state option Ok/],
    ['unknown execErrState', (d) => (firstRule(d).execErrState = 'Alerting!'), /unknown Error state option/],
    ['condition names no query', (d) => (firstRule(d).condition = 'D'), /condition D does not exist/],
    ['expression reads a missing refId', (d) => (firstRule(d).data[1].model.expression = 'Z'), /unable to find dependent node 'Z'/],
    ['unknown datasource', (d) => (firstRule(d).data[0].datasourceUid = 'prom'), /datasource uid prom is neither provisioned nor __expr__/],
    ['empty time range', (d) => (firstRule(d).data[0].relativeTimeRange = { from: 0, to: 0 }), /invalid relative time range/],
    ['uid too long', (d) => (firstRule(d).uid = 'x'.repeat(41)), /longer than 40/],
    ['no title', (d) => (firstRule(d).title = ''), /rule has no title set/],
    ['title too long', (d) => (firstRule(d).title = '长'.repeat(191)), /title is too long/],
    ['no folder', (d) => ((d[0].groups as Obj[])[0].folder = ' '), /rule group has no folder set/],
    ['bad for', (d) => (firstRule(d).for = '1 m'), /failed to parse 'for' field/],
    ['unknown reducer', (d) => (firstRule(d).data[1].model.reducer = 'avg'), /reduction avg not implemented/],
    ['unknown threshold', (d) => (firstRule(d).data[2].model.conditions[0].evaluator.type = 'above'), /no such threshold function above/],
  ];
  for (const [name, mutate, expected] of cases) {
    const d = docs();
    mutate(d);
    const { problems } = checkAlertRuleFiles(d, datasourceUids);
    assert.ok(problems.some((p) => expected.test(p)), `${name}: ${JSON.stringify(problems)}`);
  }
  // A link to a panel that does not show the figure, or does not exist, fails the resolution test's rule.
  const wrong = docs();
  firstRule(wrong).annotations.__panelId__ = '12';
  const link = checkAlertRuleFiles(wrong, datasourceUids).links[0];
  const panel = allPanels(dashboards.find((x) => x.json.uid === link.dashboardUid)!.json).find((p) => p.id === link.panelId)!;
  const shown = new Set(((panel.targets ?? []) as Obj[]).flatMap((t) => metricNames(String(t.expr ?? ''))));
  assert.ok(!link.exprs.flatMap(metricNames).every((m) => shown.has(m)), 'panel 12 (满意度) does not show the queue length');
});

test('metricNames reads the metric out of the expressions the rules and panels use', () => {
  assert.deepEqual(metricNames('max by (tenant, group) (cs_queue_length)'), ['cs_queue_length']);
  assert.deepEqual(metricNames('sum by (group) (cs_queue_length{tenant="$tenant", group=~"$group"})'), ['cs_queue_length']);
  assert.deepEqual(metricNames('min(up{job="cs-exporter"})'), ['up']);
  assert.deepEqual(metricNames('time() - max(cs_exporter_last_event_timestamp_seconds)'), ['cs_exporter_last_event_timestamp_seconds']);
});

// ------------------------------------------------------------------ contact points and policies

const notificationFiles = alertingFiles.filter((f) => f.doc.contactPoints || f.doc.policies);

test('Grafana contact points and policies: they load, and the policy routes only to provisioned contact points', () => {
  const { problems, names } = checkContactPoints(notificationFiles.map((f) => f.doc), grafanaEnv);
  assert.deepEqual(problems, []);
  assert.deepEqual(checkPolicies(notificationFiles.map((f) => f.doc), names), []);
});

test('Grafana contact points and policies: broken copies fail (no url, unknown receiver, bad matcher, duplicate group_by, zero interval)', () => {
  const docs = () => notificationFiles.map((f) => clone(f.doc));
  const cp = (d: Obj[]) => d.find((x) => x.contactPoints)!.contactPoints[0];
  const pol = (d: Obj[]) => d.find((x) => x.policies)!.policies[0];
  // The url comes from the environment: unset, Grafana sees "" and exits (webhook NewConfig).
  assert.ok(
    checkContactPoints(docs(), { ...grafanaEnv, CS_ALERT_WEBHOOK_URL: '' }).problems.some((p) => /required field 'url' is not specified/.test(p)),
  );
  const noUid = docs();
  delete cp(noUid).receivers[0].uid;
  assert.ok(checkContactPoints(noUid, grafanaEnv).problems.some((p) => /no uid is set/.test(p)));
  const noName = docs();
  cp(noName).name = ' ';
  assert.ok(checkContactPoints(noName, grafanaEnv).problems.some((p) => /no name is set/.test(p)));
  const names = checkContactPoints(docs(), grafanaEnv).names;
  const cases: [string, (d: Obj[]) => void, RegExp][] = [
    ['receiver that is not provisioned', (d) => (pol(d).receiver = 'grafana-default-email'), /receiver 'grafana-default-email' does not exist/],
    ['route to an unknown receiver', (d) => (pol(d).routes[0].receiver = '运营'), /receiver '运营' does not exist/],
    ['bad matcher operator', (d) => (pol(d).routes[0].object_matchers[0][1] = '=='), /unsupported match type "=="/],
    ['bad matcher regexp', (d) => (pol(d).routes[0].object_matchers[0] = ['severity', '=~', '(critical']), /not a valid regular expression/],
    ['duplicate group_by', (d) => (pol(d).group_by = ['alertname', 'alertname']), /duplicated label "alertname"/],
    ['zero repeat interval', (d) => (pol(d).repeat_interval = '0s'), /repeat_interval cannot be zero/],
    ['matchers on the root', (d) => (pol(d).object_matchers = [['a', '=', 'b']]), /root route must not have any matchers/],
  ];
  for (const [name, mutate, expected] of cases) {
    const d = docs();
    mutate(d);
    const problems = checkPolicies(d, names);
    assert.ok(problems.some((p) => expected.test(p)), `${name}: ${JSON.stringify(problems)}`);
  }
});

test('alerts reach somewhere a user can see out of the box: the policy ends at the compose alert-receiver', () => {
  // A provisioned policy replaces Grafana's default one (grafana-default-email, which needs SMTP), so the
  // root receiver must deliver with no set-up: its webhook resolves to the alert-receiver service.
  const n = notificationFiles.map((f) => f.doc);
  const root = n.find((x) => x.policies)!.policies[0];
  const point = n.flatMap((x) => (x.contactPoints ?? []) as Obj[]).find((c) => c.name === root.receiver)!;
  const url = new URL(expand(point.receivers[0].settings.url, grafanaEnv));
  assert.equal(url.hostname, 'alert-receiver');
  const receiver = compose.services[url.hostname] as Obj;
  assert.ok(receiver, 'the webhook host is a compose service');
  const port = Number(url.port || 80);
  assert.equal(composeEnv(receiver).PORT ?? '8080', String(port), 'it listens on the port the webhook names');
  assert.ok(
    (receiver.volumes as string[]).some((v) => v.startsWith('./provisioning/alert-receiver:')),
    'it runs the receiver of this repository (tested in alert-receiver.test.ts)',
  );
  assert.ok((receiver.ports as string[]).some((p) => p.endsWith(`:${port}`)), 'its page is published to the host');
});

test('Grafana alerting files: every key is one Grafana reads (a misspelt key is dropped silently)', () => {
  assert.ok(alertingFiles.length >= 2);
  for (const f of alertingFiles) {
    assert.equal(f.doc.apiVersion, 1, `${f.path}: apiVersion 1`);
    assert.deepEqual(unknownAlertingKeys(f.doc), [], f.path);
  }
  const typo = clone(ruleFiles[0].doc);
  const rule = (typo.groups as Obj[])[0].rules[0];
  rule.noDataSate = rule.noDataState;
  delete rule.noDataState;
  assert.ok(unknownAlertingKeys(typo).some((p) => /key "noDataSate" is not read/.test(p)));
  const cp = clone(notificationFiles[0].doc);
  cp.contactpoints = cp.contactPoints;
  assert.ok(unknownAlertingKeys(cp).some((p) => /key "contactpoints" is not read/.test(p)));
});

// ------------------------------------------------------------------ environment interpolation

test('every $VAR Grafana expands in a provisioning file is set, non-empty, in the grafana service of docker-compose.yml', () => {
  const used: { file: string; path: string; name: string }[] = [];
  const collect = (file: string, doc: Obj, skip: (path: string) => 'raw' | 'braced' | 'all') => {
    for (const s of strings(doc)) {
      const mode = skip(s.path);
      if (mode === 'raw') continue;
      for (const name of envRefs(s.value, mode === 'braced')) used.push({ file, path: s.path, name });
    }
  };
  for (const f of [...datasourceFiles, ...providerFiles, ...alertingFiles])
    // rules_types.go: the query model is passed Raw (not interpolated); annotations expand only ${VAR}.
    collect(f.path, f.doc, (p) => (/\.data\[\d+\]\.model(\.|$)/.test(p) ? 'raw' : /\.annotations\./.test(p) ? 'braced' : 'all'));
  assert.ok(used.length >= 3, `the files use the environment (${used.map((u) => u.name)})`);
  for (const u of used) {
    assert.ok(u.name in grafanaEnv, `${u.file} ${u.path}: $${u.name} is not in the grafana service's environment`);
    assert.notEqual(grafanaEnv[u.name], '', `${u.file} ${u.path}: $${u.name} is empty without a .env`);
  }
  // A broken copy: a variable compose does not pass to Grafana is caught.
  const d = clone(datasourceFiles[0].doc);
  (d.datasources as Obj[])[0].jsonData.url = '$CS_EXPORTER_ADDRESS';
  const refs = strings(d).flatMap((s) => envRefs(s.value));
  assert.ok(refs.includes('CS_EXPORTER_ADDRESS') && !('CS_EXPORTER_ADDRESS' in grafanaEnv));
});

test('envRefs and expand read provisioning strings as Grafana does ($$, braces, templates in annotations)', () => {
  assert.deepEqual(envRefs('Bearer $CS_API_TOKEN'), ['CS_API_TOKEN']);
  assert.deepEqual(envRefs('${A}-$B and $$C'), ['A', 'B']);
  assert.deepEqual(envRefs('{{ $labels.tenant }} ${SITE}', true), ['SITE']);
  assert.equal(expand('cost $$5 at $HOST', { HOST: 'h' }), 'cost $5 at h');
  assert.equal(expand('${URL:-x}', { URL: 'u' }), '', 'Go has no :- default');
  assert.equal(parsePromDuration('1h30m'), 5_400_000);
  assert.throws(() => parsePromDuration('90'), /not a valid duration/);
});

// ------------------------------------------------------------------ plugin.json

/**
 * The vendored schema (fixtures/plugin.schema.json, grafana/grafana docs/sources/developers/plugins/
 * plugin.schema.json at b49b5cf) predates `dependencies.grafanaDependency`, which Grafana now requires.
 * The changes below are those of the current reference, grafana/plugin-tools "Metadata (plugin.json)"
 * (generated from the current schema); nothing else is relaxed.
 */
function currentPluginSchema(): Obj {
  const s = JSON.parse(read('dashboards/test/fixtures/plugin.schema.json')) as Obj;
  delete s.$comment;
  const p = s.properties;
  p.$schema = { type: 'string' };
  p.id.pattern = '^[0-9a-z]+\\-([0-9a-z]+\\-)?(app|panel|datasource)$';
  p.type.enum = ['app', 'datasource', 'panel', 'renderer'];
  p.category.enum = ['tsdb', 'logging', 'cloud', 'tracing', 'profiling', 'sql', 'enterprise', 'iot', 'other'];
  for (const k of ['autoEnabled', 'buildMode', 'builtIn', 'hideFromList', 'multiValueFilterOperators', 'preload', 'skipDataQuery'])
    p[k] = { type: k === 'buildMode' ? 'string' : 'boolean' };
  p.state = { type: 'string', enum: ['alpha', 'beta'] };
  for (const k of ['enterpriseFeatures', 'iam', 'extensions']) p[k] = { type: 'object' };
  p.roles = { type: 'array' };
  p.languages = { type: 'array', items: { type: 'string' } };
  p.dependencies.required = ['grafanaDependency'];
  p.dependencies.properties.grafanaDependency = {
    type: 'string',
    pattern:
      '^(<=|>=|<|>|=|~|\\^)?([0-9]+)(\\.[0-9x\\*]+)?(\\.[0-9x\\*]+)?(-[0-9A-Za-z-.]+)?(\\s(<=|>=|<|=>)?([0-9]+)(\\.[0-9x\\*]+)?(\\.[0-9x\\*]+)?(-[0-9A-Za-z-.]+)?)?$',
  };
  p.dependencies.properties.grafanaVersion.pattern = '^([0-9]+)(\\.[0-9x]+)?(\\.[0-9x])?$';
  p.dependencies.properties.plugins.items = {
    type: 'object',
    required: ['id', 'type', 'name'],
    properties: {
      id: { type: 'string', pattern: '^[0-9a-z]+\\-([0-9a-z]+\\-)?(app|panel|datasource)$' },
      type: { type: 'string', enum: ['app', 'datasource', 'panel'] },
      name: { type: 'string' },
    },
  };
  p.dependencies.properties.extensions = { type: 'object' };
  p.info.required = ['keywords', 'logos', 'version', 'updated'];
  p.info.properties.keywords.minItems = 1;
  p.info.properties.build = { type: 'object' };
  p.info.properties.version.pattern = '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)|(\\%VERSION\\%)$';
  const route = p.routes.items.properties;
  delete route.url.format; // the current reference gives the route url no format: it holds {{ .JsonData.url }}
  for (const k of ['reqAction']) route[k] = { type: 'string' };
  for (const k of ['body', 'jwtTokenAuth']) route[k] = { type: 'object' };
  route.urlParams = { type: 'array' };
  return s;
}

function validatePlugin(json: unknown) {
  // The schema's patterns escape characters (\-, \%) that only non-unicode regular expressions accept.
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  (addFormatsModule as unknown as { default?: (a: Ajv) => void }).default?.(ajv) ?? (addFormatsModule as unknown as (a: Ajv) => void)(ajv);
  const ok = ajv.validate(currentPluginSchema(), json);
  return { ok, errors: ajv.errors ?? [] };
}

test('datasource-plugin/src/plugin.json is valid against Grafana\'s plugin.json schema', () => {
  const plugin = JSON.parse(read('datasource-plugin/src/plugin.json'));
  const { ok, errors } = validatePlugin(plugin);
  assert.ok(ok, JSON.stringify(errors, null, 1));
  // The datasource type Grafana provisions must be this plugin's id.
  assert.ok(datasources.some((d) => d.type === plugin.id));
});

test('plugin.json: broken copies fail the schema (no grafanaDependency, bad id, unknown key, no keywords)', () => {
  const plugin = JSON.parse(read('datasource-plugin/src/plugin.json'));
  const cases: [string, (p: Obj) => void, string][] = [
    ['no grafanaDependency', (p) => delete p.dependencies.grafanaDependency, 'grafanaDependency'],
    ['grafanaDependency not a range', (p) => (p.dependencies.grafanaDependency = 'thirteen'), 'pattern'],
    ['id against the naming rule', (p) => (p.id = 'CS-Exporter'), 'pattern'],
    ['unknown top-level key', (p) => (p.dataSource = true), 'additionalProperties'],
    ['no keywords', (p) => (p.info.keywords = []), 'minItems'],
    ['a route with an unknown key', (p) => (p.routes[0].header = []), 'additionalProperties'],
  ];
  for (const [name, mutate, keyword] of cases) {
    const p = clone(plugin);
    mutate(p);
    const { ok, errors } = validatePlugin(p);
    assert.equal(ok, false, name);
    assert.ok(errors.some((e) => e.keyword === keyword || JSON.stringify(e).includes(keyword)), `${name}: ${JSON.stringify(errors)}`);
  }
});
