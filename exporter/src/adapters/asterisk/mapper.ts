/**
 * queue_log lines → contract events (../shared/spec/events.md). One call (its caller channel's
 * uniqueid, the `callid` field) is one session of channel call; the caller number is its user id.
 *
 * The data fields of each event, from asterisk/asterisk apps/app_queue.c (the `ast_queue_log` calls)
 * and doc/queuelog.txt:
 *   ENTERQUEUE       url|callerid|origposition
 *   CONNECT          holdtime|bridged channel uniqueid|ringtime
 *   COMPLETEAGENT, COMPLETECALLER   holdtime|calltime|origposition
 *   ABANDON, EXITWITHTIMEOUT, EXITEMPTY   position|origposition|waittime
 *   EXITWITHKEY      key|position|origposition|waittime
 *   BLINDTRANSFER    extension|context|holdtime|calltime|origposition
 *   ATTENDEDTRANSFER BRIDGE|uniqueid (or APP|app, LINK|chan|chan)|holdtime|calltime|origposition
 *   TRANSFER         extension|context|holdtime|calltime|origposition (before Asterisk 12)
 *   RINGNOANSWER     ringtime in ms;  RINGCANCELED (newer versions; ignored, its fields are not read)
 *   ADDMEMBER        "PAUSED" or empty (queue = the queue, agent = interface or member name)
 *   REMOVEMEMBER     empty
 *   PAUSE, UNPAUSE   reason (asterisk/documentation PauseQueueMember.md: "reason - is used to add
 *                    extra information to the appropriate queue_log entries"; app_queue's own
 *                    auto-pause after RINGNOANSWER logs "Auto-Pause")
 *   PAUSEALL, UNPAUSEALL   logged with queue "NONE" and the interface when no queue is named
 *   AGENTLOGIN       channel;  AGENTLOGOFF  channel|logintime (chan_agent / app_agent_pool)
 *   AGENTCALLBACKLOGIN  extension@context;  AGENTCALLBACKLOGOFF  extension@context|logintime|reason
 *                    (channels/chan_agent.c, Asterisk 1.4 and before; member lines may carry callid "REALTIME")
 *   QUEUESTART, CONFIGRELOAD, DID (FreePBX: the dialled number), INFO, SYSCOMPAT, AGENTDUMP
 *
 * The state kept per call (which queue, answered or not, how its last queue stay ended) is bounded
 * (MAX_CALLS, closed calls dropped after CLOSED_KEEP_MS of log time) and rebuilt after a restart by
 * replaying the file up to the checkpoint (follow.ts). A line whose call is unknown (the log starts
 * mid-call) carries enough to stand alone: its hold and talk times place the queue entry and answer.
 */
import { AGENT_STATUSES } from '../../ingest/schema.js';
import { createHash } from 'node:crypto';
import { EVENT_RANK } from '../../session/model.js';
import type { QueueLogLine } from './queue-log.js';

export type Outcome = 'mapped' | 'ignored' | 'unknown' | 'invalid';
export type Ev = Record<string, unknown> & { id: string; type: string; time: number };
export interface Mapped {
  outcome: Outcome;
  events: Ev[];
  /** Why a line was ignored, unknown or invalid (for the log). */
  why?: string;
}

/** The mapping file (CS_ASTERISK_MAP): names and ids the log does not carry. All optional. */
export interface AsteriskMap {
  /** queue name in the log → our group id, or { id, name } */
  queues?: Record<string, string | { id?: string; name?: string }>;
  /** member field (interface such as "PJSIP/1001", "Agent/1001", or a member name) → agent id, or { id, name, workNo } */
  agents?: Record<string, string | { id?: string; name?: string; workNo?: string }>;
  /** pause reason (case-insensitive) → agent status (events.md), or "custom" for a custom status labelled with the reason */
  pauseReasons?: Record<string, string>;
}

const STATUSES = new Set<string>(AGENT_STATUSES);

/**
 * Our default pause reason → status table (the reason is free text, whatever the dialplan or panel
 * passes to PauseQueueMember; asterisk/documentation .../Dialplan_Applications/PauseQueueMember.md);
 * the mapping file's `pauseReasons` override it. An unlisted reason becomes `custom` with the reason
 * as its label; no reason is 小休. "Auto-Pause" is the reason app_queue itself gives when it pauses a
 * member that let a call ring out (apps/app_queue.c, rna(): set_member_paused(..., "Auto-Pause", 1)).
 */
export const DEFAULT_PAUSE_REASONS: Readonly<Record<string, string>> = {
  '': 'break',
  break: 'break',
  pause: 'break',
  'auto-pause': 'busy', // app_queue pauses a member that did not answer (autopause=yes)
  busy: 'busy',
  rest: 'rest',
  meeting: 'meeting',
  training: 'training',
  lunch: 'meal',
  meal: 'meal',
  dinner: 'meal',
  toilet: 'restroom',
  restroom: 'restroom',
  bathroom: 'restroom',
  wc: 'restroom',
  discussion: 'discussion',
  outbound: 'outbound',
  callback: 'outbound',
  小休: 'break',
  忙碌: 'busy',
  休息: 'rest',
  会议: 'meeting',
  培训: 'training',
  用餐: 'meal',
  卫生间: 'restroom',
  洽谈: 'discussion',
  外呼: 'outbound',
};

/** Checks a mapping file's content; throws naming the problem. */
export function checkMap(v: unknown, source = 'the mapping file'): AsteriskMap {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new Error(`${source} must be a JSON object with "queues", "agents" and/or "pauseReasons"`);
  const m = v as Record<string, unknown>;
  for (const k of Object.keys(m))
    if (!['queues', 'agents', 'pauseReasons'].includes(k))
      throw new Error(`${source}: unknown key "${k}" (expected queues, agents, pauseReasons)`);
  for (const k of ['queues', 'agents', 'pauseReasons'] as const) {
    const t = m[k];
    if (t === undefined) continue;
    if (typeof t !== 'object' || t === null || Array.isArray(t)) throw new Error(`${source}: "${k}" must be an object`);
    for (const [key, val] of Object.entries(t as Record<string, unknown>)) {
      if (k === 'pauseReasons') {
        if (typeof val !== 'string' || !STATUSES.has(val) || val === 'offline')
          throw new Error(
            `${source}: pauseReasons["${key}"] must be a status other than offline (${[...STATUSES].filter((s) => s !== 'offline').join(', ')})`,
          );
      } else if (typeof val !== 'string' && (typeof val !== 'object' || val === null || Array.isArray(val)))
        throw new Error(`${source}: ${k}["${key}"] must be an id or an object { "id", "name" }`);
    }
  }
  return m as AsteriskMap;
}

type Close = 'transfer' | 'timeout' | 'empty' | 'key' | 'abandon' | 'complete' | 'restart';
interface Call {
  queue: string | null;
  agentId: string | null;
  phase: 'queued' | 'answered' | 'closed';
  close: Close | null;
  answered: boolean;
  /** Log time of the latest line (ms), for eviction. */
  seenMs: number;
  /** Time and rank of the latest event emitted, so a later line's events never sort before it. */
  lastMs: number;
  lastRank: number;
}
interface Agent {
  name: string;
  workNo?: string;
  queues: Set<string>;
  /** null: no AGENTLOGIN/LOGOFF seen (static or dynamic members only). */
  loggedIn: boolean | null;
  paused: Set<string>;
  pauseReason: string;
  status: string | null;
  label: string | null;
  upsert: string | null;
}

export const MAX_CALLS = 100_000;
export const CLOSED_KEEP_MS = 6 * 3_600_000;
const MAX_RECENT_LINES = 200_000;
// ENTERQUEUE's callerid is the channel's number, or "" without one (apps/app_queue.c: `cid_num ? cid_num : ""`);
// the words are how withheld numbers arrive from trunks. None of them names a user.
const ANONYMOUS = /^(|unknown|anonymous|<unknown>|restricted|private|none)$/i;

const shortHash = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 16);
const num = (s: string | undefined): number | undefined => (s !== undefined && /^\d{1,9}$/.test(s.trim()) ? Number(s.trim()) : undefined);

export class QueueLogMapper {
  private readonly calls = new Map<string, Call>();
  private readonly agents = new Map<string, Agent>();
  private readonly groupsNamed = new Set<string>();
  /** Hashes of recent lines, in two generations (a FIFO Set would cost a scan over deleted slots per eviction). */
  private recent = new Set<string>();
  private older = new Set<string>();
  private lines = 0;
  private readonly pause: Record<string, string>;

  constructor(private readonly map: AsteriskMap = {}) {
    this.pause = { ...DEFAULT_PAUSE_REASONS };
    for (const [k, v] of Object.entries(map.pauseReasons ?? {})) this.pause[k.toLowerCase()] = v;
  }

  /** Calls and agents held: for tests of the bound. */
  get size(): { calls: number; agents: number } {
    return { calls: this.calls.size, agents: this.agents.size };
  }

  group(queue: string): { id: string; name?: string } {
    const m = this.map.queues?.[queue];
    if (typeof m === 'string') return { id: m };
    return { id: m?.id ?? queue, name: m?.name };
  }

  agent(member: string): { id: string; name: string; workNo?: string } | undefined {
    const t = member.trim();
    if (t === '' || t === 'NONE') return undefined;
    const m = this.map.agents?.[t];
    // "PJSIP/1001", "SIP/1001", "Agent/1001", "Local/1001@from-queue/n" → 1001; a member name stays itself.
    const iface = /^[A-Za-z][A-Za-z0-9_-]*\/([^@/]+)/.exec(t);
    const derived = iface ? iface[1] : t;
    if (typeof m === 'string') return { id: m, name: t };
    return { id: m?.id ?? derived, name: m?.name ?? t, workNo: m?.workNo };
  }

  map1(l: QueueLogLine): Mapped {
    if (this.recent.has(l.hash) || this.older.has(l.hash))
      return { outcome: 'ignored', events: [], why: 'the same line again (a repeated line is one event)' };
    this.remember(l.hash);
    if (++this.lines % 10_000 === 0) this.sweep(l.epoch * 1000);
    const out: Ev[] = [];
    const r = this.dispatch(l, out);
    if (r) return r;
    return out.length > 0 ? { outcome: 'mapped', events: out } : { outcome: 'ignored', events: [], why: 'nothing to count' };
  }

  private remember(hash: string): void {
    this.recent.add(hash);
    if (this.recent.size >= MAX_RECENT_LINES / 2) {
      this.older = this.recent;
      this.recent = new Set();
    }
  }

  private sweep(nowMs: number): void {
    let over = this.calls.size - MAX_CALLS;
    // Insertion order is arrival order: past the bound the oldest calls go first, whatever their state.
    for (const [id, c] of this.calls) if (over-- > 0 || (c.phase === 'closed' && nowMs - c.seenMs > CLOSED_KEEP_MS)) this.calls.delete(id);
  }

  private dispatch(l: QueueLogLine, out: Ev[]): Mapped | undefined {
    const t = l.epoch * 1000;
    switch (l.event) {
      case 'ENTERQUEUE':
        return this.enter(l, t, out);
      case 'CONNECT':
        return this.connect(l, t, out);
      case 'COMPLETEAGENT':
      case 'COMPLETECALLER':
      case 'AGENTDUMP':
        return this.complete(l, t, out);
      case 'ABANDON':
      case 'EXITWITHKEY':
      case 'EXITWITHTIMEOUT':
      case 'EXITEMPTY':
        return this.exit(l, t, out);
      case 'BLINDTRANSFER':
      case 'ATTENDEDTRANSFER':
      case 'TRANSFER':
        return this.transfer(l, t, out);
      case 'ADDMEMBER':
      case 'REMOVEMEMBER':
      case 'PAUSE':
      case 'UNPAUSE':
      case 'PAUSEALL':
      case 'UNPAUSEALL':
      case 'AGENTLOGIN':
      case 'AGENTLOGOFF':
      case 'AGENTCALLBACKLOGIN':
      case 'AGENTCALLBACKLOGOFF':
        return this.agentLine(l, t, out);
      case 'QUEUESTART':
        return this.restart(l, t, out);
      // Nothing of these is counted by metrics.md: rings that were not answered (RINGNOANSWER,
      // RINGCANCELED), the dialled number (DID) and free text (INFO), a failed bridge (SYSCOMPAT:
      // the call stays queued), a configuration reload (CONFIGRELOAD).
      case 'RINGNOANSWER':
      case 'RINGCANCELED':
      case 'DID':
      case 'INFO':
      case 'SYSCOMPAT':
      case 'CONFIGRELOAD':
        return { outcome: 'ignored', events: [], why: `${l.event} carries nothing the metrics count` };
      default:
        return { outcome: 'unknown', events: [], why: `unknown queue_log event ${l.event}` };
    }
  }

  private ev(l: QueueLogLine, type: string, time: number, body: Record<string, unknown>, suffix = ''): Ev {
    return { id: `ast-${l.hash}-${type}${suffix}`, type, time, ...body };
  }

  /** The time of a call's next event: never before (in the one event order) what the call already emitted. */
  private at(c: Call, t: number, type: string): number {
    const rank = EVENT_RANK[type] ?? 10;
    let ms = Math.max(t, c.lastMs);
    if (ms === c.lastMs && rank < c.lastRank) ms += 1;
    c.lastMs = ms;
    c.lastRank = rank;
    return ms;
  }

  private callOf(l: QueueLogLine): string | Mapped {
    const id = l.callid.trim();
    if (id === '' || id === 'NONE') return { outcome: 'invalid', events: [], why: `${l.event} without a callid` };
    if (id.length > 128) return { outcome: 'invalid', events: [], why: 'a callid longer than 128 characters' };
    if (l.queue.trim() === '' || l.queue === 'NONE') return { outcome: 'invalid', events: [], why: `${l.event} without a queue name` };
    return id;
  }

  private newCall(id: string, t: number): Call {
    const c: Call = {
      queue: null,
      agentId: null,
      phase: 'closed',
      close: null,
      answered: false,
      seenMs: t,
      lastMs: -Infinity,
      lastRank: 0,
    };
    this.calls.set(id, c);
    return c;
  }

  private groupEvents(l: QueueLogLine, t: number, out: Ev[]): string {
    const g = this.group(l.queue);
    if (g.name && !this.groupsNamed.has(g.id)) {
      this.groupsNamed.add(g.id);
      // Content-derived id: the same name for the same group is one event, however often it is re-read.
      out.push({
        id: `ast-group-${shortHash(`${g.id}|${g.name}`)}`,
        type: 'group.upsert',
        time: t,
        groupId: g.id,
        name: g.name.slice(0, 200),
      });
    }
    return g.id;
  }

  /** Queue entry: new calls start a session; a call back from an exit overflows, from a transfer is transferred. */
  private enter(l: QueueLogLine, t: number, out: Ev[]): Mapped | undefined {
    const id = this.callOf(l);
    if (typeof id !== 'string') return id;
    const groupId = this.groupEvents(l, t, out);
    let c = this.calls.get(id);
    let via: string;
    if (!c) {
      c = this.newCall(id, t);
      const caller = (l.data[1] ?? '').trim();
      const start: Record<string, unknown> = { sessionId: id };
      if (!ANONYMOUS.test(caller)) start.userId = caller.slice(0, 128);
      out.push(this.ev(l, 'session.start', this.at(c, t, 'session.start'), start));
      via = 'direct';
    } else if (c.phase === 'queued' && c.queue === groupId) {
      return { outcome: 'ignored', events: out, why: 'the call is already queued there' };
    } else if (c.phase === 'answered' || c.close === 'transfer' || (c.phase === 'closed' && c.answered)) {
      via = 'transfer';
    } else via = 'overflow';
    c.seenMs = t;
    c.queue = groupId;
    c.phase = 'queued';
    c.close = null;
    out.push(this.ev(l, 'session.queue', this.at(c, t, 'session.queue'), { sessionId: id, groupId, via }));
    return undefined;
  }

  /** A call first seen after its queue entry (the log starts mid-call): its queue entry is placed `waitS` before. */
  private known(l: QueueLogLine, id: string, groupId: string, t: number, waitS: number | undefined, out: Ev[]): Call {
    let c = this.calls.get(id);
    if (c) return c;
    c = this.newCall(id, t);
    const q = t - (waitS ?? 0) * 1000;
    out.push(this.ev(l, 'session.queue', this.at(c, q, 'session.queue'), { sessionId: id, groupId, via: 'direct' }));
    c.queue = groupId;
    c.phase = 'queued';
    return c;
  }

  private answer(l: QueueLogLine, c: Call, id: string, groupId: string, agentId: string, t: number, out: Ev[]): void {
    out.push(this.ev(l, 'session.answer', this.at(c, t, 'session.answer'), { sessionId: id, groupId, agentId }));
    c.phase = 'answered';
    c.answered = true;
    c.agentId = agentId;
  }

  private connect(l: QueueLogLine, t: number, out: Ev[]): Mapped | undefined {
    const id = this.callOf(l);
    if (typeof id !== 'string') return id;
    const a = this.agent(l.agent);
    if (!a) return { outcome: 'invalid', events: [], why: 'CONNECT without an agent' };
    const groupId = this.groupEvents(l, t, out);
    this.agentSeen(l, a, groupId, t, out);
    const c = this.known(l, id, groupId, t, num(l.data[0]), out);
    if (c.phase === 'answered' && c.agentId === a.id)
      return { outcome: 'ignored', events: out, why: 'the call is already connected to this agent' };
    c.seenMs = t;
    this.answer(l, c, id, groupId, a.id, t, out);
    return undefined;
  }

  /** A line that ends a call's stay (complete, transfer) of a call never seen connected: its hold and talk times place both. */
  private served(l: QueueLogLine, id: string, t: number, holdS: number | undefined, callS: number | undefined, out: Ev[]): Call | Mapped {
    const groupId = this.groupEvents(l, t, out);
    const a = this.agent(l.agent);
    let c = this.calls.get(id);
    if (!c) {
      if (!a) return { outcome: 'invalid', events: [], why: `${l.event} of an unknown call without an agent` };
      this.agentSeen(l, a, groupId, t, out);
      const answeredAt = t - (callS ?? 0) * 1000;
      c = this.known(l, id, groupId, answeredAt, holdS, out);
      this.answer(l, c, id, groupId, a.id, answeredAt, out);
    }
    return c;
  }

  private complete(l: QueueLogLine, t: number, out: Ev[]): Mapped | undefined {
    const id = this.callOf(l);
    if (typeof id !== 'string') return id;
    const prior = this.calls.get(id);
    if (prior && prior.phase === 'closed' && prior.close === 'complete')
      return { outcome: 'ignored', events: [], why: 'the call already completed' };
    const c = this.served(l, id, t, num(l.data[0]), num(l.data[1]), out);
    if (!('phase' in c)) return c;
    c.seenMs = t;
    c.phase = 'closed';
    c.close = 'complete';
    out.push(
      this.ev(l, 'session.end', this.at(c, t, 'session.end'), { sessionId: id, by: l.event === 'COMPLETECALLER' ? 'user' : 'agent' }),
    );
    return undefined;
  }

  /**
   * Leaving the queue unanswered. ABANDON (hung up) and EXITWITHKEY (pressed a key to leave) are
   * the caller's choice: 排队放弃. EXITWITHTIMEOUT (waited past the queue's timeout) and EXITEMPTY
   * (no member could take calls) are the queue failing the caller: 转人工失败 (reason busy,
   * no_agent). Only ABANDON ends the session: after the others the dialplan goes on and may send the
   * call into another queue, an overflow of the same session (a `session.end` now would fix the
   * session's end, for 服务时长 and 24小时内复访, before the rest of the call).
   */
  private exit(l: QueueLogLine, t: number, out: Ev[]): Mapped | undefined {
    const id = this.callOf(l);
    if (typeof id !== 'string') return id;
    const groupId = this.groupEvents(l, t, out);
    const prior = this.calls.get(id);
    if (prior && prior.phase !== 'queued') return { outcome: 'ignored', events: out, why: `${l.event} of a call that is not queued` };
    const waitS = num(l.event === 'EXITWITHKEY' ? l.data[3] : l.data[2]);
    const c = this.known(l, id, groupId, t, waitS, out);
    c.seenMs = t;
    c.phase = 'closed';
    const q = { sessionId: id, groupId };
    if (l.event === 'ABANDON' || l.event === 'EXITWITHKEY') {
      c.close = l.event === 'ABANDON' ? 'abandon' : 'key';
      out.push(this.ev(l, 'session.abandon', this.at(c, t, 'session.abandon'), q));
      // Only a hang-up ends the session: after a key the dialplan goes on (voicemail, another queue).
      if (l.event === 'ABANDON') out.push(this.ev(l, 'session.end', this.at(c, t, 'session.end'), { sessionId: id, by: 'user' }));
    } else {
      c.close = l.event === 'EXITWITHTIMEOUT' ? 'timeout' : 'empty';
      out.push(
        this.ev(l, 'session.reject', this.at(c, t, 'session.reject'), {
          ...q,
          reason: l.event === 'EXITWITHTIMEOUT' ? 'busy' : 'no_agent',
        }),
      );
    }
    return undefined;
  }

  /**
   * The agent hands the caller on (主动转接): the part ends, the session does not (the call goes on
   * outside app_queue); a queue the caller lands in next is entered via transfer.
   */
  private transfer(l: QueueLogLine, t: number, out: Ev[]): Mapped | undefined {
    const id = this.callOf(l);
    if (typeof id !== 'string') return id;
    const n = l.data.length;
    // BLINDTRANSFER/TRANSFER: exten|context|hold|call|pos; ATTENDEDTRANSFER: the transfer target takes 1 or 2 fields before hold|call|pos.
    const hold = l.event === 'ATTENDEDTRANSFER' ? num(l.data[n - 3]) : num(l.data[2]);
    const call = l.event === 'ATTENDEDTRANSFER' ? num(l.data[n - 2]) : num(l.data[3]);
    const c = this.served(l, id, t, hold, call, out);
    if (!('phase' in c)) return c;
    if (c.phase !== 'answered') return { outcome: 'ignored', events: out, why: `${l.event} of a call not connected to an agent` };
    const agentId = this.agent(l.agent)?.id ?? c.agentId!;
    c.seenMs = t;
    c.phase = 'closed';
    c.close = 'transfer';
    out.push(this.ev(l, 'session.transfer', this.at(c, t, 'session.transfer'), { sessionId: id, agentId, reason: 'manual' }));
    return undefined;
  }

  /** Asterisk (re)started: calls it held are gone without a line of their own. */
  private restart(l: QueueLogLine, t: number, out: Ev[]): Mapped | undefined {
    for (const [id, c] of this.calls) {
      if (c.phase === 'closed') continue;
      c.phase = 'closed';
      c.close = 'restart';
      out.push(this.ev(l, 'session.end', this.at(c, t, 'session.end'), { sessionId: id, by: 'system' }, `-${shortHash(id)}`));
    }
    return out.length > 0 ? undefined : { outcome: 'ignored', events: [], why: 'QUEUESTART with no call in progress' };
  }

  private agentState(a: { id: string; name: string; workNo?: string }): Agent {
    let s = this.agents.get(a.id);
    if (!s) {
      s = {
        name: a.name,
        workNo: a.workNo,
        queues: new Set(),
        loggedIn: null,
        paused: new Set(),
        pauseReason: '',
        status: null,
        label: null,
        upsert: null,
      };
      this.agents.set(a.id, s);
    }
    return s;
  }

  /** Master data: the agent's name and the queues it is a member of, when they change. */
  private upsert(l: QueueLogLine, id: string, s: Agent, t: number, out: Ev[]): void {
    const groups = [...s.queues].sort();
    const sig = JSON.stringify([s.name, s.workNo, groups]);
    if (sig === s.upsert) return;
    s.upsert = sig;
    const body: Record<string, unknown> = { agentId: id, name: s.name.slice(0, 200), groups };
    if (s.workNo) body.workNo = s.workNo;
    out.push(this.ev(l, 'agent.upsert', t, body));
  }

  private agentSeen(l: QueueLogLine, a: { id: string; name: string; workNo?: string }, groupId: string, t: number, out: Ev[]): void {
    const s = this.agentState(a);
    // Static members (queues.conf) log no ADDMEMBER: answering in a queue shows the membership.
    s.queues.add(groupId);
    this.upsert(l, a.id, s, t, out);
  }

  private agentLine(l: QueueLogLine, t: number, out: Ev[]): Mapped | undefined {
    const a = this.agent(l.agent);
    if (!a) return { outcome: 'invalid', events: [], why: `${l.event} without an agent` };
    const s = this.agentState(a);
    const inQueue = l.queue.trim() !== '' && l.queue !== 'NONE';
    const groupId = inQueue ? this.groupEvents(l, t, out) : null;
    const reason = (l.data[0] ?? '').trim();
    switch (l.event) {
      case 'ADDMEMBER':
        if (groupId) s.queues.add(groupId);
        if (groupId && reason === 'PAUSED') s.paused.add(groupId);
        break;
      case 'REMOVEMEMBER':
        if (groupId) {
          s.queues.delete(groupId);
          s.paused.delete(groupId);
        }
        break;
      case 'PAUSE':
        s.paused.add(groupId ?? '*');
        s.pauseReason = reason;
        break;
      case 'UNPAUSE':
        if (groupId) s.paused.delete(groupId);
        s.paused.delete('*');
        if (!groupId) s.paused.clear();
        break;
      case 'PAUSEALL':
        s.paused.clear();
        s.paused.add('*');
        s.pauseReason = reason;
        break;
      case 'UNPAUSEALL':
        s.paused.clear();
        break;
      case 'AGENTLOGIN':
      case 'AGENTCALLBACKLOGIN':
        s.loggedIn = true;
        break;
      default:
        s.loggedIn = false;
        s.paused.clear();
    }
    this.upsert(l, a.id, s, t, out);
    // A member of some queue, or logged in as an agent, is present; logged off is offline whatever the queues.
    const present = s.loggedIn === true || (s.loggedIn === null && s.queues.size > 0);
    let status = 'online';
    let label: string | null = null;
    if (!present) status = 'offline';
    else if (s.paused.size > 0) {
      const mapped = this.pause[s.pauseReason.toLowerCase()];
      if (mapped) status = mapped;
      else {
        status = 'custom';
        label = s.pauseReason.slice(0, 100);
      }
      if (status === 'custom' && !label) label = s.pauseReason.slice(0, 100) || null;
    }
    if (status !== s.status || label !== s.label) {
      s.status = status;
      s.label = label;
      const body: Record<string, unknown> = { agentId: a.id, status };
      if (label) body.label = label;
      out.push(this.ev(l, 'agent.status', t, body));
    }
    const op = [l.event, inQueue ? l.queue : '', reason].filter((x) => x !== '').join(' ');
    out.push(this.ev(l, 'agent.log', t, { agentId: a.id, platform: 'Asterisk', operation: op.slice(0, 200) }));
    return undefined;
  }
}
