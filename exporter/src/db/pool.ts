/** The one Postgres pool; every query of the exporter goes through it, parameterised. */
import pg from 'pg';
import { DatabaseUnavailableError, isServerError, isUnavailable } from './errors.js';

// Report rows carry bigint counts and dates; keep them as numbers and plain
// YYYY-MM-DD strings instead of strings and Date objects at local midnight.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

/** How long the exporter waits for Postgres (README, "Settings"). */
export interface PoolTimeouts {
  /** Waiting for a pooled connection, or for a new one to be ready (CS_DB_CONNECT_TIMEOUT_MS). */
  connectMs: number;
  /** Any one statement, enforced by Postgres (CS_DB_STATEMENT_TIMEOUT_MS). */
  statementMs: number;
  /** One ingest batch's statement: a producer waits on it (CS_DB_INGEST_TIMEOUT_MS). */
  ingestMs: number;
  /** The database probe of /api/v1/health (CS_DB_HEALTH_TIMEOUT_MS). */
  healthMs: number;
  /** Retry-After of a 503 for an unavailable database (CS_DB_RETRY_AFTER_SECONDS). */
  retryAfterSeconds: number;
}

export const DEFAULT_TIMEOUTS: PoolTimeouts = {
  connectMs: 2_000,
  statementMs: 300_000,
  ingestMs: 5_000,
  healthMs: 500,
  retryAfterSeconds: 5,
};

const timeoutsOf = new WeakMap<pg.Pool, PoolTimeouts>();

/** The timeouts a pool was created with. */
export function poolTimeouts(pool: pg.Pool): PoolTimeouts {
  return timeoutsOf.get(pool) ?? DEFAULT_TIMEOUTS;
}

export function createPool(connectionString: string, max = 10, timeouts: Partial<PoolTimeouts> = {}): pg.Pool {
  const t = { ...DEFAULT_TIMEOUTS, ...timeouts };
  const pool = new pg.Pool({
    connectionString,
    max,
    application_name: 'cs-exporter',
    connectionTimeoutMillis: t.connectMs,
    // Enforced by Postgres, per statement (per page of a cursor). No pool-wide client-side
    // limit: pg's query_timeout would also cut a cursor or a COPY stream that is merely
    // long, and it keeps a timer per query. The paths a frozen server must not hang
    // (ingest, health) carry their own client-side limits.
    statement_timeout: t.statementMs,
    // A connection to a host that vanished (failover, cable) is noticed by TCP, not after hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  timeoutsOf.set(pool, t);
  // An idle client losing its connection must not take the process down.
  pool.on('error', () => undefined);
  return pool;
}

/** A client checked out with `checkout`; give it back with `done`, exactly once. */
export type CheckedOutClient = pg.PoolClient & {
  /**
   * Returns the client to the pool; `failure` is what made the work fail, if
   * anything. A client whose connection broke, or that may still have a
   * statement in flight, is destroyed instead of being handed out again.
   */
  done(failure?: unknown): void;
};

/**
 * The one place a client is checked out of the pool (everything that needs a
 * connection for more than one statement: transactions, cursors, COPY). For
 * the whole checkout an 'error' listener is attached, so a connection lost
 * meanwhile (a terminated backend, a restart, a failover) fails the pending
 * query instead of crashing the process with an unhandled 'error' event.
 */
export async function checkout(
  pool: pg.Pool,
  opts: {
    /** Any failure leaves the connection unusable (a statement may still be in flight on it, e.g. a cursor's page). */
    discardOnError?: boolean;
  } = {},
): Promise<CheckedOutClient> {
  const client = (await pool.connect()) as CheckedOutClient;
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken ??= err;
  };
  client.on('error', onError);
  let given = false;
  client.done = (failure?: unknown) => {
    if (given) return;
    given = true;
    client.off('error', onError);
    // A statement that failed on the server leaves a usable connection (the caller
    // rolled back); anything else (socket error, client-side timeout) may leave it
    // mid-statement, so it is not reused.
    const discard =
      broken ??
      (failure !== undefined && failure !== null && (opts.discardOnError || !isServerError(failure)) ? toError(failure) : undefined);
    client.release(discard ?? false);
  };
  return client;
}

/** Runs `fn` with a client from `checkout`, and gives it back however `fn` ends. */
export async function withClient<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  opts: { discardOnError?: boolean } = {},
): Promise<T> {
  const client = await checkout(pool, opts);
  try {
    const out = await fn(client);
    client.done();
    return out;
  } catch (err) {
    client.done(err);
    throw err;
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** `err` as a DatabaseUnavailableError when it means the database cannot serve now; otherwise `err` itself. */
export function unavailable(pool: pg.Pool, err: unknown, what: string): unknown {
  if (err instanceof DatabaseUnavailableError || !isUnavailable(err)) return err;
  return new DatabaseUnavailableError(`${what}: the database is unavailable; retry later`, poolTimeouts(pool).retryAfterSeconds, {
    cause: err,
  });
}

const probing = new WeakMap<pg.Pool, Promise<void>>();

/**
 * Is the database answering? One probe at a time per pool (health checks
 * polled during an outage share it) and never longer than `healthMs`: a
 * frozen or unreachable Postgres gives a DatabaseUnavailableError in time.
 */
export function probeDatabase(pool: pg.Pool): Promise<void> {
  const running = probing.get(pool);
  if (running) return running;
  const { healthMs } = poolTimeouts(pool);
  let timer: NodeJS.Timeout | undefined;
  const p = Promise.race([
    // pg's own limit only as a backstop that frees the client: the verdict is the timer below.
    pool.query({ text: 'SELECT 1', query_timeout: healthMs * 4 } as pg.QueryConfig).then(() => undefined),
    new Promise<never>((_, reject) => {
      // After a stall of the event loop longer than healthMs (a start-up backfill, a long GC) the
      // timer is due at once, though Postgres's answer may be waiting in the socket: the timers
      // phase runs before I/O. setImmediate lets that I/O be read first, so a database that did
      // answer in time is not reported unavailable (seen once: health 200, then 'unavailable').
      timer = setTimeout(() => setImmediate(() => reject(new Error(`no answer within ${healthMs} ms`))), healthMs);
    }),
  ])
    .catch((err) => {
      // Whatever the cause (down, frozen, refusing us), health reports the database as unavailable.
      throw new DatabaseUnavailableError('the database is not answering', poolTimeouts(pool).retryAfterSeconds, { cause: err });
    })
    .finally(() => {
      clearTimeout(timer);
      probing.delete(pool);
    });
  probing.set(pool, p);
  return p;
}
export type { Pool, PoolClient } from 'pg';
