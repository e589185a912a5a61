/**
 * The database goes away under the follower (its own Postgres, crashed with an immediate shutdown
 * and started again, never the shared test server): ingest answers "unavailable" (503 to HTTP
 * producers), the follower waits and sends the same events again, its checkpoint waits too, and
 * once Postgres is back every line Asterisk wrote meanwhile is stored once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import type { Exporter } from '../src/exporter.js';
import { QueueLogMapper } from '../src/adapters/asterisk/mapper.js';
import { mapLine, splitLines } from '../src/adapters/asterisk/lines.js';
import { startTestExporter } from './helpers/exporter.js';
import { sleep, waitFor } from './helpers/faults.js';
import { startOwnedPostgres, type OwnedPostgres } from './helpers/owned-postgres.js';

describe('Asterisk queue_log follow mode while Postgres is down', { timeout: 5 * 60_000 }, () => {
  let db: OwnedPostgres;
  let exporter: Exporter;
  let dir: string;
  before(async () => {
    db = await startOwnedPostgres();
    dir = mkdtempSync(join(tmpdir(), 'ast-outage-'));
  });
  after(async () => {
    await exporter?.close().catch(() => {});
    await db?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ids = async (): Promise<Set<string>> => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return new Set((await c.query<{ id: string }>("SELECT id FROM events WHERE tenant = 'down'")).rows.map((r) => r.id));
    } finally {
      await c.end();
    }
  };

  it('When Postgres crashes while lines keep coming, then after its restart every line is stored once', async () => {
    const file = join(dir, 'queue_log');
    const t = Math.floor(Date.now() / 1000) - 600;
    const calls = (from: number, n: number) =>
      Array.from({ length: n }, (_, k) => {
        const i = from + k;
        return `${t + i}|o${i}|q|NONE|ENTERQUEUE||+86137${i}|1\n${t + i + 2}|o${i}|q|PJSIP/4001|CONNECT|2|y${i}|1\n${t + i + 60}|o${i}|q|PJSIP/4001|COMPLETECALLER|2|58|1\n`;
      }).join('');
    writeFileSync(file, calls(0, 20));
    const base = loadConfig({});
    exporter = await startTestExporter(db.url, {
      dbIngestTimeoutMs: 1_000,
      dbConnectTimeoutMs: 500,
      asterisk: { ...base.asterisk, queueLog: file, tenant: 'down' },
    });
    await waitFor('the first 20 calls stored', async () => ((await ids()).size === 81 ? true : undefined));
    await db.crash();
    // Asterisk goes on writing while the database is down.
    appendFileSync(file, calls(20, 15));
    await sleep(1_500);
    appendFileSync(file, calls(35, 15));
    await sleep(1_500);
    await db.restart();
    const mapper = new QueueLogMapper();
    const want = new Set(splitLines(readFileSync(file), 0).lines.flatMap((l) => mapLine(mapper, l).events.map((e) => e.id)));
    // 50 calls × (start, queue, answer, end) + the agent's one upsert.
    assert.equal(want.size, 201);
    const got = await waitFor(
      'every line stored after the restart',
      async () => {
        const s = await ids().catch(() => new Set<string>());
        return s.size >= want.size ? s : undefined;
      },
      30_000,
    );
    assert.deepEqual(
      [...want].filter((id) => !got.has(id)),
      [],
    );
    assert.equal(got.size, want.size);
  });
});
