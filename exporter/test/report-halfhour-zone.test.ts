import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useTestExporter } from './helpers/exporter.js';
import { postEvents, withCommon } from './helpers/events.js';
import { queryRows } from './helpers/reports.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

// The group figures per hour and half hour are counted in node as the facts are
// written (exporter/src/reports/rollup.ts, GroupFigures). In a zone half an hour
// off UTC the local minute is not the UTC minute: the half hours must follow the
// tenants' clock, as `AT TIME ZONE` did when SQL counted them.
const TZ = 'Asia/Kolkata'; // UTC+05:30
const DAY = '2026-11-20';
const at = (hms: string) => `${DAY}T${hms}+05:30`;

describe('Rollup: hours and half hours in a zone half an hour off UTC', () => {
  const harness = useTestExporter({ timezone: TZ }, async ({ exporter }) => {
    const events = [
      // S1: queued 10:40 (05:10 UTC), answered 10:50, ended 11:20.
      withCommon({ type: 'session.start', sessionId: 'S1', userId: 'u1' }, at('10:39:50')),
      withCommon({ type: 'session.queue', sessionId: 'S1', groupId: 'g1', via: 'direct' }, at('10:40:00')),
      withCommon({ type: 'session.answer', sessionId: 'S1', groupId: 'g1', agentId: 'a1' }, at('10:50:00')),
      withCommon({ type: 'session.end', sessionId: 'S1', by: 'user' }, at('11:20:00')),
      // S2: queued 10:20 (04:50 UTC, so a UTC minute would put it in 10:30–11:00), abandoned.
      withCommon({ type: 'session.start', sessionId: 'S2', userId: 'u2' }, at('10:19:50')),
      withCommon({ type: 'session.queue', sessionId: 'S2', groupId: 'g1', via: 'direct' }, at('10:20:00')),
      withCommon({ type: 'session.abandon', sessionId: 'S2', groupId: 'g1' }, at('10:20:30')),
    ];
    assert.deepEqual((await postEvents(exporter.url, events)).body.rejected, []);
  });

  it('When the day is rolled up, then 时段 counts both legs at 10:00 and the half hours put them at 10:00 and 10:30', async () => {
    const { rows } = await queryRows(harness.exporter.url, { report: 'group_slot', from: DAY, to: DAY });
    // Both legs are queued in the local hour 10: inflow 2, S1 answered (after 600 s, not within 20 s).
    assert.deepEqual(
      rows.map((r) => ({ hour: r.hour, group_id: r.group_id, inflow: r.inflow, answered: r.answered })),
      [{ hour: 10, group_id: 'g1', inflow: 2, answered: 1 }],
    );
    // What 排班建议 reads (slot i = i/2 hours after local midnight): S2's leg in slot 20 (10:00–10:30),
    // S1's in 21 (10:30–11:00); S1's part answered 10:50, so slot 21, ended after 10:50 → 11:20 = 1800 s.
    const half = await harness.db.pool.query<{ group_id: string; inflow: number[]; parts_ended: number[]; part_seconds: number[] }>(
      `SELECT group_id, inflow, parts_ended, part_seconds FROM report_group_halfhour WHERE day = $1`,
      [DAY],
    );
    const slots = (entries: [number, number][]) => Array.from({ length: 48 }, (_, i) => entries.find(([s]) => s === i)?.[1] ?? 0);
    assert.deepEqual(half.rows, [
      {
        group_id: 'g1',
        inflow: slots([
          [20, 1],
          [21, 1],
        ]),
        parts_ended: slots([[21, 1]]),
        part_seconds: slots([[21, 1800]]),
      },
    ]);
  });
});
