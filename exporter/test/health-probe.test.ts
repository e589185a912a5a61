/**
 * The health probe's verdict after the event loop stalled: a database that answered while the
 * process was busy (a start-up backfill, a long collection) is not reported unavailable. Once
 * seen in CI: `npm start` healthy, and the next /api/v1/health said the database was unavailable.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createPool, probeDatabase } from '../src/db/pool.js';
import { testServerUrl } from './helpers/db.js';

/** Holds the event loop, as a synchronous burst of work does. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

it('When the event loop stalls past the probe limit while Postgres answers, then health still finds the database', async () => {
  const pool = createPool(testServerUrl(), 1, { healthMs: 100 });
  try {
    await pool.query('SELECT 1'); // a connection ready, so the probe's query is written at once
    let verdicts = 0;
    for (let round = 0; round < 5; round++) {
      const probe = probeDatabase(pool).then(
        () => 'ok',
        (err: Error) => `unavailable (${(err.cause as Error)?.message ?? err.message})`,
      );
      // Let the checkout and the write happen, then hold the loop well past healthMs: the answer
      // (a local SELECT 1, well under a millisecond) lands in the socket meanwhile.
      await new Promise((r) => setImmediate(r));
      stall(300);
      assert.equal(await probe, 'ok', `round ${round}`);
      verdicts++;
    }
    assert.equal(verdicts, 5);
    // A database that is not there is still reported at once.
    const frozen = createPool('postgres://nobody@127.0.0.1:9/none', 1, { healthMs: 100, connectMs: 5_000 });
    const t0 = performance.now();
    await assert.rejects(probeDatabase(frozen));
    await frozen.end().catch(() => undefined);
    assert.ok(performance.now() - t0 < 1_000, `reported after ${Math.round(performance.now() - t0)} ms`);
  } finally {
    await pool.end();
  }
});
