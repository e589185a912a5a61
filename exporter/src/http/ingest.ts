/** POST /api/v1/events (events.md). */
import express, { Router, type RequestHandler } from 'express';
import { BodyError, bodyFormat, parseBody } from '../ingest/parse.js';
import { slice } from '../ingest/slices.js';
import { OverloadedError, type Ingest, type IngestAnswer } from '../ingest/submit.js';
import type { BudgetTicket, OverloadResource } from '../ingest/writer.js';
import { requireBearer } from './auth.js';

export { MAX_LISTED_REJECTIONS, MAX_DAYS_PER_REQUEST, OVERLOAD_RETRY_AFTER_SECONDS, type IngestAnswer } from '../ingest/submit.js';

export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Why an ingest request was refused as a whole, by HTTP status (the label values of /metrics). */
export const REFUSAL_REASONS = {
  400: 'invalid',
  401: 'unauthorized',
  403: 'forbidden',
  413: 'too_large',
  415: 'content_type',
  429: 'overloaded',
  503: 'unavailable',
} as const satisfies Record<number, string>;
export type RefusalReason = (typeof REFUSAL_REASONS)[keyof typeof REFUSAL_REASONS] | 'other';

export interface IngestStats {
  rejected: number;
  /** Ingest requests answered with an error status, by reason (REFUSAL_REASONS). */
  refused?: Map<RefusalReason, number>;
}

/** Counts an ingest answer with an error status under its reason (REFUSAL_REASONS). */
export function countRefusal(refused: Map<RefusalReason, number>, status: number): void {
  if (status < 400) return;
  const reason: RefusalReason = REFUSAL_REASONS[status as keyof typeof REFUSAL_REASONS] ?? 'other';
  refused.set(reason, (refused.get(reason) ?? 0) + 1);
}

/** The body of a 429 (its headers are `err.headers`): the same from the express route and the lean path. */
export function overloadAnswer(err: OverloadedError) {
  return {
    error: err.message,
    budget: { resource: err.resource, limit: err.limit, setting: err.setting },
    accepted: 0,
    duplicates: 0,
    rejected: [],
  };
}

export const contentTypeMessage = (contentType: string | undefined) =>
  `Content-Type must be application/json (an event or an array of events) or application/x-ndjson (one event a line), got ${contentType ?? 'none'}`;

/**
 * What admits a request before its body is read: the queue-age bound (a request that would only
 * wait is refused before it costs a read and a parse), then the body's share of the byte budget.
 */
export function admitRequest(ingest: Ingest, ticket: BudgetTicket, bytes: number): OverloadResource | undefined {
  if (ingest.writer.overWait()) return 'wait';
  return ticket.take('bytes', bytes) ? undefined : 'bytes';
}

export function ingestRouter(opts: {
  ingest: Ingest;
  ingestToken?: string;
  tenantIngestTokens?: Map<string, string>;
  stats: IngestStats;
}): Router {
  const writer = opts.ingest.writer;
  const router = Router();
  const refused = (opts.stats.refused ??= new Map());

  // Counted on the way out, whichever part answered (auth, body limit, budget, database).
  const countRefusals: RequestHandler = (_req, res, next) => {
    res.on('finish', () => countRefusal(refused, res.statusCode));
    next();
  };

  const overloaded = (res: express.Response, what: OverloadResource) => {
    const err = opts.ingest.overloaded(what);
    res.set(err.headers);
    res.status(429).json(overloadAnswer(err));
  };

  // The body's bytes are taken from the budget before it is read: a crowd of
  // producers cannot make the exporter buffer 128 bodies of 10 MiB.
  const admit: RequestHandler = (req, res, next) => {
    const ticket = writer.ticket();
    // 'close' comes after the answer is sent, or when the client went away: either way the share is free again.
    res.on('close', () => ticket.release());
    const declared = Number(req.get('content-length'));
    // Without a length (chunked), the most a body may be is reserved, and the rest given back once read.
    const bytes = Number.isInteger(declared) && declared >= 0 ? Math.min(declared, MAX_BODY_BYTES) : MAX_BODY_BYTES;
    const over = admitRequest(opts.ingest, ticket, bytes);
    if (over) return overloaded(res, over);
    res.locals.budget = ticket;
    next();
  };

  const requireEventContentType: RequestHandler = (req, res, next) => {
    if (bodyFormat(req.get('content-type'))) return next();
    res.status(415).json({ error: contentTypeMessage(req.get('content-type')) });
  };

  router.post(
    '/events',
    countRefusals,
    requireBearer(opts.ingestToken, 'CS_INGEST_TOKEN', opts.tenantIngestTokens),
    requireEventContentType,
    admit,
    express.raw({ type: () => true, limit: MAX_BODY_BYTES }),
    async (req, res) => {
      const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const ticket = res.locals.budget as BudgetTicket;
      ticket.shrinkTo('bytes', body.length);
      let items;
      try {
        // Parsing takes its turn with every other request's work (ingest/slices.ts).
        items = await slice(() => parseBody(body, bodyFormat(req.get('content-type'))!));
      } catch (err) {
        if (err instanceof BodyError) {
          opts.stats.rejected++;
          res.status(err.status).json({ error: err.message, accepted: 0, duplicates: 0, rejected: [] });
          return;
        }
        throw err;
      }
      if (items.length === 0) {
        res.status(400).json({ error: 'body holds no events', accepted: 0, duplicates: 0, rejected: [] });
        return;
      }
      let answer: IngestAnswer;
      try {
        answer = await opts.ingest.submit(items, {
          tenant: res.locals.tenantScope as string | undefined,
          ticket,
          requestId: res.locals.requestId,
        });
      } catch (err) {
        if (err instanceof OverloadedError) return overloaded(res, err.resource);
        throw err;
      }
      const nothingTaken = answer.accepted === 0 && answer.duplicates === 0;
      res.status(nothingTaken ? 400 : 200).json(answer);
    },
  );
  return router;
}
