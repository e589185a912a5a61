/**
 * The boundary's other half: what the client does not see goes to the log, under the id the client
 * does see. A real express app and a real pino logger writing to memory; the routes fail on purpose.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { errorBoundary, requestId, RequestError } from '../src/http/errors.js';
import { DatabaseUnavailableError } from '../src/db/errors.js';
import { assertNoLeak } from './helpers/leaks.js';

async function withApp(fn: (url: string, lines: () => Record<string, any>[]) => Promise<void>): Promise<void> {
  const out: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (out.push(String(c)), cb()) }));
  const app = express();
  app.use(requestId);
  app.get('/boom', () => {
    throw new Error('connect ECONNREFUSED 10.1.2.3:5432 at SELECT * FROM events');
  });
  app.get('/pg', async () => {
    throw Object.assign(new Error('relation "events_p20261120" does not exist'), { code: '42P01' });
  });
  app.get('/down', async () => {
    throw new DatabaseUnavailableError();
  });
  app.get('/refused', async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:54329'), { code: 'ECONNREFUSED' });
  });
  app.get('/bad', () => {
    throw new RequestError(400, 'from: must be a day');
  });
  app.use(errorBoundary(log));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, () => out.map((l) => JSON.parse(l)));
  } finally {
    await new Promise((r) => server.close(r));
  }
}

describe('the error boundary logs what it does not answer', () => {
  it('When a route fails unexpectedly, then the client gets a bare 500 with an id, and the log holds the error under that id', () =>
    withApp(async (url, lines) => {
      for (const path of ['/boom', '/pg']) {
        const r = await fetch(url + path);
        const body = (await r.json()) as { error: string; requestId: string };
        assert.equal(r.status, 500);
        assert.equal(body.error, 'internal error; the exporter logged it under this request id');
        assert.equal(r.headers.get('x-request-id'), body.requestId);
        assertNoLeak(JSON.stringify(body), path);
        const logged = lines().find((l) => l.requestId === body.requestId);
        assert.ok(logged, `no log line for ${body.requestId}`);
        assert.equal(logged.level, 50);
        assert.match(logged.err.message, path === '/boom' ? /ECONNREFUSED 10\.1\.2\.3:5432/ : /events_p20261120/);
        assert.match(logged.err.stack, /http-boundary-log\.test\.ts/);
      }
    }));

  it('When the database is unavailable (typed, or a refused socket), then 503 + Retry-After, no host or port', () =>
    withApp(async (url) => {
      for (const path of ['/down', '/refused']) {
        const r = await fetch(url + path);
        const text = await r.text();
        assert.equal(r.status, 503, text);
        assert.equal(r.headers.get('retry-after'), '5');
        assertNoLeak(text, path);
      }
    }));

  it('When the request is at fault, then its own status and message, logged at debug only', () =>
    withApp(async (url, lines) => {
      const r = await fetch(`${url}/bad`);
      const body = (await r.json()) as { error: string; requestId: string };
      assert.equal(r.status, 400);
      assert.equal(body.error, 'from: must be a day');
      assert.equal(lines().find((l) => l.requestId === body.requestId)?.level, 20);
    }));
});
