/**
 * The lean path of POST /api/v1/events: a node:http handler in front of express for the one route
 * that webhooks hit thousands of times a second with one event each. Express's router, body-parser
 * and response helpers cost several times the work of storing a single event (docs/robustness.md,
 * "Single-event requests": the profile), so the common case is served here with the same checks in
 * the same order (auth, Content-Type, queue-age bound and byte budget, body, parse) and the same
 * answers byte for byte, and the events go through the one submit path (ingest/submit.ts).
 *
 * Anything unusual is left to the express route, which answers it as before: another method or a
 * query string, a token that does not open the route (401), a Content-Type that is not an event
 * format (415), a body without Content-Length (chunked), an empty or oversized one, or a
 * Content-Encoding. An error that is not the request's fault goes to the one error boundary
 * (`fail`, wired in app.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyError, bodyFormat, parseBody, type BodyFormat } from '../ingest/parse.js';
import { slice } from '../ingest/slices.js';
import { OverloadedError, type Ingest } from '../ingest/submit.js';
import type { BudgetTicket, OverloadResource } from '../ingest/writer.js';
import { bearerScope } from './auth.js';
import { newRequestId } from './errors.js';
import { MAX_BODY_BYTES, admitRequest, countRefusal, overloadAnswer, type IngestStats } from './ingest.js';

export const EVENTS_PATH = '/api/v1/events';
/**
 * Bodies up to this size are parsed at once, in the I/O callback that completed them, instead of in
 * a slice of the shared per-turn budget (ingest/slices.ts): a webhook's few hundred bytes parse in
 * microseconds, and each slice is a turn of the event loop the request waits before its commit.
 */
const INLINE_PARSE_BYTES = 16 * 1024;

export interface LeanIngestOptions {
  ingest: Ingest;
  ingestToken?: string;
  tenantIngestTokens?: Map<string, string>;
  stats: IngestStats;
  /** Answers an error that is not the request's fault, as the express error boundary does. */
  fail(err: unknown, req: IncomingMessage, res: ServerResponse, requestId: string): void;
}

/** Serves the request and returns true, or returns false (untouched) for express to serve. */
export type LeanHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * What express's `res.status(s).set(headers).json(value)` writes, without express: the same header
 * names in the same order (X-Request-Id was set first), the same JSON, so clients see no difference.
 */
function sendJson(res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void {
  const body = JSON.stringify(value);
  res.statusCode = status;
  if (headers) for (const k in headers) res.setHeader(k, headers[k]);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', String(Buffer.byteLength(body)));
  res.end(body);
}

export function leanIngest(opts: LeanIngestOptions): LeanHandler {
  const { ingest, stats } = opts;
  const refused = (stats.refused ??= new Map());
  const tenantTokens = opts.tenantIngestTokens ?? new Map<string, string>();

  const overloaded = (res: ServerResponse, what: OverloadResource) => {
    const err = ingest.overloaded(what);
    sendJson(res, 429, overloadAnswer(err), err.headers);
  };

  const serve = async (
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    format: BodyFormat,
    tenant: string | undefined,
    ticket: BudgetTicket,
    requestId: string,
  ) => {
    try {
      let items;
      try {
        // Parsing a large body takes its turn with every other request's work (ingest/slices.ts).
        items = body.length <= INLINE_PARSE_BYTES ? parseBody(body, format) : await slice(() => parseBody(body, format));
      } catch (err) {
        if (!(err instanceof BodyError)) throw err;
        stats.rejected++;
        sendJson(res, err.status, { error: err.message, accepted: 0, duplicates: 0, rejected: [] });
        return;
      }
      if (items.length === 0) {
        sendJson(res, 400, { error: 'body holds no events', accepted: 0, duplicates: 0, rejected: [] });
        return;
      }
      const answer = await ingest.submit(items, { tenant, ticket, requestId });
      const nothingTaken = answer.accepted === 0 && answer.duplicates === 0;
      sendJson(res, nothingTaken ? 400 : 200, answer);
    } catch (err) {
      if (err instanceof OverloadedError) overloaded(res, err.resource);
      else opts.fail(err, req, res, requestId);
    }
  };

  return (req, res) => {
    if (req.method !== 'POST' || req.url !== EVENTS_PATH) return false;
    const h = req.headers;
    const scope = bearerScope(h.authorization, opts.ingestToken, tenantTokens);
    if (!scope) return false;
    const format = bodyFormat(h['content-type']);
    if (!format) return false;
    const encoding = h['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
    const declared = h['content-length'];
    if (declared === undefined || h['transfer-encoding'] !== undefined) return false;
    const bytes = Number(declared);
    if (!Number.isInteger(bytes) || bytes <= 0 || bytes > MAX_BODY_BYTES) return false;

    const requestId = newRequestId(h['x-request-id']);
    res.setHeader('X-Request-Id', requestId);
    res.on('finish', () => countRefusal(refused, res.statusCode));
    const ticket = ingest.writer.ticket();
    // After the answer, or when the client went away: either way the share is free again.
    res.on('close', () => ticket.release());
    const over = admitRequest(ingest, ticket, bytes);
    if (over) {
      overloaded(res, over);
      return true;
    }

    const chunks: Buffer[] = [];
    let got = 0;
    req.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
    });
    // A client gone mid-body: nobody is left to answer; 'close' frees its share.
    req.on('error', () => undefined);
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, got);
      ticket.shrinkTo('bytes', body.length);
      void serve(req, res, body, format, scope.tenant, ticket, requestId);
    });
    return true;
  };
}
