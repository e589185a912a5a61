/**
 * Runs the simulator as an event producer: backfill (past days as fast as
 * the exporter takes them), live (real time), or into an NDJSON file. It
 * talks to the exporter only through POST /api/v1/events, like any outside
 * producer would.
 */
import { createWriteStream } from 'node:fs';
import type { Logger } from 'pino';
import { simulateDay, type TimedEvent } from './day.js';
import { buildRoster, type Roster, type SimOptions } from './roster.js';
import { DEFAULT_NIGHT_AGENTS } from './vocab.js';
import { addDays, localDay } from '../time.js';

export interface SimulationSize {
  seed: number;
  tenants: number;
  groups: number;
  agents: number;
  traffic: number;
  timezone: string;
  /** Agents of the 24-hour group 夜间热线; DEFAULT_NIGHT_AGENTS when absent, 0 for none. */
  nightAgents?: number;
}

/** Per-tenant options: the first tenant is `default`, the others `tenant2`, `tenant3`, ... each with its own seed stream. */
export function tenantOptions(size: SimulationSize): SimOptions[] {
  return Array.from({ length: Math.max(1, size.tenants) }, (_, i) => ({
    seed: size.seed,
    tenant: i === 0 ? 'default' : `tenant${i + 1}`,
    groups: size.groups,
    agents: size.agents,
    traffic: size.traffic,
    timezone: size.timezone,
    nightAgents: size.nightAgents ?? DEFAULT_NIGHT_AGENTS,
  }));
}

/** Generates days of several tenants, keeping each tenant's roster. */
export class DaySource {
  private readonly rosters: Roster[];
  constructor(private readonly tenants: SimOptions[]) {
    this.rosters = tenants.map((o) => buildRoster(o));
  }

  /** Every event of `day` (and the tails of its tickets), all tenants, in time order. */
  day(day: string): TimedEvent[] {
    const parts = this.tenants.map((o, i) => simulateDay(o, day, this.rosters[i]).events);
    if (parts.length === 1) return parts[0];
    return parts.flat().sort((a, b) => a.ms - b.ms);
  }
}

export class IngestError extends Error {}

/** POSTs NDJSON batches to an exporter, a few at a time; retries what the exporter could not store yet. */
export class Poster {
  private inFlight = new Set<Promise<void>>();
  accepted = 0;
  duplicates = 0;
  rejected = 0;
  firstRejection?: string;

  constructor(
    private readonly target: string,
    private readonly token: string | undefined,
    private readonly concurrency = 3,
  ) {}

  /** Resolves once the batch is handed to a free slot (not when it is stored). */
  async send(events: TimedEvent[]): Promise<void> {
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    const p = this.post(events).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
    // A failure surfaces through drain(); keep it from being unhandled meanwhile.
    p.catch(() => {});
  }

  /** Waits for every batch in flight; throws the first failure. */
  async drain(): Promise<void> {
    const results = await Promise.allSettled([...this.inFlight]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  private async post(events: TimedEvent[]): Promise<void> {
    const body = events.map((e) => JSON.stringify(e.event)).join('\n');
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    for (let attempt = 0; ; attempt++) {
      let status = 0;
      let text = '';
      try {
        const res = await fetch(`${this.target}/api/v1/events`, { method: 'POST', headers, body });
        status = res.status;
        text = await res.text();
      } catch (err) {
        text = (err as Error).message;
      }
      if (status === 200 || status === 400) {
        const answer = JSON.parse(text) as { accepted: number; duplicates: number; rejected: { error: string }[]; error?: string };
        if (status === 400 && answer.error) throw new IngestError(`the exporter refused a batch: ${answer.error}`);
        this.accepted += answer.accepted;
        this.duplicates += answer.duplicates;
        this.rejected += answer.rejected.length;
        this.firstRejection ??= answer.rejected[0]?.error;
        return;
      }
      // 503 (database busy) and connection errors pass; the rest will not.
      if ((status !== 0 && status !== 503) || attempt >= 5)
        throw new IngestError(`POST ${this.target}/api/v1/events failed (${status || 'no answer'}): ${text.slice(0, 300)}`);
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
}

export interface RunOptions {
  size: SimulationSize;
  /** Past days before today to backfill. */
  days: number;
  /** Stop after the backfill (otherwise continue live). */
  follow: boolean;
  post: Poster;
  log?: Logger;
  batchSize?: number;
  now?: () => number;
}

/**
 * A running simulation: backfills `days` past days and today up to now,
 * then (with `follow`) sends each event when its time comes.
 */
export class Simulation {
  private stopped = false;
  private wake?: () => void;
  private pending: TimedEvent[] = [];
  private generatedThrough = '';
  readonly done: Promise<void>;
  backfilled = 0;
  backfillMs = 0;

  constructor(private readonly opts: RunOptions) {
    this.done = this.run();
  }

  /** Stops sending; resolves once the batches in flight are answered. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.done.catch(() => {});
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private async run(): Promise<void> {
    const { size, post } = this.opts;
    const source = new DaySource(tenantOptions(size));
    const batch = this.opts.batchSize ?? 5000;
    const started = this.now();
    const today = localDay(started, size.timezone);
    for (let d = -this.opts.days; d <= 0 && !this.stopped; d++) {
      const day = addDays(today, d);
      // Let the exporter answer its other callers between the (synchronous) days.
      await new Promise((r) => setImmediate(r));
      const events = source.day(day);
      this.generatedThrough = day;
      const now = this.now();
      let i = 0;
      while (i < events.length && events[i].ms <= now && !this.stopped) {
        let j = i;
        while (j < events.length && j - i < batch && events[j].ms <= now) j++;
        await post.send(events.slice(i, j));
        this.backfilled += j - i;
        i = j;
      }
      this.pending = mergeSorted(this.pending, events.slice(i));
    }
    await post.drain();
    this.backfillMs = this.now() - started;
    this.opts.log?.info(
      { events: this.backfilled, ms: this.backfillMs, accepted: post.accepted, rejected: post.rejected },
      'simulator: backfill done',
    );
    if (post.rejected > 0)
      this.opts.log?.warn({ rejected: post.rejected, example: post.firstRejection }, 'simulator: the exporter rejected events');
    while (this.opts.follow && !this.stopped) {
      const now = this.now();
      const day = localDay(now, size.timezone);
      if (day > this.generatedThrough) {
        this.pending = mergeSorted(this.pending, source.day(day));
        this.generatedThrough = day;
      }
      let n = 0;
      while (n < this.pending.length && this.pending[n].ms <= now) n++;
      if (n > 0) {
        const due = this.pending.slice(0, n);
        this.pending = this.pending.slice(n);
        for (let i = 0; i < due.length; i += batch) await post.send(due.slice(i, i + batch));
        await post.drain();
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, 1000);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    await post.drain();
  }
}

function mergeSorted(a: TimedEvent[], b: TimedEvent[]): TimedEvent[] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: TimedEvent[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i].ms <= b[j].ms)) out.push(a[i++]);
    else out.push(b[j++]);
  }
  return out;
}

/**
 * Writes `days` past days and today up to now as NDJSON to `file` ('-' for
 * stdout); returns the number of events. Ticket tails follow the day that
 * created them, so the file is in time order within each day only.
 */
export async function writeNdjson(size: SimulationSize, days: number, file: string, nowMs = Date.now()): Promise<number> {
  const source = new DaySource(tenantOptions(size));
  const out: NodeJS.WritableStream = file === '-' ? process.stdout : createWriteStream(file);
  const today = localDay(nowMs, size.timezone);
  let n = 0;
  for (let d = -days; d <= 0; d++) {
    const lines: string[] = [];
    for (const e of source.day(addDays(today, d))) if (e.ms <= nowMs) lines.push(JSON.stringify(e.event));
    n += lines.length;
    if (lines.length > 0 && !out.write(lines.join('\n') + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  if (file !== '-') await new Promise<void>((resolve, reject) => out.end(() => resolve()).once('error', reject));
  return n;
}
