#!/usr/bin/env node
/** cs-exporter: the exporter's command line. */
import { loadConfig, ConfigError, type Config } from './config.js';
import { createLogger } from './log.js';
import { startExporter, openDatabase } from './exporter.js';
import { simulateCommand } from './simulator/cli.js';
import { rollupDay } from './reports/rollup.js';
import { isDay } from './time.js';
import { adapterCommand } from './adapters/index.js';
import { installCrashHandlers } from './process-guard.js';
import v8 from 'node:v8';

const HELP = `cs-exporter — contact-center events in, Prometheus metrics and reports out

Usage:
  cs-exporter serve      run the exporter (settings from the environment; see README)
  cs-exporter start      what \`npm start\` runs: serve, with the simulator on unless CS_SIMULATE=0,
                         and a note of where to look
  cs-exporter migrate    apply pending database migrations and exit
  cs-exporter simulate   run the contact-center simulator against an exporter (simulate --help)
  cs-exporter rollup --from YYYY-MM-DD --to YYYY-MM-DD [--tenant T]
                         recompute the reports of those days (every tenant with events unless --tenant)
  cs-exporter adapter NAME ...
                         feed the exporter from a platform (cs-exporter adapter lists them; docs/adapters/)
  cs-exporter help       this text

Settings: PORT, HOST, DATABASE_URL, CS_TIMEZONE, CS_INGEST_TOKEN, CS_API_TOKEN, CS_TENANT_INGEST_TOKENS,
CS_TENANT_API_TOKENS, CS_SIMULATE,
CS_SIMULATE_DAYS, CS_SIMULATE_AGENTS, CS_SIMULATE_SEED, CS_DATA_DIR (embedded Postgres data, default .data),
CS_EMBEDDED_PG_PORT (default 54329), LOG_LEVEL,
CS_ROLLUP_INTERVAL_SECONDS (today's report refresh, default 300; 0 = rollups on demand only).`;

async function serve(config: Config, banner: boolean): Promise<void> {
  const log = createLogger(config.logLevel);
  installCrashHandlers(log);
  // Under saturation nearly every ingest object outlives a young collection (a request waits for its
  // commit), so the old space fills with garbage; left to itself V8 let it reach 2-4× what a full
  // collection keeps (1.3 GiB RSS at 128 producers on a fast machine). Read at every full collection.
  if (config.heapGrowingPercent > 0) v8.setFlagsFromString(`--heap-growing-percent=${config.heapGrowingPercent}`);
  const exporter = await startExporter(config, log);
  log.info({ url: exporter.url, embeddedPostgres: !config.databaseUrl }, 'exporter listening');
  if (banner) {
    const lines = [
      '',
      `  cs-exporter is up at ${exporter.url}`,
      `    health:   ${exporter.url}/api/v1/health`,
      `    ingest:   POST ${exporter.url}/api/v1/events  (application/json or application/x-ndjson)`,
      `    metrics:  ${exporter.url}/metrics  (Prometheus config: provisioning/prometheus/prometheus.yml)`,
      `    reports:  ${exporter.url}/api/v1/reports  (catalog; POST ${exporter.url}/api/v1/query for figures)`,
      `    live:     curl -s ${exporter.url}/api/v1/query -H 'Content-Type: application/json' -d '{"report":"live_overview"}'`,
      '    Grafana:  build datasource-plugin/ and load dashboards/generated/ (README, "docker compose")',
      `    database: ${config.databaseUrl ? 'DATABASE_URL' : `embedded Postgres, data in ${config.dataDir}/`}`,
      config.simulate
        ? `    simulator: on (${config.simulateAgents} agents, seed ${config.simulateSeed}): backfilling ${config.simulateDays} past days and today, then live; CS_SIMULATE=0 turns it off`
        : '    simulator: off (CS_SIMULATE=0); waiting for events',
      '  Ctrl-C stops it.',
      '',
    ];
    process.stderr.write(lines.join('\n') + '\n');
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight batches');
    exporter.close().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function backfill(args: string[]): Promise<void> {
  const opt = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const from = opt('from');
  const to = opt('to') ?? from;
  if (!from || !to || !isDay(from) || !isDay(to) || to < from)
    throw new ConfigError('rollup needs --from YYYY-MM-DD [--to YYYY-MM-DD] (to ≥ from)');
  const config = loadConfig(process.env);
  const log = createLogger(config.logLevel);
  const { pool, embedded } = await openDatabase(config, log);
  try {
    const tenant = opt('tenant');
    const { rows } = await pool.query<{ tenant: string; day: string }>(
      `SELECT DISTINCT tenant, day::text AS day FROM event_days WHERE day BETWEEN $1 AND $2 AND ($3::text IS NULL OR tenant = $3) ORDER BY day, tenant`,
      [from, to, tenant ?? null],
    );
    for (const r of rows) {
      const done = await rollupDay(pool, r.tenant, r.day, config.timezone);
      console.log(`${r.tenant} ${r.day}: ${done.sessions} sessions in ${(done.durationMs / 1000).toFixed(1)} s`);
    }
    if (rows.length === 0) console.log(`no events between ${from} and ${to}${tenant ? ` for tenant ${tenant}` : ''}`);
  } finally {
    await pool.end();
    await embedded?.stop();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command = 'help'] = argv;
  switch (command) {
    case 'serve':
      return serve(loadConfig(process.env, false), false);
    case 'start':
      return serve(loadConfig(process.env, true), true);
    case 'migrate': {
      const config = loadConfig(process.env);
      const log = createLogger(config.logLevel);
      const { pool, embedded } = await openDatabase(config, log);
      await pool.end();
      await embedded?.stop();
      log.info('migrations are up to date');
      return;
    }
    case 'simulate':
      return simulateCommand(argv.slice(1));
    case 'rollup':
      return backfill(argv.slice(1));
    case 'adapter':
      return adapterCommand(argv.slice(1));
    case 'help':
    case '--help':
    case '-h':
      console.log(HELP);
      return;
    default:
      console.error(`unknown command "${command}"\n\n${HELP}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  process.exit(1);
});
