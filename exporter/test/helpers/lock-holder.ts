/**
 * An exporter on a fresh database, and a second connection of the test's own that holds locks the
 * exporter then waits on: a slow commit or a rollup elsewhere, made for real.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { freshDatabase, type TestDatabase } from './db.js';
import { startTestExporter } from './exporter.js';
import type { Exporter } from '../../src/exporter.js';

export interface LockHarness {
  readonly db: TestDatabase;
  readonly exporter: Exporter;
  /** The test's connection; a transaction it leaves open is rolled back after the block. */
  readonly holder: pg.Client;
}

/** Started before the describe block's tests (after `setUp`, e.g. posting a fixture), stopped after them. */
export function useLockHolder(setUp?: (h: LockHarness) => Promise<void>): LockHarness {
  const h = {} as { db: TestDatabase; exporter: Exporter; holder: pg.Client };
  before(async () => {
    h.db = await freshDatabase();
    h.exporter = await startTestExporter(h.db.url);
    h.holder = new pg.Client({ connectionString: h.db.url });
    await h.holder.connect();
    await setUp?.(h);
  });
  after(async () => {
    await h.holder?.query('ROLLBACK').catch(() => undefined);
    await h.holder?.end();
    await h.exporter?.close();
    await h.db?.drop();
  });
  return h;
}

/** Resolves once a backend of the database waits for a lock (the exporter reached the held one). */
export async function waitForLockWait(db: TestDatabase, what: string, ms = 5_000): Promise<void> {
  for (let until = Date.now() + ms; ;) {
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (rows[0].n > 0) return;
    assert.ok(Date.now() < until, `${what} never reached the held lock`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
