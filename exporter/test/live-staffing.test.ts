/**
 * 需要人数 and 预计服务水平, live: a small center whose figures are worked through Erlang C by hand
 * (docs/live-monitoring.md, "需要人数"), seen on /metrics and in live_groups.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { liveRows, post, scrape, series, startLiveExporter, type Clock } from './helpers/live.js';
import type { Exporter } from '../src/exporter.js';
import { parseServiceTargets } from '../src/staffing/targets.js';
import { dayStartMs, localDay } from '../src/time.js';

const TZ = 'Asia/Shanghai';
const B = dayStartMs(localDay(Date.now(), TZ), TZ);
const S = 1000;
const M = 60 * S;
// Looked at 10:00:00 local, on a minute: the arrival window runs from 09:45:00 (15 minutes), the
// handling-time window from 09:00:00.
const NOW = B + 10 * 60 * M;
const ago = (ms: number) => NOW - ms;

const master: [number, Record<string, unknown>][] = [
  [B - 48 * 60 * M, { type: 'group.upsert', groupId: 'g1', name: '售前咨询' }],
  [B - 48 * 60 * M, { type: 'group.upsert', groupId: 'g2', name: '售后服务' }],
  [B - 48 * 60 * M, { type: 'group.upsert', groupId: 'g3', name: '夜间热线' }],
  [B - 48 * 60 * M, { type: 'group.upsert', groupId: 'g4', name: '新开技能组' }],
  [B - 48 * 60 * M, { type: 'agent.upsert', agentId: 'a1', name: '张三', groups: ['g1', 'g2'], maxSessions: 2 }],
  [B - 48 * 60 * M, { type: 'agent.upsert', agentId: 'a2', name: '李四', groups: ['g1', 'g2'], maxSessions: 3 }],
  [B - 48 * 60 * M, { type: 'agent.upsert', agentId: 'a3', name: '王五', groups: ['g3'], maxSessions: 1 }],
  [B + 8 * 60 * M, { type: 'agent.status', agentId: 'a1', status: 'online' }],
  [B + 8 * 60 * M, { type: 'agent.status', agentId: 'a2', status: 'online' }],
  // a3 worked the night and went home: g3 has a member, nobody online.
  [B + 1 * 60 * M, { type: 'agent.status', agentId: 'a3', status: 'online' }],
  [B + 8 * 60 * M + 30 * S, { type: 'agent.status', agentId: 'a3', status: 'offline' }],
];

/** A session queued in `group`, answered by `agent` at once and ended `secs` later. */
function part(sid: string, group: string, agent: string, queuedMs: number, secs: number): [number, Record<string, unknown>][] {
  return [
    [queuedMs, { type: 'session.queue', sessionId: sid, groupId: group, via: 'direct' }],
    [queuedMs, { type: 'session.answer', sessionId: sid, groupId: group, agentId: agent }],
    [queuedMs + secs * S, { type: 'session.end', sessionId: sid, by: 'user' }],
  ];
}
const waiting = (sid: string, group: string, queuedMs: number): [number, Record<string, unknown>] => [
  queuedMs,
  { type: 'session.queue', sessionId: sid, groupId: group, via: 'direct' },
];

// g1: parts ended in the last hour last 120, 240, 180 and 180 s (queued 50, 45, 40 and 35 minutes ago,
// outside the arrival window); one of 300 s ended 90 minutes ago, outside the hour.
const g1Parts = [
  ...part('p1', 'g1', 'a1', ago(50 * M), 120),
  ...part('p2', 'g1', 'a2', ago(45 * M), 240),
  ...part('p3', 'g1', 'a1', ago(40 * M), 180),
  ...part('p4', 'g1', 'a2', ago(35 * M), 180),
  ...part('p0', 'g1', 'a1', ago(95 * M), 300),
];
// g1: ten requests in the arrival window (from 09:45:00 on, one a minute, still waiting), one before it.
const g1Waiting = [
  ...Array.from({ length: 10 }, (_, k) => waiting(`q${k}`, 'g1', ago(15 * M) + k * M)),
  waiting('q-old', 'g1', ago(16 * M)),
];
// g3: a part of 300 s ended at 08:00, two hours ago (today, outside the hour); three requests now.
const g3 = [
  ...part('n1', 'g3', 'a3', B + 8 * 60 * M - 300 * S, 300),
  waiting('n2', 'g3', ago(10 * M)),
  waiting('n3', 'g3', ago(5 * M)),
  waiting('n4', 'g3', ago(1 * M)),
];
// g4: a first request, and no part ever ended: no handling time to work with.
const g4 = [waiting('f1', 'g4', ago(2 * M))];

// Hand-worked (Erlang C, M/M/N; SL = 1 − P(wait)·e^(−(N−A)·T/AHT)):
// g1: λ = 10 in 15 min = 40/h; AHT = (120 + 240 + 180 + 180) / 4 = 180 s (the 300 s part is past the hour);
//     A = 40/3600 × 180 = 2 Erlangs. Concurrency: a1 (2) and a2 (3) online, mean 2.5, rounded down: 2.
//     Target 90 % in 20 s (CS_SERVICE_LEVEL_TARGETS below).
//     N = 4: A^4/4!·4/(4−2) = 1.3333; Σ_{k<4} A^k/k! = 1 + 2 + 2 + 1.3333 = 6.3333; P(wait) = 1.3333/7.6667 = 0.173913;
//            SL = 1 − 0.173913·e^(−2·20/180) = 1 − 0.173913·0.800737 = 0.860742 < 0.9.
//     N = 5: A^5/5!·5/3 = 0.444444; Σ_{k<5} = 7.0; P(wait) = 0.444444/7.444444 = 0.059701;
//            SL = 1 − 0.059701·e^(−3·20/180) = 1 − 0.059701·0.716531 = 0.957222 ≥ 0.9 → 5 servers.
//     需要人数 = ⌈5 / 2⌉ = 3; the 2 online serve 2 × 2 = 4 servers: 预计服务水平 = 0.860742.
// g2: the same agents, nothing arrives: 需要人数 0, 预计服务水平 1.
// g3: λ = 3 in 15 min = 12/h; no part in the hour, today's mean is 300 s; A = 12/3600 × 300 = 1 Erlang.
//     Nobody online: concurrency from the members, a3's 1. Target 80 % in 20 s (the default).
//     N = 2: P(wait) = (1/2·2)/(1 + 1 + 1) = 1/3; SL = 1 − 1/3·e^(−20/300) = 1 − 0.333333·0.935507 = 0.688164 < 0.8.
//     N = 3: A^3/3!·3/2 = 0.25; Σ_{k<3} = 2.5; P(wait) = 0.25/2.75 = 0.090909; SL = 1 − 0.090909·e^(−2·20/300)
//            = 1 − 0.090909·0.875173 = 0.920439 → 需要人数 3; nobody online: 预计服务水平 0.
// g4: λ = 4/h but no handling time known: no figure (empty in live_groups, no series on /metrics).
const EXPECTED = {
  g1: { agents_required: 3, service_level_expected: 0.860742, arrivals_per_hour: 40, recent_aht_seconds: 180, concurrency: 2 },
  g2: { agents_required: 0, service_level_expected: 1, arrivals_per_hour: 0, recent_aht_seconds: null, concurrency: 2 },
  g3: { agents_required: 3, service_level_expected: 0, arrivals_per_hour: 12, recent_aht_seconds: 300, concurrency: 1 },
  g4: { agents_required: null, service_level_expected: null, arrivals_per_hour: 4, recent_aht_seconds: null, concurrency: 1 },
};

const near = (actual: unknown, expected: number | null, what: string) => {
  if (expected === null) return assert.equal(actual, null, what);
  assert.equal(typeof actual, 'number', what);
  assert.ok(Math.abs((actual as number) - expected) < 1e-5, `${what}: ${actual} ≠ ${expected}`);
};

describe('Live 需要人数 and 预计服务水平 (Erlang C)', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  const clock: Clock = { ms: NOW };
  before(async () => {
    db = await freshDatabase();
    const overrides = { serviceTargets: parseServiceTargets('default:g1=90/20') };
    exporter = await startLiveExporter(db.url, clock, overrides);
    await post(exporter.url, master);
    // Each session in two batches: a session derived again must not count twice.
    const all = [...g1Parts, ...g1Waiting, ...g3, ...g4];
    await post(
      exporter.url,
      all.filter((_, i) => i % 2 === 0),
    );
    await post(
      exporter.url,
      all.filter((_, i) => i % 2 === 1),
    );
    // And after a restart, the figures come back from Postgres.
    await exporter.close();
    exporter = await startLiveExporter(db.url, clock, overrides);
  });
  after(async () => {
    await exporter?.close();
    await db?.drop();
  });

  it('When live_groups is asked, then each group shows its 需要人数, 预计服务水平 and the inputs behind them', async () => {
    const rows = await liveRows(exporter.url, { report: 'live_groups' });
    assert.deepEqual(
      rows.map((r) => r.group_id),
      ['g1', 'g2', 'g3', 'g4'],
    );
    for (const r of rows) {
      const e = EXPECTED[r.group_id as keyof typeof EXPECTED];
      for (const [k, v] of Object.entries(e)) near(r[k], v, `${r.group_id} ${k}`);
    }
    assert.deepEqual(
      rows.map((r) => [r.agents_online, r.service_level_target, r.service_level_target_seconds]),
      [
        [2, 0.9, 20],
        [2, 0.8, 20],
        [0, 0.8, 20],
        [0, 0.8, 20],
      ],
    );
  });

  it('When /metrics is scraped, then cs_agents_required and cs_service_level_expected carry the same figures', async () => {
    const m = await scrape(exporter.url);
    for (const [g, e] of Object.entries(EXPECTED)) {
      const l = { tenant: 'default', group: g };
      near(m.get(series('cs_agents_required', l)) ?? null, e.agents_required, `${g} cs_agents_required`);
      near(m.get(series('cs_service_level_expected', l)) ?? null, e.service_level_expected, `${g} cs_service_level_expected`);
    }
    // 人手不足 compares these two: g1 and g3 are short.
    assert.equal(m.get(series('cs_agents', { tenant: 'default', group: 'g1', status: 'online' })), 2);
  });

  it('When the window moves on, then requests and parts that fell out of it no longer count', async () => {
    // At 10:20:30 the arrival window starts at 10:05:00: the ten g1 requests (09:45–09:54) are out; the hour
    // starts at 09:20:00: p1 and p2 (ended 09:12, 09:19) are out, p3 and p4 (180 s each, ended 09:23, 09:28)
    // count. Nothing arrives: g1 needs nobody, the two online give 100 %. (Last: the minutes let go stay gone.)
    clock.ms = NOW + 20 * M + 30 * S;
    const [g1] = await liveRows(exporter.url, { report: 'live_groups', groups: ['g1'] });
    near(g1.arrivals_per_hour, 0, 'arrivals');
    near(g1.recent_aht_seconds, 180, 'aht');
    near(g1.agents_required, 0, 'required');
    near(g1.service_level_expected, 1, 'service level');
  });
});
