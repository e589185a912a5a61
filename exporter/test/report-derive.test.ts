import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deriveSession, type SessionEvent } from '../src/reports/derive.js';

let seq = 0;
const e = (s: number, type: string, f: Partial<SessionEvent> = {}): SessionEvent => ({ type, timeMs: s * 1000, seq: ++seq, ...f });
const legs = (events: SessionEvent[]) =>
  deriveSession('x', events).legs.map((l) => [
    l.groupId,
    l.via,
    l.outcome,
    l.answeredAtMs === null ? null : (l.answeredAtMs - l.queuedAtMs) / 1000,
    l.endedBy,
  ]);

describe('Session facts: the leg rules of metrics.md', () => {
  it('When a timeout transfer is followed by an answer with no queue, then a zero-wait transfer leg opens and is credited', () => {
    const f = deriveSession('x', [
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
    // 61 → 100: the second part lasts 39 s.
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

  it('When the session ends while queued, or is rejected with no open leg, then no leg is answered and the stray reject counts apart', () => {
    const f = deriveSession('x', [
      e(0, 'session.reject', { groupId: 'g1', reason: 'off_hours' }),
      e(1, 'session.queue', { groupId: 'g1', via: 'direct' }),
      e(30, 'session.end'),
    ]);
    assert.deepEqual(
      f.legs.map((l) => [l.outcome, l.endedAtMs]),
      [['ended', 30_000]],
    );
    assert.equal(f.strayRejects, 1);
    assert.equal(f.credited, null);
  });

  it('When events arrive out of order, then the facts are the same as in time order', () => {
    const inOrder = [
      e(0, 'session.queue', { groupId: 'g1', via: 'direct' }),
      e(5, 'session.answer', { groupId: 'g1', agentId: 'a1' }),
      e(6, 'session.message', { from: 'user' }),
      e(9, 'session.message', { from: 'agent', agentId: 'a1' }),
      e(20, 'session.end'),
    ];
    assert.deepEqual(deriveSession('x', [...inOrder].reverse()), deriveSession('x', inOrder));
    // First response 9 − 5 = 4 s; one reply run 9 − 6 = 3 s.
    const p = deriveSession('x', inOrder).parts[0];
    assert.deepEqual([p.firstResponseAtMs! - p.startedAtMs, p.replySumMs, p.replyCount], [4000, 3000, 1]);
  });
});
