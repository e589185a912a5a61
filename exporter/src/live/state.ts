/**
 * The live state of every tenant: who waits, who talks, which agent is in
 * which status, and today's counters. Fed by accepted events (and by the
 * stored ones at start-up); read by /metrics and the live_* reports.
 */
import { STATUS_LABELS } from '../catalog.js';
import type { StoredEvent } from '../ingest/validate.js';
import { addDays, dayStartMs, localDay } from '../time.js';
import { LIVE_SESSION_TYPES, compareEvents, contributions, deriveSession, type Derived, type SessionEvent } from './derive.js';

/** An agent.status change, as kept. */
export interface StatusChange {
  timeMs: number;
  seq: number;
  status: string;
  label?: string;
  seat?: string;
  remark?: string;
}

export interface AgentRecord {
  agentId: string;
  name?: string;
  workNo?: string;
  groups: string[];
  maxSessions?: number;
  /** Time of the agent.upsert the master data comes from (the latest wins). */
  upsertAtMs: number;
  /** Sorted; the latest change before today is kept as the status at midnight. */
  statuses: StatusChange[];
}

interface SessionRecord {
  events: SessionEvent[];
  derived: Derived;
  counted: Map<string, number>;
  lastEventMs: number;
}

// A session silent this long is finished as far as the live view goes, even
// if its end was never sent; start-up loads the same span.
export const SESSION_HORIZON_MS = 24 * 3600 * 1000;

/** Live state of one tenant. */
export class TenantLive {
  readonly groupNames = new Map<string, { name: string; atMs: number }>();
  readonly knownGroups = new Set<string>();
  readonly agents = new Map<string, AgentRecord>();
  private readonly sessions = new Map<string, SessionRecord>();
  /** Sessions with a queued leg or an open part. */
  private readonly open = new Set<string>();
  /** Today's counters (see derive.ts `contributions`). */
  readonly counters = new Map<string, number>();
  lastEventMs: number | null = null;
  lastLagSeconds = 0;

  constructor(
    readonly tenant: string,
    private window: { fromMs: number; toMs: number },
  ) {}

  agent(agentId: string): AgentRecord {
    let a = this.agents.get(agentId);
    if (!a) {
      a = { agentId, groups: [], upsertAtMs: -Infinity, statuses: [] };
      this.agents.set(agentId, a);
    }
    return a;
  }

  apply(e: StoredEvent, seq: number): void {
    if (this.lastEventMs === null || e.timeMs > this.lastEventMs) this.lastEventMs = e.timeMs;
    const ev = e.event as unknown as Record<string, unknown>;
    if (typeof ev.groupId === 'string') this.knownGroups.add(ev.groupId);
    switch (e.type) {
      case 'group.upsert': {
        const prev = this.groupNames.get(ev.groupId as string);
        if (!prev || prev.atMs <= e.timeMs) this.groupNames.set(ev.groupId as string, { name: ev.name as string, atMs: e.timeMs });
        return;
      }
      case 'agent.upsert': {
        const a = this.agent(ev.agentId as string);
        if (a.upsertAtMs > e.timeMs) return;
        a.upsertAtMs = e.timeMs;
        a.name = ev.name as string;
        a.workNo = ev.workNo as string | undefined;
        a.groups = (ev.groups as string[] | undefined) ?? [];
        a.maxSessions = ev.maxSessions as number | undefined;
        for (const g of a.groups) this.knownGroups.add(g);
        return;
      }
      case 'agent.status': {
        const a = this.agent(ev.agentId as string);
        const c: StatusChange = {
          timeMs: e.timeMs,
          seq,
          status: ev.status as string,
          label: ev.label as string | undefined,
          seat: ev.seat as string | undefined,
          remark: ev.remark as string | undefined,
        };
        let i = a.statuses.length;
        while (i > 0 && (a.statuses[i - 1].timeMs > c.timeMs || (a.statuses[i - 1].timeMs === c.timeMs && a.statuses[i - 1].seq > seq)))
          i--;
        a.statuses.splice(i, 0, c);
        this.pruneStatuses(a);
        return;
      }
    }
    if (!LIVE_SESSION_TYPES.has(e.type)) return;
    const se: SessionEvent = {
      type: e.type,
      timeMs: e.timeMs,
      seq,
      groupId: ev.groupId as string | undefined,
      agentId: ev.agentId as string | undefined,
      via: ev.via as string | undefined,
      manual: ev.manual as boolean | undefined,
      reason: ev.reason as string | undefined,
      score: ev.score as number | undefined,
    };
    if (se.agentId) this.agent(se.agentId);
    const sid = ev.sessionId as string;
    let s = this.sessions.get(sid);
    if (!s) {
      s = { events: [], derived: deriveSession([]), counted: new Map(), lastEventMs: e.timeMs };
      this.sessions.set(sid, s);
    }
    let i = s.events.length;
    while (i > 0 && compareEvents(s.events[i - 1], se) > 0) i--;
    s.events.splice(i, 0, se);
    s.lastEventMs = Math.max(s.lastEventMs, e.timeMs);
    this.rederive(sid, s);
  }

  private rederive(sid: string, s: SessionRecord): void {
    s.derived = deriveSession(s.events);
    const next = contributions(s.derived, this.window.fromMs, this.window.toMs);
    for (const [k, v] of s.counted) this.bump(k, -v);
    for (const [k, v] of next) this.bump(k, v);
    s.counted = next;
    if (s.derived.queued || s.derived.openPart) this.open.add(sid);
    else this.open.delete(sid);
  }

  private bump(k: string, v: number): void {
    const n = (this.counters.get(k) ?? 0) + v;
    // Float sums (durations) may leave dust when a session is re-derived.
    if (Math.abs(n) < 1e-9) this.counters.delete(k);
    else this.counters.set(k, n);
  }

  /** Keeps today's status changes and the last one before today (the status at midnight). */
  private pruneStatuses(a: AgentRecord): void {
    let firstToday = a.statuses.findIndex((c) => c.timeMs >= this.window.fromMs);
    if (firstToday < 0) firstToday = a.statuses.length;
    if (firstToday > 1) a.statuses.splice(0, firstToday - 1);
  }

  /** Moves "today" to a new window: counters start again, old sessions are let go. */
  setWindow(window: { fromMs: number; toMs: number }, nowMs: number): void {
    this.window = window;
    this.counters.clear();
    for (const a of this.agents.values()) this.pruneStatuses(a);
    for (const [sid, s] of this.sessions) {
      if (s.lastEventMs < nowMs - SESSION_HORIZON_MS) {
        this.sessions.delete(sid);
        this.open.delete(sid);
        continue;
      }
      s.counted = new Map();
      this.rederive(sid, s);
    }
  }

  /** Sessions now queued or in a part (silent ones past the horizon left out). */
  openSessions(nowMs: number): Derived[] {
    const out: Derived[] = [];
    for (const sid of this.open) {
      const s = this.sessions.get(sid)!;
      if (s.lastEventMs >= nowMs - SESSION_HORIZON_MS) out.push(s.derived);
    }
    return out;
  }

  /** Every group the tenant has named or used. */
  groupIds(): string[] {
    return [...new Set([...this.knownGroups, ...this.groupNames.keys()])].sort();
  }

  groupName(groupId: string): string {
    return this.groupNames.get(groupId)?.name ?? groupId;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }
}

/** An agent's status figures at `nowMs`, from its kept status changes (metrics.md, live_agents). */
export interface AgentStatusView {
  status: string;
  statusLabel: string;
  sinceMs: number | null;
  seat: string | null;
  firstOnlineAtMs: number | null;
  lastOfflineAtMs: number | null;
  onlineSeconds: number;
  offlineSeconds: number;
  offlineRemark: string | null;
}

export function agentStatusView(a: AgentRecord, dayFromMs: number, nowMs: number): AgentStatusView {
  const changes = a.statuses.filter((c) => c.timeMs <= nowMs);
  const view: AgentStatusView = {
    status: 'offline',
    statusLabel: STATUS_LABELS.offline,
    sinceMs: null,
    seat: null,
    firstOnlineAtMs: null,
    lastOfflineAtMs: null,
    onlineSeconds: 0,
    offlineSeconds: 0,
    offlineRemark: null,
  };
  // Each change starts a segment that lasts until the next one (or now);
  // today's figures use the segments clipped to [midnight, now].
  const segments: { status: string; from: number; to: number }[] = [];
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i];
    const end = i + 1 < changes.length ? changes[i + 1].timeMs : nowMs;
    if (i === 0 || c.status !== changes[i - 1].status) {
      view.sinceMs = c.timeMs;
      if (c.status === 'offline') view.lastOfflineAtMs = c.timeMs;
    }
    view.status = c.status;
    view.statusLabel = c.status === 'custom' && c.label ? c.label : (STATUS_LABELS[c.status] ?? c.status);
    if (c.seat !== undefined) view.seat = c.seat;
    if (c.status === 'offline') view.offlineRemark = c.remark ?? null;
    const from = Math.max(c.timeMs, dayFromMs);
    const to = Math.min(end, nowMs);
    if (to > from || (to === from && i === changes.length - 1 && from >= dayFromMs)) segments.push({ status: c.status, from, to });
  }
  for (const seg of segments) {
    if (seg.status !== 'offline') {
      view.firstOnlineAtMs ??= seg.from;
      view.onlineSeconds += (seg.to - seg.from) / 1000;
    } else if (view.firstOnlineAtMs !== null) {
      // 离线时长 counts offline time since the first online moment of the day.
      view.offlineSeconds += (seg.to - seg.from) / 1000;
    }
  }
  return view;
}

/** Live state of every tenant, with "today" in `timezone`. */
export class LiveState {
  private readonly tenants = new Map<string, TenantLive>();
  private seq = 0;
  day: string;
  window: { fromMs: number; toMs: number };

  constructor(
    readonly timezone: string,
    readonly now: () => number,
  ) {
    this.day = localDay(now(), timezone);
    this.window = this.windowOf(this.day);
  }

  private windowOf(day: string) {
    return { fromMs: dayStartMs(day, this.timezone), toMs: dayStartMs(addDays(day, 1), this.timezone) };
  }

  /** Starts a new "today" at the local midnight; called before every read and write. */
  tick(): void {
    const nowMs = this.now();
    const day = localDay(nowMs, this.timezone);
    if (day === this.day) return;
    this.day = day;
    this.window = this.windowOf(day);
    for (const t of this.tenants.values()) t.setWindow(this.window, nowMs);
  }

  tenant(id: string): TenantLive {
    let t = this.tenants.get(id);
    if (!t) {
      t = new TenantLive(id, this.window);
      this.tenants.set(id, t);
    }
    return t;
  }

  /** The tenant's state, or undefined when nothing of it is known. */
  find(id: string): TenantLive | undefined {
    return this.tenants.get(id);
  }

  allTenants(): TenantLive[] {
    return [...this.tenants.values()];
  }

  /** Applies events (in any order); `receivedAtMs` feeds the ingest lag. */
  apply(events: StoredEvent[], receivedAtMs?: number): void {
    this.tick();
    const lag = new Map<string, number>();
    for (const e of events) {
      const t = this.tenant(e.tenant);
      t.apply(e, ++this.seq);
      if (receivedAtMs !== undefined) lag.set(e.tenant, Math.max(lag.get(e.tenant) ?? 0, (receivedAtMs - e.timeMs) / 1000));
    }
    for (const [tenant, secs] of lag) this.tenant(tenant).lastLagSeconds = Math.max(0, secs);
  }
}
