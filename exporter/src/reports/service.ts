/**
 * When a day must be (re)computed, and one rollup per tenant-day at a time
 * within this process (the advisory lock in rollupDay covers other processes).
 */
import type { Logger } from 'pino';
import type { Pool } from '../db/pool.js';
import { RequestError } from '../http/errors.js';
import { addDays, dayStartMs, isDay, localDay } from '../time.js';
import { rollupDay, type RollupResult } from './rollup.js';

/** Rollups at once in this process: each holds two connections (writer and reader) of the pool. */
const MAX_CONCURRENT = 2;

/**
 * How long a query or download waits for the rollups its range needs (CS_INLINE_ROLLUP_BUDGET_MS,
 * default 10 s: a third of Grafana's 30 s data proxy timeout, leaving the rest for the read).
 * Past it, it answers with what is rolled up, marked provisional, while the rollups go on in the
 * background; the next query finds them done. A 1M-session day takes over a minute: inline, one
 * such day would have the answer cut by Grafana's proxy.
 */
export function inlineRollupBudgetMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.CS_INLINE_ROLLUP_BUDGET_MS;
  if (raw === undefined || raw === '') return 10_000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 600_000) throw new Error(`CS_INLINE_ROLLUP_BUDGET_MS must be milliseconds from 0 to 600000, got "${raw}"`);
  return n;
}

/** The first day a rollup may be asked for; before it there are no four-digit days worth computing. */
const FIRST_DAY = '1970-01-01';

export interface DayState {
  day: string;
  rolledAt: number | null;
  /** Latest arrival for the day itself. */
  lastReceivedAt: number;
  /** Latest arrival for the day or the two after it. */
  windowReceivedAt: number;
}

export class RollupService {
  private readonly running = new Map<string, Promise<RollupResult>>();
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** Told of every rollup's end (self-metrics: duration, success, last success per tenant). */
  onDone?: (tenant: string, day: string, ok: boolean, durationMs: number) => void;

  constructor(
    private readonly pool: Pool,
    private readonly tz: string,
    private readonly log: Logger,
    /** Today's rollup is reused on queries while younger than this. */
    private readonly refreshMs: number,
    private readonly now: () => number = Date.now,
    private readonly inlineBudgetMs: number = inlineRollupBudgetMs(),
  ) {}

  /**
   * Recomputes a day; concurrent calls for the same day share one run. Days from 1970 up to
   * tomorrow only (a later day holds no events, and 9999-12-31 has no next day to bound it).
   */
  rollup(tenant: string, day: string): Promise<RollupResult> {
    const last = addDays(localDay(this.now(), this.tz), 1);
    if (!isDay(day) || day < FIRST_DAY || day > last)
      return Promise.reject(new RequestError(400, `date: ${JSON.stringify(day.slice(0, 20))} is not a day from ${FIRST_DAY} to ${last}`));
    const key = `${tenant}\u0000${day}`;
    let p = this.running.get(key);
    if (!p) {
      p = this.limited(async () => {
        const started = performance.now();
        try {
          const r = await rollupDay(this.pool, tenant, day, this.tz, this.now());
          this.onDone?.(tenant, day, true, performance.now() - started);
          return r;
        } catch (err) {
          this.onDone?.(tenant, day, false, performance.now() - started);
          throw err;
        }
      }).finally(() => this.running.delete(key));
      this.running.set(key, p);
      p.then(
        (r) => this.log.debug({ ...r }, 'rollup done'),
        (err) => this.log.error({ err, tenant, day }, 'rollup failed'),
      );
    }
    return p;
  }

  private async limited<T>(run: () => Promise<T>): Promise<T> {
    // A finishing rollup hands its slot straight to the next waiting one.
    if (this.active >= MAX_CONCURRENT) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await run();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  /**
   * Whether a day's rollup must be redone now. Past days: never rolled, rolled
   * while still "today", an event received after the rollup, or not yet
   * recomputed once the day after has ended (T+2: late ratings, sessions
   * crossing midnight, 24-hour revisits). Today: when older than the refresh.
   */
  needsRollup(s: DayState, nowMs = this.now()): boolean {
    const today = localDay(nowMs, this.tz);
    if (s.day > today) return false;
    if (s.rolledAt === null) return true;
    if (s.day === today) return s.lastReceivedAt > s.rolledAt && nowMs - s.rolledAt >= this.refreshMs;
    if (s.lastReceivedAt > s.rolledAt) return true;
    // Arrivals for the next days count too; while those days include today (its
    // stream, for yesterday and the day before) they are picked up at today's pace.
    if (s.windowReceivedAt > s.rolledAt && (s.day < addDays(today, -2) || nowMs - s.rolledAt >= this.refreshMs)) return true;
    const next = dayStartMs(addDays(s.day, 1), this.tz);
    const settle = dayStartMs(addDays(s.day, 2), this.tz);
    if (s.rolledAt < next) return true;
    return nowMs >= settle && s.rolledAt < settle;
  }

  async dayStates(tenant: string | null, from: string, to: string): Promise<(DayState & { tenant: string })[]> {
    const { rows } = await this.pool.query<{
      tenant: string;
      day: string;
      rolled_at: Date | null;
      last_received_at: Date;
      window_received_at: Date;
    }>(
      // A day's figures also depend on the next two days' events (sessions crossing
      // midnight, late ratings, 24-hour revisits), so their arrivals count as its own.
      // A day's arrivals are spread over the writer lanes' rows (migration 018).
      `SELECT d.tenant, d.day, r.rolled_at, d.last_received_at,
         max(d.last_received_at) OVER (PARTITION BY d.tenant ORDER BY d.day RANGE BETWEEN CURRENT ROW AND interval '2 days' FOLLOWING) AS window_received_at
       FROM (SELECT tenant, day, max(last_received_at) AS last_received_at FROM event_days
             WHERE ($1::text IS NULL OR tenant = $1) AND day BETWEEN $2::date AND $3::date + 2 GROUP BY tenant, day) d
       LEFT JOIN report_rollups r ON r.tenant = d.tenant AND r.day = d.day
       ORDER BY d.day, d.tenant`,
      [tenant, from, to],
    );
    return rows
      .filter((r) => r.day <= to)
      .map((r) => ({
        tenant: r.tenant,
        day: r.day,
        rolledAt: r.rolled_at?.getTime() ?? null,
        lastReceivedAt: r.last_received_at.getTime(),
        windowReceivedAt: r.window_received_at.getTime(),
      }));
  }

  /** Brings the days of a query's range up to date; true when the answer is provisional. */
  async ensureRange(tenant: string, from: string, to: string): Promise<boolean> {
    const nowMs = this.now();
    const today = localDay(nowMs, this.tz);
    const due = (await this.dayStates(tenant, from, to)).filter((s) => this.needsRollup(s, nowMs));
    if (due.length === 0) return to >= today;
    // Every due day is started (two run at once, the rest wait their turn); the answer waits
    // for them only within the budget, and what is left finishes in the background.
    const all = Promise.all(due.map((s) => this.rollup(tenant, s.day)));
    all.catch(() => undefined); // failures are logged by rollup(); past the budget nobody awaits them
    let timer: NodeJS.Timeout | undefined;
    const overBudget = new Promise<'over'>((resolve) => (timer = setTimeout(() => resolve('over'), this.inlineBudgetMs)));
    try {
      const done = await Promise.race([all.then(() => 'done' as const), overBudget]);
      if (done === 'over') this.log.info({ tenant, days: due.length, budgetMs: this.inlineBudgetMs }, 'rollups over the inline budget: answering provisional');
      return to >= today || done === 'over';
    } finally {
      clearTimeout(timer);
    }
  }
}
