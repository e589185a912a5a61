/**
 * 排班建议 (staffing_forecast): the read side of the forecast. The history comes from
 * report_group_halfhour (rolled up with the other report tables, today's provisionally) and the
 * arithmetic from staffing/forecast.ts. Also the current slot's band for /metrics (流入异常).
 */
import type { Pool } from '../db/pool.js';
import type { ServiceTargets } from '../staffing/targets.js';
import {
  BACKTEST_DAYS,
  MAX_WEEKS,
  SLOT_MINUTES,
  SLOTS,
  backtestWape,
  emptyDay,
  forecastSlot,
  meanHandlingSeconds,
  pastWeeks,
  planDay,
  shiftDay,
  slotLabel,
  type GroupHistory,
} from '../staffing/forecast.js';
import { QueryError, type ReportQuery, type Row } from '../query/registry.js';
import { addDays, localDay, tzOffsetMs } from '../time.js';

/** The furthest day ahead the report forecasts (the same weekday of last week is then still known). */
export const MAX_DAYS_AHEAD = 7;
/** The longest range of days one query forecasts. */
export const MAX_FORECAST_DAYS = 31;

export interface HistoryOptions {
  tenant: string;
  /** Inclusive local days to load. */
  from: string;
  to: string;
  groups?: string[];
  targets: ServiceTargets;
  /**
   * The days whose handling times are needed (the past weeks of the days forecast); the others'
   * are not read (the back-test needs only inflow). All days when absent.
   */
  handlingDays?: string[];
}

export interface LoadedHistory {
  groups: Map<string, GroupHistory>;
  names: Map<string, string>;
}

/**
 * The history of every group of the tenant in [from, to]. A day counts as known for a group from its
 * first day with inflow in the range on, when the tenant's day was rolled up (a known day's slot
 * without a row is 0); before a group's first day its weeks are left out rather than taken as 0.
 */
export async function loadHistory(pool: Pool, o: HistoryOptions): Promise<LoadedHistory> {
  const params: unknown[] = [o.tenant, o.from, o.to, o.handlingDays ?? null];
  let filter = '';
  if (o.groups && o.groups.length > 0) {
    params.push(o.groups);
    filter = ` AND group_id = ANY($5::text[])`;
  }
  // One row per group and day, its 48 slots as arrays (017_forecast_slots.sql), read as text:
  // splitting three short strings is cheaper than pg's array parser for 14,000 rows.
  const [slots, days, conc, names] = await Promise.all([
    pool.query<{ group_id: string; day: string; i: string; p: string | null; s: string | null }>(
      `SELECT group_id, day, array_to_string(inflow, ',') AS i,
         CASE WHEN $4::date[] IS NULL OR day = ANY($4::date[]) THEN array_to_string(parts_ended, ',') END AS p,
         CASE WHEN $4::date[] IS NULL OR day = ANY($4::date[]) THEN array_to_string(part_seconds, ',') END AS s
       FROM report_group_halfhour WHERE tenant = $1 AND day BETWEEN $2 AND $3${filter}`,
      params,
    ),
    pool.query<{ day: string }>(`SELECT day FROM report_rollups WHERE tenant = $1 AND day BETWEEN $2 AND $3`, [o.tenant, o.from, o.to]),
    // 接待上限 (agent.upsert maxSessions, events.md) of each group's members, latest upsert per agent.
    pool.query<{ group_id: string; concurrency: number }>(
      `WITH a AS (
         SELECT DISTINCT ON (body->>'agentId') body FROM events
         WHERE tenant = $1 AND type = 'agent.upsert' ORDER BY body->>'agentId', time DESC, seq DESC)
       SELECT g AS group_id, avg((body->>'maxSessions')::numeric) AS concurrency
       FROM a, jsonb_array_elements_text(CASE WHEN jsonb_typeof(body->'groups') = 'array' THEN body->'groups' ELSE '[]' END) AS g
       WHERE body->>'maxSessions' IS NOT NULL GROUP BY g`,
      [o.tenant],
    ),
    pool.query<{ group_id: string; name: string | null }>(`SELECT group_id, name FROM master_groups WHERE tenant = $1`, [o.tenant]),
  ]);
  const concurrency = new Map(conc.rows.map((r) => [r.group_id, r.concurrency]));
  const rolled = days.rows.map((r) => r.day).sort();
  const groups = new Map<string, GroupHistory>();
  const first = new Map<string, string>();
  for (const r of slots.rows) {
    let h = groups.get(r.group_id);
    if (!h) {
      // The mean 接待上限 of the members, rounded down (the fewer servers, the more agents: the safe side).
      const c = Math.max(1, Math.floor(concurrency.get(r.group_id) ?? 1));
      h = { group: r.group_id, days: new Map(), concurrency: c, target: o.targets.of(o.tenant, r.group_id) };
      groups.set(r.group_id, h);
    }
    const d = emptyDay();
    let any = false;
    const inflow = r.i.split(',');
    const parts = r.p === null ? [] : r.p.split(',');
    const seconds = r.s === null ? [] : r.s.split(',');
    for (let k = 0; k < SLOTS; k++) {
      const v = +inflow[k] || 0;
      d.inflow[k] = v;
      d.parts[k] = +parts[k] || 0;
      d.seconds[k] = +seconds[k] || 0;
      if (v > 0) any = true;
    }
    h.days.set(r.day, d);
    if (any && (!first.has(r.group_id) || r.day < first.get(r.group_id)!)) first.set(r.group_id, r.day);
  }
  for (const [g, h] of groups) {
    const since = first.get(g);
    if (since === undefined) {
      groups.delete(g);
      continue;
    }
    for (const day of rolled) if (day >= since && !h.days.has(day)) h.days.set(day, emptyDay());
    for (const day of h.days.keys()) if (day < since) h.days.delete(day);
  }
  return { groups, names: new Map(names.rows.map((r) => [r.group_id, r.name ?? r.group_id])) };
}

/** The instant a local wall-clock time begins (ms); `minutes` after the local midnight of `day`. */
export function localTimeMs(day: string, minutes: number, tz: string): number {
  const naive = Date.parse(`${day}T00:00:00Z`) + minutes * 60_000;
  let ms = naive - tzOffsetMs(naive, tz);
  ms = naive - tzOffsetMs(ms, tz);
  return ms;
}

/** The first day the report must load for `from`: its past weeks, and the back-test's. */
export function historyStart(from: string, today: string): string {
  const a = addDays(from, -7 * MAX_WEEKS);
  const b = addDays(today, -BACKTEST_DAYS - 7 * MAX_WEEKS);
  return a < b ? a : b;
}

/** The range of the rollups the report reads: the history, up to today. */
export function forecastRollupRange(q: ReportQuery, today: string): { from: string; to: string } {
  return { from: historyStart(q.from!, today), to: q.to! < today ? q.to! : today };
}

/** Checks the range of a staffing_forecast query. */
export function checkForecastRange(q: ReportQuery, today: string): void {
  const last = addDays(today, MAX_DAYS_AHEAD);
  if (q.to! > last) throw new QueryError(`to: ${q.to} is past ${last}; 排班建议 forecasts at most ${MAX_DAYS_AHEAD} days ahead`);
  const days = Math.round((Date.parse(q.to!) - Date.parse(q.from!)) / 86_400_000) + 1;
  if (days > MAX_FORECAST_DAYS) throw new QueryError(`the range ${q.from} … ${q.to} spans ${days} days; 排班建议 forecasts at most ${MAX_FORECAST_DAYS} at once`);
}

/** The report's rows: per day of the range, group and slot. */
export async function staffingForecastRows(pool: Pool, q: ReportQuery, o: { tz: string; nowMs: number; targets: ServiceTargets }): Promise<Row[]> {
  const today = localDay(o.nowMs, o.tz);
  checkForecastRange(q, today);
  const range = forecastRollupRange(q, today);
  const handlingDays: string[] = [];
  for (let day = q.from!; day <= q.to!; day = addDays(day, 1)) for (let k = 1; k <= MAX_WEEKS; k++) handlingDays.push(addDays(day, -7 * k));
  const { groups, names } = await loadHistory(pool, { tenant: q.tenant, ...range, groups: q.groups, targets: o.targets, handlingDays });
  const rows: Row[] = [];
  const ids = [...groups.keys()].sort();
  // Per group once, whatever the number of days shown.
  const perGroup = new Map(ids.map((g) => [g, { aht: meanHandlingSeconds(groups.get(g)!), wape: backtestWape(groups.get(g)!, today) }]));
  for (let day = q.from!; day <= q.to!; day = addDays(day, 1)) {
    const starts = Array.from({ length: SLOTS + 1 }, (_, s) => localTimeMs(day, s * SLOT_MINUTES, o.tz));
    for (const g of ids) {
      const h = groups.get(g)!;
      const { aht, wape } = perGroup.get(g)!;
      const got = h.days.get(day);
      for (const p of planDay(h, day, aht)) {
        // What came is shown once the slot is over; the slot now under way is still coming in.
        const actual = starts[p.slot + 1] <= o.nowMs && day <= today ? (got?.inflow[p.slot] ?? 0) : null;
        rows.push({
          date: day,
          slot: slotLabel(p.slot),
          group_id: g,
          group_name: names.get(g) ?? g,
          slot_start: starts[p.slot],
          forecast: p.expected,
          forecast_lower: p.lower,
          forecast_upper: p.upper,
          actual,
          forecast_error: actual === null || p.expected === null ? null : actual - p.expected,
          backtest_wape: wape,
          aht_seconds: p.ahtSeconds,
          agents_required: p.agents,
          weeks: p.weeks,
        });
      }
    }
  }
  return rows;
}

/** One group's band for one slot (流入异常 on /metrics). */
export interface SlotBand {
  group: string;
  expected: number;
  lower: number;
  upper: number;
}

/** The forecast band of every group of the tenant for `slot` of `day` (from the past weeks only). */
export async function slotBands(pool: Pool, tenant: string, day: string, slot: number, targets: ServiceTargets): Promise<SlotBand[]> {
  const { groups } = await loadHistory(pool, { tenant, from: shiftDay(day, -7 * MAX_WEEKS), to: shiftDay(day, -1), targets });
  const out: SlotBand[] = [];
  for (const [g, h] of groups) {
    const f = forecastSlot(pastWeeks(h, day).map((w) => w?.inflow[slot]));
    if (f) out.push({ group: g, expected: f.expected, lower: f.lower, upper: f.upper });
  }
  return out.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}
