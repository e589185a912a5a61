/**
 * The lease of background work (db/lease.ts) between two holders on one database, in
 * one process: one runs the work; when its session ends without the process dying (a
 * terminated backend, as a failover or an operator would end it) it stops the work, and
 * the other takes over; an orderly stop hands it over too.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { waitFor } from './helpers/faults.js';
import { Lease } from '../src/db/lease.js';
import { createLogger } from '../src/log.js';

const CHECK_MS = 200;

describe('The background-work lease', () => {
  let db: TestDatabase;
  const leases: Lease[] = [];
  // What each holder's work does: running or not, and how often it was started.
  const work = [
    { running: false, starts: 0 },
    { running: false, starts: 0 },
  ];
  const runningNow = () => work.map((w) => w.running);

  before(async () => {
    db = await freshDatabase();
    for (const w of work)
      leases.push(
        new Lease(db.pool, 'test-work', {
          checkMs: CHECK_MS,
          log: createLogger('silent'),
          onAcquired() {
            w.running = true;
            w.starts++;
          },
          onLost() {
            w.running = false;
          },
        }),
      );
    for (const l of leases) l.start();
  });
  after(async () => {
    for (const l of leases) await l.stop();
    await db?.drop();
  });

  it('When two replicas start, then exactly one runs the work, and it stays there', async () => {
    await waitFor('a holder', () => (work.some((w) => w.running) ? true : undefined), 5_000);
    // Several checks later: still one, the same one.
    const first = runningNow();
    await new Promise((r) => setTimeout(r, CHECK_MS * 5));
    assert.deepEqual(runningNow(), first);
    assert.equal(first.filter(Boolean).length, 1);
    assert.equal(work[0].starts + work[1].starts, 1);
  });

  it("When the holder's database session is terminated, then its work stops and the other replica takes over", async () => {
    const holder = work.findIndex((w) => w.running);
    const other = 1 - holder;
    const { rows } = await db.pool.query(
      `SELECT pg_terminate_backend(l.pid) AS done FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'cs-exporter lease test-work'`,
    );
    assert.deepEqual(rows, [{ done: true }], 'one session holds the lock: the holder');
    await waitFor('the other replica to take over', () => (work[other].running ? true : undefined), 5_000);
    assert.equal(work[holder].running, false, 'the former holder stopped its work');
    assert.equal(work[other].starts, 1);
  });

  it('When the holder stops in order, then the other takes over within a few checks', async () => {
    const holder = work.findIndex((w) => w.running);
    const other = 1 - holder;
    const t0 = Date.now();
    await leases[holder].stop();
    assert.equal(work[holder].running, false);
    await waitFor('the other replica to take over', () => (work[other].running ? true : undefined), 5_000);
    assert.ok(Date.now() - t0 < CHECK_MS * 10, `taken over after ${Date.now() - t0} ms`);
  });
});
