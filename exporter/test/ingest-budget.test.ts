/**
 * Bad input costs what the budget allows, not what the attacker sends: the list of errors is cut,
 * a body past the event cap is refused before it is parsed into millions of objects, /metrics keeps
 * answering while a large body is validated, and one request cannot create thousands of partitions.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { startTestExporter, useTestExporter } from './helpers/exporter.js';
import { postEvents, validExamples, withCommon } from './helpers/events.js';
import { addDays, localDay } from '../src/time.js';
import type { Exporter } from '../src/exporter.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

describe('the cost of bad input is bounded', () => {
  const harness = useTestExporter();

  it('When 500 events are rejected, then the answer lists the first 100 and counts all 500', async () => {
    const bad = Array.from({ length: 500 }, () => ({ ...withCommon(validExamples()['session.end']), sessionId: '' }));
    const r = await postEvents(harness.exporter.url, bad);
    assert.equal(r.status, 400);
    assert.equal(r.body.rejected.length, 100);
    assert.deepEqual(
      r.body.rejected.map((x) => x.index),
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.equal((r.body as { rejectedCount?: number }).rejectedCount, 500);
  });

  it('When 5M garbage NDJSON lines are sent, then 413 names the event cap at once, with a small answer', async () => {
    const started = Date.now();
    const r = await fetch(`${harness.exporter.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: 'x\n'.repeat(5_000_000),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await r.text();
    assert.equal(r.status, 413, text.slice(0, 200));
    assert.match(JSON.parse(text).error, /at most 50,000 are taken per request/);
    assert.ok(text.length < 1000, `the answer is ${text.length} bytes`);
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  });

  it('When a JSON array of 2M numbers is sent, then 413 names the event cap', async () => {
    const r = await fetch(`${harness.exporter.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `[${'1,'.repeat(2_000_000)}1]`,
      signal: AbortSignal.timeout(20_000),
    });
    const text = await r.text();
    assert.equal(r.status, 413, text.slice(0, 200));
    assert.match(JSON.parse(text).error, /body holds 2,000,001 events; at most 50,000/);
  });

  it('When a large body is validated, then /metrics keeps answering within a second', async () => {
    // 50,000 events (the cap), each checked against the whole schema before it fails.
    const events = Array.from({ length: 50_000 }, () => ({ ...withCommon(validExamples()['session.end']), by: 'nobody' }));
    const body = JSON.stringify(events);
    let done = false;
    const latencies: number[] = [];
    const poll = (async () => {
      while (!done) {
        const t = Date.now();
        const m = await fetch(`${harness.exporter.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
        await m.text();
        latencies.push(Date.now() - t);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const rounds = [];
    for (let i = 0; i < 3; i++) rounds.push(await postEvents(harness.exporter.url, null, { raw: body }));
    done = true;
    await poll;
    for (const r of rounds) assert.equal(r.status, 400);
    assert.ok(latencies.length > 5, `only ${latencies.length} scrapes`);
    assert.ok(Math.max(...latencies) < 1000, `slowest /metrics ${Math.max(...latencies)} ms (${latencies.join(', ')})`);
  });

  it('When one request spans 2,000 past days, then it writes 31 days and rejects the rest, naming the budget', async () => {
    const today = localDay(Date.now(), 'Asia/Shanghai');
    const events = Array.from({ length: 2000 }, (_, i) =>
      withCommon({ ...validExamples()['session.end'], sessionId: `d${i}` }, `${addDays(today, -1 - i)}T12:00:00+08:00`),
    );
    const before = await harness.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'events'::regclass`,
    );
    const r = await postEvents(harness.exporter.url, events);
    assert.equal(r.status, 200);
    assert.equal(r.body.accepted, 31);
    assert.equal((r.body as { rejectedCount?: number }).rejectedCount, 2000 - 31);
    assert.match(
      r.body.rejected[0].error,
      /^time: this request already spans 31 days, the most one request may write; send day \d{4}-\d{2}-\d{2} in another request$/,
    );
    const after = await harness.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'events'::regclass`,
    );
    assert.ok(after.rows[0].n - before.rows[0].n <= 31, `${after.rows[0].n - before.rows[0].n} partitions created`);
  });
});

describe('the cardinality budget: tenants, groups and agents one can create', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  before(async () => {
    db = await freshDatabase();
    Object.assign(process.env, { CS_MAX_TENANTS: '3', CS_MAX_GROUPS_PER_TENANT: '5', CS_MAX_AGENTS_PER_TENANT: '4' });
    try {
      exporter = await startTestExporter(db.url);
    } finally {
      for (const k of ['CS_MAX_TENANTS', 'CS_MAX_GROUPS_PER_TENANT', 'CS_MAX_AGENTS_PER_TENANT']) delete process.env[k];
    }
  });
  after(async () => {
    await exporter.close();
    await db.drop();
  });

  const now = Date.now() - 60_000;
  const queue = (tenant: string, groupId: string) => ({
    ...withCommon(validExamples()['session.queue'], now),
    tenant,
    groupId,
    sessionId: `s-${groupId}`,
  });

  it('When a request names 10 new groups with a budget of 5, then 5 are taken and the rest rejected, naming the budget; /metrics holds 5', async () => {
    const r = await postEvents(
      exporter.url,
      Array.from({ length: 10 }, (_, i) => queue('t1', `g${i}`)),
    );
    assert.equal(r.body.accepted, 5);
    assert.deepEqual(
      r.body.rejected.map((x) => x.index),
      [5, 6, 7, 8, 9],
    );
    assert.match(
      r.body.rejected[0].error,
      /^groupId: tenant "t1" already has 5 skill groups; at most 5 are taken \(CS_MAX_GROUPS_PER_TENANT\)$/,
    );
    // Known groups still take events.
    assert.equal((await postEvents(exporter.url, [queue('t1', 'g0')])).body.accepted, 1);
    const metrics = await (await fetch(`${exporter.url}/metrics`)).text();
    const groups = new Set([...metrics.matchAll(/cs_queue_length\{tenant="t1",group="([^"]*)"\}/g)].map((m) => m[1]));
    assert.equal(groups.size, 5);
  });

  it('When agents and tenants pass their budgets, then their new names are rejected, others are not', async () => {
    const answer = (tenant: string, agentId: string) => ({ ...withCommon(validExamples()['agent.status'], now), tenant, agentId });
    const r = await postEvents(
      exporter.url,
      ['a1', 'a2', 'a3', 'a4', 'a5'].map((a) => answer('t1', a)),
    );
    assert.equal(r.body.accepted, 4);
    assert.match(r.body.rejected[0].error, /^agentId: tenant "t1" already has 4 agents; at most 4 are taken/);
    const t = await postEvents(
      exporter.url,
      ['t2', 't3', 't4'].map((tenant) => queue(tenant, 'g0')),
    );
    assert.equal(t.body.accepted, 2);
    assert.match(t.body.rejected[0].error, /^tenant: this exporter already serves 3 tenants, the most it takes \(CS_MAX_TENANTS\); "t4"/);
  });
});
