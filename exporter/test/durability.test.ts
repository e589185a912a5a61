import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { exited, freePort, spawnExporter, type ChildExporter } from './helpers/exporter.js';
import { postEvents, validExamples, withCommon } from './helpers/events.js';

function batchOf(n: number) {
  const kinds = Object.values(validExamples());
  return Array.from({ length: n }, (_, i) => withCommon(kinds[i % kinds.length], Date.now() - 60_000));
}

/**
 * Producers post batches until one is acknowledged past `killAfterAcks`; in
 * that answer's callback the exporter gets SIGKILL. Returns the ids it acknowledged.
 */
async function sendUntilKilled(ex: ChildExporter, killAfterAcks: number): Promise<string[]> {
  const acked: string[] = [];
  let acks = 0;
  let killed = false;
  const producer = async () => {
    while (!killed) {
      const batch = batchOf(200);
      try {
        const r = await postEvents(ex.url, batch);
        if (r.status !== 200) throw new Error(`unexpected ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(r.body.accepted, batch.length);
        acked.push(...batch.map((e) => e.id as string));
        if (++acks >= killAfterAcks && !killed) {
          killed = true;
          ex.child.kill('SIGKILL');
        }
      } catch (err) {
        if (!killed) throw err;
      }
    }
  };
  await Promise.all([producer(), producer(), producer(), producer()]);
  await exited(ex.child);
  return acked;
}

describe('acknowledged means durable', () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('When the exporter is kill -9ed right after an acknowledgment, then every acknowledged event is stored', async () => {
    const db: TestDatabase = await freshDatabase({ migrate: false });
    cleanup.push(() => db.drop());
    const first = await spawnExporter({ DATABASE_URL: db.url });
    const acked = await sendUntilKilled(first, 12);
    assert.ok(acked.length >= 12 * 200);

    const stored = await db.pool.query('SELECT count(*)::int AS n FROM events WHERE id = ANY($1)', [acked]);
    assert.equal(stored.rows[0].n, acked.length);

    const second = await spawnExporter({ DATABASE_URL: db.url });
    cleanup.push(async () => {
      second.child.kill('SIGTERM');
      await exited(second.child);
    });
    // Redelivery after the restart: all duplicates, nothing stored twice.
    const ids = new Set(acked);
    const rows = await db.pool.query('SELECT body FROM events WHERE id = ANY($1)', [acked]);
    const redelivered = rows.rows.map((r) => r.body);
    for (let i = 0; i < redelivered.length; i += 1000) {
      const r = await postEvents(second.url, redelivered.slice(i, i + 1000));
      assert.deepEqual(r.body, { accepted: 0, duplicates: Math.min(1000, redelivered.length - i), rejected: [] });
    }
    const total = await db.pool.query('SELECT count(*)::int AS n FROM events');
    const uniqueIds = await db.pool.query('SELECT count(DISTINCT id)::int AS n FROM events');
    assert.equal(total.rows[0].n, uniqueIds.rows[0].n);
    assert.ok(total.rows[0].n >= ids.size);
  });

  it('When the exporter on the embedded Postgres is kill -9ed, then a restart recovers the database with every acknowledged event', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'cs-durable-'));
    const env = { CS_DATA_DIR: dataDir, CS_EMBEDDED_PG_PORT: String(await freePort()), DATABASE_URL: '' };
    const first = await spawnExporter(env);
    const acked = await sendUntilKilled(first, 5);

    // The detached database outlived its exporter; the next start takes it down and starts afresh.
    const second = await spawnExporter(env);
    const password = readFileSync(path.join(dataDir, 'pg.secret'), 'utf8');
    const client = new pg.Client({
      host: '127.0.0.1',
      port: Number(env.CS_EMBEDDED_PG_PORT),
      user: 'postgres',
      password,
      database: 'postgres',
    });
    await client.connect();
    const stored = await client.query('SELECT count(*)::int AS n FROM events WHERE id = ANY($1)', [acked]);
    await client.end();
    assert.equal(stored.rows[0].n, acked.length);

    second.child.kill('SIGTERM');
    assert.equal(await exited(second.child), 0, second.output());
    // A clean stop takes the embedded server down with it.
    assert.throws(() => readFileSync(path.join(dataDir, 'pg', 'postmaster.pid')));
    rmSync(dataDir, { recursive: true, force: true });
  });
});
