import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { startTestExporter } from './helpers/exporter.js';
import { postEvents } from './helpers/events.js';
import type { Exporter } from '../src/exporter.js';
import { DAY, dayEvents } from './helpers/report-fixture.js';
import { queryRows, r6 } from './helpers/reports.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

const at = (s: string) => Date.parse(`${s}+08:00`);
const pick = (rows: Record<string, unknown>[], keys: string[]) => rows.map((r) => Object.fromEntries(keys.map((k) => [k, r[k]])));

describe('Reports of a hand-computed day (2026-11-20, Asia/Shanghai)', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  const q = (body: Record<string, unknown>) => queryRows(exporter.url, { from: DAY, to: DAY, ...body });
  before(async () => {
    db = await freshDatabase();
    exporter = await startTestExporter(db.url);
    const r = await postEvents(exporter.url, dayEvents());
    assert.deepEqual(r.body.rejected, []);
  });
  after(async () => {
    await exporter.close();
    await db.drop();
  });

  it('When group_daily is asked, then legs count on the queue day and answers on the last answered leg', async () => {
    const { rows, meta } = await q({ report: 'group_daily' });
    assert.equal(meta.provisional, false);
    // Legs of the day: g1 = S1(direct, answered by a1, transferred out manually, invited), S9 (answered, wait 10),
    // S2 (abandoned), S3 (overflowed away), S5 (rejected), S6 (answered, wait 20) → inflow 6, all direct.
    // Credited (last answered leg): S9, S6 → answered 2 = 2/6; direct answered S1, S9, S6 = 3/6; transfer_out 1/2;
    // no ratings credited here; invited S1 → 1/2; waits 10 and 20 are ≤ 20 s → 2/2.
    // g2 = S1 (transfer, wait 40, rated 5), S3 (overflow, wait 50, rated 3), S7 (direct, wait 5, rated 1, invited):
    // inflow 3, answered 3, direct 1/1, rated 3/3 with one each of 5, 3, 1; invited 1/3; ≤ 20 s: S7 only → 1/3.
    assert.deepEqual(rows, [
      {
        date: DAY,
        group_id: 'g1',
        group_name: '售前咨询',
        inflow: 6,
        answered: 2,
        answer_rate: r6(2 / 6),
        direct_inflow: 6,
        direct_answered: 3,
        direct_answer_rate: 0.5,
        transfer_out: 1,
        transfer_out_rate: 0.5,
        rated: 0,
        rated_rate: 0,
        very_satisfied: 0,
        very_satisfied_rate: null,
        satisfied: 0,
        satisfied_rate: null,
        neutral: 0,
        neutral_rate: null,
        dissatisfied: 0,
        dissatisfied_rate: null,
        very_dissatisfied: 0,
        very_dissatisfied_rate: null,
        invited: 1,
        invited_rate: 0.5,
        answered_20s: 2,
        answered_20s_rate: 1,
      },
      {
        date: DAY,
        group_id: 'g2',
        group_name: '售后服务',
        inflow: 3,
        answered: 3,
        answer_rate: 1,
        direct_inflow: 1,
        direct_answered: 1,
        direct_answer_rate: 1,
        transfer_out: 0,
        transfer_out_rate: 0,
        rated: 3,
        rated_rate: 1,
        very_satisfied: 1,
        very_satisfied_rate: r6(1 / 3),
        satisfied: 0,
        satisfied_rate: 0,
        neutral: 1,
        neutral_rate: r6(1 / 3),
        dissatisfied: 0,
        dissatisfied_rate: 0,
        very_dissatisfied: 1,
        very_dissatisfied_rate: r6(1 / 3),
        invited: 1,
        invited_rate: r6(1 / 3),
        answered_20s: 1,
        answered_20s_rate: r6(1 / 3),
      },
    ]);
    const only = await q({ report: 'group_daily', groups: ['g2'], metrics: ['inflow'] });
    assert.deepEqual(only.rows, [{ date: DAY, group_id: 'g2', group_name: '售后服务', inflow: 3 }]);
  });

  it('When group_slot is asked, then each leg sits in the hour of its queue entry', async () => {
    const { rows } = await q({ report: 'group_slot' });
    // g1 10h: S1, S9 (S9 credited, wait 10); 11h: S2, S3; 13h: S5; 23h: S6 (wait 20).
    // g2 10h: S1 (wait 40); 11h: S3 (queued 11:59:10, wait 50); 14h: S7 (wait 5).
    assert.deepEqual(pick(rows, ['hour', 'group_id', 'inflow', 'answered', 'lost', 'answer_rate', 'answered_20s_rate']), [
      { hour: 10, group_id: 'g1', inflow: 2, answered: 1, lost: 1, answer_rate: 0.5, answered_20s_rate: 1 },
      { hour: 10, group_id: 'g2', inflow: 1, answered: 1, lost: 0, answer_rate: 1, answered_20s_rate: 0 },
      { hour: 11, group_id: 'g1', inflow: 2, answered: 0, lost: 2, answer_rate: 0, answered_20s_rate: null },
      { hour: 11, group_id: 'g2', inflow: 1, answered: 1, lost: 0, answer_rate: 1, answered_20s_rate: 0 },
      { hour: 13, group_id: 'g1', inflow: 1, answered: 0, lost: 1, answer_rate: 0, answered_20s_rate: null },
      { hour: 14, group_id: 'g2', inflow: 1, answered: 1, lost: 0, answer_rate: 1, answered_20s_rate: 1 },
      { hour: 23, group_id: 'g1', inflow: 1, answered: 1, lost: 0, answer_rate: 1, answered_20s_rate: 1 },
    ]);
  });

  it('When agent_daily is asked, then conversation figures sit on the answer day and status time is clipped to the day', async () => {
    const { rows } = await q({ report: 'agent_daily' });
    const zeroStatus = {
      busy_hours: 0,
      rest_hours: 0,
      meeting_hours: 0,
      training_hours: 0,
      meal_hours: 0,
      restroom_hours: 0,
      discussion_hours: 0,
      outbound_hours: 0,
      custom_hours: 0,
    };
    assert.deepEqual(rows, [
      {
        // a1: online 09:00–12:00 (3 h), break 12:00–12:30 (0.5 h), online 12:30–18:00 (5.5 h), 23:45–24:00 (0.25 h) = 9.25 h.
        // Parts: S1 10:00:15–10:03:00 (165 s), S9 10:01:00–10:05:00 (240 s), S6 23:50:20–00:10:00 (1180 s) → 1585/3.
        // First responses 15, 25, 10 → 50/3; all ≤ 30 s → 3/3. Reply runs: S1 10 s and 30 s, S9 20 s → 60/3 = 20.
        // Revisit: u1 (S1) came back → no_revisit = S9, S6 = 2; 2/3. Invited S1 → 1/3. No credited rating.
        // Engaged: S1 ∪ S9 = 10:00:15–10:05:00 (285 s) + S6 until midnight (580 s) = 865 s of 33 300 s.
        date: DAY,
        agent_id: 'a1',
        agent_name: '张三',
        work_no: '1001',
        first_online_at: at(`${DAY}T09:00:00`),
        last_offline_at: at(`${DAY}T18:00:00`),
        work_hours: 9.25,
        answered: 3,
        transfer_out: 1,
        avg_talk_seconds: r6(1585 / 3),
        sessions_per_hour: r6(3 / 9.25),
        rated: 0,
        rated_rate: 0,
        very_satisfied: 0,
        very_satisfied_rate: null,
        satisfied: 0,
        satisfied_rate: null,
        neutral: 0,
        neutral_rate: null,
        dissatisfied: 0,
        dissatisfied_rate: null,
        very_dissatisfied: 0,
        very_dissatisfied_rate: null,
        avg_first_response_seconds: r6(50 / 3),
        responded_30s_rate: 1,
        no_revisit: 2,
        one_contact_resolution_rate: r6(2 / 3),
        invited: 1,
        invited_rate: r6(1 / 3),
        break_hours: 0.5,
        ...zeroStatus,
        hosted_hours: 0,
        avg_reply_seconds: 20,
        utilization: r6(865 / 33300),
      },
      {
        // a2: online from the day before until 01:00 (1 h from midnight), 22:00–24:00 (2 h) = 3 h; first online = midnight.
        // Parts S1 10:03:40–10:10:00 (380 s, rated 5, credited) and S3 12:00–12:20 (1200 s, rated 3) → 790 s.
        // First responses 10 and 20 → 15; both ≤ 30 s. u1 came back, u3 did not → 1/2. No visitor run answered.
        // Both parts fall while a2 is offline → utilization 0 / 3 h.
        date: DAY,
        agent_id: 'a2',
        agent_name: '李四',
        work_no: '1002',
        first_online_at: at(`${DAY}T00:00:00`),
        last_offline_at: at(`${DAY}T01:00:00`),
        work_hours: 3,
        answered: 2,
        transfer_out: 0,
        avg_talk_seconds: 790,
        sessions_per_hour: r6(2 / 3),
        rated: 2,
        rated_rate: 1,
        very_satisfied: 1,
        very_satisfied_rate: 0.5,
        satisfied: 0,
        satisfied_rate: 0,
        neutral: 1,
        neutral_rate: 0.5,
        dissatisfied: 0,
        dissatisfied_rate: 0,
        very_dissatisfied: 0,
        very_dissatisfied_rate: 0,
        avg_first_response_seconds: 15,
        responded_30s_rate: 1,
        no_revisit: 1,
        one_contact_resolution_rate: 0.5,
        invited: 0,
        invited_rate: 0,
        break_hours: 0,
        ...zeroStatus,
        hosted_hours: 0,
        avg_reply_seconds: null,
        utilization: 0,
      },
      {
        // a3: online 13:00–14:30, hosted 14:30–15:00 → 2 h of work, 0.5 h hosted. S7 14:00:05–14:05:00 = 295 s, no agent
        // message (no first response: 0 of 1 within 30 s), rated 1, invited; anonymous counts as no revisit.
        date: DAY,
        agent_id: 'a3',
        agent_name: '王五',
        work_no: '1003',
        first_online_at: at(`${DAY}T13:00:00`),
        last_offline_at: at(`${DAY}T15:00:00`),
        work_hours: 2,
        answered: 1,
        transfer_out: 0,
        avg_talk_seconds: 295,
        sessions_per_hour: 0.5,
        rated: 1,
        rated_rate: 1,
        very_satisfied: 0,
        very_satisfied_rate: 0,
        satisfied: 0,
        satisfied_rate: 0,
        neutral: 0,
        neutral_rate: 0,
        dissatisfied: 0,
        dissatisfied_rate: 0,
        very_dissatisfied: 1,
        very_dissatisfied_rate: 1,
        avg_first_response_seconds: null,
        responded_30s_rate: 0,
        no_revisit: 1,
        one_contact_resolution_rate: 1,
        invited: 1,
        invited_rate: 1,
        break_hours: 0,
        ...zeroStatus,
        hosted_hours: 0.5,
        avg_reply_seconds: null,
        utilization: r6(295 / 7200),
      },
    ]);
    const g2 = await q({ report: 'agent_daily', groups: ['g2'], metrics: ['answered'] });
    assert.deepEqual(
      g2.rows.map((r) => r.agent_id),
      ['a2', 'a3'],
    );
    const a1 = await q({ report: 'agent_daily', agents: ['a1'], metrics: ['answered'] });
    assert.deepEqual(
      a1.rows.map((r) => [r.agent_id, r.answered]),
      [['a1', 3]],
    );
  });

  it('When the next day is asked, then the session that crossed midnight is not counted again', async () => {
    const next = await queryRows(exporter.url, { report: 'group_daily', from: '2026-11-21', to: '2026-11-21' });
    assert.deepEqual(next.rows, []);
    const ov = await queryRows(exporter.url, { report: 'overview', from: DAY, to: '2026-11-21' });
    // Sessions first answered on the 20th: S1, S9, S3, S7, S6; none on the 21st.
    assert.deepEqual(ov.rows, [
      { date: DAY, service_total: 5, online_service: 5 },
      { date: '2026-11-21', service_total: 0, online_service: 0 },
    ]);
  });

  it('When categories are asked, then summaries count per path and channel, and TOP per last level', async () => {
    const daily = await q({ report: 'category_daily' });
    assert.deepEqual(daily.rows, [
      { date: DAY, category: '售前/价格', inbound_call: 1, manual_outbound: 0, system_outbound: 0, online: 1, total: 2 },
      { date: DAY, category: '售后/退款/进度', inbound_call: 0, manual_outbound: 0, system_outbound: 0, online: 1, total: 1 },
    ]);
    const top = await q({ report: 'category_top' });
    assert.deepEqual(top.rows, [
      { category: '价格', count: 2 },
      { category: '进度', count: 1 },
    ]);
    const byA2 = await q({ report: 'category_top', agents: ['a2'] });
    assert.deepEqual(byA2.rows, [{ category: '进度', count: 1 }]);
  });

  it('When tickets are asked, then their state is judged now with the latest deadline and node', async () => {
    // T1 closed 17:00 ≤ 18:00 on time; T2 closed 13:00 > 12:00 overdue, now at 二级处理; T3's deadline moved to 2099: open;
    // T4 open; T5's deadline (11-21 00:00) has passed: open overdue.
    const byAgent = await q({ report: 'ticket_agent' });
    assert.deepEqual(byAgent.rows, [
      { agent_id: 'a1', agent_name: '张三', total: 2, closed_on_time: 1, closed_overdue: 1, open: 0, open_overdue: 0 },
      { agent_id: 'a2', agent_name: '李四', total: 3, closed_on_time: 0, closed_overdue: 0, open: 2, open_overdue: 1 },
    ]);
    const byType = await q({ report: 'ticket_type' });
    assert.deepEqual(byType.rows, [
      { ticket_type: '投诉', total: 3, closed_on_time: 0, closed_overdue: 0, open: 2, open_overdue: 1 },
      { ticket_type: '退款', total: 2, closed_on_time: 1, closed_overdue: 1, open: 0, open_overdue: 0 },
    ]);
    const detail = await q({ report: 'ticket_detail' });
    assert.deepEqual(detail.rows, [
      {
        agent_id: 'a1',
        agent_name: '张三',
        ticket_type: '退款',
        node: '一级处理',
        total: 1,
        closed_on_time: 1,
        closed_overdue: 0,
        open: 0,
        open_overdue: 0,
      },
      {
        agent_id: 'a1',
        agent_name: '张三',
        ticket_type: '退款',
        node: '二级处理',
        total: 1,
        closed_on_time: 0,
        closed_overdue: 1,
        open: 0,
        open_overdue: 0,
      },
      {
        agent_id: 'a2',
        agent_name: '李四',
        ticket_type: '投诉',
        node: '一级处理',
        total: 3,
        closed_on_time: 0,
        closed_overdue: 0,
        open: 2,
        open_overdue: 1,
      },
    ]);
  });

  it('When agent_log is asked, then each agent.log line is a row with the agent’s 工号 and name', async () => {
    const { rows } = await q({ report: 'agent_log' });
    assert.deepEqual(rows, [
      { time: at(`${DAY}T09:00:00`), agent_id: 'a1', work_no: '1001', agent_name: '张三', platform: '在线客服', operation: '登录' },
      { time: at(`${DAY}T18:00:00`), agent_id: 'a1', work_no: '1001', agent_name: '张三', platform: '在线客服', operation: '退出' },
    ]);
  });

  it('When sessions are listed, then each session that reached a human is a row, and the filters narrow it', async () => {
    const { rows } = await q({ report: 'sessions' });
    assert.deepEqual(rows, [
      {
        service_id: 'S1',
        state: '已解决',
        category: '售后/退款/进度',
        duration_seconds: 585,
        satisfaction: '非常满意',
        remark: '退款进度查询',
        user_id: 'u1',
        revisit_24h: true,
        region: '浙江杭州',
        started_at: at(`${DAY}T10:00:00`),
        agents: 'a1,a2',
        groups: 'g1,g2',
      },
      {
        service_id: 'S9',
        state: '已解决',
        category: '售前/价格',
        duration_seconds: 240,
        satisfaction: null,
        remark: '询价',
        user_id: 'u9',
        revisit_24h: false,
        region: null,
        started_at: at(`${DAY}T10:00:50`),
        agents: 'a1',
        groups: 'g1',
      },
      {
        service_id: 'S3',
        state: '未小记',
        category: null,
        duration_seconds: 1200,
        satisfaction: '一般',
        remark: null,
        user_id: 'u3',
        revisit_24h: false,
        region: null,
        started_at: at(`${DAY}T11:58:00`),
        agents: 'a2',
        groups: 'g1,g2',
      },
      {
        service_id: 'S7',
        state: '未小记',
        category: null,
        duration_seconds: 295,
        satisfaction: '非常不满意',
        remark: null,
        user_id: null,
        revisit_24h: false,
        region: null,
        started_at: at(`${DAY}T14:00:00`),
        agents: 'a3',
        groups: 'g2',
      },
      {
        service_id: 'S6',
        state: '未小记',
        category: null,
        duration_seconds: 1180,
        satisfaction: null,
        remark: null,
        user_id: 'u6',
        revisit_24h: false,
        region: null,
        started_at: at(`${DAY}T23:50:00`),
        agents: 'a1',
        groups: 'g1',
      },
    ]);
    const ids = async (extra: Record<string, unknown>) => (await q({ report: 'sessions', ...extra })).rows.map((r) => r.service_id);
    assert.deepEqual(await ids({ filters: { satisfaction: [5, 1] } }), ['S1', 'S7']);
    assert.deepEqual(await ids({ filters: { category: '售后' } }), ['S1']);
    assert.deepEqual(await ids({ filters: { category: '价格' } }), ['S9']);
    assert.deepEqual(await ids({ filters: { revisit: true } }), ['S1']);
    assert.deepEqual(await ids({ filters: { remark: '询' } }), ['S1', 'S9']);
    assert.deepEqual(await ids({ filters: { userId: 'u3' } }), ['S3']);
    assert.deepEqual(await ids({ groups: ['g2'] }), ['S1', 'S3', 'S7']);
    assert.deepEqual(await ids({ agents: ['a1'] }), ['S1', 'S9', 'S6']);
    assert.deepEqual(await ids({ filters: { limit: 2 } }), ['S1', 'S9']);
    const bad = await fetch(`${exporter.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ report: 'sessions', from: DAY, to: DAY, filters: { satisfaction: [7] } }),
    });
    assert.equal(bad.status, 400);
  });

  it('When a session’s detail is asked, then it has its legs, parts and transcript; an unknown one is 404', async () => {
    const res = await fetch(`${exporter.url}/api/v1/sessions/S1?tenant=default`);
    assert.equal(res.status, 200);
    const d = (await res.json()) as any;
    assert.equal(d.session.satisfaction, '非常满意');
    assert.equal(d.session.revisit_24h, true);
    assert.deepEqual(d.legs, [
      {
        group_id: 'g1',
        group_name: '售前咨询',
        via: 'direct',
        queued_at: '2026-11-20T02:00:05.000Z',
        answered_at: '2026-11-20T02:00:15.000Z',
        ended_at: '2026-11-20T02:03:00.000Z',
        outcome: 'transferred',
        wait_seconds: 10,
        agent_id: 'a1',
      },
      {
        group_id: 'g2',
        group_name: '售后服务',
        via: 'transfer',
        queued_at: '2026-11-20T02:03:00.000Z',
        answered_at: '2026-11-20T02:03:40.000Z',
        ended_at: '2026-11-20T02:10:00.000Z',
        outcome: 'ended',
        wait_seconds: 40,
        agent_id: 'a2',
      },
    ]);
    assert.deepEqual(
      d.parts.map((p: any) => [p.agent_name, p.ended_by]),
      [
        ['张三', 'manual'],
        ['李四', 'end'],
      ],
    );
    assert.deepEqual(
      d.transcript.map((m: any) => m.text),
      ['退款到哪了', '我查一下', '好', '快点', '转售后', '您好'],
    );
    assert.equal((await fetch(`${exporter.url}/api/v1/sessions/nope`)).status, 404);
    assert.equal((await fetch(`${exporter.url}/api/v1/sessions/S1?tenant=other`)).status, 404);
  });
});
