/**
 * One simulated day of a tenant's contact center: a discrete-event run over
 * a heap of timed actions. Each day starts from a clean floor (everyone
 * logged out, service closed since 23:00 the day before), so a day's events
 * depend only on (options, day): re-running any day gives the same ids and
 * the exporter deduplicates them.
 */
import { EventHeap } from './heap.js';
import { Rng } from './rng.js';
import { arrivalsOf, type Arrival } from './arrivals.js';
import { buildRoster, type AgentDef, type GroupDef, type Roster, type SimOptions } from './roster.js';
import {
  AGENT_LINES,
  CATEGORIES,
  CUSTOM_LABELS,
  OFFLINE_REMARKS_MIDDAY,
  PLATFORMS,
  ROBOT_LINES,
  SERVICE_CLOSE_HOUR,
  SERVICE_OPEN_HOUR,
  SUMMARY_REMARKS,
  SUMMARY_STATES,
  TICKET_TYPES,
  USER_LINES,
  USER_OPENERS,
} from './vocab.js';
import { STATUS_LABELS } from '../catalog.js';
import { addDays, dayStartMs } from '../time.js';

/** An event as the simulator sends it (events.md), with its time in ms alongside. */
export interface SimEvent {
  id: string;
  type: string;
  time: string;
  tenant?: string;
  [field: string]: unknown;
}

export interface TimedEvent {
  ms: number;
  event: SimEvent;
}

const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;

type Status =
  | 'online'
  | 'break'
  | 'busy'
  | 'rest'
  | 'meeting'
  | 'training'
  | 'meal'
  | 'restroom'
  | 'discussion'
  | 'outbound'
  | 'custom'
  | 'hosted'
  | 'offline';

interface Pause {
  at: number;
  status: Status;
  minutes: number;
  label?: string;
  remark?: string;
}

interface Agent {
  def: AgentDef;
  status: Status;
  accepting: boolean;
  active: number;
  lastAssignAt: number;
  /** What to do once the agent's last session ends: take a pause, or log off. */
  after?: Pause | 'offline';
  shiftOver: boolean;
  pauses: Pause[];
}

interface Group {
  def: GroupDef;
  queue: Session[];
  members: Agent[];
}

interface Session {
  id: string;
  arrival: Arrival;
  /** Bumped when the session moves on, so stale timers of an earlier step do nothing. */
  gen: number;
  group?: Group;
  queuedAt: number;
  patienceAt: number;
  overflowed: boolean;
  agent?: Agent;
  excluded?: Agent;
  served: Agent[];
  maxWait: number;
  timedOut: boolean;
  /** Taken by an agent whose answer is still a few seconds off. */
  answering: boolean;
  rated: boolean;
  ended: boolean;
}

export interface DayResult {
  day: string;
  roster: Roster;
  /** In time order (ties in the order they happened). */
  events: TimedEvent[];
}

/** Simulates `day` (YYYY-MM-DD, local to `o.timezone`) for one tenant. */
export function simulateDay(o: SimOptions, day: string, roster: Roster = buildRoster(o)): DayResult {
  return new DaySim(o, day, roster).run();
}

class DaySim {
  private heap = new EventHeap();
  private rng: Rng;
  private now: number;
  private readonly dayStart: number;
  private readonly dayEnd: number;
  private readonly out: TimedEvent[] = [];
  private seq = 0;
  private sessionNo = 0;
  private callNo = 0;
  private ticketNo = 0;
  private readonly prefix: string;
  private readonly groups = new Map<string, Group>();
  private readonly agents: Agent[] = [];
  private readonly open = new Set<Session>();
  private closed = false;
  /** Groups a session may be transferred to (the 24-hour one takes none). */
  private readonly dayGroups: number;

  constructor(
    private readonly o: SimOptions,
    private readonly day: string,
    private readonly roster: Roster,
  ) {
    this.rng = new Rng(o.seed, o.tenant, roster.tag, day, 'day');
    this.dayStart = dayStartMs(day, o.timezone);
    this.dayEnd = dayStartMs(addDays(day, 1), o.timezone);
    this.now = this.dayStart;
    this.prefix = `${day.replace(/-/g, '')}${roster.tag}`;
    for (const g of roster.groups) this.groups.set(g.id, { def: g, queue: [], members: [] });
    this.dayGroups = roster.groups.filter((g) => !g.allDay).length;
    for (const def of roster.agents) {
      const a: Agent = { def, status: 'offline', accepting: false, active: 0, lastAssignAt: 0, shiftOver: false, pauses: [] };
      this.agents.push(a);
      for (const g of def.groups) this.groups.get(g)!.members.push(a);
    }
  }

  run(): DayResult {
    this.at(this.dayStart, () => this.masterData());
    for (const a of this.agents) this.planShift(a);
    for (const arr of arrivalsOf(this.o, this.roster, this.day)) this.at(arr.t, () => this.arrive(arr));
    this.planCalls();
    this.at(this.dayEnd - S, () => this.closeDay());
    for (let item = this.heap.pop(); item; item = this.heap.pop()) {
      this.now = item.t;
      item.run();
    }
    return { day: this.day, roster: this.roster, events: this.out };
  }

  private at(t: number, run: () => void): void {
    this.heap.push(Math.max(Math.round(t), this.now), run);
  }

  private after(ms: number, run: () => void): void {
    this.at(this.now + ms, run);
  }

  private emit(type: string, fields: Record<string, unknown>): void {
    const event: SimEvent = { id: `sim-${this.prefix}-${(this.seq++).toString(36)}`, type, time: new Date(this.now).toISOString() };
    if (this.o.tenant !== 'default') event.tenant = this.o.tenant;
    Object.assign(event, fields);
    this.out.push({ ms: this.now, event });
  }

  private log(a: Agent, operation: string, platform: string = PLATFORMS.chat): void {
    this.emit('agent.log', { agentId: a.def.id, platform, operation });
  }

  private hourOf(t: number): number {
    return Math.floor((t - this.dayStart) / HOUR);
  }

  // ---- master data and agents' days ----

  private masterData(): void {
    for (const g of this.roster.groups) this.emit('group.upsert', { groupId: g.id, name: g.name });
    for (const a of this.roster.agents) {
      this.emit('agent.upsert', { agentId: a.id, name: a.name, workNo: a.workNo, groups: a.groups, maxSessions: a.maxSessions });
    }
  }

  private planShift(a: Agent): void {
    const r = this.rng;
    // 休息日; the 24-hour group's few agents cover their line every day (else a night could have nobody).
    if (!r.chance(0.88) && !a.def.allDay) return;
    const { start, end } = a.def.shift;
    // Before midnight is this day's start: a 夜班 logs in at 00:00 (`at` never goes back in time).
    const login = this.dayStart + start * HOUR - r.uniform(0, 15) * MIN;
    // The day ends with the floor logged off (closeDay): a 晚班 until 24:00 leaves a few minutes before.
    const lastOut = a.def.allDay ? this.dayEnd - r.uniform(2, 5) * MIN : this.dayStart + SERVICE_CLOSE_HOUR * HOUR + 20 * MIN;
    const logout = Math.min(this.dayStart + end * HOUR + r.uniform(-5, 10) * MIN, lastOut);
    const len = (logout - login) / HOUR;
    const p = (h: number, status: Status, minutes: number, extra: Partial<Pause> = {}) =>
      a.pauses.push({ at: login + (h + r.uniform(-0.3, 0.3)) * HOUR, status, minutes, ...extra });
    p(len * 0.22, 'break', r.uniform(8, 15));
    p(len * 0.45, 'meal', r.uniform(30, 50));
    p(len * 0.75, 'break', r.uniform(8, 15));
    for (let i = r.int(0, 2); i > 0; i--) p(r.uniform(0.5, len - 0.5), 'restroom', r.uniform(3, 8));
    if (r.chance(0.08)) p(r.uniform(1, len - 1), 'meeting', 30);
    if (r.chance(0.05)) p(r.uniform(1, len - 1), 'training', 60);
    if (r.chance(0.05)) p(r.uniform(1, len - 1), 'discussion', r.uniform(10, 20));
    if (r.chance(0.05)) p(r.uniform(1, len - 1), 'rest', r.uniform(10, 20));
    if (r.chance(0.05)) p(r.uniform(1, len - 1), 'custom', 20, { label: r.pick(CUSTOM_LABELS) });
    if (r.chance(0.1)) p(r.uniform(1, len - 1), 'hosted', r.uniform(10, 20));
    if (r.chance(0.12)) p(r.uniform(1, len - 1), 'outbound', r.uniform(30, 45));
    if (r.chance(0.04)) p(r.uniform(1, len - 1), 'offline', r.uniform(5, 20), { remark: r.pick(OFFLINE_REMARKS_MIDDAY) });
    a.pauses.sort((x, y) => x.at - y.at);
    this.at(login, () => this.login(a));
    this.at(logout, () => this.endShift(a));
  }

  private login(a: Agent): void {
    if (this.closed || a.shiftOver) return;
    const seat = this.rng.chance(0.85) ? a.def.homeSeat : `${a.def.homeSeat.slice(0, 5)}${String(this.rng.int(13, 20))}`;
    this.setStatus(a, 'online', { seat });
    this.log(a, '登录');
    this.becomeAvailable(a);
  }

  private setStatus(a: Agent, status: Status, extra: Record<string, unknown> = {}): void {
    a.status = status;
    this.emit('agent.status', { agentId: a.def.id, status, ...extra });
    if (status !== 'online' && status !== 'offline') this.log(a, `切换状态：${extra.label ?? STATUS_LABELS[status]}`);
  }

  private becomeAvailable(a: Agent): void {
    a.accepting = true;
    a.lastAssignAt = this.now;
    this.scheduleNextPause(a);
    for (const g of a.def.groups) this.dispatch(this.groups.get(g)!);
  }

  private scheduleNextPause(a: Agent): void {
    const next = a.pauses.shift();
    if (!next) return;
    this.at(Math.max(next.at, this.now + 5 * MIN), () => this.wantPause(a, next));
  }

  private wantPause(a: Agent, p: Pause): void {
    if (this.closed || a.shiftOver || a.status !== 'online') return;
    // On the 24-hour line one pauses at a time, so a night shift of two always has someone online.
    if (a.def.allDay && this.groups.get(a.def.groups[0])!.members.some((m) => m !== a && m.status !== 'online' && m.status !== 'offline')) {
      this.after(10 * MIN, () => this.wantPause(a, p));
      return;
    }
    a.accepting = false;
    if (a.active > 0) {
      // Agents stop taking sessions and finish the ones they have first.
      a.after = p;
      this.setStatus(a, 'busy');
    } else this.beginPause(a, p);
  }

  private beginPause(a: Agent, p: Pause): void {
    if (p.status === 'offline') {
      this.setStatus(a, 'offline', { remark: p.remark });
      this.log(a, '退出登录');
      this.after(p.minutes * MIN, () => this.login(a));
      return;
    }
    this.setStatus(a, p.status, p.label ? { label: p.label } : {});
    if (p.status === 'outbound') {
      for (let i = this.rng.int(2, 8); i > 0; i--) {
        this.after(this.rng.uniform(1, p.minutes) * MIN, () => this.callSummary(a, 'manual_outbound'));
      }
    }
    this.after(p.minutes * MIN, () => {
      if (this.closed) return;
      if (a.shiftOver) return this.goOffline(a);
      this.setStatus(a, 'online');
      this.becomeAvailable(a);
    });
  }

  private endShift(a: Agent): void {
    if (this.closed) return;
    a.shiftOver = true;
    a.accepting = false;
    if (a.status === 'offline') return;
    if (a.active > 0) {
      a.after = 'offline';
      if (a.status === 'online') this.setStatus(a, 'busy');
    } else if (a.status === 'online' || a.status === 'busy') this.goOffline(a);
    // In a pause: its end logs the agent off.
  }

  private goOffline(a: Agent): void {
    if (a.status === 'offline') return;
    this.setStatus(a, 'offline', { remark: '下班' });
    this.log(a, '退出登录');
  }

  /** An agent's part in a session ended. */
  private release(a: Agent): void {
    a.active--;
    if (a.active > 0) {
      if (a.accepting) for (const g of a.def.groups) this.dispatch(this.groups.get(g)!);
      return;
    }
    const next = a.after;
    a.after = undefined;
    if (next === 'offline' || (a.shiftOver && a.status !== 'offline')) this.goOffline(a);
    else if (next) this.beginPause(a, next);
    else if (a.accepting) for (const g of a.def.groups) this.dispatch(this.groups.get(g)!);
  }

  // ---- visitors ----

  private arrive(arr: Arrival): void {
    if (this.closed) return;
    const r = this.rng;
    const s: Session = {
      id: `S${this.prefix}${String(++this.sessionNo).padStart(5, '0')}`,
      arrival: arr,
      gen: 0,
      queuedAt: 0,
      patienceAt: 0,
      overflowed: false,
      served: [],
      maxWait: 0,
      timedOut: false,
      answering: false,
      rated: false,
      ended: false,
    };
    this.open.add(s);
    this.emit('session.start', {
      sessionId: s.id,
      ...(arr.userId ? { userId: arr.userId } : {}),
      ...(arr.region ? { region: arr.region } : {}),
    });
    this.emit('session.message', { sessionId: s.id, from: 'robot', text: ROBOT_LINES[0] });
    const gen = s.gen;
    this.after(r.logNormal(12, 0.6) * S, () => {
      if (s.gen !== gen || this.closed) return;
      this.emit('session.message', { sessionId: s.id, from: 'user', text: r.pick(USER_OPENERS) });
      this.after(r.uniform(1, 3) * S, () => {
        if (s.gen !== gen || this.closed) return;
        this.emit('session.message', { sessionId: s.id, from: 'robot', text: r.pick(ROBOT_LINES.slice(1)) });
        if (arr.wantsHuman) {
          this.after(r.logNormal(20, 0.7) * S, () => {
            if (s.gen !== gen || this.closed) return;
            this.emit('session.message', { sessionId: s.id, from: 'user', text: '转人工' });
            this.request(s, this.groups.get(arr.groupId)!, 'direct');
          });
        } else {
          this.after(r.logNormal(40, 0.8) * S, () => this.end(s, r.chance(0.7) ? 'user' : 'system'));
        }
      });
    });
  }

  /** The session asks for a human in `g`: queued, or rejected. */
  private request(s: Session, g: Group, via: 'direct' | 'transfer'): void {
    s.gen++;
    const h = this.hourOf(this.now);
    let reason: string | undefined;
    if (!g.def.allDay && (h < SERVICE_OPEN_HOUR || h >= SERVICE_CLOSE_HOUR)) reason = 'off_hours';
    else if (!g.members.some((a) => a.status !== 'offline')) reason = 'no_agent';
    else if (g.queue.length >= this.queueCap(g)) reason = 'busy';
    else if (this.rng.chance(0.002)) reason = 'other';
    if (reason) {
      this.emit('session.reject', { sessionId: s.id, groupId: g.def.id, reason });
      this.emit('session.message', {
        sessionId: s.id,
        from: 'system',
        text:
          reason === 'off_hours'
            ? `人工服务时间为${SERVICE_OPEN_HOUR}:00-${SERVICE_CLOSE_HOUR}:00，请稍后再来`
            : '当前人工客服繁忙，请稍后再试',
      });
      const gen = s.gen;
      this.after(this.rng.uniform(5, 60) * S, () => s.gen === gen && this.end(s, this.rng.chance(0.5) ? 'user' : 'system'));
      return;
    }
    s.patienceAt = this.now + Math.max(5 * S, this.rng.exp(150 * S * g.def.patience));
    this.enqueue(s, g, via);
  }

  private queueCap(g: Group): number {
    let slots = 0;
    for (const a of g.members) if (a.status !== 'offline') slots += a.def.maxSessions;
    return Math.max(5, 2 * slots);
  }

  private enqueue(s: Session, g: Group, via: 'direct' | 'transfer' | 'overflow'): void {
    const gen = ++s.gen;
    s.group = g;
    s.queuedAt = this.now;
    g.queue.push(s);
    this.emit('session.queue', { sessionId: s.id, groupId: g.def.id, via });
    this.at(s.patienceAt, () => s.gen === gen && this.abandon(s));
    const target = g.def.overflowTo ? this.groups.get(g.def.overflowTo) : undefined;
    if (target && !s.overflowed) {
      const threshold = (g.def.patience < 1 ? 30 : 60) * S;
      this.after(threshold, () => {
        // Overflow only where someone could take the visitor right now.
        if (s.gen !== gen || this.closed || !this.available(target, s)) return;
        this.unqueue(s);
        s.overflowed = true;
        this.enqueue(s, target, 'overflow');
      });
    }
    this.dispatch(g);
  }

  private unqueue(s: Session): void {
    const q = s.group!.queue;
    const i = q.indexOf(s);
    if (i >= 0) q.splice(i, 1);
    s.maxWait = Math.max(s.maxWait, this.now - s.queuedAt);
  }

  private abandon(s: Session): void {
    if (this.closed) return;
    this.unqueue(s);
    s.gen++;
    this.emit('session.abandon', { sessionId: s.id, groupId: s.group!.def.id });
    this.end(s, 'user');
  }

  /** The least loaded, then longest idle, agent of `g` who takes sessions and has room. */
  private available(g: Group, s?: Session): Agent | undefined {
    let best: Agent | undefined;
    for (const a of g.members) {
      if (!a.accepting || a.status !== 'online' || a.active >= a.def.maxSessions || a === s?.excluded) continue;
      if (!best || a.active < best.active || (a.active === best.active && a.lastAssignAt < best.lastAssignAt)) best = a;
    }
    return best;
  }

  private dispatch(g: Group): void {
    if (this.closed) return;
    while (g.queue.length > 0) {
      const s = g.queue[0];
      const a = this.available(g, s);
      if (!a) {
        // The head may be waiting for anyone but the agent who timed out on it.
        const other = g.queue.find((x) => this.available(g, x));
        if (!other) return;
        this.assign(other, this.available(g, other)!);
        continue;
      }
      this.assign(s, a);
    }
  }

  private assign(s: Session, a: Agent): void {
    this.unqueue(s);
    const gen = ++s.gen;
    a.active++;
    a.lastAssignAt = this.now;
    s.agent = a;
    s.answering = true;
    const waited = this.now - s.queuedAt;
    // Long waiters are often picked from the queue list by hand before the dispatcher gets to them.
    const manual = this.rng.chance(waited > 20 * S ? 0.3 : 0.03);
    this.after(this.rng.uniform(1, 4) * S, () => {
      if (s.gen !== gen) return;
      s.answering = false;
      this.emit('session.answer', { sessionId: s.id, groupId: s.group!.def.id, agentId: a.def.id, ...(manual ? { manual: true } : {}) });
      if (!s.served.includes(a)) s.served.push(a);
      this.emit('session.message', { sessionId: s.id, from: 'system', text: `客服${a.def.name}（工号${a.def.workNo}）为您服务` });
      this.converse(s, a, gen);
    });
  }

  private converse(s: Session, a: Agent, gen: number): void {
    const r = this.rng;
    const load = () => 1 + 0.25 * (a.active - 1);
    if (r.chance(a.active >= a.def.maxSessions ? 0.05 : 0.02)) {
      // Nobody answered the visitor in time: the platform moves the session on.
      this.after(r.uniform(60, 90) * S, () => {
        if (s.gen !== gen || this.closed) return;
        s.timedOut = true;
        this.transfer(s, a, 'timeout', s.group!);
      });
      return;
    }
    const rounds = r.weighted([1, 2, 3, 4, 5, 6, 8], (n) => [10, 20, 22, 18, 12, 10, 8][[1, 2, 3, 4, 5, 6, 8].indexOf(n)]);
    const transferAt = r.chance(0.05) && this.dayGroups > (s.group!.def.allDay ? 0 : 1) ? r.int(1, rounds) : -1;
    let t = this.now + r.logNormal(8, 0.5) * S;
    const say = (from: 'user' | 'agent', text: string) =>
      this.at(t, () => {
        if (s.gen !== gen || this.closed) return;
        this.emit('session.message', { sessionId: s.id, from, ...(from === 'agent' ? { agentId: a.def.id } : {}), text });
      });
    say('agent', AGENT_LINES[0]);
    for (let i = 1; i <= rounds; i++) {
      t += Math.min(300, r.logNormal(22, 0.7)) * S;
      say('user', i === 1 ? r.pick(USER_OPENERS) : r.pick(USER_LINES));
      t += Math.min(240, r.logNormal(14, 0.6) * load()) * S;
      say('agent', r.pick(AGENT_LINES.slice(1, -1)));
      if (i === transferAt) {
        const target = this.transferTarget(s);
        t += 5 * S;
        say('agent', `为您转接到${target.def.name}，请稍候`);
        this.at(t + 2 * S, () => s.gen === gen && !this.closed && this.transfer(s, a, 'manual', target));
        return;
      }
    }
    t += r.logNormal(10, 0.5) * S;
    say('agent', AGENT_LINES[AGENT_LINES.length - 1]);
    if (r.chance(0.45)) {
      t += 3 * S;
      this.at(t, () => s.gen === gen && !this.closed && this.emit('session.invite', { sessionId: s.id, agentId: a.def.id }));
      if (r.chance(0.7)) {
        t += r.logNormal(15, 0.6) * S;
        this.at(t, () => s.gen === gen && !this.closed && this.rate(s));
      }
    }
    const by = r.weighted(['user', 'agent', 'system'] as const, (b) => ({ user: 50, agent: 38, system: 12 })[b]);
    t += (by === 'system' ? 180 : r.uniform(5, 60)) * S;
    this.at(t, () => s.gen === gen && this.end(s, by));
  }

  private transferTarget(s: Session): Group {
    // The 24-hour line is its own: the day groups do not transfer into it.
    const others = [...this.groups.values()].filter((g) => g !== s.group && !g.def.allDay);
    const complaints = others.find((g) => g.def.name === '投诉处理');
    if (complaints && this.rng.chance(0.3)) return complaints;
    return this.rng.weighted(others, (g) => g.def.share);
  }

  private transfer(s: Session, a: Agent, reason: 'manual' | 'timeout', target: Group): void {
    this.emit('session.transfer', { sessionId: s.id, agentId: a.def.id, reason });
    s.agent = undefined;
    s.excluded = reason === 'timeout' ? a : undefined;
    this.release(a);
    this.request(s, target, 'transfer');
  }

  private rate(s: Session): void {
    if (s.rated) return;
    s.rated = true;
    const r = this.rng;
    // Long waits, timeouts and complaints pull ratings down.
    let bad = 0;
    if (s.maxWait > 60 * S) bad += 1;
    if (s.maxWait > 180 * S) bad += 1;
    if (s.timedOut) bad += 1.5;
    if (s.group?.def.name === '投诉处理') bad += 1;
    const w = [3 + 4 * bad, 4 + 4 * bad, 9 + 3 * bad, 22, Math.max(20, 62 - 12 * bad)];
    this.emit('session.rate', { sessionId: s.id, score: r.weighted([1, 2, 3, 4, 5], (x) => w[x - 1]) });
  }

  private end(s: Session, by: 'user' | 'agent' | 'system'): void {
    if (s.ended) return;
    s.gen++;
    s.ended = true;
    this.open.delete(s);
    this.emit('session.end', { sessionId: s.id, by });
    const a = s.agent;
    s.agent = undefined;
    if (a) this.release(a);
    const last = s.served[s.served.length - 1];
    if (!last) return;
    const r = this.rng;
    // A post-chat survey catches some of those who were not invited.
    if (!s.rated && r.chance(0.12)) this.after(r.uniform(10, 300) * S, () => this.rate(s));
    if (r.chance(0.88)) this.after(r.uniform(10, 180) * S, () => this.summary(s, last));
  }

  private category(tops: readonly string[]): string[] {
    const top = this.rng.pick(tops);
    const second = this.rng.pick(Object.keys(CATEGORIES[top]));
    return [top, second, this.rng.pick(CATEGORIES[top][second])];
  }

  private summary(s: Session, a: Agent): void {
    const r = this.rng;
    const category = this.category(s.group!.def.tops);
    const ticketP = { 售后: 0.15, 投诉: 0.45, 物流: 0.12, 售前: 0.03, 账户: 0.08 }[category[0]] ?? 0.05;
    const ticket = r.chance(ticketP);
    const state = ticket
      ? '已转工单'
      : r.weighted(
          SUMMARY_STATES.filter((x) => x[0] !== '已转工单'),
          (x) => x[1],
        )[0];
    this.emit('session.summary', {
      sessionId: s.id,
      agentId: a.def.id,
      channel: 'online',
      state,
      category,
      ...(r.chance(0.3) ? { remark: r.pick(SUMMARY_REMARKS) } : {}),
    });
    if (ticket) this.ticket(a, category[0]);
  }

  // ---- calls and tickets ----

  private planCalls(): void {
    const r = this.rng;
    // Inbound calls land on whoever is logged in; a system campaign dials out in the afternoon.
    const inbound = Math.round((this.roster.peakPerHour / 1.3) * 0.6);
    for (let i = 0; i < inbound; i++) {
      this.at(this.dayStart + r.uniform(SERVICE_OPEN_HOUR, SERVICE_CLOSE_HOUR) * HOUR, () => this.callByAnyone('inbound_call'));
    }
    const campaign = Math.round(this.agents.length * 0.4);
    for (let i = 0; i < campaign; i++) this.at(this.dayStart + r.uniform(14, 17) * HOUR, () => this.callByAnyone('system_outbound'));
  }

  private callByAnyone(channel: 'inbound_call' | 'system_outbound'): void {
    const on = this.agents.filter((a) => a.status !== 'offline');
    if (on.length === 0 || this.closed) return;
    this.callSummary(this.rng.pick(on), channel);
  }

  private callSummary(a: Agent, channel: 'inbound_call' | 'manual_outbound' | 'system_outbound'): void {
    if (this.closed) return;
    const r = this.rng;
    const category = this.category(Object.keys(CATEGORIES));
    this.emit('session.summary', {
      sessionId: `C${this.prefix}${String(++this.callNo).padStart(5, '0')}`,
      agentId: a.def.id,
      channel,
      state: r.weighted(
        SUMMARY_STATES.filter((x) => x[0] !== '已转工单'),
        (x) => x[1],
      )[0],
      category,
    });
    if (channel === 'manual_outbound') this.log(a, '外呼', PLATFORMS.call);
  }

  private ticket(a: Agent, top: string): void {
    const r = this.rng;
    const kinds = TICKET_TYPES.filter((k) => (k.tops as readonly string[]).includes(top));
    const type = kinds.length > 0 ? r.pick(kinds) : TICKET_TYPES[0];
    const ticketId = `T${this.prefix}${String(++this.ticketNo).padStart(5, '0')}`;
    let deadline = this.now + type.slaHours * HOUR;
    this.emit('ticket.create', {
      ticketId,
      ticketType: type.type,
      agentId: a.def.id,
      node: '一级处理',
      deadline: new Date(deadline).toISOString(),
    });
    this.log(a, `创建工单 ${ticketId}`, PLATFORMS.ticket);
    // Every step is drawn now, so a ticket's tail (days later) never depends on later days' runs.
    // Capped so a ticket's tail stays within a few days of its creation.
    const total = Math.min(2 * type.slaHours, r.logNormal(0.55 * type.slaHours, 0.6)) * HOUR;
    const t0 = this.now;
    if (r.chance(0.05)) {
      deadline += 24 * HOUR;
      const d = deadline;
      this.at(t0 + total * 0.3, () => this.emit('ticket.update', { ticketId, deadline: new Date(d).toISOString() }));
    }
    if (r.chance(0.5)) {
      this.at(t0 + total * 0.4, () => this.emit('ticket.update', { ticketId, node: '二级处理' }));
      if (r.chance(0.3)) this.at(t0 + total * 0.7, () => this.emit('ticket.update', { ticketId, node: '三级处理' }));
    }
    // Some tickets are never completed.
    if (!r.chance(0.07)) this.at(t0 + total, () => this.emit('ticket.close', { ticketId }));
  }

  /** End of the day: whoever is still waiting or chatting is closed by the system, the floor logs off. */
  private closeDay(): void {
    this.closed = true;
    for (const s of [...this.open]) {
      if (s.group && (s.answering || s.group.queue.includes(s))) {
        this.unqueue(s);
        this.emit('session.abandon', { sessionId: s.id, groupId: s.group.def.id });
      }
      this.end(s, 'system');
    }
    for (const a of this.agents) if (a.status !== 'offline') this.goOffline(a);
  }
}
