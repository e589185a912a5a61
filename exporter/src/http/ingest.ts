/** POST /api/v1/events (events.md). */
import express, { Router, type RequestHandler } from 'express';
import { DatabaseUnavailableError, isUnavailable } from '../db/errors.js';
import { BodyError, bodyFormat, parseBody } from '../ingest/parse.js';
import { validateEvent, type StoredEvent } from '../ingest/validate.js';
import type { BudgetResource, BudgetTicket, EventWriter } from '../ingest/writer.js';
import { requireBearer } from './auth.js';
import { CardinalityBudget } from '../ingest/cardinality.js';
import type { Logger } from 'pino';

export const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** Rejections listed one by one in an answer; `rejectedCount` says how many there were in all. */
export const MAX_LISTED_REJECTIONS = 100;
/**
 * Distinct days one request may write. Each new day is a partition to create (and every session
 * lookup pays for each partition), so a request spanning 2,000 past days is refused past this:
 * its events of further days are rejected, naming the budget. A month of backfill fits in one request.
 */
export const MAX_DAYS_PER_REQUEST = 31;
/** Events validated between two yields to the event loop, so /metrics and health keep answering. */
const VALIDATE_SLICE = 2_000;

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

/** Seconds a producer refused for overload is told to wait (Retry-After). */
export const OVERLOAD_RETRY_AFTER_SECONDS = 1;

export interface IngestAnswer {
  accepted: number;
  duplicates: number;
  /** The first MAX_LISTED_REJECTIONS rejections, by index. */
  rejected: { index: number; error: string }[];
  /** All rejections, listed or not: present only when the list was cut at MAX_LISTED_REJECTIONS. */
  rejectedCount?: number;
}

export function ingestRouter(opts: {
  writer: EventWriter;
  timezone: string;
  ingestToken?: string;
  tenantIngestTokens?: Map<string, string>;
  stats: IngestStats;
  log: Logger;
  /** Events before this instant are refused (CS_MIN_EVENT_TIME). */
  minEventTimeMs?: number;
  /** Tenants, groups and agents ingest lets into being. */
  cardinality?: CardinalityBudget;
}): Router {
  const router = Router();
  const refused = (opts.stats.refused ??= new Map());

  // Counted on the way out, whichever part answered (auth, body limit, budget, database).
  const countRefusals: RequestHandler = (_req, res, next) => {
    res.on('finish', () => {
      if (res.statusCode < 400) return;
      const reason: RefusalReason = REFUSAL_REASONS[res.statusCode as keyof typeof REFUSAL_REASONS] ?? 'other';
      refused.set(reason, (refused.get(reason) ?? 0) + 1);
    });
    next();
  };

  const overloaded = (res: express.Response, what: BudgetResource) => {
    const [limit, setting] = what === 'events' ? [opts.writer.budget.maxEvents, 'CS_INGEST_MAX_EVENTS'] : [opts.writer.budget.maxBytes, 'CS_INGEST_MAX_BYTES'];
    res.setHeader('Retry-After', String(OVERLOAD_RETRY_AFTER_SECONDS));
    res.status(429).json({
      error: `ingest is at its in-flight budget of ${limit} ${what} (${setting}); nothing of this request was stored: retry after ${OVERLOAD_RETRY_AFTER_SECONDS} s`,
      budget: { resource: what, limit, setting },
      accepted: 0,
      duplicates: 0,
      rejected: [],
    });
  };

  // The body's bytes are taken from the budget before it is read: a crowd of
  // producers cannot make the exporter buffer 128 bodies of 10 MiB.
  const admit: RequestHandler = (req, res, next) => {
    const ticket = opts.writer.ticket();
    // 'close' comes after the answer is sent, or when the client went away: either way the share is free again.
    res.on('close', () => ticket.release());
    const declared = Number(req.get('content-length'));
    // Without a length (chunked), the most a body may be is reserved, and the rest given back once read.
    const bytes = Number.isInteger(declared) && declared >= 0 ? Math.min(declared, MAX_BODY_BYTES) : MAX_BODY_BYTES;
    if (!ticket.take('bytes', bytes)) return overloaded(res, 'bytes');
    res.locals.budget = ticket;
    next();
  };
  const cardinality = opts.cardinality ?? new CardinalityBudget();

  const requireEventContentType: RequestHandler = (req, res, next) => {
    if (bodyFormat(req.get('content-type'))) return next();
    res.status(415).json({
      error: `Content-Type must be application/json (an event or an array of events) or application/x-ndjson (one event a line), got ${req.get('content-type') ?? 'none'}`,
    });
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
        items = parseBody(body, bodyFormat(req.get('content-type'))!);
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
      const answer: IngestAnswer = { accepted: 0, duplicates: 0, rejected: [] };
      const valid: StoredEvent[] = [];
      const validIndex: number[] = [];
      const now = Date.now();
      const scope = res.locals.tenantScope as string | undefined;
      const days = new Set<string>();
      for (let index = 0; index < items.length; index++) {
        if (index > 0 && index % VALIDATE_SLICE === 0) await new Promise<void>((r) => setImmediate(r));
        const item = items[index];
        if ('error' in item) {
          answer.rejected.push({ index, error: item.error });
          continue;
        }
        const v = validateEvent(item.value, opts.timezone, now, { minEventTimeMs: opts.minEventTimeMs });
        if (!v.ok) {
          answer.rejected.push({ index, error: v.error });
          continue;
        }
        if (scope !== undefined) {
          // A tenant's token writes that tenant's events: unnamed ones are its own, others are refused.
          const named = (item.value as { tenant?: unknown }).tenant;
          if (named !== undefined && named !== scope) {
            answer.rejected.push({ index, error: `tenant: this ingest token is for tenant "${scope}" only, the event names "${String(named)}"` });
            continue;
          }
          v.event.tenant = scope;
        }
        const dayKey = `${v.event.tenant}\u0000${v.event.day}`;
        if (!days.has(dayKey) && days.size >= MAX_DAYS_PER_REQUEST) {
          answer.rejected.push({
            index,
            error: `time: this request already spans ${MAX_DAYS_PER_REQUEST} days, the most one request may write; send day ${v.event.day} in another request`,
          });
          continue;
        }
        const over = cardinality.admit(v.event);
        if (over) {
          answer.rejected.push({ index, error: over });
          continue;
        }
        days.add(dayKey);
        valid.push(v.event);
        validIndex.push(index);
      }
      if (valid.length > 0 && !ticket.take('events', valid.length)) return overloaded(res, 'events');
      let outcomes;
      try {
        outcomes = await opts.writer.write(valid);
      } catch (err) {
        // The cause (hosts, ports, Postgres's words) goes to the log only; the boundary answers 503 + Retry-After.
        if (isUnavailable(err)) {
          opts.log.warn({ err, requestId: res.locals.requestId }, 'storing events failed: database unavailable');
          throw new DatabaseUnavailableError(
            'the database did not confirm this request; send it again later (events it already holds are never stored twice)',
            err instanceof DatabaseUnavailableError ? err.retryAfterSeconds : undefined,
            { cause: err },
          );
        }
        throw err;
      }
      outcomes.forEach((o, i) => {
        if (o === 'accepted') answer.accepted++;
        else if (o === 'duplicate') answer.duplicates++;
        else answer.rejected.push({ index: validIndex[i], error: o.error });
      });
      answer.rejected.sort((a, b) => a.index - b.index);
      const rejectedCount = answer.rejected.length;
      if (rejectedCount > MAX_LISTED_REJECTIONS) {
        answer.rejected.length = MAX_LISTED_REJECTIONS;
        answer.rejectedCount = rejectedCount;
      }
      opts.stats.rejected += rejectedCount;
      const nothingTaken = answer.accepted === 0 && answer.duplicates === 0;
      res.status(nothingTaken ? 400 : 200).json(answer);
    },
  );
  return router;
}
