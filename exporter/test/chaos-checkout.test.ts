/**
 * Item 1 of issue 13: a connection error while a client is checked out (a backend
 * terminated during a rollup, a partition creation or a download) must fail that
 * piece of work, never the process. The exporter runs as its own process, so a
 * crash shows as its exit; the backends are terminated on the test's own database
 * (pg_terminate_backend of the exporter's backends only: the shared server stays up).
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { exited, spawnExporter, type ChildExporter } from './helpers/exporter.js';
import { postEvents, withCommon, validExamples } from './helpers/events.js';
import { postAgentLogs, rawDownload, sleep, terminateWaiting, within } from './helpers/faults.js';

const DAY = '2026-10-05';

describe('A connection lost while a client is checked out fails that work, not the exporter', () => {
  let db: TestDatabase;
  let ex: ChildExporter;
  let admin: pg.Client;
  let dbName: string;

  before(async () => {
    db = await freshDatabase({ migrate: false });
    dbName = new URL(db.url).pathname.slice(1);
    ex = await spawnExporter({ DATABASE_URL: db.url, CS_ROLLUP_INTERVAL_SECONDS: '0' });
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await postAgentLogs(ex.url, DAY, 12_000);
  });
  after(async () => {
    await admin?.end().catch(() => undefined);
    if (ex && ex.child.exitCode === null) {
      ex.child.kill('SIGKILL');
      await exited(ex.child);
    }
    await db?.drop();
  });

  // Each case on a live exporter: one that died in an earlier case would hide what this one does.
  beforeEach(async () => {
    const ok = await within(5_000, 'health', fetch(`${ex.url}/api/v1/health`)).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    if (ex.child.exitCode === null && ex.child.signalCode === null) ex.child.kill('SIGKILL');
    await exited(ex.child);
    ex = await spawnExporter({ DATABASE_URL: db.url, CS_ROLLUP_INTERVAL_SECONDS: '0' });
  });

  const assertAlive = async () => {
    assert.equal(ex.child.exitCode, null, `the exporter exited:\n${ex.output()}`);
    assert.equal(ex.child.signalCode, null, `the exporter was killed:\n${ex.output()}`);
    const health = await within(5_000, 'health', fetch(`${ex.url}/api/v1/health`));
    assert.equal(health.status, 200);
  };

  it('When the backend creating a day partition for an ingest batch is terminated, then that request gets a 503 with Retry-After and the retry is stored', async () => {
    // Partition creation takes this advisory lock (src/ingest/store.ts, PARTITION_LOCK); holding it parks the exporter's client there.
    await admin.query('SELECT pg_advisory_lock(4247002)');
    const batch = [withCommon(validExamples()['session.queue'], '2026-10-06T10:00:00+08:00')];
    const answer = postEvents(ex.url, batch).catch((err: Error) => err);
    assert.equal(await terminateWaiting(admin, dbName), 1);
    await admin.query('SELECT pg_advisory_unlock(4247002)');
    const r = await within(10_000, 'the ingest answer', answer);
    assert.ok(!(r instanceof Error), `the request got no answer (the exporter died?): ${String(r)}\n${ex.output()}`);
    assert.equal(r.status, 503);
    assert.match(r.body.error!, /retry|again/);
    assert.doesNotMatch(JSON.stringify(r.body), /terminat|127\.0\.0\.1|ECONN|administrator/);
    await assertAlive();
    const again = await postEvents(ex.url, batch);
    assert.equal(again.status, 200);
    assert.equal(again.body.accepted, 1);
  });

  it('When the backend of a rollup is terminated, then the rollup answers 503 with Retry-After, the exporter lives on and the next rollup succeeds', async () => {
    // The rollup of a day takes this lock first (src/reports/rollup.ts, rollupDay).
    await admin.query('BEGIN');
    await admin.query(`SELECT pg_advisory_xact_lock(hashtext('cs-rollup'), hashtext($1))`, [`default/${DAY}`]);
    const post = () =>
      fetch(`${ex.url}/api/v1/rollups`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ date: DAY }),
      });
    const answer = post().catch((err: Error) => err);
    assert.equal(await terminateWaiting(admin, dbName), 1);
    await admin.query('COMMIT');
    const r = await within(10_000, 'the rollup answer', answer);
    assert.ok(!(r instanceof Error), `the request got no answer (the exporter died?): ${String(r)}\n${ex.output()}`);
    assert.equal(r.status, 503);
    assert.ok(Number(r.headers.get('retry-after')) > 0, 'a 503 says when to retry');
    assert.doesNotMatch(await r.text(), /terminat|127\.0\.0\.1|ECONN|administrator/);
    await assertAlive();
    const again = await within(30_000, 'the second rollup', post());
    assert.equal(again.status, 200);
  });

  it('When the backend of a download is terminated mid-stream, then the client sees a broken transfer, not a whole file, and the exporter lives on', async () => {
    const url = `${ex.url}/api/v1/export?report=agent_log&from=${DAY}&to=${DAY}&format=csv`;
    const dl = await rawDownload(url);
    assert.equal(dl.status, 200);
    // Not reading: the exporter's writes back up and it waits for drain, its client checked out and idle.
    dl.pause();
    await sleep(300);
    const { rows } = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'cs-exporter' AND state <> 'idle' AND pid <> pg_backend_pid()`,
      [dbName],
    );
    assert.equal(rows.length, 1, 'the download holds one connection with its cursor open');
    await sleep(200);
    assert.equal(await dl.finish(15_000), 'broken');
    await assertAlive();
    // The pool handed out no dead connection: the same download now comes whole.
    const whole = await rawDownload(url);
    assert.equal(await whole.finish(30_000), 'complete');
  });
});
