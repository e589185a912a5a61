/** Starts a real exporter for a test: in-process, or as a child process that can be killed. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../../src/config.js';
import { startExporter, type Exporter } from '../../src/exporter.js';
import { createLogger } from '../../src/log.js';
import type { ComponentFactory } from '../../src/component.js';
import { freshDatabase, type TestDatabase } from './db.js';

export const exporterRoot = fileURLToPath(new URL('../..', import.meta.url));

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

export async function startTestExporter(databaseUrl: string, overrides: Partial<Config> = {}, factories?: ComponentFactory[]): Promise<Exporter> {
  const config: Config = { ...loadConfig({}), port: 0, databaseUrl, simulate: false, ...overrides };
  return startExporter(config, createLogger('silent'), factories);
}

/**
 * The exporter of a describe block: a fresh database and an in-process exporter on it, started
 * before the block's tests (then `setUp`, e.g. posting the block's fixture) and stopped (database
 * dropped) after them.
 */
export function useTestExporter(
  overrides: Partial<Config> = {},
  setUp?: (t: { exporter: Exporter; db: TestDatabase }) => Promise<void>,
): { readonly exporter: Exporter; readonly db: TestDatabase } {
  const t = {} as { exporter: Exporter; db: TestDatabase };
  before(async () => {
    t.db = await freshDatabase();
    t.exporter = await startTestExporter(t.db.url, overrides);
    await setUp?.(t);
  });
  after(async () => {
    await t.exporter?.close();
    await t.db?.drop();
  });
  return t;
}

export interface ChildExporter {
  url: string;
  child: ChildProcess;
  output(): string;
}

/** Runs `cs-exporter serve` in its own process and waits until it is healthy. */
export async function spawnExporter(env: Record<string, string>): Promise<ChildExporter> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: exporterRoot,
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(url, child, () => out);
  return { url, child, output: () => out };
}

export async function waitHealthy(url: string, child: ChildProcess, output: () => string, ms = 120_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`exporter exited (${child.exitCode}):\n${output()}`);
    try {
      const r = await fetch(`${url}/api/v1/health`);
      if (r.status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`exporter not healthy after ${ms} ms:\n${output()}`);
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
