/**
 * The one session model: a session's events in, its legs, parts, credited
 * leg and the outcome of each leg out. Pure (no I/O, no clock), so live
 * monitoring (live/state.ts), the T+1 rollup (reports/rollup.ts) and the
 * session detail (reports/detail.ts) give the same answer by construction.
 *
 * The rules are the Words of metrics.md; where it is silent the decisions are
 * in docs/reports.md, "One session model" (each has a table test in
 * test/session-model.test.ts).
 */

/** The fields of a session event the model reads (body fields by their contract names). */
export interface SessionEvent {
  /** The event's id, where the caller keeps it: the live state counts an event delivered to it twice (a lost acknowledgment) once. */
  id?: string;
  type: string;
  timeMs: number;
  /** Arrival (or storage) order: the last tiebreak. */
  seq: number;
  groupId?: string | null;
  agentId?: string | null;
  via?: string | null;
  reason?: string | null;
  manual?: boolean | null;
  score?: number | null;
  from?: string | null;
  userId?: string | null;
  region?: string | null;
  state?: string | null;
  category?: string[] | null;
  remark?: string | null;
}

/**
 * Events of one millisecond are taken in this order, then in arrival order.
 * A transfer ends the part before the queue it leads to opens the next leg
 * (events.md: "a session.queue with via: transfer follows"), whichever
 * arrived first; an answer comes before the messages and invitation of its
 * part, and all of them before the abandon, reject, rating and end that
 * close the session; a summary is written after the end.
 */
export const EVENT_RANK: Readonly<Record<string, number>> = {
  'session.start': 0,
  'session.transfer': 1,
  'session.queue': 2,
  'session.answer': 3,
  'session.message': 4,
  'session.invite': 5,
  'session.abandon': 6,
  'session.reject': 6,
  'session.rate': 7,
  'session.end': 8,
  'session.summary': 9,
};
const UNKNOWN_RANK = 10;

const rank = (type: string): number => EVENT_RANK[type] ?? UNKNOWN_RANK;

/** The one event order: time, then EVENT_RANK, then arrival. */
export function compareEvents(a: SessionEvent, b: SessionEvent): number {
  return a.timeMs - b.timeMs || rank(a.type) - rank(b.type) || a.seq - b.seq;
}

/**
 * How a leg stands or ended. `queued` and `answered` are the open states
 * (waiting; in a part); the rest are final.
 */
export type LegOutcome =
  /** waiting in the group's queue */
  | 'queued'
  /** answered, its part still open */
  | 'answered'
  /** its part ended by a transfer (manual or timeout) */
  | 'transferred'
  /** its part ended by the session's end, a new queue entry or another answer */
  | 'ended'
  /** left unanswered for another group: a new queue entry, or an answer naming another group */
  | 'overflow'
  /** the visitor gave up while queued: `session.abandon`, or the session ended while queued */
  | 'abandoned'
  /** a `session.reject` ended it while queued */
  | 'rejected';

export const LEG_OUTCOMES: readonly LegOutcome[] = ['queued', 'answered', 'transferred', 'ended', 'overflow', 'abandoned', 'rejected'];

/** One stay of the session in one skill group (服务段). */
export interface Leg {
  groupId: string;
  via: string;
  queuedAtMs: number;
  answeredAtMs: number | null;
  endedAtMs: number | null;
  outcome: LegOutcome;
  agentId: string | null;
  /** What ended the answered part: manual | timeout (transfers), end, requeue, answer; null while open or unanswered. */
  endedBy: string | null;
  /** Index into `parts` when answered. */
  part: number | null;
}

/** An answered leg's time with its agent (对话). */
export interface Part {
  agentId: string;
  groupId: string;
  manual: boolean;
  startedAtMs: number;
  endedAtMs: number | null;
  endedBy: string | null;
  firstResponseAtMs: number | null;
  replySumMs: number;
  replyCount: number;
  invited: boolean;
  /** Index into `legs`. */
  leg: number;
}

export interface Session {
  /** The first `session.start`'s time, else the first event's. */
  startedAtMs: number;
  /** The first `session.end`'s time, or null. */
  endedAtMs: number | null;
  lastEventMs: number;
  userId: string | null;
  region: string | null;
  legs: Leg[];
  parts: Part[];
  /** Index of the last answered leg (the credited group and agent), or null. */
  credited: number | null;
  /** The leg waiting now, if any. */
  queued: Leg | null;
  /** The part open now, if any. */
  openPart: Part | null;
  /** The session is over now: an end came after its last queue entry or answer. */
  ended: boolean;
  /** Every reject (转人工失败), with the leg it ended or null when it followed no open leg. */
  rejects: { groupId: string; reason: string; timeMs: number; leg: number | null }[];
  /** The last rating given, or null. */
  rating: { score: number; timeMs: number } | null;
  summary: { state: string | null; category: string[] | null; remark: string | null } | null;
}

/** Derives a session from its events, in any order (they are put in the one event order first). */
export function deriveSession(events: readonly SessionEvent[]): Session {
  let evs = events;
  // The live state keeps its events in order already: sorting is only paid when needed.
  for (let i = 1; i < evs.length; i++) {
    if (compareEvents(evs[i - 1], evs[i]) > 0) {
      evs = [...events].sort(compareEvents);
      break;
    }
  }
  const s: Session = {
    startedAtMs: evs.length ? evs[0].timeMs : 0,
    endedAtMs: null,
    lastEventMs: evs.length ? evs[evs.length - 1].timeMs : 0,
    userId: null,
    region: null,
    legs: [],
    parts: [],
    credited: null,
    queued: null,
    openPart: null,
    ended: false,
    rejects: [],
    rating: null,
    summary: null,
  };
  // First visitor message of the run the agent has not answered yet (-1: none).
  let runStartMs = -1;
  let sawStart = false;

  for (const e of evs) {
    const t = e.timeMs;
    switch (e.type) {
      case 'session.start':
        if (!sawStart) {
          sawStart = true;
          s.startedAtMs = t;
          s.userId = e.userId ?? null;
          s.region = e.region ?? null;
        }
        break;
      case 'session.queue':
        // metrics.md: the next session.queue ends a waiting leg (overflow before an answer).
        closeQueued(s, t, 'overflow');
        // A queue while served means the transfer event is missing: the part ends here, no transfer counted.
        if (closePart(s, t, 'requeue')) runStartMs = -1;
        s.queued = openLeg(s, e.groupId!, e.via ?? 'direct', t);
        s.ended = false;
        break;
      case 'session.answer': {
        closePart(s, t, 'answer');
        let leg = s.queued;
        // An answer naming another group than the waiting leg's: the session left that queue
        // unanswered for the answering group, as an overflow whose queue entry was not sent.
        if (leg && leg.groupId !== e.groupId) {
          closeQueued(s, t, 'overflow');
          leg = openLeg(s, e.groupId!, 'overflow', t);
        }
        // metrics.md: an answer with no open leg opens one with zero wait.
        leg ??= openLeg(s, e.groupId!, s.parts.length > 0 ? 'transfer' : 'direct', t);
        s.queued = null;
        leg.answeredAtMs = t;
        leg.agentId = e.agentId!;
        leg.outcome = 'answered';
        leg.part = s.parts.length;
        const part: Part = {
          agentId: e.agentId!,
          groupId: leg.groupId,
          manual: e.manual === true,
          startedAtMs: t,
          endedAtMs: null,
          endedBy: null,
          firstResponseAtMs: null,
          replySumMs: 0,
          replyCount: 0,
          invited: false,
          // The answered leg is the latest one (the waiting leg, or the one just opened).
          leg: s.legs.lastIndexOf(leg),
        };
        s.parts.push(part);
        s.openPart = part;
        s.credited = part.leg;
        s.ended = false;
        runStartMs = -1;
        break;
      }
      case 'session.abandon':
        // An abandon with no waiting leg has nothing to end and counts nothing.
        closeQueued(s, t, 'abandoned');
        break;
      case 'session.reject': {
        const leg = s.queued ? s.legs.indexOf(s.queued) : null;
        closeQueued(s, t, 'rejected');
        s.rejects.push({ groupId: e.groupId!, reason: e.reason ?? 'other', timeMs: t, leg });
        break;
      }
      case 'session.transfer':
        // With no open part there is no agent or group to charge it to: it counts nothing.
        if (closePart(s, t, e.reason === 'timeout' ? 'timeout' : 'manual')) runStartMs = -1;
        break;
      case 'session.message': {
        const part = s.openPart;
        if (!part) break;
        if (e.from === 'user') {
          if (runStartMs < 0) runStartMs = t;
        } else if (e.from === 'agent') {
          part.firstResponseAtMs ??= t;
          if (runStartMs >= 0) {
            part.replySumMs += t - runStartMs;
            part.replyCount++;
            runStartMs = -1;
          }
        }
        break;
      }
      case 'session.invite':
        if (s.openPart) s.openPart.invited = true;
        break;
      case 'session.rate':
        if (e.score !== null && e.score !== undefined) s.rating = { score: e.score, timeMs: t };
        break;
      case 'session.end':
        if (s.endedAtMs === null) s.endedAtMs = t;
        if (closePart(s, t, 'end')) runStartMs = -1;
        // The visitor left while waiting for a human: an abandon (排队放弃), whoever closed the session.
        closeQueued(s, t, 'abandoned');
        s.ended = true;
        break;
      case 'session.summary':
        s.summary = { state: e.state ?? null, category: e.category ?? null, remark: e.remark ?? null };
        break;
    }
  }
  return s;
}

/** Ends the open part (and its leg) at `t`; false when none was open. */
function closePart(s: Session, t: number, by: string): boolean {
  const part = s.openPart;
  if (!part) return false;
  part.endedAtMs = t;
  part.endedBy = by;
  const leg = s.legs[part.leg];
  leg.endedAtMs = t;
  leg.endedBy = by;
  leg.outcome = by === 'manual' || by === 'timeout' ? 'transferred' : 'ended';
  s.openPart = null;
  return true;
}

/** Ends the waiting leg at `t` with `outcome`, if one waits. */
function closeQueued(s: Session, t: number, outcome: LegOutcome): void {
  if (!s.queued) return;
  s.queued.endedAtMs = t;
  s.queued.outcome = outcome;
  s.queued = null;
}

function openLeg(s: Session, groupId: string, via: string, t: number): Leg {
  const leg: Leg = {
    groupId,
    via,
    queuedAtMs: t,
    answeredAtMs: null,
    endedAtMs: null,
    outcome: 'queued',
    agentId: null,
    endedBy: null,
    part: null,
  };
  s.legs.push(leg);
  return leg;
}

/** The credited leg (last answered), or null. */
export function creditedLeg(s: Session): Leg | null {
  return s.credited === null ? null : s.legs[s.credited];
}
