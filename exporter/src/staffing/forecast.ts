/**
 * The inflow forecast of 排班建议 and 流入异常: pure arithmetic over the history of one skill group,
 * no I/O (reports/forecast.ts reads the history; live/metrics.ts shows the current slot's band).
 *
 * The method, as a rota planner can redo it in a spreadsheet:
 *
 * - A day is cut into 48 slots of 30 minutes (local time). The forecast of a slot is the weighted
 *   average of the same slot on the same weekday of the past weeks, up to 8 of them: last week
 *   weighs 8, two weeks ago 7, … eight weeks ago 1 (`weekWeight`), so the recent weeks count most
 *   but one odd week does not decide. Weeks the group had no data for (before its first day, or
 *   before the tenant's first rolled-up day) are left out, and the weights of the rest are used.
 * - The band is expected ± 2 standard deviations (`BAND_Z`), where the variance is the weighted
 *   spread of those past weeks around the forecast plus the forecast itself: arrivals are random
 *   (Poisson: variance = mean) even when the past weeks happened to agree, so a slot that saw 10
 *   every week still gets a band of about ±6 rather than none. The lower bound stops at 0.
 * - Its error is measured by back-testing: the forecast each of the last 14 days would have made
 *   from its own past weeks, against what came; WAPE = Σ|actual − forecast| / Σ actual over those
 *   days' slots (weighted absolute percentage error: busy slots count in proportion).
 * - Agents needed per slot: Erlang C (erlang.ts) with arrivals = forecast × 2 per hour, the
 *   average handling time of the group's ended parts in the same slot of the same past weeks
 *   (their total duration / their count, falling back to the group's mean over all the slots of
 *   those weeks when that slot had none), the group's concurrency and its service-level target.
 */
import { agentsRequired, type Target } from './erlang.js';

/** Slots of 30 minutes in a local day. */
export const SLOTS = 48;
export const SLOT_MINUTES = 30;
/** Past weeks a forecast looks at. */
export const MAX_WEEKS = 8;
/** Days whose forecast is back-tested for the error shown. */
export const BACKTEST_DAYS = 14;
/** Half-width of the band in standard deviations. */
export const BAND_Z = 2;

/** Weight of the value `weeksAgo` weeks back (1 … MAX_WEEKS): 8, 7, … 1. */
export function weekWeight(weeksAgo: number): number {
  return MAX_WEEKS + 1 - weeksAgo;
}

export interface SlotForecast {
  /** Forecast inflow of the slot. */
  expected: number;
  lower: number;
  upper: number;
  /** Past weeks it was made from. */
  weeks: number;
}

/**
 * The forecast from the same slot's past values: `history[k - 1]` is the value `k` weeks ago,
 * undefined for a week with no data. Null when no week has data.
 */
export function forecastSlot(history: readonly (number | undefined)[]): SlotForecast | null {
  let wsum = 0;
  let xsum = 0;
  let weeks = 0;
  const n = Math.min(history.length, MAX_WEEKS);
  for (let k = 1; k <= n; k++) {
    const x = history[k - 1];
    if (x === undefined) continue;
    const w = weekWeight(k);
    wsum += w;
    xsum += w * x;
    weeks++;
  }
  if (weeks === 0) return null;
  const expected = xsum / wsum;
  let spread = 0;
  for (let k = 1; k <= n; k++) {
    const x = history[k - 1];
    if (x !== undefined) spread += weekWeight(k) * (x - expected) ** 2;
  }
  const sd = Math.sqrt(spread / wsum + expected);
  return { expected, lower: Math.max(0, expected - BAND_Z * sd), upper: expected + BAND_Z * sd, weeks };
}

/** One local day of a group: per slot, inflow, ended parts and their total seconds. */
export interface DayFigures {
  inflow: Float64Array;
  parts: Float64Array;
  seconds: Float64Array;
}

export function emptyDay(): DayFigures {
  return { inflow: new Float64Array(SLOTS), parts: new Float64Array(SLOTS), seconds: new Float64Array(SLOTS) };
}

/** A group's loaded history: days with data (a known day's missing slot is 0), by YYYY-MM-DD. */
export interface GroupHistory {
  group: string;
  days: Map<string, DayFigures>;
  /** The group's concurrency (sessions one agent serves at once), ≥ 1. */
  concurrency: number;
  target: Target;
}

/** `day` moved by `n` days (YYYY-MM-DD, calendar arithmetic in UTC). */
export function shiftDay(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** The same weekday's figures of the past weeks of `day` (index k − 1 = k weeks ago). */
export function pastWeeks(h: GroupHistory, day: string): (DayFigures | undefined)[] {
  const out: (DayFigures | undefined)[] = [];
  for (let k = 1; k <= MAX_WEEKS; k++) out.push(h.days.get(shiftDay(day, -7 * k)));
  return out;
}

export interface SlotPlan {
  slot: number;
  /** Null when no past week has data (a group's first weeks): what came is still shown. */
  expected: number | null;
  lower: number | null;
  upper: number | null;
  weeks: number;
  /** Average handling time used, seconds; null when the group has no ended part in its history. */
  ahtSeconds: number | null;
  /** Agents Erlang C asks for (0 when nothing is expected); null without a handling time. */
  agents: number | null;
}

/** The group's mean handling time over the loaded days (those whose handling times were read), or null. */
export function meanHandlingSeconds(h: GroupHistory): number | null {
  let parts = 0;
  let seconds = 0;
  for (const d of h.days.values())
    for (let s = 0; s < SLOTS; s++) {
      parts += d.parts[s];
      seconds += d.seconds[s];
    }
  return parts > 0 ? seconds / parts : null;
}

/**
 * The forecast and staffing of each slot of `day` (null figures when no past week has data).
 * `groupAht` is meanHandlingSeconds(h), passed in so that many days share one computation.
 */
export function planDay(h: GroupHistory, day: string, groupAht = meanHandlingSeconds(h)): SlotPlan[] {
  const weeks = pastWeeks(h, day);
  const out: SlotPlan[] = [];
  const values: (number | undefined)[] = new Array(MAX_WEEKS);
  for (let s = 0; s < SLOTS; s++) {
    let parts = 0;
    let seconds = 0;
    for (let k = 0; k < MAX_WEEKS; k++) {
      const w = weeks[k];
      values[k] = w?.inflow[s];
      if (w) {
        parts += w.parts[s];
        seconds += w.seconds[s];
      }
    }
    const f = forecastSlot(values);
    const aht = parts > 0 ? seconds / parts : groupAht;
    if (!f) {
      out.push({ slot: s, expected: null, lower: null, upper: null, weeks: 0, ahtSeconds: aht, agents: null });
      continue;
    }
    let agents: number | null = 0;
    if (f.expected > 0) agents = aht === null ? null : agentsRequired({ arrivalsPerHour: f.expected * (60 / SLOT_MINUTES), ahtSeconds: aht, concurrency: h.concurrency }, h.target).agents;
    out.push({ slot: s, ...f, ahtSeconds: aht, agents });
  }
  return out;
}

/**
 * WAPE of the forecasts the BACKTEST_DAYS days before `today` would have made (only days with
 * data and at least one past week count); null when nothing came in those days.
 */
export function backtestWape(h: GroupHistory, today: string): number | null {
  let err = 0;
  let actual = 0;
  for (let i = 1; i <= BACKTEST_DAYS; i++) {
    const day = shiftDay(today, -i);
    const got = h.days.get(day);
    if (!got) continue;
    // The weeks with data and their weights, once a day; the expected value of forecastSlot, inlined
    // (the band is not needed here, and 200 groups × 14 days × 48 slots made it the report's hot spot).
    const weeks: Float64Array[] = [];
    const weights: number[] = [];
    let wsum = 0;
    pastWeeks(h, day).forEach((w, k) => {
      if (!w) return;
      weeks.push(w.inflow);
      weights.push(weekWeight(k + 1));
      wsum += weekWeight(k + 1);
    });
    if (weeks.length === 0) continue;
    for (let s = 0; s < SLOTS; s++) {
      let xsum = 0;
      for (let j = 0; j < weeks.length; j++) xsum += weights[j] * weeks[j][s];
      err += Math.abs(got.inflow[s] - xsum / wsum);
      actual += got.inflow[s];
    }
  }
  return actual > 0 ? err / actual : null;
}

/** The local slot (0–47) of a wall-clock time. */
export function slotOf(hour: number, minute: number): number {
  return hour * 2 + Math.floor(minute / SLOT_MINUTES);
}

/** "HH:MM" of a slot's start. */
export function slotLabel(slot: number): string {
  const m = slot * SLOT_MINUTES;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}
