/**
 * Who comes when: a non-homogeneous Poisson process following the daily
 * curve, with stable user ids and visitors who come back within 24 hours.
 * Drawn from its own RNG stream per day, so a day's arrivals (and the
 * returns they cause the next day) never depend on how routing went.
 */
import { Rng } from './rng.js';
import type { Roster, SimOptions } from './roster.js';
import { userRegion } from './roster.js';
import { HOURLY_CURVE, NIGHT_STARTS_PER_AGENT_HOUR, REGIONS } from './vocab.js';
import { addDays, dayStartMs } from '../time.js';

export interface Arrival {
  t: number;
  /** Unique within the day and stable: the order of the arrival in its day's stream, or r<n> for returns. */
  key: string;
  userId?: string;
  region?: string;
  /** Skill group the visitor's question belongs to. */
  groupId: string;
  wantsHuman: boolean;
}

const HOUR = 3600_000;
const CURVE_MAX = Math.max(...HOURLY_CURVE);
// Share of visitors who ask for a human; the rest are served by the robot alone.
export const HUMAN_SHARE = 0.68;
const ANONYMOUS = 0.12;
const RETURNS = 0.1;

/** Relative rate at `t` (curve interpolated between hour midpoints, so there are no steps). */
export function curveAt(t: number, dayStart: number): number {
  const h = (t - dayStart) / HOUR - 0.5;
  const i = Math.floor(h);
  const f = h - i;
  const a = HOURLY_CURVE[(i + 24) % 24];
  const b = HOURLY_CURVE[(i + 25) % 24];
  return a + (b - a) * f;
}

interface Fresh extends Arrival {
  returnAt?: number;
}

function freshArrivals(o: SimOptions, roster: Roster, day: string): Fresh[] {
  const rng = new Rng(o.seed, o.tenant, day, 'arrivals');
  const start = dayStartMs(day, o.timezone);
  const end = dayStartMs(addDays(day, 1), o.timezone);
  const startsPerHourAtMax = ((roster.peakPerHour / HUMAN_SHARE) * CURVE_MAX) / 1.3;
  const meanGap = HOUR / startsPerHourAtMax;
  const dailyVolume = startsPerHourAtMax * 24;
  const pool = Math.max(1000, Math.round(dailyVolume * 40));
  const out: Fresh[] = [];
  const dayGroups = roster.groups.filter((g) => !g.allDay);
  let t = start;
  let n = 0;
  for (;;) {
    // Thinning (Lewis–Shedler): candidates at the peak rate, kept with rate(t)/peak.
    t += rng.exp(meanGap);
    if (t >= end) break;
    if (!rng.chance(curveAt(t, start) / CURVE_MAX)) continue;
    const anonymous = rng.chance(ANONYMOUS);
    const userNo = rng.int(1, pool);
    const a: Fresh = {
      t: Math.round(t),
      key: String(n++),
      groupId: rng.weighted(dayGroups, (g) => g.share).id,
      wantsHuman: rng.chance(HUMAN_SHARE),
    };
    if (anonymous) {
      if (rng.chance(0.6)) a.region = rng.weighted(REGIONS, (x) => x[1])[0];
    } else {
      a.userId = `u${String(userNo).padStart(7, '0')}`;
      a.region = userRegion(userNo);
      if (rng.chance(RETURNS)) a.returnAt = Math.round(t + rng.uniform(0.3, 20) * HOUR);
    }
    out.push(a);
  }
  return out;
}

/**
 * The 夜间热线's own visitors (roster.ts addNightGroup): a steady Poisson stream around the clock,
 * NIGHT_STARTS_PER_AGENT_HOUR per night agent, drawn from a stream of their own so the day groups'
 * visitors stay the same.
 */
function nightArrivals(o: SimOptions, roster: Roster, day: string): Arrival[] {
  const night = roster.groups.find((g) => g.allDay);
  const staff = roster.agents.filter((a) => a.allDay).length;
  if (!night || staff === 0) return [];
  const rng = new Rng(o.seed, o.tenant, day, 'night-arrivals');
  const start = dayStartMs(day, o.timezone);
  const end = dayStartMs(addDays(day, 1), o.timezone);
  const meanGap = HOUR / (NIGHT_STARTS_PER_AGENT_HOUR * staff);
  const out: Arrival[] = [];
  for (let t = start + rng.exp(meanGap), n = 0; t < end; t += rng.exp(meanGap)) {
    const userNo = rng.int(1, 200_000);
    out.push({
      t: Math.round(t),
      key: `n${n++}`,
      userId: `u${String(userNo).padStart(7, '0')}`,
      region: userRegion(userNo),
      groupId: night.id,
      wantsHuman: rng.chance(0.85),
    });
  }
  return out;
}

/** The day's arrivals in time order: fresh ones, and returns of yesterday's and today's visitors. */
export function arrivalsOf(o: SimOptions, roster: Roster, day: string): Arrival[] {
  const start = dayStartMs(day, o.timezone);
  const end = dayStartMs(addDays(day, 1), o.timezone);
  const today = freshArrivals(o, roster, day);
  const yesterday = freshArrivals(o, roster, addDays(day, -1));
  const all: Arrival[] = today.map(({ returnAt: _r, ...a }) => a);
  all.push(...nightArrivals(o, roster, day));
  for (const src of [...yesterday, ...today]) {
    if (src.returnAt === undefined || src.returnAt < start || src.returnAt >= end) continue;
    const r = new Rng(o.seed, o.tenant, day, 'return', src.key, src.t);
    // A returning visitor usually follows up on the same matter.
    const groupId = r.chance(0.7)
      ? src.groupId
      : r.weighted(
          roster.groups.filter((g) => !g.allDay),
          (g) => g.share,
        ).id;
    all.push({ t: src.returnAt, key: `r${src.t}-${src.key}`, userId: src.userId, region: src.region, groupId, wantsHuman: r.chance(0.85) });
  }
  all.sort((a, b) => a.t - b.t || (a.key < b.key ? -1 : 1));
  return all;
}
