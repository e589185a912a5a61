/**
 * Reads that write have a budget: a query or download waits for the rollups its range needs only
 * within CS_INLINE_ROLLUP_BUDGET_MS, then answers with what is rolled up, marked provisional, while
 * the rollups finish in the background. A rollup is made slow here for real: the test holds the
 * advisory lock that rollupDay takes for the tenant-day (reports/rollup.ts), as a rollup of the
 * same day in another exporter would.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useLockHolder } from './helpers/lock-holder.js';
import { postEvents } from './helpers/events.js';
import { DAY, dayEvents } from './helpers/report-fixture.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';
process.env.CS_INLINE_ROLLUP_BUDGET_MS = '1000';

describe('a query waits for rollups only within its budget', () => {
  const h = useLockHolder(async ({ exporter }) => {
    assert.deepEqual((await postEvents(exporter.url, dayEvents())).body.rejected, []);
  });

  const query = async () => {
    const started = Date.now();
    const r = await fetch(`${h.exporter.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ report: 'group_daily', from: DAY, to: DAY }),
      signal: AbortSignal.timeout(8000),
    });
    const body = (await r.json()) as { meta: { provisional: boolean }; frames: { fields: { values: unknown[] }[] }[] };
    return { status: r.status, ms: Date.now() - started, provisional: body.meta.provisional, rows: body.frames[0].fields[0].values.length };
  };

  it('When the day cannot be rolled up within the budget, then the answer comes at the budget, provisional, and the rollup finishes after', async () => {
    await h.holder.query('BEGIN');
    await h.holder.query(`SELECT pg_advisory_xact_lock(hashtext('cs-rollup'), hashtext($1 || '/' || $2))`, ['default', DAY]);
    const slow = await query();
    assert.equal(slow.status, 200);
    assert.ok(slow.ms >= 900 && slow.ms < 5000, `answered after ${slow.ms} ms; the budget is 1000 ms`);
    assert.equal(slow.provisional, true);
    assert.equal(slow.rows, 0, 'nothing was rolled up yet');

    const download = await fetch(`${h.exporter.url}/api/v1/export?report=group_daily&from=${DAY}&to=${DAY}`, {
      signal: AbortSignal.timeout(8000),
    });
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('x-provisional'), 'true');
    await download.arrayBuffer();

    await h.holder.query('COMMIT');
    // The rollup the first query started goes on by itself: no query needs to wait for it now.
    const until = Date.now() + 20_000;
    let rolled = 0;
    while (Date.now() < until && rolled === 0) {
      rolled = (await h.db.pool.query(`SELECT 1 FROM report_rollups WHERE tenant = 'default' AND day = $1`, [DAY])).rowCount ?? 0;
      if (!rolled) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(rolled, 1, 'the background rollup never finished');
    const after = await query();
    assert.equal(after.provisional, false);
    assert.ok(after.rows > 0);
  });
});
