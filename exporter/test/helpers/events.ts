/** Event builders for tests: one valid example per type, and a poster. */
let counter = 0;

export function uid(prefix = 'e'): string {
  counter++;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** A valid event of every type of events.md, at `time`. */
export function validExamples(): Record<string, Record<string, unknown>> {
  return {
    'group.upsert': { type: 'group.upsert', groupId: 'g1', name: '售前咨询' },
    'agent.upsert': { type: 'agent.upsert', agentId: 'a1', name: '张三', workNo: '1001', groups: ['g1'], maxSessions: 3 },
    'agent.status': { type: 'agent.status', agentId: 'a1', status: 'custom', label: '培训复盘', seat: 'A-12', remark: '下班' },
    'agent.log': { type: 'agent.log', agentId: 'a1', platform: '在线客服', operation: '登录' },
    'session.start': { type: 'session.start', sessionId: 's1', userId: 'u1', region: '浙江杭州' },
    'session.queue': { type: 'session.queue', sessionId: 's1', groupId: 'g1', via: 'direct' },
    'session.answer': { type: 'session.answer', sessionId: 's1', groupId: 'g1', agentId: 'a1', manual: false },
    'session.abandon': { type: 'session.abandon', sessionId: 's2', groupId: 'g1' },
    'session.reject': { type: 'session.reject', sessionId: 's3', groupId: 'g1', reason: 'off_hours' },
    'session.transfer': { type: 'session.transfer', sessionId: 's1', agentId: 'a1', reason: 'manual' },
    'session.message': { type: 'session.message', sessionId: 's1', from: 'agent', agentId: 'a1', text: '您好，请问有什么可以帮您？' },
    'session.invite': { type: 'session.invite', sessionId: 's1', agentId: 'a1' },
    'session.rate': { type: 'session.rate', sessionId: 's1', score: 5 },
    'session.end': { type: 'session.end', sessionId: 's1', by: 'user' },
    'session.summary': {
      type: 'session.summary',
      sessionId: 's1',
      agentId: 'a1',
      channel: 'online',
      state: '已解决',
      category: ['售前', '价格', '优惠券'],
      remark: '已告知优惠',
    },
    'ticket.create': {
      type: 'ticket.create',
      ticketId: 't1',
      ticketType: '退款',
      agentId: 'a1',
      node: '一级处理',
      deadline: '2026-11-21T10:00:00+08:00',
    },
    'ticket.update': { type: 'ticket.update', ticketId: 't1', node: '二级处理', deadline: 1763700000000 },
    'ticket.close': { type: 'ticket.close', ticketId: 't1' },
  };
}

export function withCommon(e: Record<string, unknown>, time: string | number = '2026-11-20T10:00:00+08:00'): Record<string, unknown> {
  return { id: uid(String(e.type)), time, ...e };
}

export interface PostResult {
  status: number;
  body: { accepted: number; duplicates: number; rejected: { index: number; error: string }[]; error?: string };
}

export async function postEvents(
  url: string,
  events: unknown,
  opts: { token?: string; contentType?: string; raw?: string | Buffer } = {},
): Promise<PostResult> {
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(`${url}/api/v1/events`, {
    method: 'POST',
    headers,
    body: typeof opts.raw === 'object' ? new Uint8Array(opts.raw) : (opts.raw ?? JSON.stringify(events)),
  });
  return { status: res.status, body: (await res.json()) as PostResult['body'] };
}
