/**
 * The Chatwoot adapter end to end: webhook bodies (Chatwoot's published samples and a
 * conversation's life built in Chatwoot's shapes) posted to a real exporter on a real Postgres,
 * and what ops see in 监控 (/metrics, live_groups) and 报表 (group_daily, agent_daily, sessions).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';
import { liveRows, scrape, series, type Clock } from './helpers/live.js';
import { queryRows } from './helpers/reports.js';
import { loadConfig, type Config } from '../src/config.js';
import { startExporter, type Exporter } from '../src/exporter.js';
import pino from 'pino';
import { liveComponent } from '../src/live/component.js';
import type { LiveState } from '../src/live/state.js';
import { reportsComponent } from '../src/reports/component.js';
import { chatwootComponent } from '../src/adapters/chatwoot/index.js';
import { dayStartMs, localDay } from '../src/time.js';
import { chatwootSamples, created, csat, message, statusChanged, updated, type ConvState } from './adapter-chatwoot-bodies.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

const TZ = 'Asia/Shanghai';
const TODAY = localDay(Date.now(), TZ);
// T = today 10:00 local; the clock of 监控 says T + 600 s.
const T = dayStartMs(TODAY, TZ) / 1000 + 10 * 3600;
const NOW_MS = (T + 600) * 1000;

const SECRET = 'cw-signing-secret';
const TOKENS = { default: 'tok-default-0123456789', shuffled: 'tok-shuffled-0123456789', samples: 'tok-samples-0123456789', signed: 'tok-signed-0123456789', volume: 'tok-volume-0123456789' };

/** The exporter's warnings, as JSON lines (what an operator's log holds). */
const logLines: string[] = [];
const log = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) });

async function startCw(db: TestDatabase, clock: Clock, env: Record<string, string> = {}, overrides: Partial<Config> = {}): Promise<Exporter> {
  const base = loadConfig({
    CS_CHATWOOT_WEBHOOK_TOKENS: Object.entries(TOKENS)
      .map(([t, k]) => `${t}=${k}`)
      .join(','),
    CS_CHATWOOT_WEBHOOK_SECRETS: `signed=${SECRET}`,
    ...env,
  });
  const config: Config = { ...base, port: 0, databaseUrl: db.url, simulate: false, ...overrides };
  return startExporter(config, log, [
    (c) => {
      const component = liveComponent(c, { now: () => clock.ms });
      lives.set(config, component.live);
      return component;
    },
    reportsComponent,
    chatwootComponent,
  ]);
}

// Events arriving out of order make the live state reload sessions from Postgres in the
// background: live figures are read once no reload is queued or running.
const lives = new Map<Config, LiveState>();
async function settledLiveRows(exporter: Exporter, body: Record<string, unknown>): Promise<Record<string, unknown>[]> {
  await lives.get(exporter.ctx.config)?.settled();
  return liveRows(exporter.url, body);
}

async function hook(url: string, token: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const r = await fetch(`${url}/api/v1/adapters/chatwoot/${token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

// The teams and agents of the life below.
const PRESALES = { id: 1, name: '售前' };
const AFTERSALES = { id: 2, name: '售后' };
const ALICE = { id: 11, name: 'Alice' };
const BOB = { id: 12, name: 'Bob' };

/**
 * Four conversations of inbox 3 (times: seconds after T = 10:00):
 * - A (101): a bot's first (created pending at 0); the visitor writes at 5; hand-off to 售前 at 30;
 *   auto-assigned to Alice at 50 (wait 20 s); Alice replies at 60; an admin re-assigns to Bob at 100
 *   (a transfer); resolved at 200 with Bob on it; the visitor rates 5 at 210.
 * - B (102): no bot, created open in 售后 at 100, nobody takes it, resolved at 160 while waiting: an abandon.
 * - C (103): created open in 售后 at 300, still waiting at 600 (300 s).
 * - D (104): created open with no team, already assigned to Bob at 400 (the default group, wait 0), still talking.
 * Plus a label change on A at 70, which carries nothing we count.
 */
function life(): unknown[] {
  const A: ConvState = { display: 101, status: 'pending', team: null, assignee: null, createdSec: T };
  const B: ConvState = { display: 102, status: 'open', team: AFTERSALES, assignee: null, createdSec: T + 100 };
  const C: ConvState = { display: 103, status: 'open', team: AFTERSALES, assignee: null, createdSec: T + 300 };
  const D: ConvState = { display: 104, status: 'open', team: null, assignee: BOB, createdSec: T + 400 };
  const A30 = { ...A, status: 'open' as const, team: PRESALES };
  const A50 = { ...A30, assignee: ALICE };
  const A100 = { ...A30, assignee: BOB };
  const A200 = { ...A100, status: 'resolved' as const };
  return [
    created(A),
    message(A, 9001, T + 5, 'incoming', null, '你好，我想问一下价格'),
    // The hand-off: the bot opens the conversation and puts it in 售前 in one save.
    statusChanged(A30, 'pending', T + 30),
    updated(A30, T + 30, { status: ['pending', 'open'], team_id: [null, PRESALES.id] }),
    updated(A50, T + 50, { assignee_id: [null, ALICE.id] }),
    message(A50, 9002, T + 60, 'outgoing', ALICE, '您好，请问需要什么帮助？'),
    updated(A50, T + 70, { label_list: [[], ['price']] }),
    updated(A100, T + 100, { assignee_id: [ALICE.id, BOB.id] }),
    statusChanged(A200, 'open', T + 200),
    updated(A200, T + 200, { status: ['open', 'resolved'] }),
    csat(A200, 9003, T + 200, T + 210, 5),
    created(B),
    statusChanged({ ...B, status: 'resolved' }, 'open', T + 160),
    created(C),
    created(D),
  ];
}

/** A deterministic shuffle (the order Chatwoot's queue might deliver in). */
function shuffled<X>(xs: X[], seed = 7): X[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('Chatwoot webhooks into 监控 and 报表', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  const clock: Clock = { ms: NOW_MS };
  before(async () => {
    db = await freshDatabase();
    exporter = await startCw(db, clock);
  });
  after(async () => {
    await exporter?.close();
    await db?.drop();
  });

  it("When Chatwoot's published bodies are posted, then each is taken, ignored or refused as documented, and counted", async () => {
    const answers: Record<string, number> = {};
    for (const [file, text] of chatwootSamples()) {
      const r = await hook(exporter.url, TOKENS.samples, text);
      answers[file] = r.status;
      assert.ok(r.status === 200 || r.status === 400, `${file}: ${r.status} ${JSON.stringify(r.body)}`);
      if (r.status === 200) assert.ok(['mapped', 'ignored'].includes(r.body.outcome), `${file}: ${JSON.stringify(r.body)}`);
    }
    // The annotated sample has comments and a missing comma, presence_update.jsonc a "#" line: not JSON (400, counted invalid).
    // The deprecated conversation_opened / _resolved, webwidget_triggered, a non-CSAT message_updated
    // and the 14 WebSocket frames are understood and carry nothing we count (200, ignored).
    const invalid = Object.entries(answers).filter(([, s]) => s === 400).map(([f]) => f);
    assert.deepEqual(invalid, ['docs-webhook-2022-03/webhook-a-sample-webhook-payload.jsonc', 'docs-websocket-2022-03/ws-presence_update.jsonc']);
    const m = await scrape(exporter.url);
    const items = (outcome: string) => m.get(series('cs_exporter_adapter_items_total', { adapter: 'chatwoot', outcome })) ?? 0;
    // mapped: conversation_status_changed (open, John assigned) and message_created = 2;
    // ignored: opened, resolved, message_updated, webwidget_triggered = 4, + 14 WebSocket frames = 18.
    assert.deepEqual([items('mapped'), items('ignored'), items('invalid'), items('unknown')], [2, 18, 2, 0]);
  });

  it('When the samples are mapped, then their conversation shows in 报表 of 2021-07-23 (UTC+8)', async () => {
    // conversation_status_changed: conversation 10 of inbox 1, status open, assignee John (user 1),
    // no team, timestamp 1627063369 = 2021-07-24 02:02:49 +08:00 (the old body has no updated_at):
    // a queue entry into the default group "chatwoot" answered at once by cw-agent-1 (wait 0).
    const day = '2021-07-24';
    const { rows } = await queryRows(exporter.url, { report: 'group_daily', from: day, to: day, tenant: 'samples', metrics: ['inflow', 'answered', 'answer_rate'] });
    assert.deepEqual(rows.map((r) => [r.group_id, r.inflow, r.answered, r.answer_rate]), [['chatwoot', 1, 1, 1]]);
    const s = await queryRows(exporter.url, { report: 'sessions', from: day, to: day, tenant: 'samples' });
    assert.deepEqual(s.rows.map((r) => [r.service_id, r.agents, r.groups]), [['cw-1-10', 'cw-agent-1', 'chatwoot']]);
  });

  it("When a conversation's life is posted as webhooks, then 监控 and 报表 show it as worked out by hand", async () => {
    for (const body of life()) {
      const r = await hook(exporter.url, TOKENS.default, body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    await checkFigures(exporter, 'default');
  });

  it('When every body is posted again, then nothing is counted twice', async () => {
    const before = exporter.ctx.writer.stats.accepted;
    for (const body of life()) {
      const r = await hook(exporter.url, TOKENS.default, body);
      assert.equal(r.status, 200);
      if (r.body.outcome === 'mapped') assert.equal(r.body.accepted, 0, JSON.stringify(r.body));
    }
    assert.equal(exporter.ctx.writer.stats.accepted, before);
    await checkFigures(exporter, 'default');
  });

  it('When the same bodies arrive in another order, then the figures are the same', async () => {
    for (const body of shuffled(life())) {
      const r = await hook(exporter.url, TOKENS.shuffled, body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    await checkFigures(exporter, 'shuffled');
  });

  it('When an hour of 240 generated conversations arrives shuffled, with redeliveries, then every group reconciles', async () => {
    const { bodies, want } = generatedHour(240);
    // A tenth delivered twice, and all in a shuffled order, 8 at a time (Sidekiq's concurrency).
    const deliveries = shuffled([...bodies, ...bodies.filter((_, i) => i % 10 === 0)], 11);
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < deliveries.length) statuses.push((await hook(exporter.url, TOKENS.volume, deliveries[next++])).status);
      }),
    );
    assert.deepEqual([...new Set(statuses)], [200]);
    const live = await settledLiveRows(exporter, { report: 'live_groups', tenant: 'volume' });
    const got = Object.fromEntries(live.map((r) => [r.group_id, { inflow: r.inflow, answered: r.answered, abandoned: r.abandoned, transfers: r.transfers, queue_length: r.queue_length }]));
    assert.deepEqual(got, Object.fromEntries(Object.entries(want).map(([g, w]) => [g, { inflow: w.inflow, answered: w.legsAnswered, abandoned: w.abandoned, transfers: w.transfers, queue_length: w.waiting }])));
    const gd = await queryRows(exporter.url, { report: 'group_daily', from: TODAY, to: TODAY, tenant: 'volume', metrics: ['inflow', 'answered'] });
    assert.deepEqual(
      Object.fromEntries(gd.rows.map((r) => [r.group_id, [r.inflow, r.answered]])),
      Object.fromEntries(Object.entries(want).map(([g, w]) => [g, [w.inflow, w.credited]])),
    );
    // entered = answered + abandoned + still waiting, per group (each conversation enters once directly).
    for (const w of Object.values(want)) assert.equal(w.inflow - w.transfers, w.credited + w.abandoned + w.waiting);
  });

  it('When the token is wrong or missing, then 401 and nothing is stored', async () => {
    const before = exporter.ctx.writer.stats.accepted;
    const body = created({ display: 900, status: 'open', createdSec: T + 500 });
    assert.equal((await hook(exporter.url, 'nope', body)).status, 401);
    const r = await fetch(`${exporter.url}/api/v1/adapters/chatwoot`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 401);
    // The token may come as a bearer header instead of the path.
    const viaHeader = await fetch(`${exporter.url}/api/v1/adapters/chatwoot`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.default}` },
    });
    assert.equal(viaHeader.status, 200);
    assert.equal(exporter.ctx.writer.stats.accepted, before + 2); // start + queue of conversation 900
  });

  it("When a tenant has a signing secret, then only bodies signed as Chatwoot signs them (HMAC-SHA256 of \"<timestamp>.<body>\") pass", async () => {
    const raw = JSON.stringify(created({ display: 901, status: 'pending', createdSec: T + 500 }));
    const nowSec = Math.floor(Date.now() / 1000);
    const sign = (ts: number, body: string, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`;
    const post = (h: Record<string, string>, body = raw) => hook(exporter.url, TOKENS.signed, body, h);
    assert.equal((await post({})).status, 401, 'unsigned');
    assert.equal((await post({ 'x-chatwoot-timestamp': String(nowSec), 'x-chatwoot-signature': sign(nowSec, raw, 'other') })).status, 401, 'other secret');
    assert.equal((await post({ 'x-chatwoot-timestamp': String(nowSec), 'x-chatwoot-signature': sign(nowSec, raw) }, raw.replace('901', '902'))).status, 401, 'body changed');
    assert.equal((await post({ 'x-chatwoot-timestamp': String(nowSec - 600), 'x-chatwoot-signature': sign(nowSec - 600, raw) })).status, 401, 'stale');
    const ok = await post({ 'x-chatwoot-timestamp': String(nowSec), 'x-chatwoot-signature': sign(nowSec, raw) });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.accepted, 1); // session.start of a bot's (pending) conversation
  });

  it('When bodies are broken or unknown, then they are counted, answered clearly and the adapter keeps working', async () => {
    const m0 = await scrape(exporter.url);
    const items = (m: Map<string, number>, outcome: string) => m.get(series('cs_exporter_adapter_items_total', { adapter: 'chatwoot', outcome })) ?? 0;
    const notJson = await hook(exporter.url, TOKENS.default, '{"event": "message_created",');
    assert.equal(notJson.status, 400);
    assert.match(notJson.body.error, /not JSON/);
    const noId = await hook(exporter.url, TOKENS.default, { event: 'conversation_created', inbox_id: 3, status: 'open', created_at: T });
    assert.equal(noId.status, 400);
    assert.match(noId.body.error, /display id/);
    const badRating = await hook(exporter.url, TOKENS.default, csat({ display: 101, status: 'resolved', createdSec: T }, 9100, T + 200, T + 220, 9));
    assert.equal(badRating.status, 400);
    assert.match(badRating.body.error, /rating 9/);
    const unknown = await hook(exporter.url, TOKENS.default, { event: 'conversation_teleported', id: 1 });
    assert.equal(unknown.status, 200);
    assert.equal(unknown.body.outcome, 'unknown');
    // Each is in the log with the body that was refused.
    const logged = logLines.map((l) => JSON.parse(l)).filter((l) => l.adapter === 'chatwoot' && l.outcome);
    const inputs = logged.map((l) => l.input as string);
    assert.ok(inputs.includes('{"event": "message_created",'), 'the broken body');
    assert.ok(inputs.some((i) => i.includes('conversation_teleported')), 'the unknown body');
    assert.ok(logged.some((l) => /rating 9/.test(l.msg) && l.input.includes('"rating":9')), 'the bad rating');
    const m1 = await scrape(exporter.url);
    assert.equal(items(m1, 'invalid') - items(m0, 'invalid'), 3);
    assert.equal(items(m1, 'unknown') - items(m0, 'unknown'), 1);
    // Still working: the next good body is taken.
    const good = await hook(exporter.url, TOKENS.default, created({ display: 905, status: 'pending', createdSec: T + 550 }));
    assert.equal(good.status, 200);
    assert.equal(good.body.accepted, 1);
  });
});

describe('Chatwoot webhooks when the exporter cannot store', () => {
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  it('When ingest is at its budget or the database is away, then 429 / 503 with Retry-After (Chatwoot retries those) and nothing is stored', async () => {
    const body = created({ display: 950, status: 'open', team: AFTERSALES, createdSec: T });
    // created open = session.start + group.upsert + session.queue: 3 events, over a budget of 1.
    // A lone request always gets in (writer.ts reserve): another producer's event holds the budget meanwhile.
    const small = await startCw(db, { ms: NOW_MS }, {}, { ingestMaxEvents: 1 });
    const other = small.ctx.writer.ticket();
    try {
      assert.equal(other.take('events', 1), true);
      const r = await hook(small.url, TOKENS.default, body);
      assert.equal(r.status, 429, JSON.stringify(r.body));
      assert.equal(r.body.error.includes('CS_INGEST_MAX_EVENTS'), true);
      assert.equal(small.ctx.writer.stats.accepted, 0);
      other.release();
      // The budget free again, Chatwoot's retry is taken.
      assert.equal((await hook(small.url, TOKENS.default, body)).body.accepted, 3);
    } finally {
      other.release();
      await small.close();
    }
    const proxy = await startTcpProxy(db.url);
    const cut = await startCw(db, { ms: NOW_MS }, {}, { databaseUrl: proxy.url, dbConnectTimeoutMs: 300, dbIngestTimeoutMs: 1000 });
    try {
      await proxy.close();
      const r = await fetch(`${cut.url}/api/v1/adapters/chatwoot/${TOKENS.default}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(r.status, 503);
      assert.ok(Number(r.headers.get('retry-after')) > 0);
      const text = await r.text();
      assert.doesNotMatch(text, /127\.0\.0\.1|ECONNREFUSED|postgres/i, 'no internals in the answer');
      // The failure is logged (an operator needs the path), but the token in the path is the tenant's
      // credential: the log shows the path without it.
      const failed = logLines.map((l) => JSON.parse(l) as { msg?: string; path?: string }).filter((l) => l.msg === 'request failed');
      assert.ok(failed.length > 0, 'the 503 was logged');
      assert.deepEqual([...new Set(failed.map((l) => l.path))], ['/api/v1/adapters/chatwoot/<redacted>']);
      assert.equal(logLines.some((l) => l.includes(TOKENS.default)), false, 'no log line holds the token');
    } finally {
      await cut.close();
    }
  });
});

/**
 * Conversations between 09:00 and 10:00, each with one fate, and the figures they must give,
 * counted from the fates (not from the adapter): per group, legs entered (`inflow`: one direct
 * entry each, plus the zero-wait leg of a re-assignment), legs answered, sessions credited
 * (group_daily `answered`: one per answered conversation), abandons, transfers, still waiting.
 */
function generatedHour(n: number) {
  const agents = [ALICE, BOB, { id: 13, name: 'Carol' }];
  const teams = [PRESALES, AFTERSALES, null];
  const want: Record<string, { inflow: number; legsAnswered: number; credited: number; abandoned: number; transfers: number; waiting: number }> = {};
  const bodies: unknown[] = [];
  let seed = 3;
  const rnd = (k: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % k);
  for (let i = 0; i < n; i++) {
    const t0 = T - 3600 + i * 14;
    const team = teams[rnd(3)];
    const group = team ? `cw-team-${team.id}` : 'chatwoot';
    const w = (want[group] ??= { inflow: 0, legsAnswered: 0, credited: 0, abandoned: 0, transfers: 0, waiting: 0 });
    const bot = rnd(2) === 0;
    const c: ConvState = { display: 2000 + i, status: bot ? 'pending' : 'open', team, assignee: null, createdSec: t0 };
    bodies.push(created(c));
    const q = bot ? t0 + 10 : t0;
    const open = { ...c, status: 'open' as const };
    if (bot) bodies.push(statusChanged(open, 'pending', q));
    w.inflow++;
    const a = agents[rnd(3)];
    const b = agents.find((x) => x !== a)!;
    switch (rnd(4)) {
      case 0: // resolved while waiting
        bodies.push(statusChanged({ ...open, status: 'resolved' }, 'open', q + 30));
        w.abandoned++;
        break;
      case 1: // answered, resolved, maybe rated
        bodies.push(updated({ ...open, assignee: a }, q + 15, { assignee_id: [null, a.id] }));
        bodies.push(message({ ...open, assignee: a }, 50_000 + i, q + 20, 'outgoing', a, 'hello'));
        bodies.push(statusChanged({ ...open, assignee: a, status: 'resolved' }, 'open', q + 100));
        if (i % 2) bodies.push(csat({ ...open, assignee: a, status: 'resolved' }, 60_000 + i, q + 100, q + 110, 1 + (i % 5)));
        w.legsAnswered++;
        w.credited++;
        break;
      case 2: // answered, re-assigned (a transfer), resolved
        bodies.push(updated({ ...open, assignee: a }, q + 15, { assignee_id: [null, a.id] }));
        bodies.push(updated({ ...open, assignee: b }, q + 40, { assignee_id: [a.id, b.id] }));
        bodies.push(statusChanged({ ...open, assignee: b, status: 'resolved' }, 'open', q + 120));
        w.inflow++;
        w.legsAnswered += 2;
        w.credited++;
        w.transfers++;
        break;
      default: // still waiting at 10:10
        w.waiting++;
    }
  }
  return { bodies, want };
}

/** The figures of life(), for one tenant. */
async function checkFigures(exporter: Exporter, tenant: string): Promise<void> {
  const url = exporter.url;
  const groups = await settledLiveRows(exporter, { report: 'live_groups', tenant });
  const g = Object.fromEntries(groups.map((r) => [r.group_id, r]));
  const pick = (r: Record<string, unknown> | undefined, keys: string[]) => (r ? Object.fromEntries(keys.map((k) => [k, r[k]])) : r);
  const K = ['inflow', 'answered', 'abandoned', 'transfers', 'queue_length', 'longest_wait_seconds', 'in_conversation', 'avg_satisfaction', 'avg_talk_seconds'];
  // 售前 (cw-team-1): A enters at 30 (direct) and Alice answers at 50; Bob takes it over at 100 with
  // no queue in between, a zero-wait leg via transfer: inflow 2, answered 2, transfers 1 (Alice's, manual).
  // Parts: Alice 50→100 = 50 s, Bob 100→200 = 100 s → 150 / 2 = 75 s. Rating 5 on Bob's leg: 1 of 1 satisfied.
  assert.deepEqual(pick(g['cw-team-1'], K), {
    inflow: 2,
    answered: 2,
    abandoned: 0,
    transfers: 1,
    queue_length: 0,
    longest_wait_seconds: 0,
    in_conversation: 0,
    avg_satisfaction: 1,
    avg_talk_seconds: 75,
  });
  // 售后 (cw-team-2): B at 100 and C at 300 (direct) = 2; B resolved while waiting at 160 = 1 abandoned;
  // C still queued: length 1, waiting 600 − 300 = 300 s.
  assert.deepEqual(pick(g['cw-team-2'], K), {
    inflow: 2,
    answered: 0,
    abandoned: 1,
    transfers: 0,
    queue_length: 1,
    longest_wait_seconds: 300,
    in_conversation: 0,
    avg_satisfaction: null,
    avg_talk_seconds: null,
  });
  // chatwoot (no team): D entered and answered by Bob at 400, still talking.
  assert.deepEqual(pick(g.chatwoot, K), {
    inflow: 1,
    answered: 1,
    abandoned: 0,
    transfers: 0,
    queue_length: 0,
    longest_wait_seconds: 0,
    in_conversation: 1,
    avg_satisfaction: null,
    avg_talk_seconds: null,
  });

  const m = await scrape(url);
  const v = (name: string, labels: Record<string, string>) => m.get(series(name, { tenant, ...labels }));
  assert.equal(v('cs_queue_length', { group: 'cw-team-2' }), 1);
  assert.equal(v('cs_sessions_abandoned_total', { group: 'cw-team-2' }), 1);
  assert.equal(v('cs_sessions_inflow_total', { group: 'cw-team-1', via: 'transfer' }), 1);
  assert.equal(v('cs_transfers_total', { group: 'cw-team-1', reason: 'manual' }), 1);
  assert.equal(v('cs_ratings_total', { group: 'cw-team-1', score: '5' }), 1);
  assert.equal(v('cs_agent_active_sessions', { agent: 'cw-agent-12' }), 1); // D

  const day = { from: TODAY, to: TODAY, tenant };
  const gd = await queryRows(url, { report: 'group_daily', ...day, metrics: ['inflow', 'answered', 'direct_inflow', 'transfer_out', 'rated', 'very_satisfied'] });
  // group_daily credits a session's answer to its last answered leg (A → 售前 by Bob, D → chatwoot);
  // inflow counts legs (售前 2: A direct + A via transfer; 售后 2: B, C; chatwoot 1: D).
  assert.deepEqual(
    gd.rows.map((r) => [r.group_id, r.inflow, r.answered, r.direct_inflow, r.transfer_out, r.rated, r.very_satisfied]),
    [
      ['chatwoot', 1, 1, 1, 0, 0, 0],
      ['cw-team-1', 2, 1, 1, 1, 1, 1],
      ['cw-team-2', 2, 0, 2, 0, 0, 0],
    ],
  );
  const ad = await queryRows(url, { report: 'agent_daily', ...day, metrics: ['answered', 'transfer_out', 'avg_first_response_seconds', 'rated'] });
  // Alice (11): answered A at 50.5 (the save's updated_at, 50 s + 500 ms), first reply at 60 → 9.5 s;
  // gave it away at 100.5. Bob (12): A from 100.5 (rated 5), D from 400; he wrote nothing: no first response.
  assert.deepEqual(
    ad.rows.map((r) => [r.agent_id, r.answered, r.transfer_out, r.avg_first_response_seconds, r.rated]),
    [
      ['cw-agent-11', 1, 1, 9.5, 0],
      ['cw-agent-12', 2, 0, null, 1],
    ],
  );
  const s = await queryRows(url, { report: 'sessions', ...day });
  // Sessions that reached a human: A (Alice then Bob, 售前, first answer 50.5 → end 200.5 = 150 s, 非常满意),
  // D (Bob, still open: no duration yet).
  // B and C never reached an agent.
  assert.deepEqual(
    s.rows.map((r) => [r.service_id, r.agents, r.groups, r.duration_seconds, r.satisfaction, r.user_id]).sort(),
    [
      ['cw-3-101', 'cw-agent-11,cw-agent-12', 'cw-team-1', 150, '非常满意', 'cw-contact-601'],
      ['cw-3-104', 'cw-agent-12', 'chatwoot', null, null, 'cw-contact-604'],
    ],
  );
}
