/**
 * From one session's events to its facts: legs, parts, waits, the credited
 * leg, first responses, reply runs, rating, invitations, summary. Pure, so the
 * rollup (a day's sessions) and the session detail (one session) agree.
 * The rules are the Words of metrics.md; docs/reports.md lists the choices
 * made where it is silent.
 */

/** The fields of a session event the derivation needs (body fields by their contract names). */
export interface SessionEvent {
  type: string;
  timeMs: number;
  /** Arrival order: the tiebreak for equal times. */
  seq: number;
  groupId?: string | null;
  agentId?: string | null;
  via?: string | null;
  reason?: string | null;
  from?: string | null;
  score?: number | null;
  userId?: string | null;
  region?: string | null;
  by?: string | null;
  manual?: boolean | null;
  state?: string | null;
  category?: string[] | null;
  remark?: string | null;
  channel?: string | null;
  text?: string | null;
}

/** One stay in one skill group (服务段). */
export interface Leg {
  groupId: string;
  via: string;
  queuedAtMs: number;
  answeredAtMs: number | null;
  endedAtMs: number | null;
  /** answered | transferred | ended | overflow | abandoned | rejected | open */
  outcome: string;
  agentId: string | null;
  /** How the answered part ended: manual | timeout (transfers), end, or null while open. */
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
  leg: number;
}

export interface SessionFacts {
  sessionId: string;
  startedAtMs: number;
  endedAtMs: number | null;
  lastEventMs: number;
  userId: string | null;
  region: string | null;
  legs: Leg[];
  parts: Part[];
  /** Index of the last answered leg (credited group and agent), or null. */
  credited: number | null;
  score: number | null;
  /** Rejects that followed no open leg (转人工失败 only). */
  strayRejects: number;
  summary: { state: string | null; category: string[] | null; remark: string | null } | null;
}

export function byTime(a: SessionEvent, b: SessionEvent): number {
  return a.timeMs - b.timeMs || a.seq - b.seq;
}

/** Derives a session's facts; `events` in any order. */
export function deriveSession(sessionId: string, events: SessionEvent[]): SessionFacts {
  const evs = [...events].sort(byTime);
  const f: SessionFacts = {
    sessionId,
    startedAtMs: evs.length ? evs[0].timeMs : 0,
    endedAtMs: null,
    lastEventMs: evs.length ? evs[evs.length - 1].timeMs : 0,
    userId: null,
    region: null,
    legs: [],
    parts: [],
    credited: null,
    score: null,
    strayRejects: 0,
    summary: null,
  };
  let queued: Leg | null = null;
  let part: Part | null = null;
  // First visitor message of the run the agent has not answered yet.
  let runStartMs: number | null = null;
  let sawStart = false;

  const closePart = (t: number, by: string) => {
    if (!part) return;
    part.endedAtMs = t;
    part.endedBy = by;
    const leg = f.legs[part.leg];
    leg.endedAtMs = t;
    leg.endedBy = by;
    leg.outcome = by === 'manual' || by === 'timeout' ? 'transferred' : 'ended';
    part = null;
    runStartMs = null;
  };
  const closeQueued = (t: number, outcome: string) => {
    if (!queued) return;
    queued.endedAtMs = t;
    queued.outcome = outcome;
    queued = null;
  };

  for (const e of evs) {
    const t = e.timeMs;
    switch (e.type) {
      case 'session.start':
        if (!sawStart) {
          sawStart = true;
          f.startedAtMs = t;
          f.userId = e.userId ?? null;
          f.region = e.region ?? null;
        }
        break;
      case 'session.queue':
        closeQueued(t, 'overflow');
        // A queue while served means the transfer event is missing: the part ends here.
        closePart(t, 'requeue');
        queued = {
          groupId: e.groupId!,
          via: e.via ?? 'direct',
          queuedAtMs: t,
          answeredAtMs: null,
          endedAtMs: null,
          outcome: 'open',
          agentId: null,
          endedBy: null,
          part: null,
        };
        f.legs.push(queued);
        break;
      case 'session.answer': {
        closePart(t, 'answer');
        let leg: Leg | null = queued;
        if (!leg) {
          leg = {
            groupId: e.groupId!,
            via: f.parts.length > 0 ? 'transfer' : 'direct',
            queuedAtMs: t,
            answeredAtMs: null,
            endedAtMs: null,
            outcome: 'open',
            agentId: null,
            endedBy: null,
            part: null,
          };
          f.legs.push(leg);
        }
        queued = null;
        leg.answeredAtMs = t;
        leg.agentId = e.agentId!;
        leg.outcome = 'answered';
        leg.part = f.parts.length;
        part = {
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
          leg: f.legs.indexOf(leg),
        };
        f.parts.push(part);
        f.credited = part.leg;
        runStartMs = null;
        break;
      }
      case 'session.abandon':
        closeQueued(t, 'abandoned');
        break;
      case 'session.reject':
        if (queued) closeQueued(t, 'rejected');
        else f.strayRejects++;
        break;
      case 'session.transfer':
        closePart(t, e.reason === 'timeout' ? 'timeout' : 'manual');
        break;
      case 'session.message':
        if (!part) break;
        if (e.from === 'user') {
          runStartMs ??= t;
        } else if (e.from === 'agent') {
          part.firstResponseAtMs ??= t;
          if (runStartMs !== null) {
            part.replySumMs += t - runStartMs;
            part.replyCount++;
            runStartMs = null;
          }
        }
        break;
      case 'session.invite':
        if (part) part.invited = true;
        break;
      case 'session.rate':
        f.score = e.score ?? null;
        break;
      case 'session.end':
        if (f.endedAtMs === null) f.endedAtMs = t;
        closePart(t, 'end');
        closeQueued(t, 'ended');
        break;
      case 'session.summary':
        f.summary = { state: e.state ?? null, category: e.category ?? null, remark: e.remark ?? null };
        break;
    }
  }
  return f;
}

/** True when the session reached a human (it has a part). */
export function reachedHuman(f: SessionFacts): boolean {
  return f.parts.length > 0;
}
