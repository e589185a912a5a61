/**
 * The day counters (event_days) have one row per writer lane: the writer's transactions in flight
 * never wait for each other's commit on them, and the rollup scheduler still sees the newest
 * arrival of a day, whichever lane's row holds it. A transaction that is slow to commit is made
 * for real: the test holds lane 0's row lock, as a long commit of that lane's transaction would.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useLockHolder, waitForLockWait } from './helpers/lock-holder.js';
import { postEvents, type PostResult } from './helpers/events.js';
import { queryRows } from './helpers/reports.js';
import { DAY, dayEvents } from './helpers/report-fixture.js';

// Rollups only when a query asks, so the figures below change only through what the test does.
process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

/** A session of DAY that enters g1 and is abandoned there: +1 to g1's 进线量 (inflow). */
const lateSession = (id: string) => [
  { id: `${id}-start`, type: 'session.start', sessionId: id, userId: `u-${id}`, time: `${DAY}T16:00:00+08:00` },
  { id: `${id}-queue`, type: 'session.queue', sessionId: id, groupId: 'g1', via: 'direct', time: `${DAY}T16:00:01+08:00` },
  { id: `${id}-abandon`, type: 'session.abandon', sessionId: id, groupId: 'g1', time: `${DAY}T16:00:30+08:00` },
  { id: `${id}-end`, type: 'session.end', sessionId: id, by: 'user', time: `${DAY}T16:00:31+08:00` },
];

describe('day counters per writer lane', () => {
  const h = useLockHolder(async ({ exporter }) => {
    assert.deepEqual((await postEvents(exporter.url, dayEvents())).body.rejected, []);
  });

  const g1Inflow = async () => {
    const { rows, meta } = await queryRows(h.exporter.url, { report: 'group_daily', from: DAY, to: DAY, metrics: ['inflow'] });
    assert.equal(meta.provisional, false);
    return rows.find((r) => r.group_id === 'g1')?.inflow as number;
  };

  it("When one transaction waits on its day row, then the writer's other transaction commits meanwhile, and the report counts it", async () => {
    // The fixture's day, rolled up (final: DAY is long past).
    const base = await g1Inflow();
    assert.ok(base > 0, 'the fixture sends sessions to g1');

    await h.holder.query('BEGIN');
    await h.holder.query(`SELECT 1 FROM event_days WHERE tenant = 'default' AND day = $1 AND lane = 0 FOR UPDATE`, [DAY]);
    // A: the first transaction of an idle writer takes lane 0, and waits for the row.
    let aDone: PostResult | undefined;
    const a = postEvents(h.exporter.url, lateSession('L-A')).then((r) => (aDone = r));
    await waitForLockWait(h.db, 'the first transaction');

    // B: the second transaction in flight, on lane 1. With one row per day it waited for A's commit
    // (and A for the holder), until the ingest timeout failed both.
    const b = await Promise.race([
      postEvents(h.exporter.url, lateSession('L-B')),
      new Promise<'late'>((r) => setTimeout(() => r('late'), 3_000)),
    ]);
    assert.notEqual(b, 'late', 'the second request waited for the first one’s day row');
    assert.deepEqual((b as PostResult).body, { accepted: 4, duplicates: 0, rejected: [] });
    assert.equal(aDone, undefined, 'A went on although its row is held');

    // The day was rolled up before B: B's arrival (lane 1's row; lane 0's is older) makes it due again.
    // 进线量 of g1: base + L-B; L-A is not committed.
    assert.equal(await g1Inflow(), base + 1);

    await h.holder.query('COMMIT');
    assert.deepEqual((await a).body, { accepted: 4, duplicates: 0, rejected: [] });
    // base + L-B + L-A.
    assert.equal(await g1Inflow(), base + 2);

    const lanes = await h.db.pool.query(`SELECT lane, events::int FROM event_days WHERE tenant = 'default' AND day = $1 ORDER BY lane`, [
      DAY,
    ]);
    const total = lanes.rows.reduce((n, r) => n + r.events, 0);
    const stored = (await h.db.pool.query(`SELECT count(*)::int AS n FROM events WHERE tenant = 'default' AND day = $1`, [DAY])).rows[0].n;
    assert.deepEqual(
      lanes.rows.map((r) => r.lane),
      [0, 1],
    );
    assert.equal(total, stored, 'the lanes together count every stored event of the day once');
  });
});
