/**
 * Issue 13 item 6 (the writer-queue half): past a documented in-flight
 * budget, ingest answers 429 at once with Retry-After and a body naming the
 * budget, and stores nothing of the refused request, so a retry is safe.
 * On main's code the writer queue had no bound: every request below was
 * queued and answered 200 eventually, and no 429 was ever sent (the first
 * assertions of each test fail there).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { loadConfig } from '../src/config.js';
import { startExporter, type Exporter } from '../src/exporter.js';
import { createLogger } from '../src/log.js';
import { parseExposition, series } from './helpers/live.js';

const PRODUCERS = 32;
const BATCHES_EACH = 4;
const EVENTS_EACH = 40;

function batch(producer: number, n: number, size = EVENTS_EACH): Record<string, unknown>[] {
  return Array.from({ length: size }, (_, i) => ({
    id: `p${producer}-b${n}-${i}`,
    type: 'session.message',
    time: '2026-11-20T10:00:00+08:00',
    sessionId: `s${producer}-${n}`,
    from: 'user',
    text: 'x'.repeat(40),
  }));
}

async function start(db: TestDatabase, env: Record<string, string>): Promise<Exporter> {
  // Through loadConfig, as the environment reaches a running exporter.
  const config = { ...loadConfig(env), port: 0, databaseUrl: db.url, simulate: false };
  return startExporter(config, createLogger('silent'), []);
}

describe('Ingest in-flight budget (CS_INGEST_MAX_EVENTS / CS_INGEST_MAX_BYTES)', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  before(async () => {
    db = await freshDatabase();
    // Room for about two requests at once: 32 producers must be pushed back.
    exporter = await start(db, { CS_INGEST_MAX_EVENTS: String(2 * EVENTS_EACH + 10) });
  });
  after(async () => {
    await exporter?.close();
    await db?.drop();
  });

  it('When 32 producers saturate ingest, then the excess gets 429 with Retry-After and every acknowledged event is stored once', async () => {
    const acked = new Set<string>();
    const refusedOnce: string[][] = [];
    let refusals = 0;
    const retryAfter = new Set<string | null>();
    const bodies = new Set<string>();
    const producer = async (p: number) => {
      for (let n = 0; n < BATCHES_EACH; n++) {
        const events = batch(p, n);
        // A producer's last batch is sent once only: if it is refused, none of it may be stored.
        const once = n === BATCHES_EACH - 1;
        for (let attempt = 0; attempt < 200; attempt++) {
          const res = await fetch(`${exporter.url}/api/v1/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(events),
          });
          const body = (await res.json()) as { accepted: number; duplicates: number; error?: string };
          if (res.status === 429) {
            refusals++;
            retryAfter.add(res.headers.get('retry-after'));
            bodies.add(body.error!);
            assert.equal(body.accepted, 0);
            if (once) {
              refusedOnce.push(events.map((e) => e.id as string));
              break;
            }
            // Shorter than Retry-After asks: the test stays quick, and the budget must hold against impatient producers too.
            await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
            continue;
          }
          assert.equal(res.status, 200, JSON.stringify(body));
          assert.equal(body.accepted + body.duplicates, events.length);
          for (const e of events) acked.add(e.id as string);
          break;
        }
      }
    };
    await Promise.all(Array.from({ length: PRODUCERS }, (_, p) => producer(p)));

    assert.ok(refusals > 0, 'no producer was refused: the budget does not bound the writer queue');
    assert.deepEqual([...retryAfter], ['1']);
    for (const b of bodies) assert.match(b, /in-flight budget of 90 events \(CS_INGEST_MAX_EVENTS\); nothing of this request was stored/);

    const { rows } = await db.pool.query<{ id: string; n: number }>(`SELECT id, count(*)::int AS n FROM events GROUP BY id`);
    const stored = new Map(rows.map((r) => [r.id, r.n]));
    for (const id of acked) assert.equal(stored.get(id), 1, `acknowledged ${id} stored ${stored.get(id) ?? 0} times`);
    for (const ids of refusedOnce) for (const id of ids) assert.equal(stored.get(id), undefined, `refused ${id} was stored`);
    assert.equal(stored.size, acked.size, 'events stored that no answer acknowledged');
    // The budget is free again once every answer is sent.
    assert.deepEqual(exporter.ctx.writer.used, { events: 0, bytes: 0 });
    // And /metrics counts every 429 (what CsIngestOverloaded reads).
    const m = parseExposition(await exporter.ctx.self!.text());
    assert.equal(m.get(series('cs_exporter_ingest_requests_refused_total', { reason: 'overloaded' })), refusals);
  });
});

describe('Ingest byte budget: a body counts from the moment it starts arriving', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  before(async () => {
    db = await freshDatabase();
    exporter = await start(db, { CS_INGEST_MAX_BYTES: '20000' });
  });
  after(async () => {
    await exporter?.close();
    await db?.drop();
  });

  it('When a slow producer is mid-body, then a second body past the byte budget is refused at once, and the first still stored', async () => {
    const slow = JSON.stringify(batch(900, 0, 100));
    assert.ok(slow.length > 10_000 && slow.length < 20_000);
    const { port } = new URL(exporter.url);
    // Half of the body now, the rest later: the exporter is holding the reservation meanwhile.
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/api/v1/events',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(slow) },
        },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      req.write(slow.slice(0, 5000));
      setTimeout(() => req.end(slow.slice(5000)), 1500);
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(exporter.ctx.writer.used.bytes, Buffer.byteLength(slow));

    const second = batch(901, 0, 100);
    const t0 = performance.now();
    const res = await fetch(`${exporter.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(second),
    });
    const ms = performance.now() - t0;
    const body = (await res.json()) as { error: string; budget: unknown };
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.deepEqual(body.budget, { resource: 'bytes', limit: 20000, setting: 'CS_INGEST_MAX_BYTES' });
    assert.ok(ms < 1000, `the refusal took ${Math.round(ms)} ms`);

    const first = await answer;
    assert.equal(first.status, 200, first.body);
    assert.equal(JSON.parse(first.body).accepted, 100);
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE id LIKE 'p901-%'`);
    assert.equal(rows[0].n, 0);
    // Once the slow body is stored the budget is free: the refused body now goes through.
    const retry = await fetch(`${exporter.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(second),
    });
    assert.equal(retry.status, 200);
    assert.deepEqual(exporter.ctx.writer.used, { events: 0, bytes: 0 });
  });
});

describe('Ingest budget settings', () => {
  it('When a budget setting is not a positive whole number, then the exporter refuses to start and names it', () => {
    assert.throws(() => loadConfig({ CS_INGEST_MAX_EVENTS: '0' }), /CS_INGEST_MAX_EVENTS must be a whole number from 1 to/);
    assert.throws(() => loadConfig({ CS_INGEST_MAX_BYTES: '1e3x' }), /CS_INGEST_MAX_BYTES must be a whole number from 1 to .*"1e3x"/);
  });
});
