import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { liveRows, post, scrape, series, startLiveExporter, type Clock } from './helpers/live.js';
import type { Exporter } from '../src/exporter.js';
import { dayStartMs, localDay } from '../src/time.js';

const TZ = 'Asia/Shanghai';
// B is today's local midnight; the story starts yesterday evening.
const B = dayStartMs(localDay(Date.now(), TZ), TZ);
const S = 1000;
const H = 3600 * S;

describe('Live monitoring across the local midnight', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  const clock: Clock = { ms: B - 60 * S };
  before(async () => {
    db = await freshDatabase();
    exporter = await startLiveExporter(db.url, clock);
    await post(exporter.url, [
      [B - 48 * H, { type: 'agent.upsert', agentId: 'a1', name: '张三', workNo: '1001', groups: ['g1'] }],
      [B - 2 * H, { type: 'agent.status', agentId: 'a1', status: 'online' }],
      // m1: queued 23:55, answered 23:56 (wait 60 s), still talking at midnight.
      [B - 300 * S, { type: 'session.queue', sessionId: 'm1', groupId: 'g1', via: 'direct' }],
      [B - 240 * S, { type: 'session.answer', sessionId: 'm1', groupId: 'g1', agentId: 'a1' }],
      // m2: queued 23:58, still waiting at midnight.
      [B - 120 * S, { type: 'session.queue', sessionId: 'm2', groupId: 'g1', via: 'direct' }],
      // m3: queued 23:50, gave up 23:51:40.
      [B - 600 * S, { type: 'session.queue', sessionId: 'm3', groupId: 'g1', via: 'direct' }],
      [B - 500 * S, { type: 'session.abandon', sessionId: 'm3', groupId: 'g1' }],
    ]);
  });
  after(async () => {
    await exporter?.close();
    await db?.drop();
  });

  const pick = (row: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, row[k]]));
  const KEYS = [
    'inflow',
    'answered',
    'answer_rate',
    'abandoned',
    'queue_length',
    'longest_wait_seconds',
    'in_conversation',
    'avg_talk_seconds',
  ];

  it('When it is 23:59, then yesterday evening is "today"', async () => {
    const [o] = await liveRows(exporter.url, { report: 'live_overview' });
    assert.deepEqual(pick(o, KEYS), {
      inflow: 3, // m1, m2, m3
      answered: 1, // m1
      answer_rate: 1 / 3,
      abandoned: 1, // m3
      queue_length: 1, // m2
      longest_wait_seconds: 60, // 23:59 − 23:58
      in_conversation: 1, // m1
      avg_talk_seconds: null, // no part ended
    });
    const [a] = await liveRows(exporter.url, { report: 'live_agents' });
    // Online since 22:00: 2 h − 60 s = 7140 s.
    assert.deepEqual(pick(a, ['first_online_at', 'online_seconds']), { first_online_at: B - 2 * H, online_seconds: 7140 });
  });

  it("When the clock passes local midnight, then today's counters start from zero but queues and conversations carry on", async () => {
    clock.ms = B + 60 * S;
    const [o] = await liveRows(exporter.url, { report: 'live_overview' });
    assert.deepEqual(pick(o, KEYS), {
      inflow: 0,
      answered: 0,
      answer_rate: null,
      abandoned: 0,
      queue_length: 1,
      longest_wait_seconds: 180, // 00:01 − 23:58
      in_conversation: 1,
      avg_talk_seconds: null,
    });
    const [a] = await liveRows(exporter.url, { report: 'live_agents' });
    // Still online, so the day starts online at 00:00: 60 s so far.
    assert.deepEqual(pick(a, ['first_online_at', 'online_seconds', 'status_seconds']), {
      first_online_at: B,
      online_seconds: 60,
      status_seconds: (2 * H) / S + 60,
    });
    const m = await scrape(exporter.url);
    // Started again at 0 (a known group's counters are exposed from 0, so the first one of the day is an increase).
    assert.equal(m.get(series('cs_sessions_inflow_total', { tenant: 'default', group: 'g1', via: 'direct' })), 0);
    assert.equal(m.get(series('cs_sessions_abandoned_total', { tenant: 'default', group: 'g1' })), 0);
    assert.equal(m.get(series('cs_queue_length', { tenant: 'default', group: 'g1' })), 1);
  });

  it("When yesterday's waiting session is answered and the talk ends after midnight, then they count today", async () => {
    await post(exporter.url, [
      // m2 answered 00:00:30 (wait 150 s: its leg entered yesterday, so today's inflow stays 0).
      [B + 30 * S, { type: 'session.answer', sessionId: 'm2', groupId: 'g1', agentId: 'a1' }],
      // m1 ends 00:00:50: a part of 290 s (23:56 → 00:00:50) ended today.
      [B + 50 * S, { type: 'session.end', sessionId: 'm1' }],
    ]);
    // A restart after midnight must not bring yesterday's figures back.
    await exporter.close();
    exporter = await startLiveExporter(db.url, clock);
    const [o] = await liveRows(exporter.url, { report: 'live_overview' });
    assert.deepEqual(pick(o, KEYS), {
      inflow: 0,
      answered: 1,
      answer_rate: null, // 1 / 0
      abandoned: 0,
      queue_length: 0,
      longest_wait_seconds: 0,
      in_conversation: 1, // m2
      avg_talk_seconds: 290,
    });
    // a1 switches to a custom status at 00:00:55: it shows its own label and counts as 小休人数.
    await post(exporter.url, [[B + 55 * S, { type: 'agent.status', agentId: 'a1', status: 'custom', label: '培训复盘' }]]);
    const [a] = await liveRows(exporter.url, { report: 'live_agents' });
    assert.deepEqual(pick(a, ['status', 'status_label', 'status_seconds', 'online_seconds']), {
      status: 'custom',
      status_label: '培训复盘',
      status_seconds: 5, // 00:01:00 − 00:00:55
      online_seconds: 60, // a custom status is work time too
    });
    const [g] = await liveRows(exporter.url, { report: 'live_groups' });
    assert.deepEqual(pick(g, ['agents_online', 'agents_break', 'agents_offline']), {
      agents_online: 0,
      agents_break: 1,
      agents_offline: 0,
    });
    assert.deepEqual(await liveRows(exporter.url, { report: 'live_groups', groups: ['nope'] }), []);
    const m = await scrape(exporter.url);
    assert.equal(m.get(series('cs_agents', { tenant: 'default', group: 'g1', status: 'custom' })), 1);
    assert.equal(m.get(series('cs_agents', { tenant: 'default', group: 'g1', status: 'online' })), 0);
    assert.equal(m.get(series('cs_agent_status', { tenant: 'default', agent: 'a1', status: 'custom' })), 1);
    // The 150 s wait lands in the le=180 bucket, not le=120.
    assert.equal(m.get(series('cs_queue_wait_seconds_bucket', { tenant: 'default', group: 'g1', le: '120' })), 0);
    assert.equal(m.get(series('cs_queue_wait_seconds_bucket', { tenant: 'default', group: 'g1', le: '180' })), 1);
    assert.equal(m.get(series('cs_sessions_answered_total', { tenant: 'default', group: 'g1' })), 1);
  });
});
