/**
 * The one error boundary (exporter/src/http/errors.ts): each input the issue found answering 500 with
 * internals now answers 400 naming the problem; every answer carries a request id; the database away
 * answers 503 with Retry-After and no host or port.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'node:http';
import { freePort, startTestExporter, useTestExporter } from './helpers/exporter.js';
import { postEvents, validExamples, withCommon } from './helpers/events.js';
import { assertNoLeak } from './helpers/leaks.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import type { Exporter } from '../src/exporter.js';

/** A raw GET: fetch would normalise or refuse the malformed URLs this test sends on purpose. */
function rawGet(
  base: string,
  pathAndQuery: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: pathAndQuery, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('one error boundary: clear 400s, no internals, request ids', () => {
  const harness = useTestExporter();

  const query = async (body: unknown) => {
    const r = await fetch(`${harness.exporter.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, text: await r.text(), requestId: r.headers.get('x-request-id') };
  };

  it('When from is 1e300 (or any epoch ms past year 9999), then 400 names from', async () => {
    for (const from of [1e300, -1e300, 8.64e15, -1]) {
      const r = await query({ report: 'group_daily', from, to: '2026-11-20' });
      assert.equal(r.status, 400, r.text);
      assert.match(JSON.parse(r.text).error, /^from: .*outside the epoch milliseconds/);
      assertNoLeak(r.text, `from=${from}`);
    }
  });

  it('When a filter, group, agent or tenant holds NUL, then 400 names where', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ report: 'group_daily', from: '2026-11-20', to: '2026-11-20', groups: ['g\u00001'] }, /^body\.groups\[0\]: holds a NUL/],
      [{ report: 'agent_daily', from: '2026-11-20', to: '2026-11-20', agents: ['a\u0000'] }, /^body\.agents\[0\]: holds a NUL/],
      [
        { report: 'session_list', from: '2026-11-20', to: '2026-11-20', filters: { userId: 'u\u0000' } },
        /^body\.filters\.userId: holds a NUL/,
      ],
      [{ report: 'group_daily', from: '2026-11-20', to: '2026-11-20', tenant: 't\u0000' }, /^body\.tenant: holds a NUL/],
      [{ report: 'live_agents', filters: { name: '\u0000' } }, /^body\.filters\.name: holds a NUL/],
    ];
    for (const [body, expected] of cases) {
      const r = await query(body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.match(JSON.parse(r.text).error, expected);
      assertNoLeak(r.text, JSON.stringify(body));
    }
  });

  it('When a body string holds a lone UTF-16 surrogate (found by FUZZ_SEED=121), then 400 names where', async () => {
    // JSON.stringify writes it as a \\udXXX escape, which is valid JSON but no jsonb value.
    const r = await fetch(`${harness.exporter.url}/api/v1/rollups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ date: '1970-01-01', tenant: 'b\ud814.u' }),
    });
    const text = await r.text();
    assert.equal(r.status, 400, text);
    assert.match(JSON.parse(text).error, /^body\.tenant: holds a NUL character \(\\u0000\) or a lone UTF-16 surrogate/);
    const q = await query({ report: 'sessions', from: '2026-11-20', to: '2026-11-20', filters: { remark: '\udc00' } });
    assert.equal(q.status, 400, q.text);
    assertNoLeak(q.text, 'lone surrogate filter');
  });

  it('When a session id or an export parameter holds NUL (%00), then 400 says so', async () => {
    for (const p of [
      '/api/v1/sessions/a%00b',
      '/api/v1/sessions/s1?tenant=%00',
      '/api/v1/export?report=session_list&from=2026-11-20&to=2026-11-20&userId=%00',
    ]) {
      const r = await rawGet(harness.exporter.url, p);
      assert.equal(r.status, 400, `${p}: ${r.body}`);
      assert.match(JSON.parse(r.body).error, /NUL character/);
      assertNoLeak(r.body, p);
    }
  });

  it('When the URL holds malformed percent-encoding, then 400 says so', async () => {
    for (const p of [
      '/api/v1/sessions/%E0%A4%A',
      '/api/v1/sessions/%ZZ',
      '/api/v1/export?report=%E0%A4%A&from=2026-11-20',
      '/api/v1/sessions/x?tenant=%',
    ]) {
      const r = await rawGet(harness.exporter.url, p);
      assert.equal(r.status, 400, `${p}: ${r.body}`);
      assert.match(JSON.parse(r.body).error, /malformed percent-encoding/);
      assertNoLeak(r.body, p);
    }
  });

  it('When POST /rollups names 9999-12-31 (or a day before 1970, or the future), then 400 names the allowed days', async () => {
    for (const date of ['9999-12-31', '0001-01-01', '2999-01-01']) {
      const r = await fetch(`${harness.exporter.url}/api/v1/rollups`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ date }),
      });
      const text = await r.text();
      assert.equal(r.status, 400, `${date}: ${text}`);
      // 0001-01-01 is refused as no day at all by the route; the others by the rollup service's range.
      assert.match(
        JSON.parse(text).error,
        date === '0001-01-01' ? /^date: / : /^date: ".*" is not a day from 1970-01-01 to \d{4}-\d{2}-\d{2}$/,
      );
      assertNoLeak(text, date);
    }
  });

  it('When any answer goes out, then it carries a request id; a sane incoming one is kept, an insane one replaced', async () => {
    const own = await rawGet(harness.exporter.url, '/api/v1/sessions/%ZZ', { 'x-request-id': 'grafana-trace.42:abc' });
    assert.equal(own.headers['x-request-id'], 'grafana-trace.42:abc');
    assert.equal(JSON.parse(own.body).requestId, 'grafana-trace.42:abc');
    const evil = await rawGet(harness.exporter.url, '/api/v1/health', { 'x-request-id': 'a b"}{\\' + 'x'.repeat(300) });
    assert.match(String(evil.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    const missing = await rawGet(harness.exporter.url, '/nope');
    assert.equal(missing.status, 404);
    assert.match(String(missing.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });
});

describe('the database away: 503 with Retry-After, never its host or port', () => {
  let dir: string;
  let pg: EmbeddedPostgres | undefined;
  let exporter: Exporter;
  before(async () => {
    // Our own Postgres, since this test stops it.
    dir = mkdtempSync(path.join(tmpdir(), 'cs-boundary-pg-'));
    pg = await startEmbeddedPostgres(dir, await freePort(), createLogger('warn'));
    const pool = createPool(pg.url, 2);
    await migrate(pool);
    await pool.end();
    exporter = await startTestExporter(pg.url);
    await pg.stop();
    pg = undefined;
  });
  after(async () => {
    await exporter.close().catch(() => undefined);
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('When Postgres is stopped, then health, ingest and queries answer 503 + Retry-After without internals', async () => {
    const health = await fetch(`${exporter.url}/api/v1/health`, { signal: AbortSignal.timeout(5000) });
    const ingest = await postEvents(exporter.url, withCommon(validExamples()['session.end']));
    const q = await fetch(`${exporter.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ report: 'group_daily', from: '2026-11-20', to: '2026-11-20' }),
      signal: AbortSignal.timeout(5000),
    });
    const healthText = await health.text();
    const qText = await q.text();
    assert.equal(health.status, 503, healthText);
    assert.match(health.headers.get('retry-after') ?? '', /^\d+$/);
    assertNoLeak(healthText, 'health');
    assert.equal(ingest.status, 503, JSON.stringify(ingest.body));
    // Not "nothing was stored": a commit whose answer was lost may hold it; the retry is stored once.
    assert.match(ingest.body.error!, /database did not confirm this request; send it again later/);
    assertNoLeak(JSON.stringify(ingest.body), 'ingest');
    assert.equal(q.status, 503, qText);
    assert.match(q.headers.get('retry-after') ?? '', /^\d+$/);
    assertNoLeak(qText, 'query');
  });
});
