import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useTestExporter } from './helpers/exporter.js';
import { postEvents, withCommon } from './helpers/events.js';
import { queryRows } from './helpers/reports.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

// The rollup reads the day's events and the starts of the two days after it
// apart (the day's own events need no session filter; a revisit may start on
// the next day in a session that never touches this one), and joins them by
// user in node: the edges of the 24 hours and the days around are pinned here.
const DAY = '2026-11-20';
const NEXT = '2026-11-21';
const BEFORE = '2026-11-19';
const at = (day: string, hms: string) => `${day}T${hms}+08:00`;

/** An answered session of `user` from `start` to `end` (local times), with the start on `startDay`. */
function session(id: string, user: string, startDay: string, start: string, endDay: string, end: string) {
  return [
    withCommon({ type: 'session.start', sessionId: id, userId: user }, at(startDay, start)),
    withCommon({ type: 'session.queue', sessionId: id, groupId: 'g1', via: 'direct' }, at(startDay, start)),
    withCommon({ type: 'session.answer', sessionId: id, groupId: 'g1', agentId: 'a1' }, at(startDay, start)),
    withCommon({ type: 'session.end', sessionId: id, by: 'user' }, at(endDay, end)),
  ];
}

describe('Rollup: 24小时内复访 across the days around the one rolled up', () => {
  const harness = useTestExporter({}, async ({ exporter }) => {
    const events = [
      // u1: S1 ends 23:00; S2 starts the next day 10:00, 11 h later → S1 revisited.
      ...session('S1', 'u1', DAY, '22:00:00', DAY, '23:00:00'),
      ...session('S2', 'u1', NEXT, '10:00:00', NEXT, '10:05:00'),
      // u3: S3 ends 12:00:00; S4 starts the next day 12:00:01, 24 h and 1 s later → not revisited.
      ...session('S3', 'u3', DAY, '11:00:00', DAY, '12:00:00'),
      ...session('S4', 'u3', NEXT, '12:00:01', NEXT, '12:10:00'),
      // u6: S6 ends 09:00:00; S7 starts exactly 24 h later → revisited (at most 24 hours).
      ...session('S6', 'u6', DAY, '08:00:00', DAY, '09:00:00'),
      ...session('S7', 'u6', NEXT, '09:00:00', NEXT, '09:05:00'),
      // u8: S8 starts the day before and ends on the day (its row is the day before's);
      // S9 starts on the day 1 h after S8's end and ends at once → S8 revisited, S9 not.
      ...session('S8', 'u8', BEFORE, '23:50:00', DAY, '00:10:00'),
      ...session('S9', 'u8', DAY, '01:10:00', DAY, '01:20:00'),
      // u10: the only later start is the session's own second start event → not a revisit.
      ...session('S10', 'u10', DAY, '15:00:00', DAY, '15:30:00'),
      withCommon({ type: 'session.start', sessionId: 'S10', userId: 'u10' }, at(DAY, '16:00:00')),
    ];
    assert.deepEqual((await postEvents(exporter.url, events)).body.rejected, []);
  });

  it('When the day is rolled up, then revisits count by the next start of the same user within 24 hours of the end', async () => {
    const { rows } = await queryRows(harness.exporter.url, { report: 'sessions', from: BEFORE, to: DAY });
    const revisit = Object.fromEntries(rows.map((r) => [r.service_id, r.revisit_24h]));
    assert.deepEqual(revisit, { S1: true, S3: false, S6: true, S8: true, S9: false, S10: false });
    // agent_daily on the day: a1 answered S1, S3, S6, S9, S10 (S8's part began the day before);
    // no revisit = S3, S9, S10 → 3.
    const agents = await queryRows(harness.exporter.url, { report: 'agent_daily', from: DAY, to: DAY });
    assert.deepEqual(
      agents.rows.map((r) => [r.agent_id, r.answered, r.no_revisit]),
      [['a1', 5, 3]],
    );
  });
});
