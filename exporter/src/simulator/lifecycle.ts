/**
 * Checks that a stream of events tells coherent stories: each session moves
 * start → robot → queue → answer → (transfer → queue → answer)* → end, each
 * agent stays within its 接待上限, each ticket is created before it moves.
 * The simulator's tests hold its output to this; it also documents what a
 * well-behaved producer sends.
 */

type Ev = Record<string, unknown> & { type: string; time: string | number };

function ms(e: Ev): number {
  return typeof e.time === 'number' ? e.time : Date.parse(e.time);
}

/** Events in time order; ties keep their order in the input (the order they happened). */
function ordered(events: readonly Ev[]): Ev[] {
  return events
    .map((e, i) => ({ e, i, t: ms(e) }))
    .sort((a, b) => a.t - b.t || a.i - b.i)
    .map((x) => x.e);
}

type State = 'new' | 'bot' | 'queued' | 'serving' | 'transferred' | 'closing' | 'ended';

interface SessionTrack {
  state: State;
  group?: string;
  agent?: string;
  served: Set<string>;
  rated: boolean;
}

export interface CheckOptions {
  /** Require every started session to have ended (true for finished days). */
  complete?: boolean;
}

/** Problems found in the sessions' lifecycles, one line each ("<sessionId>: ..."); empty when all is well. */
export function checkSessionLifecycles(events: readonly Ev[], opts: CheckOptions = {}): string[] {
  const problems: string[] = [];
  const sessions = new Map<string, SessionTrack>();
  const started = new Set(events.filter((e) => e.type === 'session.start').map((e) => String(e.sessionId)));
  const bad = (id: string, e: Ev, why: string) => problems.push(`${id}: ${e.type} at ${new Date(ms(e)).toISOString()} ${why}`);
  for (const e of ordered(events)) {
    if (!e.type.startsWith('session.')) continue;
    const id = String(e.sessionId);
    if (!started.has(id)) {
      // Call records (服务小记 of calls) have no chat session behind them.
      if (e.type !== 'session.summary' || e.channel === 'online') bad(id, e, 'names a session that never started');
      continue;
    }
    let s = sessions.get(id);
    if (!s) {
      s = { state: 'new', served: new Set(), rated: false };
      sessions.set(id, s);
    }
    if (s.state === 'new' && e.type !== 'session.start') {
      bad(id, e, 'comes before session.start');
      continue;
    }
    if (s.state === 'ended' && e.type !== 'session.rate' && e.type !== 'session.summary') {
      bad(id, e, 'comes after session.end');
      continue;
    }
    switch (e.type) {
      case 'session.start':
        if (s.state !== 'new') bad(id, e, 'repeats session.start');
        s.state = 'bot';
        break;
      case 'session.queue': {
        const ok =
          (s.state === 'bot' && e.via === 'direct') ||
          (s.state === 'transferred' && e.via === 'transfer') ||
          (s.state === 'queued' && e.via === 'overflow' && e.groupId !== s.group);
        if (!ok) bad(id, e, `via ${String(e.via)} is not possible while ${s.state}`);
        s.state = 'queued';
        s.group = String(e.groupId);
        break;
      }
      case 'session.answer':
        if (!(s.state === 'queued' && e.groupId === s.group) && s.state !== 'transferred')
          bad(id, e, `in ${String(e.groupId)} while ${s.state} in ${s.group}`);
        s.state = 'serving';
        s.group = String(e.groupId);
        s.agent = String(e.agentId);
        s.served.add(s.agent);
        break;
      case 'session.abandon':
        if (!(s.state === 'queued' && e.groupId === s.group)) bad(id, e, `in ${String(e.groupId)} while ${s.state} in ${s.group}`);
        s.state = 'closing';
        break;
      case 'session.reject':
        if (!['bot', 'transferred'].includes(s.state) && !(s.state === 'queued' && e.groupId === s.group)) bad(id, e, `while ${s.state}`);
        s.state = 'closing';
        break;
      case 'session.transfer':
        if (s.state !== 'serving' || e.agentId !== s.agent) bad(id, e, `by ${String(e.agentId)} while ${s.state} by ${s.agent}`);
        s.state = 'transferred';
        s.agent = undefined;
        break;
      case 'session.message':
        if (e.from === 'agent' && (s.state !== 'serving' || e.agentId !== s.agent))
          bad(id, e, `from agent ${String(e.agentId)} while ${s.state} by ${s.agent}`);
        break;
      case 'session.invite':
        if (s.state !== 'serving' || e.agentId !== s.agent) bad(id, e, `by ${String(e.agentId)} while ${s.state} by ${s.agent}`);
        break;
      case 'session.rate':
        if (s.rated) bad(id, e, 'rates a second time');
        if (s.served.size === 0) bad(id, e, 'rates a session no agent served');
        s.rated = true;
        break;
      case 'session.end':
        if (s.state === 'queued' || s.state === 'transferred') bad(id, e, `while ${s.state} (the wait must end first)`);
        s.state = 'ended';
        break;
      case 'session.summary':
        if (s.state !== 'ended') bad(id, e, 'before the session ended');
        if (!s.served.has(String(e.agentId))) bad(id, e, `by ${String(e.agentId)}, who did not serve it`);
        break;
    }
  }
  if (opts.complete) for (const [id, s] of sessions) if (s.state !== 'ended') problems.push(`${id}: never ended (last state ${s.state})`);
  return problems;
}

/** Agents found serving more sessions at once than their 接待上限 (from agent.upsert). */
export function checkAgentLimits(events: readonly Ev[]): string[] {
  const limit = new Map<string, number>();
  const serving = new Map<string, Set<string>>();
  const servedBy = new Map<string, string>();
  const problems: string[] = [];
  const drop = (sessionId: string) => {
    const a = servedBy.get(sessionId);
    if (a) serving.get(a)?.delete(sessionId);
    servedBy.delete(sessionId);
  };
  for (const e of ordered(events)) {
    if (e.type === 'agent.upsert' && typeof e.maxSessions === 'number') limit.set(String(e.agentId), e.maxSessions);
    else if (e.type === 'session.answer') {
      const sid = String(e.sessionId);
      const a = String(e.agentId);
      drop(sid);
      servedBy.set(sid, a);
      const set = serving.get(a) ?? new Set<string>();
      serving.set(a, set);
      set.add(sid);
      const max = limit.get(a);
      if (max !== undefined && set.size > max)
        problems.push(`${a}: ${set.size} sessions at ${new Date(ms(e)).toISOString()}, limit ${max}`);
    } else if (e.type === 'session.transfer' || e.type === 'session.end') drop(String(e.sessionId));
  }
  return problems;
}

/** Tickets updated or closed before they were created, or closed twice. */
export function checkTickets(events: readonly Ev[]): string[] {
  const state = new Map<string, 'open' | 'closed'>();
  const problems: string[] = [];
  for (const e of ordered(events)) {
    if (!e.type.startsWith('ticket.')) continue;
    const id = String(e.ticketId);
    const s = state.get(id);
    if (e.type === 'ticket.create') {
      if (s) problems.push(`${id}: created twice`);
      state.set(id, 'open');
    } else if (s !== 'open') problems.push(`${id}: ${e.type} while ${s ?? 'not created'}`);
    else if (e.type === 'ticket.close') state.set(id, 'closed');
  }
  return problems;
}
