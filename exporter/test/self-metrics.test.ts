/**
 * Issue 13 item 12: /metrics says how the exporter itself is doing, beside
 * the live figures, and every labelled counter with a known value set is
 * there at 0 from the start. On main's code none of the cs_exporter_* self
 * families below nor prom-client's default metrics were exposed, and
 * cs_sessions_rejected_total{reason} appeared only with the first reject of
 * that reason (the tests below fail on their first assertions there).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { freePort } from './helpers/exporter.js';
import { parseExposition, post, series, type Clock } from './helpers/live.js';
import { missing } from './helpers/prometheus.js';
import { loadConfig } from '../src/config.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.js';
import { createPool } from '../src/db/pool.js';
import { startExporter, type Exporter } from '../src/exporter.js';
import { EventStore } from '../src/ingest/store.js';
import { liveComponent } from '../src/live/component.js';
import { reportsComponent } from '../src/reports/component.js';
import { EventWriter } from '../src/ingest/writer.js';
import { createLogger } from '../src/log.js';
import { SelfMetrics } from '../src/self-metrics.js';
import { addDays, dayStartMs, localDay } from '../src/time.js';

/**
 * The postmaster and its children: every Postgres backend calls setsid(), so
 * a signal to the postmaster's process group would miss the ones serving the pool.
 */
function serverProcesses(postmaster: number): number[] {
  const pids = [postmaster];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const signalServer = (postmaster: number, signal: NodeJS.Signals) => {
  for (const pid of serverProcesses(postmaster)) process.kill(pid, signal);
};

const S = 1000;
const TZ = 'Asia/Shanghai';
// Rollups only when asked (POST /rollups): the counts below are the test's own. This file runs in its own process.
process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

async function startWithReports(databaseUrl: string, clock: Clock): Promise<Exporter> {
  const config = { ...loadConfig({}), port: 0, databaseUrl, simulate: false };
  return startExporter(config, createLogger('silent'), [(c) => liveComponent(c, { now: () => clock.ms }), reportsComponent]);
}

async function metricsText(url: string): Promise<string> {
  const r = await fetch(`${url}/metrics`);
  assert.equal(r.status, 200);
  return r.text();
}

describe('/metrics: the exporter about itself', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let exporter: Exporter;
  const clock: Clock = { ms: Date.now() };
  before(async () => {
    db = await freshDatabase();
    exporter = await startWithReports(db.url, clock);
  });
  after(async () => {
    await exporter?.close();
    await db?.drop();
  });

  it("When /metrics is read, then prom-client's process, GC and event-loop metrics are there, and promtool accepts the whole text", async () => {
    const text = await metricsText(exporter.url);
    const types = new Map(
      text
        .split('\n')
        .filter((l) => l.startsWith('# TYPE '))
        .map((l) => [l.split(' ')[2], l.split(' ')[3]]),
    );
    assert.equal(types.get('process_resident_memory_bytes'), 'gauge');
    assert.equal(types.get('process_cpu_seconds_total'), 'counter');
    assert.equal(types.get('nodejs_heap_size_used_bytes'), 'gauge');
    assert.equal(types.get('nodejs_gc_duration_seconds'), 'histogram');
    assert.equal(types.get('nodejs_eventloop_lag_p99_seconds'), 'gauge');
    // The live figures are still there, first.
    assert.ok(text.startsWith('# HELP cs_queue_length '));
    const skip = missing('promtool');
    if (skip) return;
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });

  it('When ingest has been used, then its queue, budget, refusals by reason and the pool are on /metrics, every reason from 0', async () => {
    const before = parseExposition(await metricsText(exporter.url));
    for (const reason of ['invalid', 'unauthorized', 'forbidden', 'too_large', 'content_type', 'overloaded', 'unavailable', 'other'])
      assert.equal(before.get(series('cs_exporter_ingest_requests_refused_total', { reason })), 0, reason);
    await fetch(`${exporter.url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'a,b' });
    await fetch(`${exporter.url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    const m = parseExposition(await metricsText(exporter.url));
    assert.equal(m.get(series('cs_exporter_ingest_requests_refused_total', { reason: 'content_type' })), 1);
    assert.equal(m.get(series('cs_exporter_ingest_requests_refused_total', { reason: 'invalid' })), 1);
    assert.equal(m.get(series('cs_exporter_ingest_queue_requests')), 0);
    assert.equal(m.get(series('cs_exporter_ingest_queue_events')), 0);
    assert.equal(m.get(series('cs_exporter_ingest_budget_used', { resource: 'events' })), 0);
    assert.equal(m.get(series('cs_exporter_ingest_budget_limit', { resource: 'events' })), loadConfig({}).ingestMaxEvents);
    assert.equal(m.get(series('cs_exporter_ingest_budget_limit', { resource: 'bytes' })), loadConfig({}).ingestMaxBytes);
    assert.equal(m.get(series('cs_exporter_db_pool_clients', { state: 'max' })), 10);
    assert.ok(m.get(series('cs_exporter_db_pool_clients', { state: 'idle' }))! >= 1);
    assert.equal(m.get(series('cs_exporter_db_pool_waiting')), 0);
    assert.equal(m.get(series('cs_exporter_database_up')), 1);
  });

  it('When a group has one reject of one reason, then every reject and transfer reason, via and score of every group is exposed, the others at 0', async () => {
    const now = clock.ms;
    await post(exporter.url, [
      [now - 60 * S, { type: 'group.upsert', groupId: 'quiet', name: '售后' }],
      [now - 30 * S, { type: 'session.reject', sessionId: 'r1', groupId: 'busy-group', reason: 'busy' }],
    ]);
    const m = parseExposition(await metricsText(exporter.url));
    const L = (group: string, extra: Record<string, string> = {}) => ({ tenant: 'default', group, ...extra });
    assert.equal(m.get(series('cs_sessions_rejected_total', L('busy-group', { reason: 'busy' }))), 1);
    for (const group of ['busy-group', 'quiet']) {
      for (const reason of ['off_hours', 'no_agent', 'other'])
        assert.equal(m.get(series('cs_sessions_rejected_total', L(group, { reason }))), 0, `${group} ${reason}`);
      for (const reason of ['manual', 'timeout']) assert.equal(m.get(series('cs_transfers_total', L(group, { reason }))), 0);
      for (const via of ['direct', 'transfer', 'overflow']) assert.equal(m.get(series('cs_sessions_inflow_total', L(group, { via }))), 0);
      for (const score of ['1', '2', '3', '4', '5']) assert.equal(m.get(series('cs_ratings_total', L(group, { score }))), 0);
      for (const name of [
        'cs_sessions_answered_total',
        'cs_sessions_abandoned_total',
        'cs_parts_ended_total',
        'cs_queue_wait_seconds_count',
      ])
        assert.equal(m.get(series(name, L(group))), 0, `${name} ${group}`);
      assert.equal(m.get(series('cs_queue_wait_seconds_bucket', L(group, { le: '+Inf' }))), 0);
    }
  });

  it('When a finished day is rolled up, then the rollup count, duration, last success and "final through" are per tenant, and survive a restart', async () => {
    const yesterday = addDays(localDay(Date.now(), TZ), -1);
    await post(exporter.url, [
      [dayStartMs(yesterday, TZ) + 3600 * S, { type: 'session.queue', sessionId: 'y1', groupId: 'g', via: 'direct' }],
    ]);
    const r = await fetch(`${exporter.url}/api/v1/rollups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ date: yesterday }),
    });
    assert.equal(r.status, 200, await r.text());
    const end = dayStartMs(addDays(yesterday, 1), TZ) / 1000;
    const m = parseExposition(await metricsText(exporter.url));
    assert.equal(m.get(series('cs_exporter_rollups_total', { tenant: 'default', result: 'success' })), 1);
    assert.equal(m.get(series('cs_exporter_rollups_total', { tenant: 'default', result: 'failure' })), 0);
    assert.ok(m.get(series('cs_exporter_rollup_last_duration_seconds', { tenant: 'default' }))! > 0);
    assert.ok(
      Math.abs(m.get(series('cs_exporter_rollup_last_success_timestamp_seconds', { tenant: 'default' }))! - Date.now() / 1000) < 60,
    );
    assert.equal(m.get(series('cs_exporter_rollup_final_through_timestamp_seconds', { tenant: 'default' })), end);

    // A fresh exporter on the same database knows it from report_rollups, before any rollup of its own.
    const again = await startWithReports(db.url, clock);
    try {
      const m2 = parseExposition(await metricsText(again.url));
      assert.equal(m2.get(series('cs_exporter_rollup_final_through_timestamp_seconds', { tenant: 'default' })), end);
    } finally {
      await again.close();
    }
  });
});

describe('cs_exporter_database_up: a Postgres this test owns, stopped and frozen', { timeout: 120_000 }, () => {
  let dir: string;
  let pg: EmbeddedPostgres | undefined;
  let self: SelfMetrics | undefined;
  let pool: ReturnType<typeof createPool> | undefined;
  let frozenPid: number | undefined;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cs-self-pg-'));
    pg = await startEmbeddedPostgres(dir, await freePort(), createLogger('warn'));
  });
  after(async () => {
    self?.stop();
    if (frozenPid) signalServer(frozenPid, 'SIGCONT');
    await pool?.end().catch(() => undefined);
    await pg?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const up = async () => parseExposition(await self!.text()).get(series('cs_exporter_database_up'));
  async function until(want: number, ms: number): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      const v = await up();
      if (v === want || Date.now() - t0 > ms) return v!;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('When the database is frozen (SIGSTOP), then up turns 0 within the probe timeout, and 1 again once it thaws; the scrape itself never waits', async () => {
    pool = createPool(pg!.url, 2);
    const writer = new EventWriter(new EventStore(pool));
    self = new SelfMetrics({ pool, writer, ingestStats: { rejected: 0 }, timezone: TZ }, 200);
    self.start();
    assert.equal(await until(1, 5000), 1);
    frozenPid = Number(readFileSync(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    signalServer(frozenPid, 'SIGSTOP');
    const t0 = performance.now();
    // A probe may have just started: the 5 s probe timeout, plus a little.
    assert.equal(await until(0, 8000), 0);
    const scrape = performance.now();
    await self.text();
    assert.ok(performance.now() - scrape < 1000);
    assert.ok(performance.now() - t0 < 8000);
    signalServer(frozenPid, 'SIGCONT');
    frozenPid = undefined;
    assert.equal(await until(1, 10_000), 1);
  });

  it('When the database is stopped, then up turns 0', async () => {
    await pg!.stop();
    pg = undefined;
    assert.equal(await until(0, 8000), 0);
  });
});
