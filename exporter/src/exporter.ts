/** Starts and stops the whole exporter: database, migrations, ingest, HTTP. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded.js';
import { migrate } from './db/migrate.js';
import { createPool, type Pool } from './db/pool.js';
import { createApp, type AppContext } from './http/app.js';
import { EventStore } from './ingest/store.js';
import { EventWriter } from './ingest/writer.js';
import type { Component, ComponentFactory } from './component.js';
import { COMPONENTS } from './components.js';
import { queryRoutes } from './query/registry.js';
import { SelfMetrics } from './self-metrics.js';
import { Ingest } from './ingest/submit.js';
import { AdapterStats } from './adapters/stats.js';
import { CardinalityBudget, cardinalityLimits } from './ingest/cardinality.js';

/** How long an idle keep-alive connection is kept open (see where the server is set up). */
export const KEEP_ALIVE_MS = 65_000;

/** A running exporter. */
export interface Exporter {
  /** Base URL, e.g. http://127.0.0.1:9470 */
  url: string;
  ctx: AppContext;
  /** Graceful stop: no new connections, in-flight batches finished, pool closed, embedded Postgres stopped. */
  close(): Promise<void>;
}

/** Connects to (or starts) Postgres and applies the migrations. */
export async function openDatabase(config: Config, log: Logger): Promise<{ pool: Pool; embedded?: EmbeddedPostgres }> {
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, log);
    url = embedded.url;
  }
  const pool = createPool(url, 10, {
    connectMs: config.dbConnectTimeoutMs,
    statementMs: config.dbStatementTimeoutMs,
    ingestMs: config.dbIngestTimeoutMs,
    healthMs: config.dbHealthTimeoutMs,
    retryAfterSeconds: config.dbRetryAfterSeconds,
  });
  try {
    await migrate(pool, log);
  } catch (err) {
    await pool.end();
    await embedded?.stop();
    throw err;
  }
  return { pool, embedded };
}

/** Starts the exporter; `factories` defaults to every component of the product. */
export async function startExporter(config: Config, log: Logger, factories: ComponentFactory[] = COMPONENTS): Promise<Exporter> {
  const { pool, embedded } = await openDatabase(config, log);
  const store = new EventStore(pool);
  const writer = new EventWriter(store, { budget: { maxEvents: config.ingestMaxEvents, maxBytes: config.ingestMaxBytes, maxWaitMs: config.ingestMaxWaitMs } }, (err) => log.error({ err }, 'an accepted-events consumer failed'));
  // Stored by a batch whose answer was lost: what consumers of accepted events (监控) must still see.
  store.on('recovered', (events) => {
    writer.stats.accepted += events.length;
    writer.emit('accepted', events);
  });
  store.on('resolveError', (err) => log.warn({ err }, 'looking up events of an unanswered batch failed; retrying'));
  const ingestStats = { rejected: 0, refused: new Map() };
  const adapters = new AdapterStats();
  const self = new SelfMetrics({ pool, writer, ingestStats, timezone: config.timezone, adapters });
  self.start();
  // Only a head start for the T+1 stall alert: a failure here is logged, not fatal.
  await self.loadRollupState().catch((err) => log.warn({ err }, 'could not read the rollup state for /metrics'));
  const ingest = new Ingest({
    writer,
    timezone: config.timezone,
    minEventTimeMs: config.minEventTimeMs,
    cardinality: new CardinalityBudget(cardinalityLimits()),
    stats: ingestStats,
    log,
  });
  const ctx: AppContext = { config, pool, writer, log, ingestStats, startedAtMs: Date.now(), self, ingest, adapters };
  const components: Component[] = factories.map((f) => f(config));
  const stopComponents = async () => {
    self.stop();
    for (const c of [...components].reverse()) {
      try {
        await c.stop?.();
      } catch (err) {
        log.error({ err, component: c.name }, 'component failed to stop');
      }
    }
  };
  try {
    for (const c of components) await c.start?.(ctx);
  } catch (err) {
    await stopComponents();
    await pool.end();
    await embedded?.stop();
    throw err;
  }
  const reports = Object.assign({}, ...components.map((c) => c.reports ?? {}));
  const app = createApp(ctx, {
    api: [queryRoutes(reports), ...components.flatMap((c) => (c.api ? [c.api] : []))],
    open: components.flatMap((c) => (c.open ? [c.open] : [])),
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  }).catch(async (err: Error) => {
    await stopComponents();
    await pool.end();
    await embedded?.stop();
    throw new Error(`cannot listen on ${config.host}:${config.port}: ${err.message}`);
  });
  // Long NDJSON uploads from slow producers should not be cut off.
  server.requestTimeout = 5 * 60 * 1000;
  // An idle keep-alive connection is kept longer than its clients keep theirs (reverse proxies and
  // load balancers: 60 s; webhook senders' and Prometheus's pools). With Node's 5 s, a client that
  // sends on a connection at the moment the server closes it gets a reset for a request never read:
  // a failed webhook, a 502 at the proxy (docs/robustness.md, "Overload, third round").
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  // Above it, so no header timer ends an idle connection before the keep-alive wait does.
  server.headersTimeout = KEEP_ALIVE_MS + 1_000;
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;

  for (const c of components) await c.afterListen?.(url, ctx);

  let closing: Promise<void> | undefined;
  return {
    url,
    ctx,
    close() {
      closing ??= (async () => {
        await stopComponents();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        // Idle connections are closed now; one whose request is still being answered becomes idle
        // after its answer, and would otherwise stay open for the whole keep-alive time.
        server.closeIdleConnections();
        const idle = setInterval(() => server.closeIdleConnections(), 100);
        // A client holding a request open must not hold up the shutdown for long.
        const force = setTimeout(() => server.closeAllConnections(), 10_000);
        await stopped;
        clearInterval(idle);
        clearTimeout(force);
        await writer.drain();
        store.close();
        await pool.end();
        await embedded?.stop();
      })();
      return closing;
    },
  };
}
