import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { liveRows, post, scrape, series, type Clock } from './helpers/live.js';
import { loadConfig, type Config } from '../src/config.js';
import { startExporter, type Exporter } from '../src/exporter.js';
import { liveComponent } from '../src/live/component.js';
import { loadLiveState, loadSessions } from '../src/live/load.js';
import { LiveState } from '../src/live/state.js';
import { agentRows, groupRows, overviewRow } from '../src/live/views.js';
import { createLogger } from '../src/log.js';
import { dayStartMs, localDay } from '../src/time.js';

const TZ = 'Asia/Shanghai';
const B = dayStartMs(localDay(Date.now(), TZ), TZ);
const S = 1000;
const H = 3600 * S;
// The day happens from 10:00 (T) and is looked at from 11:00.
const T = B + 10 * H;

async function start(url: string, clock: Clock, lateToleranceMs: number, liveMaxEndedSessions?: number): Promise<{ exporter: Exporter; live: LiveState }> {
  const config: Config = { ...loadConfig({}), port: 0, databaseUrl: url, simulate: false, ...(liveMaxEndedSessions ? { liveMaxEndedSessions } : {}) };
  const component = liveComponent(config, { now: () => clock.ms, lateToleranceMs });
  const exporter = await startExporter(config, createLogger('silent'), [() => component]);
  return { exporter, live: component.live };
}

const day: [number, Record<string, unknown>][] = [
  [B - 48 * H, { type: 'agent.upsert', agentId: 'a1', name: '张三', groups: ['g1'] }],
  [B - 48 * H, { type: 'agent.upsert', agentId: 'a2', name: '李四', groups: ['g2'] }],
  [T - H, { type: 'agent.status', agentId: 'a1', status: 'online' }],
  [T - H, { type: 'agent.status', agentId: 'a2', status: 'online' }],
  // c1: g1, waits 12 s, talks to a1 until T + 300.
  [T, { type: 'session.queue', sessionId: 'c1', groupId: 'g1', via: 'direct' }],
  [T + 12 * S, { type: 'session.answer', sessionId: 'c1', groupId: 'g1', agentId: 'a1' }],
  [T + 300 * S, { type: 'session.end', sessionId: 'c1', by: 'user' }],
  // c2: g1 (waits 5 s), a1 transfers it to g2 at T + 200, a2 answers after 30 s, ends at T + 400.
  [T + 60 * S, { type: 'session.queue', sessionId: 'c2', groupId: 'g1', via: 'direct' }],
  [T + 65 * S, { type: 'session.answer', sessionId: 'c2', groupId: 'g1', agentId: 'a1' }],
  [T + 200 * S, { type: 'session.transfer', sessionId: 'c2', agentId: 'a1', reason: 'manual' }],
  [T + 200 * S, { type: 'session.queue', sessionId: 'c2', groupId: 'g2', via: 'transfer' }],
  [T + 230 * S, { type: 'session.answer', sessionId: 'c2', groupId: 'g2', agentId: 'a2' }],
  [T + 400 * S, { type: 'session.end', sessionId: 'c2', by: 'agent' }],
  // c3: g2, given up at T + 160, ended at T + 170.
  [T + 100 * S, { type: 'session.queue', sessionId: 'c3', groupId: 'g2', via: 'direct' }],
  [T + 160 * S, { type: 'session.abandon', sessionId: 'c3', groupId: 'g2' }],
  [T + 170 * S, { type: 'session.end', sessionId: 'c3', by: 'user' }],
  // c4: g1, with a1 since T + 510, not over.
  [T + 500 * S, { type: 'session.queue', sessionId: 'c4', groupId: 'g1', via: 'direct' }],
  [T + 510 * S, { type: 'session.answer', sessionId: 'c4', groupId: 'g1', agentId: 'a1' }],
];

// Late events for sessions that ended long before (compacted in one exporter):
// c1 rated 5 three quarters of an hour after it ended; c3's answer by a2 at
// T + 150 (before the abandon) arrives only now, so c3 was answered after 50 s.
const late: [number, Record<string, unknown>][][] = [
  [[T + 3000 * S, { type: 'session.rate', sessionId: 'c1', score: 5 }]],
  [[T + 150 * S, { type: 'session.answer', sessionId: 'c3', groupId: 'g2', agentId: 'a2' }]],
];

describe('Live monitoring: ended sessions compacted after the late-event tolerance', () => {
  let dbs: TestDatabase[] = [];
  let compacting: { exporter: Exporter; live: LiveState };
  let keeping: { exporter: Exporter; live: LiveState };
  // No tolerance at all, but at most one ended session kept (CS_LIVE_MAX_ENDED_SESSIONS): compacted early.
  let capped: { exporter: Exporter; live: LiveState };
  const clock: Clock = { ms: T + H };

  before(async () => {
    dbs = [await freshDatabase(), await freshDatabase(), await freshDatabase()];
    compacting = await start(dbs[0].url, clock, 15 * 60 * S);
    keeping = await start(dbs[1].url, clock, Infinity);
    capped = await start(dbs[2].url, clock, Infinity, 1);
    for (const x of [compacting, keeping, capped]) await post(x.exporter.url, day);
  });
  after(async () => {
    for (const x of [compacting, keeping, capped]) await x?.exporter.close();
    for (const db of dbs) await db.drop();
  });

  /** Every figure the exporter shows: the three live reports and /metrics (less its own timing). */
  async function figures(url: string) {
    const m = await scrape(url);
    m.delete(series('cs_exporter_scrape_duration_seconds'));
    // The process's own figures (prom-client's, pool, rollups) differ between two exporters; the live ones may not.
    for (const k of [...m.keys()]) if (!k.startsWith('cs_') || /^cs_exporter_(ingest_(queue|transactions|budget|requests)|db_|database_|rollup)/.test(k)) m.delete(k);
    return {
      overview: await liveRows(url, { report: 'live_overview' }),
      groups: await liveRows(url, { report: 'live_groups' }),
      agents: await liveRows(url, { report: 'live_agents' }),
      metrics: Object.fromEntries([...m].sort()),
    };
  }

  it('When ended sessions have been silent for the tolerance, then their events are let go and no figure changes', async () => {
    // c1, c2 and c3 ended 55–58 minutes before 11:00; c4 is still open.
    assert.equal(compacting.live.find('default')!.compactedCount, 3);
    assert.equal(keeping.live.find('default')!.compactedCount, 0);
    assert.equal(capped.live.find('default')!.compactedEarly, 2);
    assert.equal(capped.live.find('default')!.endedSessionsKept, 1);
    assert.deepEqual(await figures(compacting.exporter.url), await figures(keeping.exporter.url));
    assert.deepEqual(await figures(capped.exporter.url), await figures(keeping.exporter.url));
  });

  it('When late events arrive for compacted sessions, then they are reloaded and every figure is as if nothing was compacted', async () => {
    for (const x of [compacting, keeping, capped]) {
      // Two batches back to back: the second may arrive while the first one's reload runs.
      await Promise.all(late.map((batch) => post(x.exporter.url, batch)));
      await x.live.settled();
    }
    const got = await figures(compacting.exporter.url);
    assert.deepEqual(got, await figures(keeping.exporter.url));
    assert.deepEqual(await figures(capped.exporter.url), got);
    const g2 = got.groups.find((g) => g.group_id === 'g2')!;
    // g2: c2's transfer leg and c3, both answered now; c3's abandon no longer counts (an abandon with no queued leg).
    assert.deepEqual([g2.inflow, g2.answered, g2.abandoned], [2, 2, 0]);
    const g1 = got.groups.find((g) => g.group_id === 'g1')!;
    // c1's rating of 5 is credited to g1 (its last answered leg): 1 of 1 rating is 3–5.
    assert.equal(g1.avg_satisfaction, 1);
    const L = (extra: Record<string, string>) => ({ tenant: 'default', group: 'g2', ...extra });
    // g2 waits: 30 s (c2) and 50 s (c3) → ≤30: 1, ≤45: 1, ≤60: 2; sum 80.
    assert.equal(got.metrics[series('cs_queue_wait_seconds_bucket', L({ le: '30' }))], 1);
    assert.equal(got.metrics[series('cs_queue_wait_seconds_bucket', L({ le: '45' }))], 1);
    assert.equal(got.metrics[series('cs_queue_wait_seconds_bucket', L({ le: '60' }))], 2);
    assert.equal(got.metrics[series('cs_queue_wait_seconds_sum', L({}))], 80);
    // g2's only abandon is gone from the live figures; the counter keeps its highest value of the day (it never goes down).
    assert.equal(got.groups.find((g) => g.group_id === 'g2')!.abandoned, 0);
    assert.equal(got.metrics[series('cs_sessions_abandoned_total', L({}))], 1);
    assert.equal(got.metrics[series('cs_ratings_total', { tenant: 'default', group: 'g1', score: '5' })], 1);
  });

  it('When a compacted session gets a late event after midnight, then it counts on the new day only, as without compaction', async () => {
    // 00:05 tomorrow: c2 rated 4. Yesterday's figures are gone; the rating is today's, credited to g2 (c2's last answered leg).
    clock.ms = B + 24 * H + 300 * S;
    for (const x of [compacting, keeping, capped]) {
      await post(x.exporter.url, [[B + 24 * H + 240 * S, { type: 'session.rate', sessionId: 'c2', score: 4 }]]);
      await x.live.settled();
    }
    const got = await figures(compacting.exporter.url);
    assert.deepEqual(got, await figures(keeping.exporter.url));
    assert.deepEqual(await figures(capped.exporter.url), got);
    assert.equal(got.metrics[series('cs_ratings_total', { tenant: 'default', group: 'g2', score: '4' })], 1);
    assert.equal(got.metrics[series('cs_ratings_total', { tenant: 'default', group: 'g1', score: '5' })], 0);
    assert.deepEqual(
      got.groups.map((g) => [g.group_id, g.inflow, g.relative_satisfaction]),
      [
        ['g1', 0, null],
        ['g2', 0, 1],
      ],
    );
  });
});

describe('Live state rebuilt at start-up: ended sessions compacted, late events wait for the session loader', () => {
  let db: TestDatabase;
  let reference: { exporter: Exporter; live: LiveState };
  const clock: Clock = { ms: T + H };
  before(async () => {
    db = await freshDatabase();
    reference = await start(db.url, clock, Infinity);
    await post(reference.exporter.url, day);
  });
  after(async () => {
    await reference?.exporter.close();
    await db?.drop();
  });

  const rows = (live: LiveState) => {
    const t = live.find('default')!;
    return {
      overview: overviewRow(t, live.window.fromMs, clock.ms),
      groups: groupRows(t, live.window.fromMs, clock.ms, []),
      agents: agentRows(t, live.window.fromMs, clock.ms, { groups: [], agents: [] }),
    };
  };

  it('When the state is rebuilt from Postgres and late events come before a loader is set, then figures wait for it, then match', async () => {
    // The stored day replayed as at start-up: c1–c3 ended more than 15 minutes ago and are compacted at once.
    const rebuilt = new LiveState(TZ, () => clock.ms);
    await loadLiveState(db.pool, rebuilt);
    assert.equal(rebuilt.find('default')!.compactedCount, 3);
    const before = rows(reference.live);
    assert.deepEqual(rows(rebuilt), before);

    reference.exporter.ctx.writer.on('accepted', (events) => rebuilt.apply(events, clock.ms));
    for (const batch of late) await post(reference.exporter.url, batch);
    // No loader yet: the late events wait with their sessions, and the figures stay those from before them.
    assert.deepEqual(rows(rebuilt), before);
    assert.notDeepEqual(rows(reference.live), before);

    rebuilt.setSessionLoader((tenant, ids, sinceDay) => loadSessions(db.pool, tenant, ids, sinceDay));
    await rebuilt.settled();
    assert.deepEqual(rows(rebuilt), rows(reference.live));
  });
});
