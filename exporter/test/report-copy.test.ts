import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useTestExporter } from './helpers/exporter.js';
import { postEvents, withCommon } from './helpers/events.js';
import { queryRows } from './helpers/reports.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

const DAY = '2026-11-20';
const at = (hms: string) => `${DAY}T${hms}+08:00`;

// The day's events come back from Postgres as COPY text, where tab, newline,
// carriage return and backslash are escaped, and the facts go in as binary
// COPY with hand-built text[] values: ids and texts must survive both ways.
const GROUP = 'g "售后", 1\\2';
const AGENT = 'a\t"7"\\';
const REMARK = '第一行\n第二行\r\n\t制表 \\N 反斜杠\\ "引号" {花括号}';
const USER = 'u,1\\';
const REGION = '浙江\t杭州';

describe('Rollup: text with COPY syntax characters', () => {
  const harness = useTestExporter({}, async ({ exporter }) => {
    const events = [
      withCommon({ type: 'session.start', sessionId: 'S\\1', userId: USER, region: REGION }, at('10:00:00')),
      withCommon({ type: 'session.queue', sessionId: 'S\\1', groupId: GROUP, via: 'direct' }, at('10:00:05')),
      withCommon({ type: 'session.answer', sessionId: 'S\\1', groupId: GROUP, agentId: AGENT }, at('10:00:15')),
      withCommon({ type: 'session.end', sessionId: 'S\\1', by: 'user' }, at('10:01:15')),
      withCommon(
        {
          type: 'session.summary',
          sessionId: 'S\\1',
          agentId: AGENT,
          channel: 'online',
          state: '已解决\t(1)',
          category: ['售后', '退款\\进度'],
          remark: REMARK,
        },
        at('10:01:20'),
      ),
    ];
    assert.deepEqual((await postEvents(exporter.url, events)).body.rejected, []);
  });

  it('When a day with such ids and texts is rolled up, then the reports show them exactly as sent', async () => {
    const { rows } = await queryRows(harness.exporter.url, { report: 'sessions', from: DAY, to: DAY });
    assert.equal(rows.length, 1);
    const s = rows[0];
    assert.equal(s.service_id, 'S\\1');
    assert.equal(s.remark, REMARK);
    assert.equal(s.user_id, USER);
    assert.equal(s.region, REGION);
    assert.equal(s.state, '已解决\t(1)');
    assert.equal(s.category, '售后/退款\\进度');
    assert.equal(s.agents, AGENT);
    assert.equal(s.groups, GROUP);
    // Answered after 10 s (10:00:05 → 10:00:15), ended 60 s after the answer.
    assert.equal(s.duration_seconds, 60);

    const groups = await queryRows(harness.exporter.url, { report: 'group_daily', from: DAY, to: DAY });
    assert.deepEqual(
      groups.rows.map((r) => [r.group_id, r.inflow, r.answered]),
      [[GROUP, 1, 1]],
    );
    const agents = await queryRows(harness.exporter.url, { report: 'agent_daily', from: DAY, to: DAY });
    assert.deepEqual(
      agents.rows.map((r) => [r.agent_id, r.answered]),
      [[AGENT, 1]],
    );
  });
});
