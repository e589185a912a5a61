import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDatabase } from './helpers/db.js';
import { exited, freePort, startTestExporter, waitHealthy } from './helpers/exporter.js';
import { postEvents, validExamples, withCommon } from './helpers/events.js';
import { ConfigError, loadConfig } from '../src/config.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

describe('start-up, settings and shutdown', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('When HOST is not loopback and a token is missing, then the exporter refuses to start and says why', () => {
    assert.throws(
      () => loadConfig({ HOST: '0.0.0.0', CS_INGEST_TOKEN: 'x' }),
      (e: Error) => e instanceof ConfigError && /CS_INGEST_TOKEN and CS_API_TOKEN/.test(e.message),
    );
    assert.equal(loadConfig({ HOST: '0.0.0.0', CS_INGEST_TOKEN: 'x', CS_API_TOKEN: 'y' }).host, '0.0.0.0');
    assert.equal(loadConfig({}).host, '127.0.0.1');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
      cwd: path.join(repoRoot, 'exporter'),
      env: { ...process.env, HOST: '0.0.0.0', CS_INGEST_TOKEN: '', CS_API_TOKEN: '' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /configuration error: HOST=0\.0\.0\.0 is not loopback/);
  });

  it('When settings are malformed, then the error names the variable', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty' }), /PORT must be a port number/);
    assert.throws(() => loadConfig({ CS_TIMEZONE: 'Mars/Olympus' }), /CS_TIMEZONE "Mars\/Olympus"/);
    assert.equal(loadConfig({}, true).simulate, true);
    assert.equal(loadConfig({ CS_SIMULATE: '0' }, true).simulate, false);
    assert.equal(loadConfig({}, false).simulate, false);
  });

  it('When the exporter is stopped while a batch is in flight, then the batch is finished and answered', async () => {
    const db = await freshDatabase();
    cleanup.push(() => db.drop());
    const exporter = await startTestExporter(db.url);
    const batch = Array.from({ length: 5000 }, () => withCommon(validExamples()['session.message'], Date.now() - 1000));
    const posting = postEvents(exporter.url, batch);
    // Close once the request is in the server.
    await new Promise((r) => setTimeout(r, 30));
    const closing = exporter.close();
    const answer = await posting;
    await closing;
    assert.equal(answer.status, 200);
    assert.equal(answer.body.accepted, 5000);
    const n = await db.pool.query('SELECT count(*)::int AS n FROM events');
    assert.equal(n.rows[0].n, 5000);
  });

  it('When `npm start` runs on a fresh checkout, then a healthy exporter comes up on the embedded Postgres, and SIGTERM stops both', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'cs-start-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const child = spawn('npm', ['start', '--silent'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        PORT: String(port),
        CS_DATA_DIR: dataDir,
        CS_EMBEDDED_PG_PORT: String(await freePort()),
        DATABASE_URL: '',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout!.on('data', (c) => (out += c));
    child.stderr!.on('data', (c) => (out += c));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitHealthy(url, child, () => out, 240_000);
      const health = (await (await fetch(`${url}/api/v1/health`)).json()) as { status: string; database: string };
      assert.deepEqual([health.status, health.database], ['ok', 'ok']);
      assert.match(out, new RegExp(`cs-exporter is up at ${url}`));
      assert.match(out, /ingest: +POST .*\/api\/v1\/events/);
      const e = withCommon(validExamples()['session.start'], Date.now());
      assert.equal((await postEvents(url, e)).body.accepted, 1);
      assert.ok(existsSync(path.join(dataDir, 'pg', 'PG_VERSION')));
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
      await exited(child);
    }
    // npm may exit before the exporter it ran has finished stopping the database.
    const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
    for (let i = 0; i < 300 && existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(existsSync(pidFile), false, out);
  });
});
