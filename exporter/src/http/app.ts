/** The express application: thin routes over the exporter's parts. */
import express, { Router, type ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { DatabaseUnavailableError } from '../db/errors.js';
import { probeDatabase, unavailable, type Pool } from '../db/pool.js';
import type { EventWriter } from '../ingest/writer.js';
import type { SelfMetrics } from '../self-metrics.js';
import { requireBearer, tenantGuard } from './auth.js';
import { errorBoundary, loggablePath, RequestError, requestId, DATABASE_RETRY_AFTER_SECONDS } from './errors.js';
import { inputGuard } from './input.js';
import { ingestRouter, type IngestStats } from './ingest.js';
import { leanIngest } from './fast-ingest.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Ingest } from '../ingest/submit.js';
import type { AdapterStats } from '../adapters/stats.js';

/** What routes may use. */
export interface AppContext {
  config: Config;
  pool: Pool;
  writer: EventWriter;
  log: Logger;
  ingestStats: IngestStats;
  startedAtMs: number;
  /** The exporter's own figures on /metrics (absent in tests that build a context by hand). */
  self?: SelfMetrics;
  /** The one way events get in, for the ingest route and every adapter (ingest/submit.ts). */
  ingest: Ingest;
  /** What the platform adapters read, for /metrics (adapters/stats.ts). */
  adapters: AdapterStats;
}

/** Adds routes to the token-protected query API (`/api/v1/...`). */
export type ApiExtension = (api: Router, ctx: AppContext) => void;
/** Adds open routes at the top level (such as `/metrics`). */
export type OpenExtension = (app: express.Express, ctx: AppContext) => void;

export function createApp(ctx: AppContext, ext: { api?: ApiExtension[]; open?: OpenExtension[] } = {}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // Answers are computed per request and some are megabytes: hashing them for an ETag is waste.
  app.set('etag', false);
  app.use(requestId);
  // Before any route reads the URL: malformed percent-encoding and NUL are refused here, once.
  app.use(inputGuard.url);

  app.get('/api/v1/health', async (_req, res) => {
    try {
      await probeDatabase(ctx.pool);
      res.json({
        status: 'ok',
        database: 'ok',
        uptimeSeconds: Math.round((Date.now() - ctx.startedAtMs) / 1000),
        timezone: ctx.config.timezone,
        events: { accepted: ctx.writer.stats.accepted, duplicates: ctx.writer.stats.duplicates, rejected: ctx.ingestStats.rejected },
        lastEventAt: ctx.writer.stats.lastAcceptedAtMs === null ? null : new Date(ctx.writer.stats.lastAcceptedAtMs).toISOString(),
      });
    } catch (err) {
      // The cause (a host, a port, Postgres's words) goes to the log, not to whoever polls health.
      const retry = err instanceof DatabaseUnavailableError ? err.retryAfterSeconds : DATABASE_RETRY_AFTER_SECONDS;
      ctx.log.warn({ err, requestId: res.locals.requestId }, 'health: database unavailable');
      res
        .status(503)
        .set('Retry-After', String(retry))
        .json({ status: 'error', database: 'unavailable', reason: 'database unreachable', requestId: res.locals.requestId });
    }
  });

  app.use(
    '/api/v1',
    ingestRouter({
      ingest: ctx.ingest,
      ingestToken: ctx.config.ingestToken,
      tenantIngestTokens: ctx.config.tenantIngestTokens,
      stats: ctx.ingestStats,
    }),
  );
  for (const add of ext.open ?? []) add(app, ctx);

  const api = Router();
  api.use(requireBearer(ctx.config.apiToken, 'CS_API_TOKEN', ctx.config.tenantApiTokens));
  api.use(express.json({ limit: '1mb' }));
  api.use(inputGuard.body);
  api.use(tenantGuard);
  // express answers HEAD with the GET handler: a HEAD of the export would run its rollups and
  // query for nothing. Its headers depend on that work, so it is refused (after the tenant check).
  api.head('/export', (_req, _res, next) =>
    next(new RequestError(405, 'HEAD is not served on /export: a download is computed when fetched; use GET', { Allow: 'GET' })),
  );
  for (const add of ext.api ?? []) add(api, ctx);
  app.use('/api/v1', api);

  app.use((req, _res, next) => {
    next(new RequestError(404, `no such endpoint: ${req.method} ${loggablePath(req.path)}`));
  });
  // A route's query that met an unreachable, frozen or restarting database becomes a 503 with this
  // pool's Retry-After before the one boundary answers.
  app.use(((err, _req, _res, next) => next(unavailable(ctx.pool, err, 'this request'))) as ErrorRequestHandler);
  const boundary = errorBoundary(ctx.log);
  app.use(boundary);

  // POST /api/v1/events served in front of express when it is the common case (fast-ingest.ts);
  // express's own `app(req, res)` calls `app.handle`, so listen() and tests' servers both get it.
  const lean = leanIngest({
    ingest: ctx.ingest,
    ingestToken: ctx.config.ingestToken,
    tenantIngestTokens: ctx.config.tenantIngestTokens,
    stats: ctx.ingestStats,
    fail(err, req, res, requestId) {
      // Dressed as express dresses every request, so the one boundary answers and logs as for any route.
      const r = req as IncomingMessage & { res?: ServerResponse };
      const s = res as ServerResponse & { req?: IncomingMessage; locals?: Record<string, unknown> };
      Object.setPrototypeOf(r, app.request);
      Object.setPrototypeOf(s, app.response);
      r.res = s;
      s.req = r;
      s.locals = { requestId };
      boundary(unavailable(ctx.pool, err, 'this request'), r as never, s as never, () => undefined);
    },
  });
  const app_ = app as unknown as { handle(req: IncomingMessage, res: ServerResponse, next?: unknown): void };
  const handle = app_.handle;
  app_.handle = function (req, res, next) {
    if (lean(req, res)) return;
    handle.call(this, req, res, next);
  };
  return app;
}
