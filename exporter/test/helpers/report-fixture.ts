/** A hand-computed day (2026-11-20, Asia/Shanghai) used by the report tests; the figures are worked out in report-day.test.ts. */
let n = 0;
const ev = (time: string, e: Record<string, unknown>) => ({ id: `fx-${++n}`, time: `${time}+08:00`, ...e });
const D = '2026-11-20T';
const N = '2026-11-21T';

export const DAY = '2026-11-20';

export function dayEvents(): Record<string, unknown>[] {
  n = 0;
  return [
    ev(`${D}08:00:00`, { type: 'group.upsert', groupId: 'g1', name: '售前咨询' }),
    ev(`${D}08:00:00`, { type: 'group.upsert', groupId: 'g2', name: '售后服务' }),
    ev(`${D}08:00:00`, { type: 'agent.upsert', agentId: 'a1', name: '张三', workNo: '1001', groups: ['g1'] }),
    ev(`${D}08:00:00`, { type: 'agent.upsert', agentId: 'a2', name: '李四', workNo: '1002', groups: ['g2'] }),
    ev(`${D}08:00:00`, { type: 'agent.upsert', agentId: 'a3', name: '王五', workNo: '1003', groups: ['g2'] }),
    // a1: online 09:00, break 12:00, online 12:30, offline 18:00, online 23:45 (to the end of the day).
    ev(`${D}09:00:00`, { type: 'agent.status', agentId: 'a1', status: 'online' }),
    ev(`${D}12:00:00`, { type: 'agent.status', agentId: 'a1', status: 'break' }),
    ev(`${D}12:30:00`, { type: 'agent.status', agentId: 'a1', status: 'online' }),
    ev(`${D}18:00:00`, { type: 'agent.status', agentId: 'a1', status: 'offline' }),
    ev(`${D}23:45:00`, { type: 'agent.status', agentId: 'a1', status: 'online' }),
    // a2: online since the day before at 23:00, offline 01:00, online again 22:00.
    ev('2026-11-19T23:00:00', { type: 'agent.status', agentId: 'a2', status: 'online' }),
    ev(`${D}01:00:00`, { type: 'agent.status', agentId: 'a2', status: 'offline' }),
    ev(`${D}22:00:00`, { type: 'agent.status', agentId: 'a2', status: 'online' }),
    // a3: online 13:00, hosted 14:30, offline 15:00.
    ev(`${D}13:00:00`, { type: 'agent.status', agentId: 'a3', status: 'online' }),
    ev(`${D}14:30:00`, { type: 'agent.status', agentId: 'a3', status: 'hosted' }),
    ev(`${D}15:00:00`, { type: 'agent.status', agentId: 'a3', status: 'offline' }),
    ev(`${D}09:00:00`, { type: 'agent.log', agentId: 'a1', platform: '在线客服', operation: '登录' }),
    ev(`${D}18:00:00`, { type: 'agent.log', agentId: 'a1', platform: '在线客服', operation: '退出' }),

    // S1: g1 (a1) → manual transfer → g2 (a2), rated 5, summarised; u1 comes back the next morning.
    ev(`${D}10:00:00`, { type: 'session.start', sessionId: 'S1', userId: 'u1', region: '浙江杭州' }),
    ev(`${D}10:00:05`, { type: 'session.queue', sessionId: 'S1', groupId: 'g1', via: 'direct' }),
    ev(`${D}10:00:15`, { type: 'session.answer', sessionId: 'S1', groupId: 'g1', agentId: 'a1' }),
    ev(`${D}10:00:20`, { type: 'session.message', sessionId: 'S1', from: 'user', text: '退款到哪了' }),
    ev(`${D}10:00:30`, { type: 'session.message', sessionId: 'S1', from: 'agent', agentId: 'a1', text: '我查一下' }),
    ev(`${D}10:01:00`, { type: 'session.message', sessionId: 'S1', from: 'user', text: '好' }),
    ev(`${D}10:01:10`, { type: 'session.message', sessionId: 'S1', from: 'user', text: '快点' }),
    ev(`${D}10:01:30`, { type: 'session.message', sessionId: 'S1', from: 'agent', agentId: 'a1', text: '转售后' }),
    ev(`${D}10:02:00`, { type: 'session.invite', sessionId: 'S1', agentId: 'a1' }),
    ev(`${D}10:03:00`, { type: 'session.transfer', sessionId: 'S1', agentId: 'a1', reason: 'manual' }),
    ev(`${D}10:03:00`, { type: 'session.queue', sessionId: 'S1', groupId: 'g2', via: 'transfer' }),
    ev(`${D}10:03:40`, { type: 'session.answer', sessionId: 'S1', groupId: 'g2', agentId: 'a2' }),
    ev(`${D}10:03:50`, { type: 'session.message', sessionId: 'S1', from: 'agent', agentId: 'a2', text: '您好' }),
    ev(`${D}10:10:00`, { type: 'session.end', sessionId: 'S1', by: 'user' }),
    ev(`${D}10:10:05`, { type: 'session.rate', sessionId: 'S1', score: 5 }),
    ev(`${D}10:12:00`, {
      type: 'session.summary',
      sessionId: 'S1',
      agentId: 'a2',
      channel: 'online',
      state: '已解决',
      category: ['售后', '退款', '进度'],
      remark: '退款进度查询',
    }),
    // S9: a1 again, overlapping S1's first part.
    ev(`${D}10:00:50`, { type: 'session.start', sessionId: 'S9', userId: 'u9' }),
    ev(`${D}10:00:50`, { type: 'session.queue', sessionId: 'S9', groupId: 'g1', via: 'direct' }),
    ev(`${D}10:01:00`, { type: 'session.answer', sessionId: 'S9', groupId: 'g1', agentId: 'a1' }),
    ev(`${D}10:01:05`, { type: 'session.message', sessionId: 'S9', from: 'user', text: '多少钱' }),
    ev(`${D}10:01:25`, { type: 'session.message', sessionId: 'S9', from: 'agent', agentId: 'a1', text: '99' }),
    ev(`${D}10:05:00`, { type: 'session.end', sessionId: 'S9', by: 'agent' }),
    ev(`${D}10:06:00`, {
      type: 'session.summary',
      sessionId: 'S9',
      agentId: 'a1',
      channel: 'online',
      state: '已解决',
      category: ['售前', '价格'],
      remark: '询价',
    }),
    // S2: anonymous, abandons in g1's queue.
    ev(`${D}11:00:00`, { type: 'session.start', sessionId: 'S2' }),
    ev(`${D}11:00:00`, { type: 'session.queue', sessionId: 'S2', groupId: 'g1', via: 'direct' }),
    ev(`${D}11:00:30`, { type: 'session.abandon', sessionId: 'S2', groupId: 'g1' }),
    // S3: overflows from g1 to g2 before an answer; rated 3.
    ev(`${D}11:58:00`, { type: 'session.start', sessionId: 'S3', userId: 'u3' }),
    ev(`${D}11:58:10`, { type: 'session.queue', sessionId: 'S3', groupId: 'g1', via: 'direct' }),
    ev(`${D}11:59:10`, { type: 'session.queue', sessionId: 'S3', groupId: 'g2', via: 'overflow' }),
    ev(`${D}12:00:00`, { type: 'session.answer', sessionId: 'S3', groupId: 'g2', agentId: 'a2' }),
    ev(`${D}12:00:20`, { type: 'session.message', sessionId: 'S3', from: 'agent', agentId: 'a2', text: '您好' }),
    ev(`${D}12:19:50`, { type: 'session.rate', sessionId: 'S3', score: 3 }),
    ev(`${D}12:20:00`, { type: 'session.end', sessionId: 'S3', by: 'user' }),
    // S5: rejected in g1's queue, then a stray reject (no leg).
    ev(`${D}13:00:00`, { type: 'session.start', sessionId: 'S5', userId: 'u5' }),
    ev(`${D}13:00:00`, { type: 'session.queue', sessionId: 'S5', groupId: 'g1', via: 'direct' }),
    ev(`${D}13:00:05`, { type: 'session.reject', sessionId: 'S5', groupId: 'g1', reason: 'busy' }),
    ev(`${D}13:01:00`, { type: 'session.reject', sessionId: 'S5', groupId: 'g2', reason: 'no_agent' }),
    // S7: anonymous, picked manually by a3 in g2, invited, rated 1, no agent message.
    ev(`${D}14:00:00`, { type: 'session.start', sessionId: 'S7' }),
    ev(`${D}14:00:00`, { type: 'session.queue', sessionId: 'S7', groupId: 'g2', via: 'direct' }),
    ev(`${D}14:00:05`, { type: 'session.answer', sessionId: 'S7', groupId: 'g2', agentId: 'a3', manual: true }),
    ev(`${D}14:01:00`, { type: 'session.invite', sessionId: 'S7', agentId: 'a3' }),
    ev(`${D}14:05:00`, { type: 'session.rate', sessionId: 'S7', score: 1 }),
    ev(`${D}14:05:00`, { type: 'session.end', sessionId: 'S7', by: 'user' }),
    // S6: answered at 23:50:20 by a1, ends after midnight.
    ev(`${D}23:50:00`, { type: 'session.start', sessionId: 'S6', userId: 'u6' }),
    ev(`${D}23:50:00`, { type: 'session.queue', sessionId: 'S6', groupId: 'g1', via: 'direct' }),
    ev(`${D}23:50:20`, { type: 'session.answer', sessionId: 'S6', groupId: 'g1', agentId: 'a1' }),
    ev(`${D}23:50:30`, { type: 'session.message', sessionId: 'S6', from: 'agent', agentId: 'a1', text: '在的' }),
    ev(`${N}00:10:00`, { type: 'session.end', sessionId: 'S6', by: 'user' }),
    // S4: u1 is back 22 h 50 min after S1 ended.
    ev(`${N}09:00:00`, { type: 'session.start', sessionId: 'S4', userId: 'u1' }),
    // A call summary and tickets.
    ev(`${D}16:00:00`, {
      type: 'session.summary',
      sessionId: 'call-1',
      agentId: 'a1',
      channel: 'inbound_call',
      category: ['售前', '价格'],
    }),
    ev(`${D}09:30:00`, {
      type: 'ticket.create',
      ticketId: 'T1',
      ticketType: '退款',
      agentId: 'a1',
      node: '一级处理',
      deadline: '2026-11-20T18:00:00+08:00',
    }),
    ev(`${D}17:00:00`, { type: 'ticket.close', ticketId: 'T1' }),
    ev(`${D}09:40:00`, {
      type: 'ticket.create',
      ticketId: 'T2',
      ticketType: '退款',
      agentId: 'a1',
      node: '一级处理',
      deadline: '2026-11-20T12:00:00+08:00',
    }),
    ev(`${D}11:00:00`, { type: 'ticket.update', ticketId: 'T2', node: '二级处理' }),
    ev(`${D}13:00:00`, { type: 'ticket.close', ticketId: 'T2' }),
    ev(`${D}10:00:00`, {
      type: 'ticket.create',
      ticketId: 'T3',
      ticketType: '投诉',
      agentId: 'a2',
      node: '一级处理',
      deadline: '2026-11-20T12:00:00+08:00',
    }),
    ev(`${D}11:30:00`, { type: 'ticket.update', ticketId: 'T3', deadline: Date.parse('2099-01-01T00:00:00Z') }),
    ev(`${D}10:10:00`, {
      type: 'ticket.create',
      ticketId: 'T4',
      ticketType: '投诉',
      agentId: 'a2',
      node: '一级处理',
      deadline: '2099-01-01T00:00:00+08:00',
    }),
    ev(`${D}10:20:00`, {
      type: 'ticket.create',
      ticketId: 'T5',
      ticketType: '投诉',
      agentId: 'a2',
      node: '一级处理',
      deadline: '2026-11-21T00:00:00+08:00',
    }),
  ];
}
