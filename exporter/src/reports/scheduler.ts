/**
 * Keeps the rollups current: today every few minutes (provisional), yesterday
 * final shortly after local midnight, the day before again at T+2, and any
 * finished day whose events changed after its rollup.
 */
import type { Logger } from 'pino';
import { Lease } from '../db/lease.js';
import type { Pool } from '../db/pool.js';
import { addDays, dayStartMs, localDay } from '../time.js';
import type { RollupService } from './service.js';

// Late-arriving events from the last seconds before midnight get this long.
const AFTER_MIDNIGHT_MS = 60_000;

export class RollupScheduler {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private tick: Promise<void> = Promise.resolve();
  private lease: Lease | undefined;

  /**
   * With `lease`, the rounds run on one replica at a time: the one holding the
   * lease (db/lease.ts), and on a survivor when its holder dies. Without it (one
   * process, tests) they always run here.
   */
  constructor(
    private readonly service: RollupService,
    private readonly tz: string,
    private readonly intervalMs: number,
    private readonly log: Logger,
    lease?: { pool: Pool; checkMs: number },
  ) {
    if (lease)
      this.lease = new Lease(lease.pool, 'rollup-scheduler', {
        checkMs: lease.checkMs,
        log,
        onAcquired: () => this.run(),
        onLost: () => this.halt(),
      });
  }

  start(): void {
    if (this.lease) this.lease.start();
    else this.run();
  }

  async stop(): Promise<void> {
    await this.lease?.stop();
    await this.halt();
  }

  /** Whether the rounds run in this process now. */
  get running(): boolean {
    return !this.stopped && (this.lease?.held ?? true);
  }

  private run(): void {
    this.stopped = false;
    this.schedule(5_000);
  }

  private async halt(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.tick;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.tick = this.runOnce()
        .then(() => undefined)
        .catch((err) => this.log.error({ err }, 'rollup round failed'))
        .finally(() => {
          const now = Date.now();
          const midnight = dayStartMs(addDays(localDay(now, this.tz), 1), this.tz) + AFTER_MIDNIGHT_MS - now;
          this.schedule(Math.max(1_000, Math.min(this.intervalMs, midnight)));
        });
    }, ms);
    this.timer.unref();
  }

  /** One round: every tenant-day that is due, oldest first. */
  async runOnce(): Promise<number> {
    const today = localDay(Date.now(), this.tz);
    const due = (await this.service.dayStates(null, '0001-01-01', today)).filter((s) => this.service.needsRollup(s));
    let done = 0;
    for (const s of due) {
      if (this.stopped) break;
      const r = await this.service.rollup(s.tenant, s.day);
      done++;
      this.log.info({ tenant: r.tenant, day: r.day, sessions: r.sessions, durationMs: r.durationMs }, 'rolled up');
    }
    return done;
  }
}
