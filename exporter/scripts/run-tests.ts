// Runs the exporter's tests against a real Postgres: TEST_DATABASE_URL when
// given, otherwise an embedded one started here for the run and stopped after.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { createLogger } from '../src/log.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const filters = process.argv.slice(2);
const files = readdirSync(path.join(root, 'test'))
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .map((f) => path.join('test', f));

// The whole suite also type-checks the tests, benches and scripts (the build checks src only): a
// test that compiles only under tsx's type-blind transform can assert less than it seems to.
if (filters.length === 0) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const checked = spawn(process.execPath, [tsc, '-p', 'tsconfig.check.json'], { cwd: root, stdio: 'inherit' });
  const ok: number = await new Promise((resolve) => checked.on('exit', (c) => resolve(c ?? 1)));
  if (ok !== 0) {
    console.error('type check of exporter/{src,test,bench,scripts} failed (tsconfig.check.json)');
    process.exit(ok);
  }
}

let url = process.env.TEST_DATABASE_URL;
let stop = async () => {};
if (!url) {
  const dir = mkdtempSync(path.join(tmpdir(), 'cs-test-pg-'));
  const pg = await startEmbeddedPostgres(dir, await freePort(), createLogger('warn'));
  url = pg.url;
  stop = async () => {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TEST_DATABASE_URL: url },
});
const code: number = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));
await stop();
process.exit(code);
