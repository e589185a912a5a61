/**
 * What one session's events say, re-derived from scratch each time one of
 * them arrives. Sorting by event time first makes the result independent of
 * arrival order (events.md: events may arrive out of order within reason).
 */

/** The slice of a session event the live state needs. */
export interface SessionEvent {
  /** The event's id: an event delivered to the live state twice (a lost acknowledgment) counts once. */
  id?: string;
  type: string;
  timeMs: number;
  /** Arrival order; breaks ties between equal times after the type rank. */
  seq: number;
  groupId?: string;
  agentId?: string;
  via?: string;
  manual?: boolean;
  reason?: string;
  score?: number;
}

/** Session event types the live state follows. */
export const LIVE_SESSION_TYPES = new Set([
  'session.start',
  'session.queue',
  'session.answer',
  'session.abandon',
  'session.reject',
  'session.transfer',
  'session.rate',
  'session.end',
]);

// At one and the same millisecond a transfer ends a part before the next
// queue opens a leg, and an answer precedes the end that closes it.
const RANK: Record<string, number> = {
  'session.start': 0,
  'session.transfer': 1,
  'session.queue': 2,
  'session.answer': 3,
  'session.abandon': 4,
  'session.reject': 4,
  'session.rate': 5,
  'session.end': 6,
};

export function compareEvents(a: SessionEvent, b: SessionEvent): number {
  return a.timeMs - b.timeMs || (RANK[a.type] ?? 9) - (RANK[b.type] ?? 9) || a.seq - b.seq;
}

export type LegOutcome = 'queued' | 'answered' | 'abandoned' | 'rejected' | 'overflowed';

/** A stay in one skill group (metrics.md, "Leg"). */
export interface Leg {
  groupId: string;
  via: string;
  queuedAtMs: number;
  answeredAtMs?: number;
  agentId?: string;
  outcome: LegOutcome;
}

/** An answered leg's time with its agent (metrics.md, "Part"). */
export interface Part {
  agentId: string;
  groupId: string;
  manual: boolean;
  startMs: number;
  endMs?: number;
  /** `manual`/`timeout` for a transfer; `end`; `requeue` when a new leg began without a transfer event. */
  endedBy?: string;
}

export interface Derived {
  legs: Leg[];
  parts: Part[];
  /** The leg now waiting in a queue, if any. */
  queued: Leg | null;
  /** The part now open, if any. */
  openPart: Part | null;
  ended: boolean;
  /** Rejects, including those that followed no open leg. */
  rejects: { groupId: string; reason: string; timeMs: number }[];
  transfers: { groupId: string; agentId: string; reason: string; timeMs: number }[];
  abandons: { groupId: string; timeMs: number }[];
  /** The session's rating (the last one given) and where it is credited. */
  rating: { score: number; timeMs: number; groupId: string | null; agentId: string | null } | null;
}

/** Replays `events` (sorted with compareEvents) into legs, parts and the current state. */
export function deriveSession(events: SessionEvent[]): Derived {
  const d: Derived = {
    legs: [],
    parts: [],
    queued: null,
    openPart: null,
    ended: false,
    rejects: [],
    transfers: [],
    abandons: [],
    rating: null,
  };
  let servedByHuman = false;
  let lastRate: SessionEvent | null = null;
  const closePart = (t: number, by: string) => {
    if (!d.openPart) return;
    d.openPart.endMs = Math.max(t, d.openPart.startMs);
    d.openPart.endedBy = by;
    d.openPart = null;
  };
  for (const e of events) {
    switch (e.type) {
      case 'session.queue': {
        // A queue while another leg still waits is an overflow before an answer.
        if (d.queued) d.queued.outcome = 'overflowed';
        closePart(e.timeMs, 'requeue');
        const leg: Leg = { groupId: e.groupId!, via: e.via ?? 'direct', queuedAtMs: e.timeMs, outcome: 'queued' };
        d.legs.push(leg);
        d.queued = leg;
        d.ended = false;
        break;
      }
      case 'session.answer': {
        let leg = d.queued;
        if (leg && leg.groupId !== e.groupId) {
          leg.outcome = 'overflowed';
          leg = null;
        }
        if (!leg) {
          // metrics.md: an answer with no open leg opens one with zero wait.
          leg = { groupId: e.groupId!, via: servedByHuman ? 'transfer' : 'direct', queuedAtMs: e.timeMs, outcome: 'queued' };
          d.legs.push(leg);
        }
        closePart(e.timeMs, 'requeue');
        leg.outcome = 'answered';
        leg.answeredAtMs = e.timeMs;
        leg.agentId = e.agentId;
        d.queued = null;
        const part: Part = { agentId: e.agentId!, groupId: leg.groupId, manual: e.manual === true, startMs: e.timeMs };
        d.parts.push(part);
        d.openPart = part;
        servedByHuman = true;
        d.ended = false;
        break;
      }
      case 'session.abandon':
        // An abandon with no queued leg has nothing to end and is not counted.
        if (d.queued) {
          d.queued.outcome = 'abandoned';
          d.abandons.push({ groupId: d.queued.groupId, timeMs: e.timeMs });
          d.queued = null;
        }
        break;
      case 'session.reject':
        if (d.queued) {
          d.queued.outcome = 'rejected';
          d.queued = null;
        }
        d.rejects.push({ groupId: e.groupId!, reason: e.reason ?? 'other', timeMs: e.timeMs });
        break;
      case 'session.transfer':
        if (d.openPart) {
          d.transfers.push({ groupId: d.openPart.groupId, agentId: d.openPart.agentId, reason: e.reason ?? 'manual', timeMs: e.timeMs });
          closePart(e.timeMs, e.reason ?? 'manual');
        }
        break;
      case 'session.rate':
        lastRate = e;
        break;
      case 'session.end':
        // A visitor whose session ends while queued has given up waiting.
        if (d.queued) {
          d.queued.outcome = 'abandoned';
          d.abandons.push({ groupId: d.queued.groupId, timeMs: e.timeMs });
          d.queued = null;
        }
        closePart(e.timeMs, 'end');
        d.ended = true;
        break;
    }
  }
  if (lastRate) {
    const credited = [...d.legs].reverse().find((l) => l.outcome === 'answered');
    d.rating = { score: lastRate.score!, timeMs: lastRate.timeMs, groupId: credited?.groupId ?? null, agentId: credited?.agentId ?? null };
  }
  return d;
}

/** Histogram bounds of cs_queue_wait_seconds; 10, 20, 30 and 60 s are exact. */
export const WAIT_BUCKETS = [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600];

const SEP = '\u0001';
/** A counter key: kind and label values. */
export function key(...parts: (string | number)[]): string {
  return parts.join(SEP);
}
export function unkey(k: string): string[] {
  return k.split(SEP);
}

/**
 * The session's share of today's counters, for the window [fromMs, toMs):
 * each figure counts on the day of the event that makes it (queue entry,
 * answer, abandon, reject, transfer, part end, rating).
 */
export function contributions(d: Derived, fromMs: number, toMs: number): Map<string, number> {
  const out = new Map<string, number>();
  const add = (k: string, v = 1) => out.set(k, (out.get(k) ?? 0) + v);
  const inWindow = (t: number | undefined) => t !== undefined && t >= fromMs && t < toMs;
  let asked = false;
  let answered = false;
  const agentsAnswered = new Set<string>();
  for (const leg of d.legs) {
    if (inWindow(leg.queuedAtMs)) {
      add(key('inflow', leg.groupId, leg.via));
      asked = true;
    }
    if (leg.outcome === 'answered' && inWindow(leg.answeredAtMs)) {
      add(key('answered', leg.groupId));
      const wait = (leg.answeredAtMs! - leg.queuedAtMs) / 1000;
      let b = WAIT_BUCKETS.findIndex((le) => wait <= le);
      if (b < 0) b = WAIT_BUCKETS.length;
      add(key('wait', leg.groupId, b));
      add(key('wait_sum', leg.groupId), wait);
      answered = true;
      if (leg.agentId) agentsAnswered.add(leg.agentId);
    }
  }
  if (asked) add(key('t_inflow'));
  if (answered) add(key('t_answered'));
  for (const a of agentsAnswered) add(key('a_answered', a));
  for (const x of d.abandons) if (inWindow(x.timeMs)) add(key('abandoned', x.groupId));
  for (const x of d.rejects) if (inWindow(x.timeMs)) add(key('rejected', x.groupId, x.reason));
  for (const x of d.transfers) {
    if (!inWindow(x.timeMs)) continue;
    add(key('transfers', x.groupId, x.reason));
    add(key('a_transfers', x.agentId, x.reason));
  }
  for (const p of d.parts) {
    if (p.endMs === undefined || !inWindow(p.endMs)) continue;
    const secs = (p.endMs - p.startMs) / 1000;
    add(key('parts', p.groupId));
    add(key('part_secs', p.groupId), secs);
    add(key('a_parts', p.agentId));
    add(key('a_part_secs', p.agentId), secs);
  }
  if (d.rating && inWindow(d.rating.timeMs)) {
    add(key('rating', d.rating.groupId ?? '', d.rating.score));
    if (d.rating.agentId) add(key('a_rating', d.rating.agentId, d.rating.score));
  }
  return out;
}
