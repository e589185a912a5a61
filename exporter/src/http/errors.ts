/**
 * The one error boundary of the HTTP API. Every route throws (or passes to `next`) and this
 * middleware answers: a `RequestError` with its own status and message, a database that cannot be
 * reached with 503 + Retry-After, anything else with a bare 500. No answer ever carries an unknown
 * error's message, a Postgres message, a host, a port or a stack: those go to the log, under the
 * request id that the answer carries in `X-Request-Id` and in its body.
 */
import { randomUUID } from 'node:crypto';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { DatabaseUnavailableError, isUnavailable } from '../db/errors.js';

/** A fault of the request itself; `message` is shown to the client as is, so it must name the problem and hold no internals. */
export class RequestError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 405 | 413 | 415 | 422 | 429,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** Seconds a client is told to wait when the database is away. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** One classification of "the database is not there right now" (db/errors.ts), for the boundary and the writer. */
export const isDatabaseUnavailable = isUnavailable;

// A caller's own id is kept when it is a plain token (a proxy's or Grafana's trace id), so
// log lines join across systems; anything else would let a caller write into our logs.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A request's id: a sane incoming `X-Request-Id`, else a new one (also for the lean ingest path, fast-ingest.ts). */
export function newRequestId(given: string | string[] | undefined): string {
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** Gives every request an id (a sane incoming `X-Request-Id`, else a new one) and sends it back. */
export const requestId: RequestHandler = (req, res, next) => {
  const id = newRequestId(req.get('x-request-id'));
  res.locals.requestId = id;
  res.setHeader('X-Request-Id', id);
  next();
};

// Paths whose tail is a credential (a webhook token in the URL, as Chatwoot sends it): the tail never
// reaches a log line or an error message. Registered by the routes that take such a path.
const SECRET_PATH_PREFIXES: string[] = [];

/** Marks every path under `prefix` (ending in '/') as carrying a credential after it. */
export function secretPathPrefix(prefix: string): void {
  if (!SECRET_PATH_PREFIXES.includes(prefix)) SECRET_PATH_PREFIXES.push(prefix);
}

/** A request path as it may be logged or echoed: a credential's segment replaced, long paths cut. */
export function loggablePath(path: string): string {
  for (const prefix of SECRET_PATH_PREFIXES) {
    if (path.startsWith(prefix) && path.length > prefix.length) return `${prefix}<redacted>`;
  }
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

/** The body-parser errors express raises, as the client should read them. */
function bodyParserMessage(err: { type?: unknown; limit?: unknown; message?: unknown }): { status: number; message: string } | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return {
        status: 413,
        message: `body is larger than the ${typeof err.limit === 'number' ? formatBytes(err.limit) : 'allowed'} limit: send smaller requests (events in smaller batches)`,
      };
    case 'entity.parse.failed':
      // JSON.parse's own words quote only the body itself: where it broke helps the caller.
      return { status: 400, message: `body is not valid JSON: ${String(err.message).slice(0, 200)}` };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, message: 'body encoding or charset is not supported: send UTF-8, optionally gzip or deflate' };
    case 'request.aborted':
      return { status: 400, message: 'the request was aborted before its body arrived' };
    case 'request.size.invalid':
      return { status: 400, message: 'the body is shorter or longer than its Content-Length' };
    default:
      return undefined;
  }
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${n / 1024 / 1024} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} bytes`;
}

/** The final middleware: answers every error that reached it, never with internals. */
export function errorBoundary(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const id = (res.locals.requestId as string | undefined) ?? randomUUID();
    let status: number;
    let message: string;
    const headers: Record<string, string> = {};
    if (err instanceof RequestError) {
      status = err.status;
      message = err.message;
      Object.assign(headers, err.headers);
    } else if (isDatabaseUnavailable(err)) {
      status = 503;
      const retry = err instanceof DatabaseUnavailableError ? err.retryAfterSeconds : DATABASE_RETRY_AFTER_SECONDS;
      headers['Retry-After'] = String(retry);
      // Our own words when we raised it (they name what failed, never a host or Postgres's text).
      message =
        err instanceof DatabaseUnavailableError ? `${err.message} (retry in ${retry} s)` : `the database is unavailable; retry in ${retry} s`;
    } else {
      const parsed = err && typeof err === 'object' ? bodyParserMessage(err as { type?: unknown; limit?: unknown }) : undefined;
      if (parsed) ({ status, message } = parsed);
      else if (err instanceof URIError) {
        // The router decoding a route parameter (input.ts refuses such URLs first; this stays as the backstop).
        status = 400;
        message = 'the URL holds malformed percent-encoding (a % not followed by two hex digits, or bytes that are not UTF-8)';
      } else {
        status = 500;
        message = 'internal error; the exporter logged it under this request id';
      }
    }
    // Client faults are the client's to fix (debug); the rest is ours (error, with the full error).
    if (status >= 500) log.error({ err, requestId: id, method: req.method, path: loggablePath(req.path), status }, 'request failed');
    else log.debug({ requestId: id, method: req.method, path: loggablePath(req.path), status, error: message }, 'request refused');
    if (res.headersSent) {
      // Half an answer is out: cutting the connection is the only honest signal left.
      res.destroy();
      return;
    }
    res.status(status).set(headers).json({ error: message, requestId: id });
  };
}
