/**
 * 需要人数 and 预计服务水平, live (docs/live-monitoring.md, "需要人数"): per skill group, the arrival rate of
 * the last 15 minutes, the average handling time of the parts ended in the last 60 minutes, the group's
 * 接待上限 and its service-level target, through Erlang C (staffing/erlang.ts).
 *
 * What a scrape reads is kept by the minute per group (queue entries, parts ended, their seconds), so
 * a scrape sums at most 61 numbers per group whatever the traffic; a session adds its share when it is
 * derived and takes it back when it is derived again (a late or out-of-order event), like the day's
 * counters. Minutes older than an hour are let go on every scrape.
 */
import { agentsRequired, expectedServiceLevel, type Target } from '../staffing/erlang.js';
import type { Derived } from './derive.js';

/** Arrivals are counted over the current minute and the 15 before it (15 to 16 minutes). */
export const ARRIVAL_WINDOW_MINUTES = 15;
/** Handling time: parts ended in the current minute and the 60 before it. */
export const AHT_WINDOW_MINUTES = 60;

const MINUTE_MS = 60_000;
const QUEUED = 0;
const PARTS = 1;
const PART_SECS = 2;

export const minuteOf = (ms: number): number => Math.floor(ms / MINUTE_MS);

/** One session's share: [kind, group, minute, value] tuples. */
export type RecentShare = [number, string, number, number][];

/** A derived session's share of the recent minutes: its queue entries, and its parts by the minute they ended. */
export function recentShare(d: Derived): RecentShare {
  const out: RecentShare = [];
  for (const leg of d.legs) out.push([QUEUED, leg.groupId, minuteOf(leg.queuedAtMs), 1]);
  for (const p of d.parts) {
    if (p.endedAtMs === null) continue;
    const m = minuteOf(p.endedAtMs);
    out.push([PARTS, p.groupId, m, 1], [PART_SECS, p.groupId, m, (p.endedAtMs - p.startedAtMs) / 1000]);
  }
  return out;
}

/** A tenant's queue entries and ended parts by group and minute, for the last hour. */
export class RecentActivity {
  private readonly byGroup = new Map<string, Map<number, [number, number, number]>>();
  /** Minutes before this one are let go, and a share for them is ignored (added or taken back alike). */
  private floor = -Infinity;

  apply(share: RecentShare, sign: 1 | -1): void {
    for (const [kind, group, minute, value] of share) {
      if (minute < this.floor) continue;
      let minutes = this.byGroup.get(group);
      if (!minutes) this.byGroup.set(group, (minutes = new Map()));
      let cell = minutes.get(minute);
      if (!cell) minutes.set(minute, (cell = [0, 0, 0]));
      cell[kind] += sign * value;
    }
  }

  /** Lets go of the minutes no window reaches any more. */
  prune(nowMs: number): void {
    const floor = minuteOf(nowMs) - AHT_WINDOW_MINUTES;
    if (floor <= this.floor) return;
    this.floor = floor;
    for (const [g, minutes] of this.byGroup) {
      for (const m of minutes.keys()) if (m < floor) minutes.delete(m);
      if (minutes.size === 0) this.byGroup.delete(g);
    }
  }

  /** Sums of the group's minutes from `sinceMinute` to `untilMinute`, both included. */
  sums(group: string, sinceMinute: number, untilMinute: number): [number, number, number] {
    const out: [number, number, number] = [0, 0, 0];
    const minutes = this.byGroup.get(group);
    if (!minutes) return out;
    for (const [m, cell] of minutes) {
      if (m < sinceMinute || m > untilMinute) continue;
      out[QUEUED] += cell[QUEUED];
      out[PARTS] += cell[PARTS];
      out[PART_SECS] += cell[PART_SECS];
    }
    return out;
  }
}

export interface GroupStaffing {
  /** Queue entries per hour over the arrival window. */
  arrivalsPerHour: number;
  /** Seconds; null when no part of the group ended in the last hour nor today. */
  ahtSeconds: number | null;
  /** Sessions one agent serves at once, as the model counts them. */
  concurrency: number;
  target: Target;
  agentsOnline: number;
  /** 需要人数; null when the handling time is unknown and requests arrive. */
  agentsRequired: number | null;
  /** 预计服务水平 of the agents now online, 0–1; null as agentsRequired. */
  serviceLevelExpected: number | null;
}

export interface StaffingInput {
  recent: RecentActivity;
  group: string;
  nowMs: number;
  /** Today's ended parts of the group and their total seconds (the fallback handling time). */
  todayParts: number;
  todayPartSecs: number;
  /** 接待上限 (maxSessions) of the group's members now online; and of all its members. */
  onlineMaxSessions: (number | undefined)[];
  memberMaxSessions: (number | undefined)[];
  target: Target;
}

/**
 * Concurrency: the mean 接待上限 of the members now online (a member without one serves 1), rounded
 * down so the model never counts slots nobody has; with nobody online, the mean over all members; with
 * no member, 1.
 */
export function concurrencyOf(online: (number | undefined)[], members: (number | undefined)[]): number {
  const list = online.length > 0 ? online : members;
  if (list.length === 0) return 1;
  let sum = 0;
  for (const m of list) sum += m !== undefined && m >= 1 ? m : 1;
  return Math.max(1, Math.floor(sum / list.length));
}

export function groupStaffing(i: StaffingInput): GroupStaffing {
  const now = minuteOf(i.nowMs);
  const arrivalFrom = now - ARRIVAL_WINDOW_MINUTES;
  const [queued] = i.recent.sums(i.group, arrivalFrom, now);
  // The window runs from the start of its first minute to now.
  const arrivalHours = (i.nowMs - arrivalFrom * MINUTE_MS) / 3_600_000;
  const arrivalsPerHour = Math.max(0, queued) / arrivalHours;
  const [, parts, secs] = i.recent.sums(i.group, now - AHT_WINDOW_MINUTES, now);
  const ahtSeconds = parts > 0.5 ? secs / parts : i.todayParts > 0 ? i.todayPartSecs / i.todayParts : null;
  const concurrency = concurrencyOf(i.onlineMaxSessions, i.memberMaxSessions);
  const agentsOnline = i.onlineMaxSessions.length;
  const base = { arrivalsPerHour, ahtSeconds, concurrency, target: i.target, agentsOnline };
  if (!(arrivalsPerHour > 0)) return { ...base, agentsRequired: 0, serviceLevelExpected: 1 };
  if (ahtSeconds === null || !(ahtSeconds > 0)) return { ...base, agentsRequired: null, serviceLevelExpected: null };
  const load = { arrivalsPerHour, ahtSeconds, concurrency };
  try {
    return {
      ...base,
      agentsRequired: agentsRequired(load, i.target).agents,
      serviceLevelExpected: expectedServiceLevel(load, agentsOnline, i.target),
    };
  } catch {
    // A load past erlang.ts's search bound (an absurd handling time from bad events): no figure rather than a failed scrape.
    return { ...base, agentsRequired: null, serviceLevelExpected: null };
  }
}

/** Agents of a tenant as the figures need them (state.ts AgentRecord). */
interface Member {
  groups: string[];
  maxSessions?: number;
}

/**
 * 需要人数 and 预计服务水平 of each of `groups`, in one pass over the agents: `statusOf` gives an
 * agent's current status (only `online` serves, as 在线人数 counts), `targetOf` a group's target.
 */
export function staffingByGroup<A extends Member>(
  t: { recent: RecentActivity; agents: Map<string, A>; counters: Map<string, number> },
  groups: string[],
  nowMs: number,
  statusOf: (a: A) => string,
  targetOf: (group: string) => Target,
  key: (...parts: string[]) => string,
): Map<string, GroupStaffing> {
  t.recent.prune(nowMs);
  const online = new Map<string, (number | undefined)[]>();
  const members = new Map<string, (number | undefined)[]>();
  for (const a of t.agents.values()) {
    const isOnline = statusOf(a) === 'online';
    for (const g of new Set(a.groups)) {
      let m = members.get(g);
      if (!m) members.set(g, (m = []));
      m.push(a.maxSessions);
      if (isOnline) {
        let o = online.get(g);
        if (!o) online.set(g, (o = []));
        o.push(a.maxSessions);
      }
    }
  }
  const out = new Map<string, GroupStaffing>();
  for (const g of groups)
    out.set(
      g,
      groupStaffing({
        recent: t.recent,
        group: g,
        nowMs,
        todayParts: t.counters.get(key('parts', g)) ?? 0,
        todayPartSecs: t.counters.get(key('part_secs', g)) ?? 0,
        onlineMaxSessions: online.get(g) ?? [],
        memberMaxSessions: members.get(g) ?? [],
        target: targetOf(g),
      }),
    );
  return out;
}
