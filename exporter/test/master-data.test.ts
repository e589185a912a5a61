import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useTestExporter } from './helpers/exporter.js';
import { postEvents } from './helpers/events.js';
import { queryRows } from './helpers/reports.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

const DAY = '2026-11-20';
const t = (hhmm: string) => `${DAY}T${hhmm}:00+08:00`;

describe('Names in reports come from the latest upsert by event time, whatever the arrival order', () => {
  const harness = useTestExporter();

  it('When a group is renamed and an older upsert arrives last, then group_daily shows the newest name', async () => {
    const send = async (events: unknown[]) => assert.deepEqual((await postEvents(harness.exporter.url, events)).body.rejected, []);
    await send([
      { id: 'g-1', type: 'group.upsert', time: t('10:00'), groupId: 'g1', name: '售前' },
      { id: 'q-1', type: 'session.queue', time: t('10:05'), sessionId: 's1', groupId: 'g1', via: 'direct' },
      { id: 'a-1', type: 'session.answer', time: t('10:06'), sessionId: 's1', groupId: 'g1', agentId: 'a1' },
      { id: 'u-1', type: 'agent.upsert', time: t('09:00'), agentId: 'a1', name: '张三', workNo: '001', groups: ['g1'] },
    ]);
    // A rename later in the day, and in the same batch two upserts for the same agent.
    await send([
      { id: 'g-2', type: 'group.upsert', time: t('12:00'), groupId: 'g1', name: '售前咨询' },
      { id: 'u-2', type: 'agent.upsert', time: t('11:00'), agentId: 'a1', name: '张三丰', workNo: '001', groups: ['g1'] },
      { id: 'u-3', type: 'agent.upsert', time: t('10:30'), agentId: 'a1', name: '张三（旧）', workNo: '001', groups: ['g1'] },
    ]);
    // An upsert older than both arrives last: it must not win.
    await send([{ id: 'g-0', type: 'group.upsert', time: t('08:00'), groupId: 'g1', name: '旧售前' }]);

    const groups = (await queryRows(harness.exporter.url, { report: 'group_daily', from: DAY, to: DAY, metrics: ['inflow'] })).rows;
    assert.deepEqual(groups, [{ date: DAY, group_id: 'g1', group_name: '售前咨询', inflow: 1 }]);
    const agents = (await queryRows(harness.exporter.url, { report: 'agent_daily', from: DAY, to: DAY, metrics: ['answered'] })).rows;
    assert.deepEqual(
      agents.map((r) => [r.agent_id, r.agent_name, r.work_no, r.answered]),
      [['a1', '张三丰', '001', 1]],
    );
  });
});
