/** POST /api/v1/events (events.md). */
import express, { Router, type RequestHandler } from 'express';
import { DatabaseUnavailableError } from '../db/errors.js';
import { BodyError, bodyFormat, parseBody } from '../ingest/parse.js';
import { validateEvent, type StoredEvent } from '../ingest/validate.js';
import type { EventWriter } from '../ingest/writer.js';
import { requireBearer } from './auth.js';
import type { Logger } from 'pino';

export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface IngestStats {
  rejected: number;
}

export interface IngestAnswer {
  accepted: number;
  duplicates: number;
  rejected: { index: number; error: string }[];
}

export function ingestRouter(opts: {
  writer: EventWriter;
  timezone: string;
  ingestToken?: string;
  tenantIngestTokens?: Map<string, string>;
  stats: IngestStats;
  log: Logger;
}): Router {
  const router = Router();

  const requireEventContentType: RequestHandler = (req, res, next) => {
    if (bodyFormat(req.get('content-type'))) return next();
    res.status(415).json({
      error: `Content-Type must be application/json (an event or an array of events) or application/x-ndjson (one event a line), got ${req.get('content-type') ?? 'none'}`,
    });
  };

  router.post(
    '/events',
    requireBearer(opts.ingestToken, 'CS_INGEST_TOKEN', opts.tenantIngestTokens),
    requireEventContentType,
    express.raw({ type: () => true, limit: MAX_BODY_BYTES }),
    async (req, res) => {
      const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let items;
      try {
        items = parseBody(body, bodyFormat(req.get('content-type'))!);
      } catch (err) {
        if (err instanceof BodyError) {
          opts.stats.rejected++;
          res.status(400).json({ error: err.message, accepted: 0, duplicates: 0, rejected: [] });
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
      items.forEach((item, index) => {
        if ('error' in item) return answer.rejected.push({ index, error: item.error });
        const v = validateEvent(item.value, opts.timezone, now);
        if (v.ok && scope !== undefined) {
          // A tenant's token writes that tenant's events: unnamed ones are its own, others are refused.
          const named = (item.value as { tenant?: unknown }).tenant;
          if (named !== undefined && named !== scope) {
            answer.rejected.push({ index, error: `tenant: this ingest token is for tenant "${scope}" only, the event names "${String(named)}"` });
            return;
          }
          v.event.tenant = scope;
        }
        if (v.ok) {
          valid.push(v.event);
          validIndex.push(index);
        } else answer.rejected.push({ index, error: v.error });
      });
      let outcomes;
      try {
        outcomes = await opts.writer.write(valid);
      } catch (err) {
        opts.log.error({ err }, 'storing events failed');
        // Nothing of the cause reaches the producer (hosts, ports, Postgres's words); it is logged.
        const retry = err instanceof DatabaseUnavailableError ? err.retryAfterSeconds : 5;
        res
          .status(503)
          .setHeader('Retry-After', String(retry))
          .json({ error: 'the database did not confirm this request; send it again later (events it already holds are never stored twice)' });
        return;
      }
      outcomes.forEach((o, i) => {
        if (o === 'accepted') answer.accepted++;
        else if (o === 'duplicate') answer.duplicates++;
        else answer.rejected.push({ index: validIndex[i], error: o.error });
      });
      answer.rejected.sort((a, b) => a.index - b.index);
      opts.stats.rejected += answer.rejected.length;
      const nothingTaken = answer.accepted === 0 && answer.duplicates === 0;
      res.status(nothingTaken ? 400 : 200).json(answer);
    },
  );
  return router;
}
