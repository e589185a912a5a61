import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { useTestExporter } from './helpers/exporter.js';
import { postEvents, validExamples, withCommon } from './helpers/events.js';

const INGEST = 'ingest-secret';
const API = 'api-secret';

describe('bad requests get a clear answer, and the server keeps serving', () => {
  const harness = useTestExporter({ ingestToken: INGEST, apiToken: API });

  const stillServing = async () => {
    const h = await fetch(`${harness.exporter.url}/api/v1/health`);
    assert.equal(h.status, 200);
    const e = withCommon(validExamples()['session.end']);
    assert.equal((await postEvents(harness.exporter.url, e, { token: INGEST })).body.accepted, 1);
  };

  it('When the body is not JSON, then 400 says so', async () => {
    const r = await postEvents(harness.exporter.url, null, { raw: '{"id": "a", ', token: INGEST });
    assert.equal(r.status, 400);
    assert.match(r.body.error!, /body is not valid JSON/);
    await stillServing();
  });

  it('When the body is a JSON scalar or empty, then 400 says what is expected', async () => {
    const r = await postEvents(harness.exporter.url, null, { raw: '42', token: INGEST });
    assert.equal(r.status, 400);
    assert.match(r.body.error!, /one event object or an array of events/);
    const empty = await postEvents(harness.exporter.url, [], { token: INGEST });
    assert.equal(empty.status, 400);
    assert.match(empty.body.error!, /no events/);
    await stillServing();
  });

  it('When the content type is wrong, then 415 names the accepted types', async () => {
    const r = await postEvents(harness.exporter.url, null, {
      raw: 'id=1',
      contentType: 'application/x-www-form-urlencoded',
      token: INGEST,
    });
    assert.equal(r.status, 415);
    assert.match(r.body.error!, /application\/json .* application\/x-ndjson .*got application\/x-www-form-urlencoded/);
    await stillServing();
  });

  it('When the body is over 10 MiB, then 413 says to send smaller batches', async () => {
    const line = JSON.stringify(withCommon({ ...validExamples()['session.message'], text: 'x'.repeat(1000) }));
    const raw = Array.from({ length: Math.ceil((10.5 * 1024 * 1024) / line.length) }, () => line).join('\n');
    // A raw request: the server may answer before reading the whole upload.
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const u = new URL(`${harness.exporter.url}/api/v1/events`);
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${INGEST}`, 'content-length': Buffer.byteLength(raw) },
        },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      req.end(raw);
    });
    assert.equal(answer.status, 413);
    assert.match(JSON.parse(answer.body).error, /larger than the 10 MiB limit/);
    await stillServing();
  });

  it('When the ingest token is missing or wrong, then 401 says which', async () => {
    const e = withCommon(validExamples()['session.end']);
    const missing = await postEvents(harness.exporter.url, e);
    assert.equal(missing.status, 401);
    assert.match(missing.body.error!, /missing bearer token.*CS_INGEST_TOKEN/);
    const wrong = await postEvents(harness.exporter.url, e, { token: 'guess' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body.error!, /wrong bearer token/);
    // The query API's token is not the ingest token.
    assert.equal((await postEvents(harness.exporter.url, e, { token: API })).status, 401);
    const stored = await harness.db.pool.query('SELECT count(*)::int AS n FROM events WHERE id = $1', [e.id]);
    assert.equal(stored.rows[0].n, 0);
    await stillServing();
  });

  it('When the query API is called without its token, then 401; health stays open', async () => {
    const r = await fetch(`${harness.exporter.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(r.status, 401);
    assert.match(((await r.json()) as { error: string }).error, /CS_API_TOKEN/);
    const h = await fetch(`${harness.exporter.url}/api/v1/health`);
    assert.equal(h.status, 200);
    assert.equal(((await h.json()) as { status: string }).status, 'ok');
  });

  it('When a path does not exist, then 404 names it', async () => {
    const r = await fetch(`${harness.exporter.url}/api/v2/nothing`);
    assert.equal(r.status, 404);
    assert.match(((await r.json()) as { error: string }).error, /GET \/api\/v2\/nothing/);
  });
});
