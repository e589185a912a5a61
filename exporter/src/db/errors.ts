/**
 * The database could not be reached or did not answer in time (refused, cut, frozen, restarting).
 * Whoever sees such a failure throws this; the HTTP error boundary answers it with 503 and
 * Retry-After, so producers and Grafana retry instead of treating it as a bad request.
 */
export class DatabaseUnavailableError extends Error {
  constructor(
    message = 'the database is unavailable',
    /** Seconds a client should wait before retrying. */
    readonly retryAfterSeconds = 5,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DatabaseUnavailableError';
  }
}

import pg from 'pg';

/**
 * True for an error Postgres itself answered (a SQLSTATE): the statement
 * failed and the connection is fine. Anything else (reset, refused, timeout,
 * a connection ended by the server) leaves the connection unusable and the
 * outcome of a statement in flight unknown.
 */
export function isServerError(err: unknown): boolean {
  return err instanceof pg.DatabaseError;
}

// SQLSTATE classes that mean "the database cannot serve now", not "this statement is wrong":
// 08 connection exception, 53 insufficient resources, 57 operator intervention
// (57014 query_canceled is our statement_timeout; 57P01 admin shutdown / pg_terminate_backend),
// 58 system error.
const UNAVAILABLE_CLASSES = ['08', '53', '57', '58'];

/** True when `err` means the database is unreachable, overloaded, shutting down or too slow. */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true;
  if (isServerError(err)) {
    const code = (err as pg.DatabaseError).code ?? '';
    return UNAVAILABLE_CLASSES.some((c) => code.startsWith(c));
  }
  // Not a Postgres answer: a socket error, a connect or query timeout, an ended client.
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && SOCKET_CODES.has(code)) return true;
  return PG_CONNECTION_MESSAGES.test(err.message);
}

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
// What pg and pg-pool say when a connection could not be had or broke (node_modules/pg/lib/client.js, pg-pool/index.js).
const PG_CONNECTION_MESSAGES =
  /^(Connection terminated|Connection terminated unexpectedly|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|Cannot use a pool after calling end on the pool)/;
