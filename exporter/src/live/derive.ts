/**
 * A session's share of today's live counters. The session itself is derived
 * by the one session model (session/model.ts), re-derived from scratch each
 * time one of its events arrives, so the result never depends on arrival
 * order and is the same session the T+1 rollup derives.
 */
import type { Session } from '../session/model.js';

/** What the live state keeps of a derived session. */
export type Derived = Session;

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
  const inWindow = (t: number | null) => t !== null && t >= fromMs && t < toMs;
  let asked = false;
  let answered = false;
  const agentsAnswered = new Set<string>();
  for (const leg of d.legs) {
    if (inWindow(leg.queuedAtMs)) {
      add(key('inflow', leg.groupId, leg.via));
      asked = true;
    }
    if (leg.answeredAtMs !== null && inWindow(leg.answeredAtMs)) {
      add(key('answered', leg.groupId));
      const wait = (leg.answeredAtMs - leg.queuedAtMs) / 1000;
      let b = WAIT_BUCKETS.findIndex((le) => wait <= le);
      if (b < 0) b = WAIT_BUCKETS.length;
      add(key('wait', leg.groupId, b));
      add(key('wait_sum', leg.groupId), wait);
      answered = true;
      if (leg.agentId) agentsAnswered.add(leg.agentId);
    }
    if (leg.outcome === 'abandoned' && inWindow(leg.endedAtMs)) add(key('abandoned', leg.groupId));
  }
  if (asked) add(key('t_inflow'));
  if (answered) add(key('t_answered'));
  for (const a of agentsAnswered) add(key('a_answered', a));
  for (const x of d.rejects) if (inWindow(x.timeMs)) add(key('rejected', x.groupId, x.reason));
  for (const p of d.parts) {
    if (p.endedAtMs === null || !inWindow(p.endedAtMs)) continue;
    if (p.endedBy === 'manual' || p.endedBy === 'timeout') {
      add(key('transfers', p.groupId, p.endedBy));
      add(key('a_transfers', p.agentId, p.endedBy));
    }
    const secs = (p.endedAtMs - p.startedAtMs) / 1000;
    add(key('parts', p.groupId));
    add(key('part_secs', p.groupId), secs);
    add(key('a_parts', p.agentId));
    add(key('a_part_secs', p.agentId), secs);
  }
  if (d.rating && inWindow(d.rating.timeMs)) {
    const credited = d.credited === null ? null : d.legs[d.credited];
    add(key('rating', credited?.groupId ?? '', d.rating.score));
    if (credited?.agentId) add(key('a_rating', credited.agentId, d.rating.score));
  }
  return out;
}
