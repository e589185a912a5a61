/** The express application: thin routes over the exporter's parts. */
import express, { Router, type ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { DatabaseUnavailableError } from '../db/errors.js';
import { probeDatabase, unavailable, type Pool } from '../db/pool.js';
import type { EventWriter } from '../ingest/writer.js';
import { requireBearer, tenantGuard } from './auth.js';
import { ingestRouter, MAX_BODY_BYTES, type IngestStats } from './ingest.js';

/** What routes may use. */
export interface AppContext {
  config: Config;
  pool: Pool;
  writer: EventWriter;
  log: Logger;
  ingestStats: IngestStats;
  startedAtMs: number;
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
      const retry = err instanceof DatabaseUnavailableError ? err.retryAfterSeconds : 5;
      ctx.log.warn({ err }, 'health: database unavailable');
      res.status(503).setHeader('Retry-After', String(retry)).json({ status: 'error', database: 'unavailable', reason: 'database unreachable' });
    }
  });

  app.use(
    '/api/v1',
    ingestRouter({
      writer: ctx.writer,
      timezone: ctx.config.timezone,
      ingestToken: ctx.config.ingestToken,
      tenantIngestTokens: ctx.config.tenantIngestTokens,
      stats: ctx.ingestStats,
      log: ctx.log,
    }),
  );
  for (const add of ext.open ?? []) add(app, ctx);

  const api = Router();
  api.use(requireBearer(ctx.config.apiToken, 'CS_API_TOKEN', ctx.config.tenantApiTokens));
  api.use(express.json({ limit: '1mb' }));
  api.use(tenantGuard);
  for (const add of ext.api ?? []) add(api, ctx);
  app.use('/api/v1', api);

  app.use((req, res) => {
    res.status(404).json({ error: `no such endpoint: ${req.method} ${req.path}` });
  });

  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    const status: number = err.status ?? err.statusCode ?? 500;
    let message: string;
    // A route's query that met an unreachable, frozen or restarting database: a 503 to retry, not a 500.
    err = unavailable(ctx.pool, err, 'this request');
    if (err instanceof DatabaseUnavailableError) {
      ctx.log.warn({ err, path: req.path }, 'database unavailable');
      if (res.headersSent) return void res.destroy();
      res.status(503).setHeader('Retry-After', String(err.retryAfterSeconds)).json({ error: err.message });
      return;
    } else if (err.type === 'entity.too.large')
      message = `body is larger than the ${MAX_BODY_BYTES / 1024 / 1024} MiB limit: send the events in smaller batches`;
    else if (err.type === 'entity.parse.failed') message = `body is not valid JSON: ${err.message}`;
    else if (status < 500 && err.expose) message = err.message;
    else {
      ctx.log.error({ err, path: req.path }, 'request failed');
      message = `internal error: ${err.message}`;
    }
    // Headers (and part of a file) went out already: only a broken transfer tells the client it is not whole.
    if (res.headersSent) return void res.destroy();
    res.status(status).json({ error: message });
  };
  app.use(onError);
  return app;
}
