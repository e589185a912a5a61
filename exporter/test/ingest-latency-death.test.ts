/**
 * Issue 13, overload: the exporter once died in the bench right after the 1M rollup section, with
 * nothing in its log. Whatever kills it, the death must be loud: the cause in the log (stdout) and
 * a crash exit code. A timer preloaded into the real `cs-exporter serve` throws, or rejects, once
 * the exporter is up: before the handlers (src/process-guard.ts), Node ended the process with
 * exit code 1 and a bare stack on stderr, nothing in the log (the assertions on code 70 and on the
 * log line fail there).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { exited, spawnExporter } from './helpers/exporter.js';
import { CRASH_EXIT_CODE } from '../src/process-guard.js';

describe('A dying exporter says why', () => {
  let db: TestDatabase;
  let dir: string;
  before(async () => {
    db = await freshDatabase();
    dir = mkdtempSync(path.join(tmpdir(), 'cs-death-'));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  for (const [kind, fault] of [
    ['uncaught exception', `throw new Error('injected fault: a timer threw')`],
    ['unhandled rejection', `Promise.reject(new Error('injected fault: a promise nobody awaited'))`],
  ] as const) {
    it(`When an ${kind} happens under way, then the exporter logs it and exits with ${CRASH_EXIT_CODE}`, async () => {
      const preload = path.join(dir, `${kind.replace(' ', '-')}.mjs`);
      // Once the exporter answers health (its handlers installed), as a fault under load would come.
      writeFileSync(
        preload,
        `const up = setInterval(async () => {
          try { if (!(await fetch('http://127.0.0.1:' + process.env.PORT + '/api/v1/health')).ok) return; } catch { return; }
          clearInterval(up);
          setTimeout(() => { ${fault}; }, 1000);
        }, 200);\n`,
      );
      const ex = await spawnExporter({ DATABASE_URL: db.url, CS_SIMULATE: '0', NODE_OPTIONS: `--import ${preload}` });
      const code = await exited(ex.child);
      assert.equal(code, CRASH_EXIT_CODE, ex.output());
      const fatal = ex
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string } })
        .find((l) => l.level === 60);
      assert.ok(fatal, `no fatal log line:\n${ex.output()}`);
      assert.match(fatal.msg, new RegExp(`exporter crashed: ${kind}`));
      assert.match(fatal.err!.message, /injected fault/);
    });
  }
});
