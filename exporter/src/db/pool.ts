/** The one Postgres pool; every query of the exporter goes through it, parameterised. */
import pg from 'pg';

// Report rows carry bigint counts and dates; keep them as numbers and plain
// YYYY-MM-DD strings instead of strings and Date objects at local midnight.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

export function createPool(connectionString: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, application_name: 'cs-exporter' });
  // An idle client losing its connection must not take the process down.
  pool.on('error', () => undefined);
  return pool;
}
export type { Pool, PoolClient } from 'pg';
