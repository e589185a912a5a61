/**
 * The live state of every tenant: who waits, who talks, which agent is in
 * which status, and today's counters. Fed by accepted events (and by the
 * stored ones at start-up); read by /metrics and the live_* reports.
 */
import { STATUS_LABELS } from '../catalog.js';
import type { StoredEvent } from '../ingest/validate.js';
import { addDays, dayStartMs, localDay } from '../time.js';
import { compareEvents, deriveSession, type SessionEvent } from '../session/model.js';
import { LIVE_SESSION_TYPES, contributions, type Derived } from './derive.js';
import { RecentActivity, recentShare, type RecentShare } from './staffing.js';

/** An agent.status change, as kept. */
export interface StatusChange {
  /** The event's id (see apply: an event seen twice counts once). */
  id?: string;
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
  compact: false;
  events: SessionEvent[];
  derived: Derived;
  counted: Map<string, number>;
  /** Its share of the recent minutes (staffing.ts), taken back when it is derived again. */
  recent: RecentShare;
  lastEventMs: number;
  /** When the session may be compacted (see TenantLive.compact); 0 while it may not. */
  dueMs: number;
}

/**
 * An ended session whose events were let go: its share of today's counters
 * (counter keys interned, as [key, value, key, value, …]) and what a late
 * event needs to reload it from Postgres.
 */
interface CompactSession {
  compact: true;
  counted: (string | number)[];
  firstEventMs: number;
  lastEventMs: number;
  /** Events that arrived since the compaction, waiting for the reload; null when none. */
  pending: { id: string; event: SessionEvent }[] | null;
}

// A session silent this long is finished as far as the live view goes, even
// if its end was never sent; start-up loads the same span.
export const SESSION_HORIZON_MS = 24 * 3600 * 1000;

/** How long after its last event (by event time) an ended session keeps its events in memory. */
export const DEFAULT_LATE_TOLERANCE_MS = 15 * 60 * 1000;

const NOTHING: (string | number)[] = [];

/** Asks for a reload of compacted sessions (LiveState queues and runs them). */
export type ReloadRequest = (t: TenantLive, sessionId: string) => void;

/** The slice of a stored session event the live state keeps. */
function sessionEvent(e: StoredEvent, seq: number): SessionEvent {
  const ev = e.event as unknown as Record<string, unknown>;
  return {
    id: e.id,
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
}

/** Live state of one tenant. */
export class TenantLive {
  readonly groupNames = new Map<string, { name: string; atMs: number }>();
  readonly knownGroups = new Set<string>();
  readonly agents = new Map<string, AgentRecord>();
  private readonly sessions = new Map<string, SessionRecord | CompactSession>();
  /** Ended sessions by the time they may be compacted (a binary min-heap; stale entries are skipped). */
  private readonly due: { dueMs: number; sid: string }[] = [];
  /** One instance of each counter key, shared by the compacted sessions. */
  private readonly keys = new Map<string, string>();
  compactedCount = 0;
  /** Of those, compacted before their tolerance ran out because of the cap (LiveStateOptions.maxEndedSessions). */
  compactedEarly = 0;
  /** Ended sessions whose events are still kept (waiting in `due`). */
  private endedFull = 0;
  /** Sessions whose events changed and are not derived yet (see flush). */
  private readonly dirty = new Map<string, SessionRecord>();
  /** Sessions with a queued leg or an open part. */
  private readonly open = new Set<string>();
  /** Today's counters (see derive.ts `contributions`). */
  readonly counters = new Map<string, number>();
  /** Queue entries and ended parts of the last hour by group and minute, for 需要人数 (staffing.ts). */
  readonly recent = new RecentActivity();
  lastEventMs: number | null = null;
  lastLagSeconds = 0;

  constructor(
    readonly tenant: string,
    private window: { fromMs: number; toMs: number },
    private readonly lateToleranceMs = DEFAULT_LATE_TOLERANCE_MS,
    private readonly requestReload: ReloadRequest = () => {
      throw new Error('a compacted session needs a reload, and this live state has no session loader');
    },
    private readonly maxEndedSessions = Infinity,
  ) {}

  agent(agentId: string): AgentRecord {
    let a = this.agents.get(agentId);
    if (!a) {
      a = { agentId, groups: [], upsertAtMs: -Infinity, statuses: [] };
      this.agents.set(agentId, a);
    }
    return a;
  }

  /**
   * Applies one stored event. Idempotent by event id: an event stored by a batch whose
   * answer was lost reaches the live state when found (EventStore, `recovered`), and
   * may reach it again; it must count once.
   */
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
        if (a.statuses.some((x) => x.id === e.id)) return;
        const c: StatusChange = {
          id: e.id,
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
    const se = sessionEvent(e, seq);
    if (se.agentId) this.agent(se.agentId);
    const sid = ev.sessionId as string;
    let s = this.sessions.get(sid);
    if (s?.compact) {
      // A late event for a session whose events were let go: they come back from Postgres first
      // (where an event seen before is found once: see reloaded).
      if (s.pending?.some((p) => p.id === e.id)) return;
      s.lastEventMs = Math.max(s.lastEventMs, e.timeMs);
      if (s.pending) s.pending.push({ id: e.id, event: se });
      else {
        s.pending = [{ id: e.id, event: se }];
        this.requestReload(this, sid);
      }
      return;
    }
    if (!s) {
      s = { compact: false, events: [], derived: deriveSession([]), counted: new Map(), recent: [], lastEventMs: e.timeMs, dueMs: 0 };
      this.sessions.set(sid, s);
    } else if (s.events.some((x) => x.id === e.id)) return;
    let i = s.events.length;
    while (i > 0 && compareEvents(s.events[i - 1], se) > 0) i--;
    s.events.splice(i, 0, se);
    s.lastEventMs = Math.max(s.lastEventMs, e.timeMs);
    // Derived once per batch (flush), not once per event: a backfilled session
    // brings its dozen events in one batch, and deriving is linear in them.
    this.dirty.set(sid, s);
  }

  /** Derives the sessions the events applied since the last flush touched. */
  flush(): void {
    for (const [sid, s] of this.dirty) this.rederive(sid, s);
    this.dirty.clear();
  }

  private rederive(sid: string, s: SessionRecord): void {
    s.derived = deriveSession(s.events);
    const next = contributions(s.derived, this.window.fromMs, this.window.toMs);
    for (const [k, v] of s.counted) this.bump(k, -v);
    for (const [k, v] of next) this.bump(k, v);
    s.counted = next;
    const share = recentShare(s.derived);
    this.recent.apply(s.recent, -1);
    this.recent.apply(share, 1);
    s.recent = share;
    if (s.derived.queued || s.derived.openPart) this.open.add(sid);
    else this.open.delete(sid);
    const wasDue = s.dueMs !== 0;
    if (s.derived.ended && !s.derived.queued && !s.derived.openPart) {
      // With no tolerance (Infinity) an ended session is still due, last of all: the cap may compact it.
      const dueMs = Math.min(s.lastEventMs + this.lateToleranceMs, Number.MAX_SAFE_INTEGER);
      if (s.dueMs !== dueMs) {
        s.dueMs = dueMs;
        heapPush(this.due, { dueMs, sid });
      }
    } else s.dueMs = 0;
    this.endedFull += (s.dueMs !== 0 ? 1 : 0) - (wasDue ? 1 : 0);
  }

  /**
   * Lets go of the events of sessions that ended and have been silent for
   * the late-event tolerance (by event time), keeping their share of
   * today's counters. Nothing a figure reads changes.
   */
  compact(nowMs: number): void {
    // Past the cap, the sessions due soonest go first, before their tolerance is over: the
    // memory of the live state follows the open sessions, not the day's volume. A late event
    // for one of them reloads it from Postgres, as after any compaction.
    const later: { dueMs: number; sid: string }[] = [];
    while (this.due.length > 0 && (this.due[0].dueMs <= nowMs || this.endedFull - later.length > this.maxEndedSessions)) {
      const entry = heapPop(this.due)!;
      const { dueMs, sid } = entry;
      const s = this.sessions.get(sid);
      if (!s || s.compact || s.dueMs !== dueMs) continue;
      if (dueMs > nowMs) {
        // A session with events dated after today (a clock ahead) must count on that day: kept (see setWindow).
        if (s.lastEventMs >= this.window.toMs) {
          later.push(entry);
          continue;
        }
        this.compactedEarly++;
      }
      this.endedFull--;
      let first = s.events[0].timeMs;
      for (const e of s.events) first = Math.min(first, e.timeMs);
      // Sized exactly: a pushed-to array keeps spare capacity, per session.
      const counted: (string | number)[] = s.counted.size === 0 ? NOTHING : new Array<string | number>(2 * s.counted.size);
      let j = 0;
      for (const [k, v] of s.counted) {
        let kept = this.keys.get(k);
        if (kept === undefined) this.keys.set(k, (kept = k));
        counted[j++] = kept;
        counted[j++] = v;
      }
      this.sessions.set(sid, { compact: true, counted, firstEventMs: first, lastEventMs: s.lastEventMs, pending: null });
      this.compactedCount++;
    }
    for (const e of later) heapPush(this.due, e);
  }

  /** The first event time of a compacted session waiting for its reload (bounds the query). */
  reloadSinceMs(sid: string): number | undefined {
    const s = this.sessions.get(sid);
    if (!s?.compact) return undefined;
    let since = s.firstEventMs;
    for (const p of s.pending ?? []) since = Math.min(since, p.event.timeMs);
    return since;
  }

  /**
   * Finishes the reload of a compacted session: its stored events (in
   * time, storage order) and the ones that arrived meanwhile are derived
   * again and its share of the counters swapped, as for any other event.
   */
  reloaded(sid: string, stored: StoredEvent[]): void {
    const s = this.sessions.get(sid);
    if (!s?.compact || !s.pending) return;
    // Stored events keep their storage order (negative seqs); those stored after the query ran come later.
    const ids = new Set<string>();
    const events = stored.map((e, i) => {
      ids.add(e.id);
      return sessionEvent(e, i - stored.length);
    });
    for (const p of s.pending) if (!ids.has(p.id)) events.push(p.event);
    events.sort(compareEvents);
    const counted = new Map<string, number>();
    for (let i = 0; i < s.counted.length; i += 2) counted.set(s.counted[i] as string, s.counted[i + 1] as number);
    let last = s.lastEventMs;
    for (const e of events) last = Math.max(last, e.timeMs);
    // Its share of the recent minutes went with its events: the stored events less the late ones (stored
    // before they were applied) are the ones it was derived from when compacted.
    const late = new Set(s.pending.map((p) => p.id));
    const before = stored
      .map((e, i) => sessionEvent(e, i - stored.length))
      .filter((e) => !late.has(e.id!))
      .sort(compareEvents);
    const recent = recentShare(deriveSession(before));
    const full: SessionRecord = { compact: false, events, derived: deriveSession([]), counted, recent, lastEventMs: last, dueMs: 0 };
    this.sessions.set(sid, full);
    this.rederive(sid, full);
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
    this.keys.clear();
    for (const a of this.agents.values()) this.pruneStatuses(a);
    for (const [sid, s] of this.sessions) {
      if (s.lastEventMs < nowMs - SESSION_HORIZON_MS && !(s.compact && s.pending)) {
        if (!s.compact && s.dueMs !== 0) this.endedFull--;
        this.sessions.delete(sid);
        this.open.delete(sid);
        continue;
      }
      if (s.compact) {
        // Compacted before this midnight, and only after its last event plus the tolerance,
        // so every event of it is older than the new day: it counts nothing today.
        s.counted = NOTHING;
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
      const s = this.sessions.get(sid) as SessionRecord;
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

  /** Ended sessions whose events are kept in memory (at most LiveStateOptions.maxEndedSessions after each batch). */
  get endedSessionsKept(): number {
    return this.endedFull;
  }
}

function heapPush(h: { dueMs: number; sid: string }[], x: { dueMs: number; sid: string }): void {
  h.push(x);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p].dueMs <= x.dueMs) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = x;
}

function heapPop(h: { dueMs: number; sid: string }[]): { dueMs: number; sid: string } | undefined {
  const top = h[0];
  const last = h.pop();
  if (h.length === 0 || last === undefined) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= h.length) break;
    const c = l + 1 < h.length && h[l + 1].dueMs < h[l].dueMs ? l + 1 : l;
    if (h[c].dueMs >= last.dueMs) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = last;
  return top;
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

/** Loads the stored events of sessions of a tenant (time, then storage order), from `sinceDay` on. */
export type SessionLoader = (tenant: string, sessionIds: string[], sinceDay: string) => Promise<StoredEvent[]>;

export interface LiveStateOptions {
  /** How long an ended session keeps its events after its last one (event time); Infinity keeps them. */
  lateToleranceMs?: number;
  /** Where a late event for a compacted session reloads the session from (set later with setSessionLoader). */
  loadSessions?: SessionLoader;
  /** Told about a failed reload (it is retried). */
  onReloadError?: (err: unknown) => void;
  /**
   * Ended sessions per tenant whose events stay in memory (CS_LIVE_MAX_ENDED_SESSIONS); past it the
   * ones due soonest are compacted before the late-event tolerance is over. Infinity: no cap.
   */
  maxEndedSessions?: number;
}

// Sessions per reload query; one query runs at a time, so a burst of late
// events (a backfill) queues up instead of taking every pool connection.
const RELOAD_BATCH = 500;

/** Live state of every tenant, with "today" in `timezone`. */
export class LiveState {
  private readonly tenants = new Map<string, TenantLive>();
  private seq = 0;
  day: string;
  window: { fromMs: number; toMs: number };
  private readonly lateToleranceMs: number;
  private loader: SessionLoader | undefined;
  private readonly reloadQueue = new Map<TenantLive, Set<string>>();
  private reloading: Promise<void> | null = null;
  private closed = false;
  /** Ends the pause before a retry (close() must not wait for it). */
  private wake: (() => void) | null = null;

  constructor(
    readonly timezone: string,
    readonly now: () => number,
    private readonly opts: LiveStateOptions = {},
  ) {
    this.day = localDay(now(), timezone);
    this.window = this.windowOf(this.day);
    this.lateToleranceMs = opts.lateToleranceMs ?? DEFAULT_LATE_TOLERANCE_MS;
    this.loader = opts.loadSessions;
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
      t = new TenantLive(
        id,
        this.window,
        this.lateToleranceMs,
        (tl, sid) => this.queueReload(tl, sid),
        this.opts.maxEndedSessions ?? Infinity,
      );
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
    const touched = new Set<TenantLive>();
    for (const e of events) {
      const t = this.tenant(e.tenant);
      t.apply(e, ++this.seq);
      touched.add(t);
      if (receivedAtMs !== undefined) lag.set(e.tenant, Math.max(lag.get(e.tenant) ?? 0, (receivedAtMs - e.timeMs) / 1000));
    }
    for (const t of touched) t.flush();
    for (const [tenant, secs] of lag) this.tenant(tenant).lastLagSeconds = Math.max(0, secs);
    // Within the same day as the tick above, so a compacted session never spans a window change.
    const nowMs = Math.min(this.now(), this.window.toMs - 1);
    for (const t of this.tenants.values()) t.compact(nowMs);
  }

  setSessionLoader(loader: SessionLoader): void {
    this.loader = loader;
    this.pump();
  }

  /** Resolves once no reload is queued or running (tests; shutdown). */
  async settled(): Promise<void> {
    while (this.reloading) await this.reloading;
  }

  /** Stops reloading (the pool is about to close). */
  close(): void {
    this.closed = true;
    this.wake?.();
  }

  private queueReload(t: TenantLive, sid: string): void {
    let q = this.reloadQueue.get(t);
    if (!q) this.reloadQueue.set(t, (q = new Set()));
    q.add(sid);
    this.pump();
  }

  private pump(): void {
    if (this.reloading || !this.loader || this.closed || this.reloadQueue.size === 0) return;
    this.reloading = this.runReloads().finally(() => {
      this.reloading = null;
      this.pump();
    });
  }

  private async runReloads(): Promise<void> {
    let failures = 0;
    while (!this.closed && this.loader) {
      const next = this.reloadQueue.entries().next();
      if (next.done) return;
      const [t, queued] = next.value;
      const sids = [...queued].slice(0, RELOAD_BATCH);
      let sinceMs = Infinity;
      for (const sid of sids) sinceMs = Math.min(sinceMs, t.reloadSinceMs(sid) ?? Infinity);
      try {
        // A day earlier than the first event's: the stored day and this one agree, but a margin costs little.
        const sinceDay = addDays(localDay(Number.isFinite(sinceMs) ? sinceMs : this.now(), this.timezone), -1);
        const stored = await this.loader(t.tenant, sids, sinceDay);
        failures = 0;
        this.tick();
        const bySession = new Map<string, StoredEvent[]>();
        for (const e of stored) {
          const sid = (e.event as { sessionId?: string }).sessionId!;
          let list = bySession.get(sid);
          if (!list) bySession.set(sid, (list = []));
          list.push(e);
        }
        for (const sid of sids) {
          queued.delete(sid);
          t.reloaded(sid, bySession.get(sid) ?? []);
        }
        if (queued.size === 0) this.reloadQueue.delete(t);
      } catch (err) {
        this.opts.onReloadError?.(err);
        failures++;
        // The sessions stay queued (their late events wait with them); retried with a growing pause.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(30_000, 250 * 2 ** failures));
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = null;
      }
    }
  }
}
