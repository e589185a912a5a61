/**
 * Events that give every dashboard query something to show: two skill groups, two agents, yesterday's
 * finished sessions (transfers, a rating, an abandon, a reject, summaries, tickets) for the 报表, and
 * today's open ones (one queued, one in conversation) for the 监控. Times are relative to `now` so the
 * live figures and the Prometheus rates see them.
 */
export interface Scenario {
  events: Record<string, unknown>[];
  yesterday: string;
  today: string;
  sessionId: string;
}

const HOUR = 3600_000;
const MIN = 60_000;

export function scenario(now: number, localDay: (ms: number) => string, dayStart: (day: string) => number): Scenario {
  const today = localDay(now);
  const todayStart = dayStart(today);
  const yStart = todayStart - 24 * HOUR;
  const yesterday = localDay(yStart + HOUR);
  let n = 0;
  const ev = (ms: number, e: Record<string, unknown>) => ({ id: `dash-e2e-${++n}`, time: ms, ...e });
  const y = (h: number, m = 0) => yStart + h * HOUR + m * MIN;
  // Today's events sit in the last half hour, squeezed (in the same order) after local midnight when
  // the test runs just after it, so they stay today's and keep their order.
  const span = Math.min(31 * MIN, now - todayStart - 1000);
  const t = (minutesAgo: number) => now - (minutesAgo / 31) * span;

  const events = [
    ev(y(8), { type: 'group.upsert', groupId: 'presales', name: '售前咨询' }),
    ev(y(8), { type: 'group.upsert', groupId: 'aftersales', name: '售后服务' }),
    ev(y(8), { type: 'agent.upsert', agentId: 'a1', name: '张三', workNo: '1001', groups: ['presales'], maxSessions: 3 }),
    ev(y(8), { type: 'agent.upsert', agentId: 'a2', name: '李四', workNo: '1002', groups: ['aftersales'], maxSessions: 3 }),
    // Yesterday: a working day for both agents.
    ev(y(9), { type: 'agent.status', agentId: 'a1', status: 'online', seat: 'A-01' }),
    ev(y(9), { type: 'agent.status', agentId: 'a2', status: 'online', seat: 'A-02' }),
    ev(y(9), { type: 'agent.log', agentId: 'a1', platform: '在线客服', operation: '登录' }),
    ev(y(12), { type: 'agent.status', agentId: 'a1', status: 'meal' }),
    ev(y(13), { type: 'agent.status', agentId: 'a1', status: 'online' }),
    // s1: presales → manual transfer → aftersales, rated 5, summarised.
    ev(y(10), { type: 'session.start', sessionId: 's1', userId: 'u1', region: '浙江杭州' }),
    ev(y(10), { type: 'session.queue', sessionId: 's1', groupId: 'presales', via: 'direct' }),
    ev(y(10, 0.25), { type: 'session.answer', sessionId: 's1', groupId: 'presales', agentId: 'a1' }),
    ev(y(10, 0.5), { type: 'session.message', sessionId: 's1', from: 'user', text: '你好，想退货' }),
    ev(y(10, 0.75), { type: 'session.message', sessionId: 's1', from: 'agent', agentId: 'a1', text: '您好，帮您转售后' }),
    ev(y(10, 1), { type: 'session.transfer', sessionId: 's1', agentId: 'a1', reason: 'manual' }),
    ev(y(10, 1), { type: 'session.queue', sessionId: 's1', groupId: 'aftersales', via: 'transfer' }),
    ev(y(10, 1.5), { type: 'session.answer', sessionId: 's1', groupId: 'aftersales', agentId: 'a2' }),
    ev(y(10, 2), { type: 'session.message', sessionId: 's1', from: 'agent', agentId: 'a2', text: '已为您登记退货' }),
    ev(y(10, 3), { type: 'session.invite', sessionId: 's1', agentId: 'a2' }),
    ev(y(10, 4), { type: 'session.rate', sessionId: 's1', score: 5 }),
    ev(y(10, 5), { type: 'session.end', sessionId: 's1', by: 'user' }),
    ev(y(10, 6), {
      type: 'session.summary',
      sessionId: 's1',
      agentId: 'a2',
      channel: 'online',
      state: '已解决',
      category: ['售后', '退货', '质量问题'],
      remark: '登记退货',
    }),
    ev(y(11), { type: 'session.summary', sessionId: 'call-1', agentId: 'a1', channel: 'inbound_call', category: ['售前', '价格'] }),
    // s2 abandons in the queue, s3 is rejected.
    ev(y(14), { type: 'session.start', sessionId: 's2' }),
    ev(y(14), { type: 'session.queue', sessionId: 's2', groupId: 'presales', via: 'direct' }),
    ev(y(14, 2), { type: 'session.abandon', sessionId: 's2', groupId: 'presales' }),
    ev(y(15), { type: 'session.start', sessionId: 's3' }),
    ev(y(15), { type: 'session.reject', sessionId: 's3', groupId: 'aftersales', reason: 'no_agent' }),
    // Tickets: one closed in time, one still open.
    ev(y(10, 10), {
      type: 'ticket.create',
      ticketId: 't1',
      ticketType: '退货',
      agentId: 'a2',
      node: '一级处理',
      deadline: y(10) + 48 * HOUR,
    }),
    ev(y(16), { type: 'ticket.close', ticketId: 't1' }),
    ev(y(11), { type: 'ticket.create', ticketId: 't2', ticketType: '投诉', agentId: 'a1', node: '一级处理', deadline: y(11) + 72 * HOUR }),
    ev(y(18), { type: 'agent.status', agentId: 'a1', status: 'offline', remark: '下班' }),
    ev(y(18), { type: 'agent.status', agentId: 'a2', status: 'offline' }),
    // Today: both agents at work; s4 waits in the queue, s5 is in conversation, s6 ended (timeout transfer, rated 4).
    ev(t(30), { type: 'agent.status', agentId: 'a1', status: 'online', seat: 'A-01' }),
    ev(t(30), { type: 'agent.status', agentId: 'a2', status: 'online', seat: 'A-02' }),
    ev(t(29), { type: 'agent.log', agentId: 'a2', platform: '在线客服', operation: '登录' }),
    ev(t(20), { type: 'session.start', sessionId: 's6', userId: 'u2' }),
    ev(t(20), { type: 'session.queue', sessionId: 's6', groupId: 'presales', via: 'direct' }),
    ev(t(19), { type: 'session.answer', sessionId: 's6', groupId: 'presales', agentId: 'a1' }),
    ev(t(18), { type: 'session.transfer', sessionId: 's6', agentId: 'a1', reason: 'timeout' }),
    ev(t(18), { type: 'session.queue', sessionId: 's6', groupId: 'aftersales', via: 'transfer' }),
    ev(t(17), { type: 'session.answer', sessionId: 's6', groupId: 'aftersales', agentId: 'a2' }),
    ev(t(15), { type: 'session.rate', sessionId: 's6', score: 4 }),
    ev(t(14), { type: 'session.end', sessionId: 's6', by: 'agent' }),
    ev(t(12), { type: 'session.start', sessionId: 's7' }),
    ev(t(12), { type: 'session.queue', sessionId: 's7', groupId: 'aftersales', via: 'direct' }),
    ev(t(11), { type: 'session.abandon', sessionId: 's7', groupId: 'aftersales' }),
    ev(t(10), { type: 'session.start', sessionId: 's8' }),
    ev(t(10), { type: 'session.reject', sessionId: 's8', groupId: 'presales', reason: 'busy' }),
    ev(t(5), { type: 'session.start', sessionId: 's5', userId: 'u3' }),
    ev(t(5), { type: 'session.queue', sessionId: 's5', groupId: 'presales', via: 'direct' }),
    ev(t(4), { type: 'session.answer', sessionId: 's5', groupId: 'presales', agentId: 'a1', manual: true }),
    ev(t(2), { type: 'session.start', sessionId: 's4', userId: 'u4' }),
    ev(t(2), { type: 'session.queue', sessionId: 's4', groupId: 'aftersales', via: 'direct' }),
  ];
  return { events, yesterday, today, sessionId: 's1' };
}

/**
 * A burst of activity at `now`, sent once Prometheus has scraped the exporter: counters then grow
 * between two scrapes, so rates and the ratio recording rules have a value, not only a series.
 */
export function burst(now: number, tag: string): Record<string, unknown>[] {
  let n = 0;
  const ev = (ms: number, e: Record<string, unknown>) => ({ id: `dash-e2e-${tag}-${++n}`, time: ms, ...e });
  const s = (x: string) => `${tag}-${x}`;
  return [
    ev(now - 9000, { type: 'session.start', sessionId: s('a'), userId: `${tag}-u` }),
    ev(now - 9000, { type: 'session.queue', sessionId: s('a'), groupId: 'presales', via: 'direct' }),
    ev(now - 8000, { type: 'session.answer', sessionId: s('a'), groupId: 'presales', agentId: 'a1' }),
    ev(now - 7000, { type: 'session.transfer', sessionId: s('a'), agentId: 'a1', reason: 'manual' }),
    ev(now - 7000, { type: 'session.queue', sessionId: s('a'), groupId: 'aftersales', via: 'transfer' }),
    ev(now - 6000, { type: 'session.answer', sessionId: s('a'), groupId: 'aftersales', agentId: 'a2' }),
    ev(now - 5000, { type: 'session.rate', sessionId: s('a'), score: 3 }),
    ev(now - 4000, { type: 'session.end', sessionId: s('a'), by: 'user' }),
    ev(now - 3000, { type: 'session.start', sessionId: s('b') }),
    ev(now - 3000, { type: 'session.queue', sessionId: s('b'), groupId: 'presales', via: 'direct' }),
    ev(now - 2000, { type: 'session.abandon', sessionId: s('b'), groupId: 'presales' }),
    ev(now - 1000, { type: 'session.start', sessionId: s('c') }),
    ev(now - 1000, { type: 'session.reject', sessionId: s('c'), groupId: 'aftersales', reason: 'busy' }),
  ];
}
