import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { startTestExporter } from './helpers/exporter.js';
import { postEvents } from './helpers/events.js';
import type { Exporter } from '../src/exporter.js';
import { createLogger } from '../src/log.js';
import { RollupService } from '../src/reports/service.js';
import { addDays, dayStartMs, localDay } from '../src/time.js';
import { queryRows } from './helpers/reports.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';
const TZ = 'Asia/Shanghai';

describe('Reports around midnight and T+2', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  const yesterday = addDays(localDay(Date.now(), TZ), -1);
  const y = (h: number, m: number, s = 0) => dayStartMs(yesterday, TZ) + ((h * 60 + m) * 60 + s) * 1000;
  before(async () => {
    db = await freshDatabase();
    exporter = await startTestExporter(db.url);
    const ev = (id: string, time: string, e: Record<string, unknown>) => ({ id, time: `${time}+08:00`, ...e });
    const r = await postEvents(exporter.url, [
      // M1 is queued at 23:59:50 on the 22nd and answered at 00:00:10 on the 23rd by a1, who serves it until 00:05.
      ev('m1', '2026-11-22T23:59:40', { type: 'session.start', sessionId: 'M1', userId: 'm' }),
      ev('m2', '2026-11-22T23:59:50', { type: 'session.queue', sessionId: 'M1', groupId: 'g1', via: 'direct' }),
      ev('m3', '2026-11-23T00:00:10', { type: 'session.answer', sessionId: 'M1', groupId: 'g1', agentId: 'a1' }),
      ev('m4', '2026-11-23T00:05:00', { type: 'session.end', sessionId: 'M1' }),
      // Y1 was answered yesterday: 24 hours after yesterday have not passed yet.
      { id: 'y1', time: y(9, 0), type: 'session.queue', sessionId: 'Y1', groupId: 'g1', via: 'direct' },
      { id: 'y2', time: y(9, 0, 5), type: 'session.answer', sessionId: 'Y1', groupId: 'g1', agentId: 'a1' },
      { id: 'y3', time: y(9, 10), type: 'session.end', sessionId: 'Y1' },
    ]);
    assert.equal(r.body.accepted, 7);
  });
  after(async () => {
    await exporter.close();
    await db.drop();
  });

  it('When a leg is queued before midnight and answered after, then the group counts it on the queue day and the agent on the answer day', async () => {
    const g = await queryRows(exporter.url, {
      report: 'group_daily',
      from: '2026-11-22',
      to: '2026-11-23',
      metrics: ['inflow', 'answered', 'answered_20s'],
    });
    // Wait 23:59:50 → 00:00:10 = 20 s ≤ 20 s.
    assert.deepEqual(g.rows, [{ date: '2026-11-22', group_id: 'g1', group_name: 'g1', inflow: 1, answered: 1, answered_20s: 1 }]);
    const a = await queryRows(exporter.url, {
      report: 'agent_daily',
      from: '2026-11-22',
      to: '2026-11-23',
      metrics: ['answered', 'avg_talk_seconds'],
    });
    // The part 00:00:10 → 00:05:00 lasts 290 s.
    assert.deepEqual(a.rows, [{ date: '2026-11-23', agent_id: 'a1', agent_name: 'a1', work_no: null, answered: 1, avg_talk_seconds: 290 }]);
    const o = await queryRows(exporter.url, { report: 'overview', from: '2026-11-22', to: '2026-11-23' });
    assert.deepEqual(
      o.rows.map((r) => [r.date, r.service_total]),
      [
        ['2026-11-22', 0],
        ['2026-11-23', 1],
      ],
    );
    const s = await queryRows(exporter.url, {
      report: 'sessions',
      from: '2026-11-22',
      to: '2026-11-23',
      metrics: ['service_id', 'duration_seconds'],
    });
    // Listed on the day it started; 服务时长 from the answer: 290 s.
    assert.deepEqual(s.rows, [{ service_id: 'M1', duration_seconds: 290 }]);
  });

  it('When yesterday is asked, then it is final but the one-contact resolution rate waits for T+2', async () => {
    const r = await queryRows(exporter.url, {
      report: 'agent_daily',
      from: yesterday,
      to: yesterday,
      metrics: ['answered', 'no_revisit', 'one_contact_resolution_rate'],
    });
    assert.equal(r.meta.provisional, false);
    assert.deepEqual(
      r.rows.map((x) => [x.answered, x.no_revisit, x.one_contact_resolution_rate]),
      [[1, 1, null]],
    );
  });

  it('When the schedule is judged, then days are due at T+1, at T+2, after late arrivals, and today at the refresh pace', () => {
    const service = new RollupService(db.pool, TZ, createLogger('silent'), 300_000);
    const now = Date.parse('2026-11-27T10:00:00+08:00');
    const at = (s: string) => Date.parse(`${s}+08:00`);
    const state = (day: string, rolledAt: string | null, last: string, window = last) => ({
      day,
      rolledAt: rolledAt === null ? null : at(rolledAt),
      lastReceivedAt: at(last),
      windowReceivedAt: at(window),
    });
    const due = (s: ReturnType<typeof state>) => service.needsRollup(s, now);
    assert.equal(due(state('2026-11-20', null, '2026-11-20T10:00:00')), true, 'never rolled');
    assert.equal(due(state('2026-11-20', '2026-11-23T00:01:00', '2026-11-20T23:00:00')), false, 'settled after T+2');
    assert.equal(due(state('2026-11-20', '2026-11-23T00:01:00', '2026-11-27T09:00:00')), true, 'a late event for the day');
    assert.equal(
      due(state('2026-11-20', '2026-11-23T00:01:00', '2026-11-20T23:00:00', '2026-11-27T09:00:00')),
      true,
      'a late event for the next two days',
    );
    assert.equal(due(state('2026-11-26', '2026-11-26T23:00:00', '2026-11-26T22:00:00')), true, 'rolled while it was today: T+1 final due');
    assert.equal(due(state('2026-11-25', '2026-11-26T00:01:00', '2026-11-25T22:00:00')), true, 'T+2 due');
    assert.equal(due(state('2026-11-25', '2026-11-27T00:01:00', '2026-11-25T22:00:00')), false, 'T+2 done');
    assert.equal(
      due(state('2026-11-26', '2026-11-27T09:58:00', '2026-11-26T22:00:00', '2026-11-27T09:59:00')),
      false,
      "yesterday follows today's stream at the refresh pace: 2 min < 5 min",
    );
    assert.equal(due(state('2026-11-27', '2026-11-27T09:58:00', '2026-11-27T09:59:00')), false, 'today: rolled 2 min ago');
    assert.equal(due(state('2026-11-27', '2026-11-27T09:50:00', '2026-11-27T09:59:00')), true, 'today: rolled 10 min ago, events since');
    assert.equal(due(state('2026-11-27', '2026-11-27T09:50:00', '2026-11-27T09:40:00')), false, 'today: nothing new');
  });
});
