/**
 * Item 2 of issue 13: a download closed by its client mid-stream gives its cursor's
 * connection back at once. Before, each one kept a connection checked out for good
 * (the stream waited for a 'drain' that never comes); ten of them took the whole pool,
 * and ingest, queries and health then hung.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { startTestExporter } from './helpers/exporter.js';
import { postEvents, validExamples, withCommon } from './helpers/events.js';
import { postAgentLogs, rawDownload, sleep, waitFor, within } from './helpers/faults.js';
import type { Exporter } from '../src/exporter.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';
const DAY = '2026-10-07';

describe('Aborted downloads', () => {
  let db: TestDatabase;
  let ex: Exporter;
  before(async () => {
    db = await freshDatabase();
    ex = await startTestExporter(db.url);
    await postAgentLogs(ex.url, DAY, 12_000);
  });
  after(async () => {
    // Bounded: an exporter whose pool leaked would wait for its connections forever.
    await within(20_000, 'the exporter to close', ex.close()).catch(() => undefined);
    await db.drop();
  });

  it('When twelve CSV and XLSX downloads are closed mid-stream, then their connections are back in the pool and ingest, queries and health answer', async () => {
    const pool = ex.ctx.pool;
    for (let i = 0; i < 12; i++) {
      const format = i % 3 === 2 ? 'xlsx' : 'csv';
      const dl = await within(
        15_000,
        'a download to start',
        rawDownload(`${ex.url}/api/v1/export?report=agent_log&from=${DAY}&to=${DAY}&format=${format}`),
      );
      assert.equal(dl.status, 200);
      dl.pause();
      await sleep(50);
      dl.abort();
    }
    // Every connection is idle again (none checked out, nobody waiting for one).
    await waitFor(
      'the pool to have no connection checked out',
      () => (pool.totalCount === pool.idleCount && pool.waitingCount === 0 ? true : undefined),
      5_000,
    );

    const health = await within(3_000, 'health', fetch(`${ex.url}/api/v1/health`));
    assert.equal(health.status, 200);
    const ingest = await within(
      5_000,
      'ingest',
      postEvents(ex.url, [withCommon(validExamples()['session.queue'], `${DAY}T12:00:00+08:00`)]),
    );
    assert.equal(ingest.status, 200);
    const query = await within(
      5_000,
      'a query',
      fetch(`${ex.url}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ report: 'agent_log', from: DAY, to: DAY }),
      }),
    );
    assert.equal(query.status, 200);
    // And a download that is read to its end still comes whole.
    const whole = await rawDownload(`${ex.url}/api/v1/export?report=agent_log&from=${DAY}&to=${DAY}&format=csv`);
    assert.equal(await whole.finish(30_000), 'complete');
    assert.ok(whole.received() > 12_000 * 900, `only ${whole.received()} bytes`);
  });
});
