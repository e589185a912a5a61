/**
 * The one session model (src/session/model.ts): its rules as table tests.
 * The three cases of issue 14, where live monitoring and the T+1 reports used
 * to disagree, run through the real exporter too (ingest → live state, and
 * the rollup), with the figures of both sides worked out by hand.
 * Decisions: docs/reports.md, "One session model".
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { contributions, key } from '../src/live/derive.js';
import { compareEvents, deriveSession, type SessionEvent } from '../src/session/model.js';
import { addDays, localDay } from '../src/time.js';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { uid } from './helpers/events.js';
import { deliver, liveFigures, reportFigures, startTwoSides, TZ, type TwoSides } from './helpers/two-sides.js';

let seq = 0;
const e = (s: number, type: string, f: Partial<SessionEvent> = {}): SessionEvent => ({ type, timeMs: s * 1000, seq: ++seq, ...f });
const legs = (events: SessionEvent[]) =>
  deriveSession(events).legs.map((l) => [
    l.groupId,
    l.via,
    l.outcome,
    l.answeredAtMs === null ? null : (l.answeredAtMs - l.queuedAtMs) / 1000,
    l.endedBy,
  ]);
/** The live counters of a session whose events all fall in the window. */
const counters = (events: SessionEvent[]) => Object.fromEntries([...contributions(deriveSession(events), 0, 1e12)].sort());

describe('Session model: the leg rules of metrics.md', () => {
  it('When a timeout transfer is followed by an answer with no queue, then a zero-wait transfer leg opens and is credited', () => {
    const f = deriveSession([
      e(0, 'session.queue', { groupId: 'g1', via: 'direct' }),
      e(5, 'session.answer', { groupId: 'g1', agentId: 'a1' }),
      e(60, 'session.transfer', { agentId: 'a1', reason: 'timeout' }),
      e(61, 'session.answer', { groupId: 'g2', agentId: 'a2' }),
      e(100, 'session.end'),
    ]);
    assert.deepEqual(
      f.legs.map((l) => [l.groupId, l.via, l.outcome, l.endedBy]),
      [
        ['g1', 'direct', 'transferred', 'timeout'],
        ['g2', 'transfer', 'ended', 'end'],
      ],
    );
    assert.equal(f.credited, 1);
    // 5 → 60: 55 s; 61 → 100: the second part lasts 39 s.
    assert.deepEqual(
      f.parts.map((p) => [(p.endedAtMs! - p.startedAtMs) / 1000, p.endedBy]),
      [
        [55, 'timeout'],
        [39, 'end'],
      ],
    );
  });

  it('When the first answer has no queue, then the leg is direct with zero wait', () => {
    assert.deepEqual(legs([e(0, 'session.answer', { groupId: 'g1', agentId: 'a1' }), e(9, 'session.end')]), [
      ['g1', 'direct', 'ended', 0, 'end'],
    ]);
  });

  it('When a reject follows no open leg, then it opens none and counts only as 转人工失败', () => {
    const f = deriveSession([
      e(0, 'session.reject', { groupId: 'g1', reason: 'off_hours' }),
      e(1, 'session.queue', { groupId: 'g1', via: 'direct' }),
    ]);
    assert.deepEqual(
      f.legs.map((l) => l.outcome),
      ['queued'],
    );
    assert.deepEqual(
      f.rejects.map((r) => [r.groupId, r.reason, r.leg]),
      [['g1', 'off_hours', null]],
    );
  });

  it('When events arrive out of order, then the session is the same as in the one event order', () => {
    const inOrder = [
      e(0, 'session.queue', { groupId: 'g1', via: 'direct' }),
      e(5, 'session.answer', { groupId: 'g1', agentId: 'a1' }),
      e(6, 'session.message', { from: 'user' }),
      e(9, 'session.message', { from: 'agent', agentId: 'a1' }),
      e(20, 'session.end'),
    ];
    assert.deepEqual(deriveSession([...inOrder].reverse()), deriveSession(inOrder));
    // First response 9 − 5 = 4 s; one reply run 9 − 6 = 3 s.
    const p = deriveSession(inOrder).parts[0];
    assert.deepEqual([p.firstResponseAtMs! - p.startedAtMs, p.replySumMs, p.replyCount], [4000, 3000, 1]);
  });

  it('When events share a millisecond, then they are taken by the documented rank, arrival order last', () => {
    // Arrival order (seq) is the reverse of the rank: the rank wins.
    const same = [
      'session.summary',
      'session.end',
      'session.rate',
      'session.abandon',
      'session.invite',
      'session.message',
      'session.answer',
      'session.queue',
      'session.transfer',
      'session.start',
    ].map((type, i) => ({ type, timeMs: 1000, seq: i }) as SessionEvent);
    assert.deepEqual(
      [...same].sort(compareEvents).map((x) => x.type),
      [...same].reverse().map((x) => x.type),
    );
    // Equal rank (abandon, reject): arrival order.
    const a = { type: 'session.reject', timeMs: 1, seq: 1 } as SessionEvent;
    const b = { type: 'session.abandon', timeMs: 1, seq: 2 } as SessionEvent;
    assert.deepEqual([b, a].sort(compareEvents), [a, b]);
  });
});

describe('Session model: the three cases of issue 14, in the model and its live counters', () => {
  it('When the answer names another group than the queue, then the queued leg overflows and the answering group gets a zero-wait overflow leg', () => {
    const evs = [
      e(0, 'session.queue', { groupId: 'g1', via: 'direct' }),
      e(30, 'session.answer', { groupId: 'g2', agentId: 'a2' }),
      e(90, 'session.end'),
      e(95, 'session.rate', { score: 5 }),
    ];
    // g1: queued at 0, left unanswered at 30 (overflow). g2: entered and answered at 30 (wait 0), ended at 90.
    assert.deepEqual(legs(evs), [
      ['g1', 'direct', 'overflow', null, null],
      ['g2', 'overflow', 'ended', 0, 'end'],
    ]);
    const f = deriveSession(evs);
    assert.equal(f.credited, 1);
    assert.equal(f.parts[0].groupId, 'g2');
    // Live: inflow 1 in each group (g2 via overflow), g2 answered with wait 0 (bucket le=5, index 0), one part
    // of 60 s in g2, the rating 5 credited to g2 / a2.
    assert.deepEqual(counters(evs), {
      [key('a_answered', 'a2')]: 1,
      [key('a_part_secs', 'a2')]: 60,
      [key('a_parts', 'a2')]: 1,
      [key('a_rating', 'a2', 5)]: 1,
      [key('answered', 'g2')]: 1,
      [key('inflow', 'g1', 'direct')]: 1,
      [key('inflow', 'g2', 'overflow')]: 1,
      [key('part_secs', 'g2')]: 60,
      [key('parts', 'g2')]: 1,
      [key('rating', 'g2', 5)]: 1,
      [key('t_answered')]: 1,
      [key('t_inflow')]: 1,
      [key('wait', 'g2', 0)]: 1,
      [key('wait_sum', 'g2')]: 0,
    });
  });

  it('When the session ends while still queued, then the leg is abandoned (排队放弃), whoever ended it', () => {
    for (const by of ['user', 'system', undefined]) {
      const evs = [
        e(0, 'session.queue', { groupId: 'g1', via: 'direct' }),
        e(45, 'session.end', by ? ({ by } as Partial<SessionEvent>) : {}),
      ];
      assert.deepEqual(legs(evs), [['g1', 'direct', 'abandoned', null, null]]);
      assert.equal(deriveSession(evs).legs[0].endedAtMs, 45_000);
      // Live: one leg in, one abandon, nothing answered.
      assert.deepEqual(counters(evs), { [key('abandoned', 'g1')]: 1, [key('inflow', 'g1', 'direct')]: 1, [key('t_inflow')]: 1 });
    }
    // An explicit abandon then the end: still one abandon.
    const both = [
      e(0, 'session.queue', { groupId: 'g1', via: 'direct' }),
      e(40, 'session.abandon', { groupId: 'g1' }),
      e(41, 'session.end'),
    ];
    assert.equal(counters(both)[key('abandoned', 'g1')], 1);
  });

  it('When a transfer and the re-queue share a millisecond and the re-queue arrives first, then the manual transfer still counts', () => {
    // Arrival order: the queue (seq lower) before the transfer.
    const q = e(60, 'session.queue', { groupId: 'g2', via: 'transfer' });
    const t = e(60, 'session.transfer', { agentId: 'a1', reason: 'manual' });
    const evs = [
      e(0, 'session.queue', { groupId: 'g1', via: 'direct' }),
      e(10, 'session.answer', { groupId: 'g1', agentId: 'a1' }),
      q,
      t,
      e(70, 'session.answer', { groupId: 'g2', agentId: 'a2' }),
      e(120, 'session.end'),
    ];
    assert.ok(q.seq < t.seq);
    // g1: waited 10 s, a1's part 10 → 60 ended by the manual transfer; g2: waited 10 s, part 70 → 120.
    assert.deepEqual(legs(evs), [
      ['g1', 'direct', 'transferred', 10, 'manual'],
      ['g2', 'transfer', 'ended', 10, 'end'],
    ]);
    const c = counters(evs);
    assert.equal(c[key('transfers', 'g1', 'manual')], 1);
    assert.equal(c[key('a_transfers', 'a1', 'manual')], 1);
    assert.equal(deriveSession(evs).credited, 1);
  });
});

// A past day, so the rollup is final; every event falls on it, at 10:00 local and after.
const DAY = addDays(localDay(Date.now(), TZ), -4);

describe('Session model: the three cases of issue 14 through the real exporter, 监控 vs 报表', () => {
  let db: TestDatabase;
  let s: TwoSides;
  const at = (secs: number) => s.fromMs + 10 * 3600_000 + secs * 1000;
  const send = (tenant: string, evs: [number, Record<string, unknown>][]) =>
    deliver(
      s,
      evs.map(([secs, body]) => ({ id: uid(tenant), tenant, time: at(secs), ...body })),
    );

  before(async () => {
    db = await freshDatabase();
    s = await startTwoSides(db, DAY);
  });
  after(async () => {
    await s?.exporter.close();
    await db?.drop();
  });

  it('Case 1: the answer names another group than the queue — both sides: g1 1 in, 0 answered; g2 1 in, 1 answered, the rating in g2', async () => {
    await send('case1', [
      [0, { type: 'session.queue', sessionId: 's1', groupId: 'g1', via: 'direct' }],
      [30, { type: 'session.answer', sessionId: 's1', groupId: 'g2', agentId: 'a2' }],
      [90, { type: 'session.end', sessionId: 's1' }],
      [95, { type: 'session.rate', sessionId: 's1', score: 5 }],
    ]);
    const live = await liveFigures(s, 'case1');
    const t1 = await reportFigures(s, db, 'case1');
    const expected = {
      inflow: { g1: 1, g2: 1 },
      answered: { g2: 1 },
      abandoned: {},
      transfersOut: {},
      ratings: { 'g2/5': 1 },
      tenantAnswered: 1,
    };
    for (const side of [live, t1]) {
      assert.deepEqual(
        {
          inflow: side.inflow,
          answered: side.answered,
          abandoned: side.abandoned,
          transfersOut: side.transfersOut,
          ratings: side.ratings,
          tenantAnswered: side.tenantAnswered,
        },
        expected,
      );
    }
    // 20秒接通率 of g2: the answer came with no wait in g2 (1 of 1).
    const { rows } = await db.pool.query(
      `SELECT group_id, via, outcome, wait_seconds FROM report_legs WHERE tenant = 'case1' ORDER BY leg_no`,
    );
    assert.deepEqual(rows, [
      { group_id: 'g1', via: 'direct', outcome: 'overflow', wait_seconds: null },
      { group_id: 'g2', via: 'overflow', outcome: 'ended', wait_seconds: 0 },
    ]);
  });

  it('Case 2: the session ends while still queued — both sides: 1 in, 1 abandoned, 0 answered in g1', async () => {
    await send('case2', [
      [0, { type: 'session.queue', sessionId: 's2', groupId: 'g1', via: 'direct' }],
      [45, { type: 'session.end', sessionId: 's2', by: 'user' }],
    ]);
    const live = await liveFigures(s, 'case2');
    const t1 = await reportFigures(s, db, 'case2');
    for (const side of [live, t1]) {
      assert.deepEqual([side.inflow, side.answered, side.abandoned, side.tenantAnswered], [{ g1: 1 }, {}, { g1: 1 }, 0]);
    }
    // 排队放弃率 on the live side: 1 abandoned / 1 in.
    assert.equal(live.groups.find((g) => g.group_id === 'g1')!.abandon_rate, 1);
  });

  it('Case 3: transfer and re-queue at one millisecond, the re-queue arriving first — both sides: g1 transfers out 1, g2 credited', async () => {
    // The queue is posted in an earlier request than the transfer, so it is stored (and applied) first.
    await send('case3', [
      [0, { type: 'session.queue', sessionId: 's3', groupId: 'g1', via: 'direct' }],
      [10, { type: 'session.answer', sessionId: 's3', groupId: 'g1', agentId: 'a1' }],
      [60, { type: 'session.queue', sessionId: 's3', groupId: 'g2', via: 'transfer' }],
    ]);
    await send('case3', [
      [60, { type: 'session.transfer', sessionId: 's3', agentId: 'a1', reason: 'manual' }],
      [70, { type: 'session.answer', sessionId: 's3', groupId: 'g2', agentId: 'a2' }],
      [120, { type: 'session.end', sessionId: 's3' }],
    ]);
    const live = await liveFigures(s, 'case3');
    const t1 = await reportFigures(s, db, 'case3');
    // Both: g1 and g2 one leg in each, g1 one manual transfer out.
    for (const side of [live, t1])
      assert.deepEqual([side.inflow, side.transfersOut, side.tenantAnswered], [{ g1: 1, g2: 1 }, { g1: 1 }, 1]);
    // Documented difference: live 应答 per group counts legs answered (g1 and g2), T+1 credits the last answered leg (g2).
    assert.deepEqual(live.answered, { g1: 1, g2: 1 });
    assert.deepEqual(t1.answered, { g2: 1 });
    assert.deepEqual(t1.answeredLegs, live.answered);
  });

  it('By design: live counts "today since midnight" by each event\'s time, T+1 puts a leg on its queue-entry day', async () => {
    // Queued in g1 at 23:58 the day before, answered by a1 at 00:00:30 of the day (wait 150 s), ended 00:05.
    const before = s.fromMs - 120_000;
    await deliver(s, [
      { id: uid('mid'), tenant: 'midnight', type: 'session.queue', sessionId: 'm1', groupId: 'g1', via: 'direct', time: before },
      {
        id: uid('mid'),
        tenant: 'midnight',
        type: 'session.answer',
        sessionId: 'm1',
        groupId: 'g1',
        agentId: 'a1',
        time: s.fromMs + 30_000,
      },
      { id: uid('mid'), tenant: 'midnight', type: 'session.end', sessionId: 'm1', time: s.fromMs + 300_000 },
    ]);
    const live = await liveFigures(s, 'midnight');
    const t1 = await reportFigures(s, db, 'midnight');
    // Live today: no inflow (the queue entry was yesterday), one answer (it came today).
    assert.deepEqual([live.inflow, live.answered, live.tenantAnswered], [{}, { g1: 1 }, 1]);
    // T+1 of the day: the leg and its credited answer belong to the day before; the part (and so
    // 服务总量, sessions whose first answer is on the day) to this day.
    assert.deepEqual([t1.inflow, t1.answered, t1.tenantAnswered], [{}, {}, 1]);
    const prev = await reportFigures({ ...s, day: addDays(s.day, -1) }, db, 'midnight');
    assert.deepEqual([prev.inflow, prev.answered], [{ g1: 1 }, { g1: 1 }]);
  });
});
