/**
 * Item 4 of issue 13: a batch whose COMMIT succeeded but whose answer was lost. A TCP
 * proxy between the exporter and Postgres lets the commit through and cuts the
 * connection before its answer arrives: the producer gets a 503, the events are in
 * Postgres, and 监控 must count them, once, whether the producer retries or not.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { startTestExporter } from './helpers/exporter.js';
import { postEvents } from './helpers/events.js';
import { conversations, figureDiff, liveFigures, waitFor, within } from './helpers/faults.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import type { Exporter } from '../src/exporter.js';
import { INSERT_STATEMENT } from '../src/ingest/store.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

describe('A lost acknowledgment', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let ex: Exporter;
  before(async () => {
    db = await freshDatabase();
    proxy = await startTcpProxy(db.url);
    ex = await startTestExporter(proxy.url);
    const base = await postEvents(ex.url, conversations(4));
    assert.equal(base.status, 200);
  });
  after(async () => {
    await within(20_000, 'the exporter to close', ex.close()).catch(() => undefined);
    await proxy.close();
    await db.drop();
  });

  /** Cuts the next ingest statement after its commit; returns the 503's body. */
  async function lostAck(events: Record<string, unknown>[]) {
    const cutsBefore = proxy.cuts();
    // The ingest statement is prepared: its text crosses the wire once per connection, its name with every batch (Bind).
    proxy.cutAfterCommit(INSERT_STATEMENT);
    const r = await within(
      15_000,
      'ingest',
      fetch(`${ex.url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) }),
    );
    assert.equal(proxy.cuts(), cutsBefore + 1, 'the proxy cut the connection after the commit');
    assert.equal(r.status, 503);
    assert.ok(Number(r.headers.get('retry-after')) > 0, 'a 503 says when to retry');
    const stored = await db.pool.query('SELECT count(*)::int AS n FROM events WHERE id = ANY($1)', [events.map((e) => e.id)]);
    assert.equal(stored.rows[0].n, events.length, 'the commit went through: every event is stored');
  }

  /** Live figures equal a fresh exporter's on the same database (it rebuilds them from Postgres). */
  async function assertLiveMatchesFresh() {
    const fresh = await startTestExporter(db.url);
    try {
      const want = await liveFigures(fresh.url);
      let diff = '';
      await waitFor(
        "live figures to equal a fresh exporter's",
        async () => ((diff = figureDiff(await liveFigures(ex.url), want)) === '' ? true : undefined),
        10_000,
      ).catch((err: Error) => assert.fail(`${err.message}:\n${diff}`));
    } finally {
      await fresh.close();
    }
  }

  it('When the answer of a committed batch is lost and the producer does not retry, then 监控 still counts its events', async () => {
    await lostAck(conversations(6));
    await assertLiveMatchesFresh();
  });

  it('When the producer retries a batch whose answer was lost, then the retry succeeds and 监控 counts each event once, also after a further redelivery', async () => {
    const batch = conversations(5);
    await lostAck(batch);
    const retry = await postEvents(ex.url, batch);
    assert.equal(retry.status, 200);
    assert.equal(retry.body.accepted + retry.body.duplicates, batch.length);
    await assertLiveMatchesFresh();
    const again = await postEvents(ex.url, batch);
    assert.deepEqual(again.body, { accepted: 0, duplicates: batch.length, rejected: [] });
    await assertLiveMatchesFresh();
  });
});
