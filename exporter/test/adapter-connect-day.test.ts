/**
 * A generated day of Amazon Connect contact events (hundreds of calls: answered, abandoned, transferred
 * on to another queue, still waiting), delivered shuffled in EventBridge batches, reconciled in 报表
 * and 监控 against what the generator itself did.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dayStartMs, localDay } from '../src/time.js';
import type { Exporter } from '../src/exporter.js';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { liveRows } from './helpers/live.js';
import { queryRows } from './helpers/reports.js';
import { waitFor } from './helpers/faults.js';
import {
  agentArn,
  agentRecord,
  eventBridge,
  firehoseDelivery,
  iso,
  postConnect,
  startConnectExporter,
  queueArn,
  type AgentDef,
} from './adapter-connect.helpers.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

const TZ = 'Asia/Shanghai';
const S = 1000;
const H = 3600 * S;
const DAY = localDay(Date.now() - 24 * H, TZ);
const B = dayStartMs(DAY, TZ);
// 监控 looks at the day at 20:00; the calls run from 09:00, the last ones still wait at 20:00.
const NOW = B + 20 * H;
const CONTACTS = 400;
const GRACE = 8;
const TOKEN = 'tok-day-0123456789abcdef';

function rng(seed: number): () => number {
  // mulberry32: a small seeded generator, so the day is the same on every run.
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GROUPS = ['q-a', 'q-b', 'q-c'];
const AGENTS: AgentDef[] = Array.from({ length: 6 }, (_, i) => ({
  id: `ag-${i}`,
  first: `Agent${i}`,
  last: 'Day',
  username: `u${i}`,
  queues: [{ id: GROUPS[i % 3], name: GROUPS[i % 3].toUpperCase() }],
}));

interface Expected {
  inflow: Map<string, number>;
  /** Sessions credited to the group of their last answered leg (应答量). */
  credited: Map<string, number>;
  abandoned: Map<string, number>;
  waiting: Map<string, number>;
  answeredLegs: Map<string, number>;
  /** Distinct sessions each agent answered. */
  agentAnswered: Map<string, number>;
}

/** The day, as EventBridge events, and what metrics.md makes of it, counted while generating. */
function generate(): { events: Record<string, unknown>[]; want: Expected } {
  const r = rng(19);
  const inc = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const want: Expected = {
    inflow: new Map(),
    credited: new Map(),
    abandoned: new Map(),
    waiting: new Map(),
    answeredLegs: new Map(),
    agentAnswered: new Map(),
  };
  const events: Record<string, unknown>[] = [];
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const send = (id: string, type: string, at: number, detail: Record<string, unknown>) =>
    events.push(eventBridge(`eb-${id}-${type}`, at, { eventType: type, contactId: id, channel: 'VOICE', instanceArn: 'arn', ...detail }));
  for (let i = 0; i < CONTACTS; i++) {
    const s = `g${i}`;
    const waitingAtEnd = i >= CONTACTS - 20;
    // The last 20 calls come in after 19:50 and still wait at 20:00; the others spread over 09:00–19:00.
    const t0 = waitingAtEnd ? NOW - 600 * S + (i - (CONTACTS - 20)) * 20 * S : B + 9 * H + Math.floor((i * 10 * H) / CONTACTS);
    const g = pick(GROUPS);
    const init = { initiationMethod: 'INBOUND', initiationTimestamp: iso(t0) };
    const q = { ...init, queueInfo: { queueArn: queueArn(g), enqueueTimestamp: iso(t0 + 5 * S) } };
    send(s, 'INITIATED', t0, init);
    send(s, 'QUEUED', t0 + 5 * S, q);
    inc(want.inflow, g);
    if (waitingAtEnd) {
      inc(want.waiting, g);
      continue;
    }
    const wait = Math.floor(r() * 60) * S;
    const fate = r();
    if (fate < 0.15) {
      // Hangs up in the queue: an abandon.
      send(s, 'DISCONNECTED', t0 + 5 * S + wait, { ...q, disconnectTimestamp: iso(t0 + 5 * S + wait) });
      inc(want.abandoned, g);
      continue;
    }
    const a = pick(AGENTS.filter((x) => x.queues[0].id === g));
    const tc = t0 + 5 * S + wait;
    const qa = { ...q, agentInfo: { agentArn: agentArn(a.id), connectedToAgentTimestamp: iso(tc) } };
    send(s, 'CONNECTED_TO_AGENT', tc, qa);
    inc(want.answeredLegs, g);
    inc(want.agentAnswered, a.id);
    const talk = (30 + Math.floor(r() * 300)) * S;
    if (fate < 0.7) {
      send(s, 'DISCONNECTED', tc + talk, { ...qa, disconnectTimestamp: iso(tc + talk) });
      inc(want.credited, g);
      continue;
    }
    // The agent transfers the call to another queue: a new contact continues the chain.
    const h = pick(GROUPS.filter((x) => x !== g));
    const c2 = `${s}-t`;
    const tt = tc + talk;
    const init2 = { initialContactId: s, previousContactId: s, initiationMethod: 'TRANSFER', initiationTimestamp: iso(tt) };
    const q2 = { ...init2, queueInfo: { queueArn: queueArn(h), enqueueTimestamp: iso(tt + 4 * S) } };
    send(c2, 'INITIATED', tt, init2);
    send(s, 'DISCONNECTED', tt + 2 * S, { ...qa, disconnectTimestamp: iso(tt + 2 * S) });
    send(c2, 'QUEUED', tt + 4 * S, q2);
    inc(want.inflow, h);
    const wait2 = Math.floor(r() * 60) * S;
    if (r() < 0.3) {
      send(c2, 'DISCONNECTED', tt + 4 * S + wait2, { ...q2, disconnectTimestamp: iso(tt + 4 * S + wait2) });
      inc(want.abandoned, h);
      // Abandoned after the transfer: the session's last answered leg is still the first one.
      inc(want.credited, g);
      continue;
    }
    const b = pick(AGENTS.filter((x) => x.queues[0].id === h));
    const tc2 = tt + 4 * S + wait2;
    const qa2 = { ...q2, agentInfo: { agentArn: agentArn(b.id), connectedToAgentTimestamp: iso(tc2) } };
    send(c2, 'CONNECTED_TO_AGENT', tc2, qa2);
    send(c2, 'DISCONNECTED', tc2 + talk, { ...qa2, disconnectTimestamp: iso(tc2 + talk) });
    inc(want.answeredLegs, h);
    if (b.id !== a.id) inc(want.agentAnswered, b.id);
    inc(want.credited, h);
  }
  // Delivered in no order at all: a seeded shuffle of the whole day.
  for (let i = events.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [events[i], events[j]] = [events[j], events[i]];
  }
  return { events, want };
}

describe('Amazon Connect: a generated day, delivered shuffled', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  before(async () => {
    db = await freshDatabase();
    exporter = await startConnectExporter(db.url, NOW, { connectTokens: new Map([[TOKEN, 'default']]), connectEndGraceSeconds: GRACE });
  });
  after(async () => {
    await exporter.close();
    await db.drop();
  });

  it('When the day is posted in shuffled batches, then every queue reconciles: entered = answered + abandoned + still queued', async () => {
    const { events, want } = generate();
    const logins = AGENTS.map((a) => agentRecord(`e-login-${a.id}`, 'LOGIN', a, B + 8.5 * H, ['Available', B + 8.5 * H]));
    assert.equal((await postConnect(exporter.url, firehoseDelivery('fh-day', logins), { firehoseKey: TOKEN })).status, 200);
    let accepted = 0;
    for (let i = 0; i < events.length; i += 250) {
      const r = await postConnect(exporter.url, events.slice(i, i + 250), { bearer: TOKEN });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.problems, []);
      accepted += r.body.accepted;
    }
    assert.ok(accepted > 0);
    const totalAbandoned = [...want.abandoned.values()].reduce((a, b) => a + b, 0);
    await waitFor(
      'every disconnect to be past the grace',
      async () => {
        const g = await liveRows(exporter.url, { report: 'live_groups', metrics: ['abandoned', 'in_conversation'] });
        const abandoned = g.reduce((a, x) => a + (x.abandoned as number), 0);
        return abandoned === totalAbandoned && g.every((x) => x.in_conversation === 0) ? true : undefined;
      },
      (GRACE + 30) * S,
    );

    const get = (m: Map<string, number>, k: string) => m.get(k) ?? 0;
    const live = await liveRows(exporter.url, { report: 'live_groups', metrics: ['inflow', 'answered', 'abandoned', 'queue_length'] });
    const daily = (await queryRows(exporter.url, { report: 'group_daily', from: DAY, to: DAY, metrics: ['inflow', 'answered'] })).rows;
    const slots = (await queryRows(exporter.url, { report: 'group_slot', from: DAY, to: DAY, metrics: ['inflow', 'answered', 'lost'] }))
      .rows;
    for (const g of GROUPS) {
      const l = live.find((x) => x.group_id === g)!;
      // 监控 per group: legs entered = legs answered + abandoned + still queued (no rejects here).
      assert.deepEqual(
        [l.inflow, l.answered, l.abandoned, l.queue_length],
        [get(want.inflow, g), get(want.answeredLegs, g), get(want.abandoned, g), get(want.waiting, g)],
        g,
      );
      assert.equal(l.inflow, (l.answered as number) + (l.abandoned as number) + (l.queue_length as number), `${g} reconciles`);
      // 报表: legs entered, and sessions credited to the group of their last answered leg.
      const d = daily.find((x) => x.group_id === g)!;
      assert.deepEqual([d.inflow, d.answered], [get(want.inflow, g), get(want.credited, g)], g);
      // group_slot adds up to group_daily over the hours, and lost = inflow − answered in each.
      const mine = slots.filter((x) => x.group_id === g);
      assert.equal(
        mine.reduce((a, x) => a + (x.inflow as number), 0),
        d.inflow,
      );
      for (const x of mine) assert.equal(x.lost, (x.inflow as number) - (x.answered as number));
    }
    const agents = (await queryRows(exporter.url, { report: 'agent_daily', from: DAY, to: DAY, metrics: ['answered'] })).rows;
    assert.deepEqual(
      Object.fromEntries(agents.map((x) => [x.agent_id, x.answered]).filter(([, n]) => (n as number) > 0)),
      Object.fromEntries([...want.agentAnswered].sort()),
    );
  });
});
