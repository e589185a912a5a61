/** What every benchmark section shares: a throwaway Postgres, timing, and the result rows. */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';

export const exporterRoot = fileURLToPath(new URL('..', import.meta.url));

/** One measured figure, printed as a table row and written to the JSON. */
export interface Figure {
  section: string;
  name: string;
  value: number | null;
  unit: string;
  /** The target from the issue, as text (e.g. ">= 50000"), if there is one. */
  target?: string;
  /** Whether `value` meets the target; undefined when there is none. */
  met?: boolean;
  note?: string;
}

export function figure(section: string, name: string, value: number | null, unit: string, target?: [('>=' | '<='), number], note?: string): Figure {
  const f: Figure = { section, name, value, unit, note };
  if (target) {
    f.target = `${target[0]} ${target[1]}`;
    f.met = value === null ? false : target[0] === '>=' ? value >= target[1] : value <= target[1];
  }
  return f;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A Postgres server for the run: BENCH_DATABASE_URL's server when given, else an embedded one in a temp dir. */
export interface BenchServer {
  /** A fresh, migrated database on the server. */
  database(name: string): Promise<{ url: string; pool: Pool }>;
  stop(): Promise<void>;
}

export async function benchServer(): Promise<BenchServer> {
  let serverUrl = process.env.BENCH_DATABASE_URL;
  let stopServer = async () => {};
  if (!serverUrl) {
    const dir = mkdtempSync(path.join(tmpdir(), 'cs-bench-pg-'));
    const pgServer = await startEmbeddedPostgres(dir, await freePort(), createLogger('warn'));
    serverUrl = pgServer.url;
    stopServer = async () => {
      await pgServer.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const pools: Pool[] = [];
  return {
    async database(name) {
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const u = new URL(serverUrl!);
      u.pathname = `/${name}`;
      // The harness loads whole days (8.5M rows in one COPY) and times baselines: no statement_timeout
      // (0 = none), which would cut them on a slow run. The exporter under test keeps its own.
      const pool = createPool(u.toString(), 8, { statementMs: 0 });
      await migrate(pool);
      pools.push(pool);
      return { url: u.toString(), pool };
    },
    async stop() {
      for (const p of pools) await p.end().catch(() => undefined);
      await stopServer();
    },
  };
}

/** Runs the exporter as its own process (as in production) and waits until it is healthy. */
export async function spawnExporter(env: Record<string, string>): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  // The built exporter, as in production; the bench's smoke test runs the source (no build step).
  const entry = process.env.BENCH_FROM_SOURCE ? ['--import', 'tsx', 'src/cli.ts'] : ['dist/cli.js'];
  // Its log (pino, on stdout) is kept: an exporter that dies under load must say why.
  mkdirSync(path.join(exporterRoot, 'bench', 'results'), { recursive: true });
  const logPath = path.join(exporterRoot, 'bench', 'results', `exporter-${port}.log`);
  const logFd = openSync(logPath, 'a');
  // e.g. BENCH_EXPORTER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the exporter under
  // a section's load (NODE_OPTIONS may not carry --cpu-prof).
  const nodeArgs = (process.env.BENCH_EXPORTER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ...entry, 'serve'], {
    cwd: exporterRoot,
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'warn', CS_SIMULATE: '0', ...env },
    stdio: ['ignore', logFd, 'inherit'],
  });
  closeSync(logFd);
  let stopping = false;
  child.on('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`bench: the exporter on port ${port} exited (${signal ?? code}); its log: ${logPath}\n`);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exporter exited with ${child.exitCode} before it was healthy`);
    try {
      const res = await fetch(`${url}/api/v1/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('exporter not healthy within 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        stopping = true;
        child.kill('SIGTERM');
      }),
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Milliseconds taken by `fn`. */
export async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export function round(v: number, digits = 2): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}

/** Posts events to an exporter as NDJSON, 5,000 a request; any refusal or rejected event is an error. */
export async function postEvents(url: string, events: object[]): Promise<void> {
  for (let i = 0; i < events.length; i += 5000) {
    const body = events
      .slice(i, i + 5000)
      .map((e) => JSON.stringify(e))
      .join('\n');
    const res = await fetch(`${url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
    const answer = (await res.json()) as { rejected: unknown[] };
    if (!res.ok || answer.rejected.length) throw new Error(`ingest answered ${res.status}: ${JSON.stringify(answer).slice(0, 300)}`);
  }
}
