/**
 * Reconciliation: a whole simulated day fed to one exporter, read at the last
 * moment of the day from the live side (live_*, /metrics) and after the T+1
 * rollup from the report side. Where the definitions coincide the figures
 * must be equal; docs/reports.md ("Live vs T+1") says where they do not.
 *
 * The simulator ends every session by 23:59:59 of its day, so nothing crosses
 * midnight and "today" on the live side is exactly the report day.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config.js';
import { startExporter, type Exporter } from '../src/exporter.js';
import { liveComponent } from '../src/live/component.js';
import type { LiveState } from '../src/live/state.js';
import { createLogger } from '../src/log.js';
import { reportsComponent } from '../src/reports/component.js';
import { DEFAULT_OPTIONS } from '../src/simulator/roster.js';
import { simulateDay } from '../src/simulator/day.js';
import { addDays, dayStartMs, localDay } from '../src/time.js';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { postEvents } from './helpers/events.js';
import { queryRows } from './helpers/reports.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

const TZ = 'Asia/Shanghai';
const DAY = addDays(localDay(Date.now(), TZ), -3);
// The live side reads at the day's last millisecond.
const END_OF_DAY = dayStartMs(addDays(DAY, 1), TZ) - 1;

type Row = Record<string, unknown>;
const num = (v: unknown) => (typeof v === 'number' ? v : 0);
const sum = (rows: Row[], key: string) => rows.reduce((s, r) => s + num(r[key]), 0);
const byGroup = (rows: Row[], key: string) => Object.fromEntries(rows.map((r) => [r.group_id as string, num(r[key])]));

// The families the comparisons read; the exporter's own (scrape duration...) change on every scrape.
const COMPARED_FAMILIES = /^cs_(sessions|ratings|transfers|parts|queue|conversations)_/;
const SETTLE_TIMEOUT_MS = 60_000;

/**
 * The live answer once the exporter has applied everything it acknowledged.
 * An acknowledged event is applied before the answer is sent, but an event for
 * a session already compacted (ended > 15 min before "now") reloads that
 * session from Postgres in the background, and until then the live figures
 * lack it: reading right after the last POST raced those reloads. So: wait
 * until the live state has no reload queued or running, then read until two
 * reads in a row agree (a reload finishing between them would change them),
 * within a bounded time.
 */
async function settledLive(url: string, live: LiveState): Promise<{ overview: Row; groups: Row[]; metrics: string }> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  const read = async () => {
    await live.settled();
    const overview = (await queryRows(url, { report: 'live_overview' })).rows[0];
    const groups = (await queryRows(url, { report: 'live_groups' })).rows;
    const text = await (await fetch(`${url}/metrics`)).text();
    const metrics = text
      .split('\n')
      .filter((l) => COMPARED_FAMILIES.test(l))
      .join('\n');
    return { overview, groups, metrics };
  };
  let last = await read();
  for (;;) {
    const next = await read();
    if (JSON.stringify(next) === JSON.stringify(last)) return next;
    if (Date.now() > deadline) throw new Error(`the live figures still changed ${SETTLE_TIMEOUT_MS / 1000} s after the last POST`);
    last = next;
  }
}

/** Sums of a /metrics family by one label (or in total with label ''). */
function metricSums(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const key = label ? (new RegExp(`${label}="([^"]*)"`).exec(line)?.[1] ?? '') : '';
    out[key] = (out[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

describe(`Reconciliation of live and T+1 figures over a simulated day (${DAY})`, () => {
  let db: TestDatabase;
  let exporter: Exporter;
  let liveState: LiveState;
  let live: { overview: Row; groups: Row[]; metrics: string };
  let report: { groupDaily: Row[]; overview: Row[] };
  let events = 0;

  before(async () => {
    db = await freshDatabase();
    const config = { ...loadConfig({ CS_TIMEZONE: TZ }), port: 0, databaseUrl: db.url };
    exporter = await startExporter(config, createLogger('silent'), [
      (c) => {
        const component = liveComponent(c, { now: () => END_OF_DAY });
        liveState = component.live;
        return component;
      },
      reportsComponent,
    ]);
    const day = simulateDay({ ...DEFAULT_OPTIONS, agents: 24, groups: 4, seed: 7 }, DAY);
    // Ticket closes scheduled for later days belong to those days.
    const all = day.events.filter((e) => e.ms <= END_OF_DAY).map((e) => e.event);
    events = all.length;
    for (let i = 0; i < all.length; i += 5000) {
      const r = await postEvents(exporter.url, all.slice(i, i + 5000));
      assert.deepEqual(r.body.rejected, []);
    }
    live = await settledLive(exporter.url, liveState);

    const res = await fetch(`${exporter.url}/api/v1/rollups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ date: DAY }),
    });
    assert.equal(res.status, 200, await res.text());
    report = {
      groupDaily: (await queryRows(exporter.url, { report: 'group_daily', from: DAY, to: DAY })).rows,
      overview: (await queryRows(exporter.url, { report: 'overview', from: DAY, to: DAY })).rows,
    };
  });
  after(async () => {
    await exporter?.close();
    await db?.drop();
  });

  it(`When the day is over, then nothing is left queued or in conversation, and the day had real traffic`, () => {
    assert.ok(events > 10_000, `a simulated day of ${events} events`);
    assert.equal(live.overview.queue_length, 0);
    assert.equal(live.overview.in_conversation, 0);
    assert.ok(num(live.overview.inflow) > 500, `inflow ${live.overview.inflow}`);
  });

  it(`When inflow is compared, then each group's live legs entered equal its T+1 流入量, and so do the Prometheus counters`, () => {
    // Both count legs (direct, transfer and overflow; abandoned ones too) by queue-entry time.
    const t1 = byGroup(report.groupDaily, 'inflow');
    assert.deepEqual(byGroup(live.groups, 'inflow'), t1);
    const prom = metricSums(live.metrics, 'cs_sessions_inflow_total', 'group');
    assert.deepEqual(prom, t1);
  });

  it(`When answers are compared, then today's sessions answered equal the T+1 服务总量 and the groups' credited 应答量`, () => {
    // Live tenant-wide 总接通量 counts sessions answered; T+1 credits each answered session once, to
    // the group of its last answered leg, so the groups' 应答量 add up to the same sessions.
    const answered = num(live.overview.answered);
    assert.ok(answered > 0);
    assert.equal(sum(report.overview, 'service_total'), answered);
    assert.equal(sum(report.groupDaily, 'answered'), answered);
    // Per group, live counts legs answered (a transferred session counts in each group that answered it):
    // never fewer than the credited sessions.
    const credited = byGroup(report.groupDaily, 'answered');
    for (const [g, legs] of Object.entries(byGroup(live.groups, 'answered'))) assert.ok(legs >= (credited[g] ?? 0), `group ${g}`);
  });

  it(`When abandons are compared, then the live 排队放弃量 equals the abandoned legs the rollup stored, per group`, async () => {
    const { rows } = await db.pool.query<{ group_id: string; n: number }>(
      `SELECT group_id, count(*)::int AS n FROM report_legs WHERE tenant = 'default' AND day = $1 AND outcome = 'abandoned' GROUP BY group_id`,
      [DAY],
    );
    const t1 = Object.fromEntries(rows.map((r) => [r.group_id, r.n]));
    const liveByGroup = Object.fromEntries(Object.entries(byGroup(live.groups, 'abandoned')).filter(([, n]) => n > 0));
    assert.deepEqual(liveByGroup, t1);
    assert.equal(num(live.overview.abandoned), sum(rows as unknown as Row[], 'n'));
    assert.ok(num(live.overview.abandoned) > 0);
  });

  it(`When ratings are compared, then the day's ratings by score match: live satisfaction, /metrics and the T+1 levels`, () => {
    // T+1: rated sessions credited to groups, by level. Live: today's ratings. With every session of the
    // day ended and rated within it, both are the same ratings.
    const rated = sum(report.groupDaily, 'rated');
    const good = sum(report.groupDaily, 'very_satisfied') + sum(report.groupDaily, 'satisfied');
    const neutral = sum(report.groupDaily, 'neutral');
    assert.ok(rated > 0);
    const prom = metricSums(live.metrics, 'cs_ratings_total', 'score');
    assert.equal(Object.values(prom).reduce((a, b) => a + b, 0), rated);
    assert.equal(prom['5'] ?? 0, sum(report.groupDaily, 'very_satisfied'));
    assert.equal(prom['1'] ?? 0, sum(report.groupDaily, 'very_dissatisfied'));
    // queryRows rounds fractions to 6 decimals.
    const close = (a: unknown, b: number) => assert.ok(Math.abs(num(a) - b) < 1e-6, `${String(a)} vs ${b}`);
    close(live.overview.relative_satisfaction, good / rated);
    close(live.overview.avg_satisfaction, (good + neutral) / rated);
  });
});
