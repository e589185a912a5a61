/**
 * Executes every query of every generated dashboard against the real thing: an exporter on a real
 * Postgres fed with the events of scenario.ts, and a real Prometheus scraping it every second with the
 * project's recording rules. PromQL goes to Prometheus; plugin queries go through the plugin's own
 * DataSource (datasource-plugin/src/datasource.ts) and its testkit, which follows plugin.json's route
 * the way Grafana's proxy does. Grafana itself is the only stand-in (see preload.cjs).
 * A second Prometheus scrapes the same exporter through a pass-through that writes `le`/`quantile`
 * the way Prometheus 3 stores them (le="20.0"; compose runs Prometheus 3, this machine has 2), and
 * every PromQL expression must answer there too, with the same series.
 * A third Prometheus scrapes two exporter replicas on the same database with the replicas' scrape config
 * (provisioning/prometheus/prometheus.replicas.yml: one copy of every live series per replica), and every
 * PromQL expression of a live figure must answer there as it does with one exporter: same series, same
 * figures (docs/scale-out-replicas.md, "Prometheus and the dashboards: no double counting").
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { findReport } from '@cs-data-ops/exporter/catalog';
import { testDatabase } from './database.js';
import { startExporter, type Exporter } from '../../exporter/src/exporter.js';
import { loadConfig } from '../../exporter/src/config.js';
import { createLogger } from '../../exporter/src/log.js';
import { dayStartMs, localDay } from '../../exporter/src/time.js';
import { freePort } from '../../exporter/test/helpers/exporter.js';
import { startPrometheus, toPrometheus3Form, type RunningPrometheus } from '../../exporter/test/helpers/prometheus.js';
import { createRequire } from 'node:module';
import { allDashboards } from '../src/index.js';
import { isPlugin, isProm, targets, type Target } from '../test/walk.js';

// The plugin package is CommonJS (its testkit reads __dirname): load it through require, as jest does.
const require = createRequire(import.meta.url);
const kit = require('../../datasource-plugin/test/testkit.ts') as typeof import('../../datasource-plugin/test/testkit.ts');

const repo = join(import.meta.dirname, '..', '..');
const TZ = 'Asia/Shanghai';
const API_TOKEN = 'e2e-api-token';
const dashboards = allDashboards();

let tmp: string;
let stopPg = async () => {};
let exporter: Exporter;
let exporter2: Exporter | undefined;
let promReplicas: RunningPrometheus | undefined;
let prom: ChildProcess | undefined;
let promUrl: string;
let promV3: RunningPrometheus | undefined;
let v3Target: Server | undefined;
let scenarioInfo: ReturnType<typeof import('./scenario.js').scenario>;

async function postEvents(events: Record<string, unknown>[]): Promise<void> {
  const posted = await fetch(`${exporter.url}/api/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  const ack = (await posted.json()) as { accepted: number; rejected: unknown[] };
  assert.deepEqual(ack.rejected, [], 'the events are valid');
  assert.equal(ack.accepted, events.length);
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'cs-dash-e2e-'));
  const db = await testDatabase('cs-dash-e2e');
  stopPg = db.stop;
  const databaseUrl = db.url;
  exporter = await startExporter(
    { ...loadConfig({}), port: await freePort(), databaseUrl, simulate: false, timezone: TZ, apiToken: API_TOKEN },
    createLogger('silent'),
  );

  const { scenario } = await import('./scenario.js');
  scenarioInfo = scenario(
    Date.now(),
    (ms) => localDay(ms, TZ),
    (day) => dayStartMs(day, TZ),
  );
  await postEvents(scenarioInfo.events);
  // A second replica on the same database: it loads the log at start-up and follows what the first one stores.
  exporter2 = await startExporter(
    { ...loadConfig({}), port: await freePort(), databaseUrl, simulate: false, timezone: TZ, apiToken: API_TOKEN },
    createLogger('silent'),
  );

  // Prometheus with the compose config's rule files, scraping this exporter every second.
  const composeCfg = parse(readFileSync(join(repo, 'provisioning/prometheus/prometheus.compose.yml'), 'utf8'));
  const promPort = await freePort();
  promUrl = `http://127.0.0.1:${promPort}`;
  const cfg = {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: (composeCfg.rule_files as string[]).map((f) => join(repo, 'provisioning/prometheus', f)),
    scrape_configs: [{ job_name: 'cs-exporter', static_configs: [{ targets: [new URL(exporter.url).host] }] }],
  };
  writeFileSync(join(tmp, 'prometheus.yml'), JSON.stringify(cfg));
  let out = '';
  prom = spawn(
    'prometheus',
    [
      `--config.file=${join(tmp, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(tmp, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  prom.stdout!.on('data', (c) => (out += c));
  prom.stderr!.on('data', (c) => (out += c));
  await until(`Prometheus ready\n${out}`, 30_000, async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined));
  await until(`a first scrape of the exporter\n${out}`, 30_000, async () =>
    (await promQuery('up{job="cs-exporter"} == 1')).length ? true : undefined,
  );
  // The exporter's /metrics as Prometheus 3 would store it, for a second Prometheus with the same rules.
  v3Target = createServer((req, res) => {
    fetch(`${exporter.url}/metrics`)
      .then(async (r) => {
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? '' });
        res.end(toPrometheus3Form(await r.text()));
      })
      .catch(() => res.writeHead(502).end());
  });
  const v3Port = await freePort();
  await new Promise<void>((r) => v3Target!.listen(v3Port, '127.0.0.1', r));
  writeFileSync(
    join(tmp, 'prometheus-v3.yml'),
    JSON.stringify({ ...cfg, scrape_configs: [{ job_name: 'cs-exporter', static_configs: [{ targets: [`127.0.0.1:${v3Port}`] }] }] }),
  );
  promV3 = await startPrometheus({ config: join(tmp, 'prometheus-v3.yml'), dataDir: join(tmp, 'tsdb-v3'), port: await freePort() });
  await until('a first scrape of the Prometheus 3 form', 30_000, async () =>
    (await promQuery('up{job="cs-exporter"} == 1', promV3!.url)).length ? true : undefined,
  );
  const v3Buckets = await promQuery('count(cs_queue_wait_seconds_bucket{le="20.0"})', promV3.url);
  assert.equal(v3Buckets.length, 1, 'the second Prometheus holds the buckets in float form');
  // The replicas' Prometheus: the shipped scrape config, its targets pointed at the two local exporters.
  const replicasCfg = parse(readFileSync(join(repo, 'provisioning/prometheus/prometheus.replicas.yml'), 'utf8'));
  const job = replicasCfg.scrape_configs[0] as { static_configs: { targets: string[]; labels: Record<string, string> }[] };
  assert.deepEqual(
    job.static_configs.map((c) => c.labels.replica),
    ['1', '2'],
  );
  const local = [exporter, exporter2].map((e) => new URL(e.url).host);
  writeFileSync(
    join(tmp, 'prometheus-replicas.yml'),
    JSON.stringify({
      ...cfg,
      scrape_configs: [{ ...job, static_configs: job.static_configs.map((c, i) => ({ ...c, targets: [local[i]] })) }],
    }),
  );
  promReplicas = await startPrometheus({ config: join(tmp, 'prometheus-replicas.yml'), dataDir: join(tmp, 'tsdb-replicas'), port: await freePort() });
  await until('a first scrape of both replicas', 30_000, async () =>
    (await promQuery('count(up{job="cs-exporter"} == 1) == 2', promReplicas!.url)).length ? true : undefined,
  );
  const { burst } = await import('./scenario.js');
  for (const tag of ['b1', 'b2']) {
    await postEvents(burst(Date.now(), tag));
    await new Promise((r) => setTimeout(r, 1500));
  }

  process.env.CC_EXPORTER_URL = exporter.url;
  process.env.CC_API_TOKEN = API_TOKEN;
  kit.installBackendSrv();
});

after(async () => {
  if (prom && prom.exitCode === null) {
    prom.kill('SIGTERM');
    await new Promise((r) => prom!.once('exit', r));
  }
  await promV3?.stop();
  await promReplicas?.stop();
  if (v3Target) await new Promise((r) => v3Target!.close(r));
  await exporter2?.close();
  await exporter?.close();
  await stopPg();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function promQuery(expr: string, url = promUrl): Promise<unknown[]> {
  const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await r.json()) as { status: string; error?: string; data: { result: unknown[] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data.result;
}

test("every PromQL expression of the dashboards returns data from Prometheus, with le in Prometheus 2's and 3's form", async () => {
  // The variables as a shared link without filters gives them: the default tenant, every group.
  const exprs = [
    ...new Set(
      targets(dashboards)
        .filter(isProm)
        .map((t) => String(t.target.expr)),
    ),
  ];
  assert.ok(exprs.length > 20);
  const pending = new Set(exprs);
  // Rates and the 5m recording rules need a few scrapes; wait until every expression has answered.
  await until(`PromQL results for:\n${[...pending].join('\n')}`, 60_000, async () => {
    for (const e of [...pending]) {
      // A repeated row scopes $group to one group (an exact match); elsewhere All is a regex.
      const expr = e.replaceAll('$tenant', 'default').replaceAll('group="$group"', 'group="aftersales"').replaceAll('$group', '.*');
      const result = (await promQuery(expr)) as { metric: Record<string, string> }[];
      // The same series with the buckets in Prometheus 3's form, but for the target's address (values may
      // differ by a scrape's timing).
      const v3 = (await promQuery(expr, promV3!.url)) as { metric: Record<string, string> }[];
      const names = (r: { metric: Record<string, string> }[]) => r.map(({ metric: { instance: _, ...m } }) => JSON.stringify(m)).sort();
      if (result.length > 0 && JSON.stringify(names(v3)) === JSON.stringify(names(result))) pending.delete(e);
    }
    return pending.size === 0 ? true : undefined;
  });
  // The figures the alert rules watch are the scenario's: s4 is queued in 售后 (aftersales).
  const queue = (await promQuery('cs_queue_length{tenant="default", group="aftersales"}')) as { value: [number, string] }[];
  assert.equal(queue[0].value[1], '1');
});

/** Whether a PromQL expression reads a live series (cs_* but cs_exporter_*) or a series recorded from them. */
const readsLiveSeries = (expr: string) => /(?<![\w:])cs_(?!exporter_)[a-z0-9_]+|:cs_/.test(expr);

/** The PromQL of the Prometheus rules (recording and alerts) and of Grafana's alert rules. */
function ruleExprs(): string[] {
  const out: string[] = [];
  for (const f of ['rules/cs-recording.yml', 'rules/cs-alerts.yml'])
    for (const g of parse(readFileSync(join(repo, 'provisioning/prometheus', f), 'utf8')).groups as { rules: { expr: string }[] }[])
      out.push(...g.rules.map((r) => r.expr));
  const grafana = parse(readFileSync(join(repo, 'provisioning/grafana/alerting/cs-alert-rules.yml'), 'utf8'));
  for (const g of grafana.groups as { rules: { data: { datasourceUid: string; model: { expr?: string } }[] }[] }[])
    for (const r of g.rules) out.push(...r.data.filter((d) => d.datasourceUid === 'prometheus').map((d) => d.model.expr!));
  return out;
}

test('every PromQL expression of a live figure answers the same from a Prometheus scraping two replicas as with one exporter', async (t) => {
  const exprs = [
    ...new Set(
      [
        ...targets(dashboards)
          .filter(isProm)
          .map((t) => String(t.target.expr)),
        // The rules too: an alert's expression must give one series per group, not one per replica.
        ...ruleExprs(),
      ].filter(readsLiveSeries),
    ),
  ];
  assert.ok(exprs.length > 40, `${exprs.length} expressions of live figures`);
  // The setting the queries must survive: every live series there twice, one copy per replica.
  const copies = (await promQuery('count without (instance, replica) (cs_queue_length{tenant="default", group="aftersales"})', promReplicas!.url)) as {
    value: [number, string];
  }[];
  assert.equal(copies[0]?.value[1], '2', 'the replicas Prometheus holds a copy of each live series per replica');

  type Sample = { metric: Record<string, string>; value: [number, string] };
  // Series without the target's labels (the single exporter's `instance`), each with its value.
  const answer = (r: Sample[]) =>
    new Map(r.map(({ metric: { instance: _i, replica: _r, ...m }, value }) => [JSON.stringify(m), Number(value[1])]));
  let empty = 0;
  const differences = async (): Promise<string[]> => {
    const out: string[] = [];
    empty = 0;
    for (const e of exprs) {
      const expr = e.replaceAll('$tenant', 'default').replaceAll('group="$group"', 'group="aftersales"').replaceAll('$group', '.*');
      const one = (await promQuery(expr)) as Sample[];
      const two = (await promQuery(expr, promReplicas!.url)) as Sample[];
      // Labels: a bare copy keeps `replica`, so two replicas give twice the series (topk lists each agent twice).
      if (one.length === 0) empty++;
      if (two.length !== one.length) {
        out.push(`${e}: ${two.length} series from two replicas, ${one.length} from one`);
        continue;
      }
      const a = answer(one);
      const b = answer(two);
      for (const [k, v] of a) {
        const w = b.get(k);
        if (w === undefined) {
          out.push(`${e}: ${k} missing from two replicas`);
          continue;
        }
        if (Number.isNaN(v) && Number.isNaN(w)) continue;
        // The two Prometheus scrape and evaluate at their own moments: rates differ by their windows'
        // extrapolation, clock figures (longest wait) by the seconds between scrapes. A sum of two copies
        // is twice the figure, far outside this.
        const slack = Math.max(0.2 * Math.max(Math.abs(v), Math.abs(w)), /longest_wait|time\(\)/.test(e) ? 3 : 1e-9);
        if (!(Math.abs(v - w) <= slack)) out.push(`${e}: ${k} is ${w} from two replicas, ${v} from one`);
      }
    }
    return out;
  };
  // The second replica's follower and both Prometheus settle within a few scrapes.
  let last: string[] = [];
  await until(`the same answers from two replicas`, 30_000, async () => {
    last = await differences();
    return last.length === 0 ? true : undefined;
  }).catch(() => assert.deepEqual(last, []));
  // Most answer something to compare (alerts whose threshold the scenario does not cross answer nothing,
  // on both): the scenario's queue, agents, rates and the Grafana rules' figures.
  assert.ok(empty <= exprs.length / 3, `${empty} of ${exprs.length} expressions answered nothing`);
  t.diagnostic(`${exprs.length} expressions compared, ${empty} empty on both`);
});

/** The template variables of a dashboard as a shared link sets them: tenant default, All for the lists, the scenario's session. */
async function templateFor(dashboardUid: string, ds: ReturnType<typeof kit.makeDataSource>): Promise<kit.FakeTemplateSrv> {
  const d = dashboards.find((x) => x.uid === dashboardUid)!.dashboard;
  const vars: { name: string; current: string[]; options: string[]; multi?: boolean }[] = [];
  for (const v of d.templating?.list ?? []) {
    if (v.type === 'query') {
      const found = await ds.metricFindQuery(v.query as never);
      assert.ok(found.length > 0, `${dashboardUid}: variable ${v.name} lists something`);
      vars.push({
        name: v.name,
        multi: !!v.multi,
        options: found.map((f) => String(f.value)),
        current: v.includeAll ? ['$__all'] : [String(found[0].value)],
      });
    } else if (v.type === 'custom') {
      const options = String(v.query)
        .split(',')
        .map((o) => (o.includes(' : ') ? o.split(' : ')[1] : o).trim());
      vars.push({ name: v.name, multi: !!v.multi, options, current: v.includeAll ? ['$__all'] : [options[0]] });
    } else {
      const value = v.name === 'session' ? scenarioInfo.sessionId : String(v.query ?? '');
      vars.push({ name: v.name, options: [value], current: [value] });
    }
  }
  return new kit.FakeTemplateSrv(vars);
}

const SESSION_PART_FIELDS: Record<string, string[]> = {
  legs: ['group_id', 'group_name', 'via', 'queued_at', 'answered_at', 'ended_at', 'outcome', 'wait_seconds', 'agent_id'],
  parts: ['agent_id', 'agent_name', 'group_id', 'started_at', 'ended_at', 'ended_by'],
  transcript: ['time', 'from', 'agent_id', 'text'],
};

/** The fields a user must find in the answer of a query. */
function expectedFields(t: Target['target']): string[] {
  switch (t.queryType) {
    case 'report':
    case 'live': {
      const def = findReport(String(t.report))!;
      const metrics = t.metrics as string[];
      return t.format === 'timeseries' ? ['time', ...metrics] : [...def.dimensions.map((d) => d.id), ...metrics];
    }
    case 'sessions':
      return findReport('sessions')!.metrics.map((m) => m.id);
    case 'session':
      return t.part === 'summary' ? findReport('sessions')!.metrics.map((m) => m.id) : SESSION_PART_FIELDS[String(t.part)];
  }
  throw new Error(`unknown query type ${String(t.queryType)}`);
}

test('every plugin query of the dashboards returns frames with its fields, through the plugin', async () => {
  // Yesterday is a finished day: its reports are final once rolled up.
  const rolled = await fetch(`${exporter.url}/api/v1/rollups`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
    body: JSON.stringify({ date: scenarioInfo.yesterday, tenant: 'default' }),
  });
  assert.equal(rolled.status, 200, await rolled.text());
  const from = new Date(dayStartMs(scenarioInfo.yesterday, TZ)).toISOString();
  const to = new Date().toISOString();
  const failures: string[] = [];
  // What a user reads on some panels, by "dashboard / panel".
  const seen = new Map<string, Frame[]>();
  let checked = 0;
  for (const d of dashboards) {
    const ds0 = kit.makeDataSource({ timezone: TZ });
    const ds = kit.makeDataSource({ timezone: TZ }, await templateFor(d.uid, ds0));
    for (const t of targets([d]).filter(isPlugin)) {
      const where = `${t.dashboard} / ${t.panel} / ${t.target.refId} (${String(t.target.queryType)} ${String(t.target.report ?? t.target.part ?? '')})`;
      const res = await ds.query(kit.request([t.target as never], from, to));
      if (res.errors?.length) {
        failures.push(`${where}: ${res.errors.map((e) => e.message).join('; ')}`);
        continue;
      }
      const frames = res.data as Frame[];
      checked++;
      seen.set(`${t.dashboard} / ${t.panel}`, frames);
      if (!frames.length || frames.every((f) => f.length === 0)) {
        failures.push(`${where}: no rows`);
        continue;
      }
      const names = new Set(frames.flatMap((f) => f.fields.map((x) => x.name)));
      const missing = expectedFields(t.target).filter((f) => !names.has(f));
      if (missing.length) failures.push(`${where}: missing fields ${missing.join(', ')}`);
    }
  }
  assert.deepEqual(failures, []);
  assert.ok(checked >= 30, `${checked} plugin queries ran`);

  // 在线监控: s4 waits in 售后服务's queue and s5 talks with 张三; the burst's sessions all ended.
  const live = seen.get('cs-live-overview / 会话')!;
  assert.equal(column(live, 'queue_length')[0], 1);
  assert.equal(column(live, 'in_conversation')[0], 1);
  // 人工技能组日统计, yesterday: 售前咨询 took s1 and s2 directly (2 legs); 售后服务 took s1 by transfer (1 leg);
  // s3's reject opened no leg. s1 is credited to 售后服务, its last answered leg.
  const daily = seen.get('cs-report-online / 人工技能组日统计')!;
  const yesterdayRows = rows(daily).filter((r) => r.date === scenarioInfo.yesterday);
  const byGroup = Object.fromEntries(yesterdayRows.map((r) => [r.group_id, r]));
  assert.deepEqual([byGroup.presales?.inflow, byGroup.presales?.answered], [2, 0]);
  assert.deepEqual([byGroup.aftersales?.inflow, byGroup.aftersales?.answered], [1, 1]);
  // 会话记录 lists s1, rated 5; its 详情 shows its three messages and two legs.
  const list = rows(seen.get('cs-sessions / 会话记录')!);
  assert.equal(list.find((r) => r.service_id === 's1')?.satisfaction, '非常满意');
  assert.equal(rows(seen.get('cs-session-detail / 对话记录')!).length, 3);
  assert.deepEqual(
    rows(seen.get('cs-session-detail / 服务段')!).map((r) => [r.group_id, r.via]),
    [
      ['presales', 'direct'],
      ['aftersales', 'transfer'],
    ],
  );
});

type Frame = { fields: { name: string; values: unknown[] | { toArray(): unknown[] } }[]; length: number };

function values(f: Frame['fields'][number]): unknown[] {
  return Array.isArray(f.values) ? f.values : f.values.toArray();
}

function column(frames: Frame[], name: string): unknown[] {
  return frames.flatMap((f) => f.fields.filter((x) => x.name === name).flatMap(values));
}

function rows(frames: Frame[]): Record<string, unknown>[] {
  return frames.flatMap((f) => Array.from({ length: f.length }, (_, i) => Object.fromEntries(f.fields.map((x) => [x.name, values(x)[i]]))));
}
