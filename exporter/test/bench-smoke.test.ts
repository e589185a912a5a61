/**
 * The benchmark at a sliver of its volumes, so that it keeps running as the
 * code changes. Its figures are not judged here (speed lives in `npm run
 * bench`); that every section still measures something is.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { exporterRoot } from './helpers/exporter.js';

it('When the benchmark runs at 0.5% scale, then every section prints its figures and writes them as JSON', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'cs-bench-'));
  try {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/run.ts', '--scale', '0.005', '--out', out], {
      cwd: exporterRoot,
      env: { ...process.env, BENCH_FROM_SOURCE: '1', BENCH_DATABASE_URL: process.env.TEST_DATABASE_URL },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, stderr.slice(-3000));
    const result = JSON.parse(readFileSync(path.join(out, 'latest.json'), 'utf8')) as { figures: { section: string; value: number | null }[] };
    const sections = new Set(result.figures.map((f) => f.section));
    assert.deepEqual([...sections].sort(), ['forecast', 'ingest', 'memory', 'overload', 'query', 'replicas', 'rollup', 'scrape']);
    for (const f of result.figures) assert.ok(typeof f.value === 'number' && Number.isFinite(f.value), JSON.stringify(f));
    for (const s of sections) assert.match(stdout, new RegExp(`^${s} `, 'm'));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
