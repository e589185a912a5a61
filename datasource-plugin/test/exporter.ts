/** A real cs-exporter for the tests: its CLI in a child process, embedded Postgres in a temp dir. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const API_TOKEN = 'plugin-test-token';
/** A tenant's own token (CS_TENANT_API_TOKENS): it reads tenant SCOPED_TENANT only. */
export const SCOPED_TENANT = 'acme';
export const SCOPED_API_TOKEN = 'plugin-test-acme-token';
export const exporterDir = path.resolve(__dirname, '../../exporter');

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

export interface RunningExporter {
  url: string;
  child: ChildProcess;
  dataDir: string;
}

export async function startExporterProcess(env: Record<string, string> = {}): Promise<RunningExporter> {
  const [port, pgPort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cs-plugin-test-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: exporterDir,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      CS_DATA_DIR: dataDir,
      CS_EMBEDDED_PG_PORT: String(pgPort),
      CS_API_TOKEN: API_TOKEN,
      CS_SIMULATE: '0',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exporter exited (${child.exitCode}):\n${out}`);
    try {
      if ((await fetch(`${url}/api/v1/health`)).status === 200) break;
    } catch {}
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`exporter not healthy after 180 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, child, dataDir };
}

export async function stopExporterProcess(e: { pid: number; dataDir: string }): Promise<void> {
  try {
    process.kill(e.pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  // Graceful stop also stops the embedded Postgres; give it time before removing its data.
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    try {
      process.kill(e.pid, 0);
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    process.kill(e.pid, 'SIGKILL');
  } catch {}
  rmSync(e.dataDir, { recursive: true, force: true });
}
