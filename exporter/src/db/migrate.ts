/** Versioned SQL migrations (src/migrations/NNN_name.sql), applied in order at start-up. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Logger } from 'pino';
import { checkout } from './pool.js';

const DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
// Any constant will do; it keeps two exporters from migrating at once.
const LOCK_KEY = 4_247_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function listMigrations(): Migration[] {
  return readdirSync(DIR)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .map((f) => ({ version: Number(f.split('_')[0]), name: f, sql: readFileSync(DIR + f, 'utf8') }))
    .sort((a, b) => a.version - b.version);
}

/** Applies the pending migrations, each in its own transaction; returns their names. */
export async function migrate(pool: pg.Pool, log?: Logger): Promise<string[]> {
  const client = await checkout(pool);
  let failure: unknown;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const applied: string[] = [];
    for (const m of listMigrations()) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`);
      }
      log?.info({ migration: m.name }, 'migration applied');
      applied.push(m.name);
    }
    return applied;
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.done(failure);
  }
}
