/**
 * Group commit: concurrent requests are merged into one transaction, so the
 * cost of a commit (its WAL flush) is shared by every event in it. A request
 * is answered only after the transaction holding its events has committed.
 */
import { EventEmitter } from 'node:events';
import { EventStore, eventKey } from './store.js';
import { isDatabaseUnavailable } from '../http/errors.js';
import type { StoredEvent } from './validate.js';

/** What became of each event handed to `write`, in order. */
export type WriteOutcome = 'accepted' | 'duplicate' | { error: string };

interface Pending {
  events: StoredEvent[];
  /** When it was queued (performance.now()): the queue-age bound reads the oldest. */
  at: number;
  resolve(outcomes: WriteOutcome[]): void;
  reject(err: Error): void;
}

/**
 * What ingest may hold at once: events queued or being stored, and request
 * bytes being read, parsed, queued or stored. One place decides whether a
 * request may start costing memory; past it the request is refused at once
 * (429) and nothing of it is stored, so the producer's retry is safe.
 */
export interface IngestBudget {
  maxEvents: number;
  maxBytes: number;
  /**
   * Latency-bounded admission (CS_INGEST_MAX_WAIT_MS): while the oldest request waiting for a
   * transaction has waited longer than this (and than WAIT_PER_TRANSACTION recent transactions),
   * new requests are refused (429) instead of queueing behind it. Under an offered load above what
   * the database commits, the queue then stays about this long, so accepted requests are answered
   * within it plus one commit, and producers get a prompt Retry-After instead of a reply seconds
   * later. Unbounded when absent.
   */
  maxWaitMs?: number;
}

export type BudgetResource = 'events' | 'bytes';
/** The queue-age bound is never below this many recent transactions' time (see EventWriter.overWait). */
export const WAIT_PER_TRANSACTION = 4;
/** What an overloaded ingest names in its 429: a budget share, or the queue-age bound. */
export type OverloadResource = BudgetResource | 'wait';

/** A request's share of the budget, from admission until its answer is sent (or the client is gone). */
export class BudgetTicket {
  private bytes = 0;
  private events = 0;
  private released = false;
  constructor(private readonly writer: EventWriter) {}

  /** Takes `n` more of `what`; false (nothing taken) when that would pass the budget. */
  take(what: BudgetResource, n: number): boolean {
    if (this.released) return false;
    if (!this.writer.reserve(what, n)) return false;
    if (what === 'bytes') this.bytes += n;
    else this.events += n;
    return true;
  }

  /** Keeps only `n` of what was taken of `what` (e.g. a body shorter than reserved). */
  shrinkTo(what: BudgetResource, n: number): void {
    const held = what === 'bytes' ? this.bytes : this.events;
    if (this.released || n >= held) return;
    this.writer.unreserve(what, held - n);
    if (what === 'bytes') this.bytes = n;
    else this.events = n;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.writer.unreserve('bytes', this.bytes);
    this.writer.unreserve('events', this.events);
    this.bytes = this.events = 0;
  }
}

export interface WriterOptions {
  /** Events per transaction, roughly: whole requests are never split. */
  maxBatch?: number;
  /** Transactions in flight at once. */
  maxInFlight?: number;
  /** The in-flight budget of ingest (see IngestBudget); unbounded when absent. */
  budget?: IngestBudget;
}

export interface WriterStats {
  accepted: number;
  duplicates: number;
  batches: number;
  lastAcceptedAtMs: number | null;
}

/**
 * Emits `accepted` with the newly stored events of each committed batch, in arrival order, and
 * the id of the one transaction that stored them all when there was one (see EventStore.insertTx).
 */
export class EventWriter extends EventEmitter<{ accepted: [StoredEvent[], string?] }> {
  // A queue read from `head`: shift() on an array of thousands of single-event requests is a copy each time.
  private queue: Pending[] = [];
  private head = 0;
  private queuedEvents = 0;
  /** A pump is due at the end of this turn of the event loop (see write). */
  private pumpScheduled = false;
  /** The day-counter rows (EventStore.insert's lane) not held by a transaction in flight. */
  private readonly freeLanes: number[];
  /** Moving average of a transaction's duration (store and answers), for the queue-age bound. */
  private transactionMs = 0;
  private idle: (() => void)[] = [];
  readonly stats: WriterStats = { accepted: 0, duplicates: 0, batches: 0, lastAcceptedAtMs: null };
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  readonly budget: IngestBudget;
  /** What admitted requests hold of the budget now. */
  readonly used = { events: 0, bytes: 0 };

  constructor(
    private readonly store: EventStore,
    opts: WriterOptions = {},
    private readonly onListenerError: (err: unknown) => void = (err) => console.error(err),
  ) {
    super();
    // Each transaction's own work on the event loop (its keys, its JSON for Postgres, the answers,
    // the live state's apply) grows with its events: at 20,000 those tasks held /metrics up for
    // hundreds of ms under saturation. 5,000 keeps each under a few tens of ms, and a commit's
    // fixed cost is still shared by thousands of events (docs/robustness.md, "Overload").
    this.maxBatch = opts.maxBatch ?? 5_000;
    this.maxInFlight = opts.maxInFlight ?? 2;
    this.freeLanes = Array.from({ length: this.maxInFlight }, (_, i) => this.maxInFlight - 1 - i);
    this.budget = opts.budget ?? { maxEvents: Infinity, maxBytes: Infinity };
  }

  /**
   * Whether a request now would wait past the bound: every transaction slot is busy (the database
   * is the limit, or slow, or frozen) and the oldest queued request has already waited longer than
   * maxWaitMs and than WAIT_PER_TRANSACTION recent transactions. Waiting for the transactions ahead
   * is what group commit is; on a slow disk or a busy machine one may take longer than maxWaitMs,
   * and that alone is not overload. An empty queue always admits, so a lone request on an idle
   * writer is never refused.
   */
  overWait(): boolean {
    const max = this.budget.maxWaitMs;
    // Both transactions busy: a request queued now waits for one of them. Otherwise the queue is
    // only waiting for this turn's pump, however long a busy machine made that turn.
    if (max === undefined || this.head >= this.queue.length || this.flushing < this.maxInFlight) return false;
    return performance.now() - this.queue[this.head].at > Math.max(max, WAIT_PER_TRANSACTION * this.transactionMs);
  }

  /** A new share of the budget for one request. */
  ticket(): BudgetTicket {
    return new BudgetTicket(this);
  }

  /**
   * Budget accounting (through BudgetTicket). A request alone on an idle
   * writer is always admitted, so a body larger than the budget is still
   * stored instead of being refused forever.
   */
  reserve(what: BudgetResource, n: number): boolean {
    const max = what === 'bytes' ? this.budget.maxBytes : this.budget.maxEvents;
    if (this.used[what] > 0 && this.used[what] + n > max) return false;
    this.used[what] += n;
    return true;
  }

  unreserve(what: BudgetResource, n: number): void {
    this.used[what] = Math.max(0, this.used[what] - n);
  }

  /** The payload of this writer's wake-ups to the replicas' followers (EventStore.origin). */
  get origin(): string {
    return this.store.origin;
  }

  /** Requests waiting for a transaction, and the events they hold. */
  get queued(): { requests: number; events: number } {
    return { requests: this.queue.length - this.head, events: this.queuedEvents };
  }

  /** Transactions being stored now: each holds one lane. */
  get flushing(): number {
    return this.maxInFlight - this.freeLanes.length;
  }

  /** Stores `events`; resolves once they are durable (or known duplicates). */
  write(events: StoredEvent[]): Promise<WriteOutcome[]> {
    if (events.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ events, at: performance.now(), resolve, reject });
      this.queuedEvents += events.length;
      // One transaction per turn of the event loop: the single-event requests (webhooks) that
      // arrive together share a commit instead of the first taking a transaction of its own.
      if (!this.pumpScheduled) {
        this.pumpScheduled = true;
        setImmediate(() => {
          this.pumpScheduled = false;
          this.pump();
        });
      }
    });
  }

  /** Resolves when every queued and in-flight batch is done. */
  drain(): Promise<void> {
    if (this.head >= this.queue.length && this.flushing === 0 && !this.pumpScheduled) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.flushing < this.maxInFlight && this.head < this.queue.length) {
      const batch: Pending[] = [];
      let size = 0;
      while (this.head < this.queue.length && (batch.length === 0 || size + this.queue[this.head].events.length <= this.maxBatch)) {
        const p = this.queue[this.head++];
        batch.push(p);
        size += p.events.length;
      }
      this.queuedEvents -= size;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      const lane = this.freeLanes.pop()!;
      const started = performance.now();
      void this.flush(batch, lane)
        .catch((err: unknown) => {
          // A bug here must not leave producers waiting forever, nor end the process as an unhandled rejection.
          for (const p of batch) p.reject(err as Error);
          this.onListenerError(err);
        })
        .finally(() => {
          const took = performance.now() - started;
          this.transactionMs = this.transactionMs === 0 ? took : 0.8 * this.transactionMs + 0.2 * took;
          this.freeLanes.push(lane);
          this.pump();
          if (this.head >= this.queue.length && this.flushing === 0 && !this.pumpScheduled) for (const f of this.idle.splice(0)) f();
        });
    }
    if (this.head >= this.queue.length && this.flushing === 0) for (const f of this.idle.splice(0)) f();
  }

  private async flush(batch: Pending[], lane: number): Promise<void> {
    // The first occurrence of a key in the batch is the one stored; repeats
    // (within a request or across merged requests) are duplicates.
    const first = new Map<string, StoredEvent>();
    const unique: StoredEvent[] = [];
    for (const p of batch) {
      for (const e of p.events) {
        const k = eventKey(e.tenant, e.id);
        if (!first.has(k)) {
          first.set(k, e);
          unique.push(e);
        }
      }
    }
    let fresh: Set<string>;
    // Unknown when the events were stored one by one (several transactions).
    let xid: string | undefined;
    const failed = new Map<string, string>();
    try {
      ({ fresh, xid } = await this.store.insertTx(unique, lane));
    } catch (err) {
      // Not the batch's fault: splitting it would only repeat the failure against a database that is away.
      if (isDatabaseUnavailable(err)) {
        for (const p of batch) p.reject(err as Error);
        return;
      }
      if (batch.length > 1) {
        // Something in one request slipped past validation and failed the merged transaction:
        // bisect, so the other producers' requests commit and only the culprit's half keeps failing.
        const half = Math.ceil(batch.length / 2);
        await this.flush(batch.slice(0, half), lane);
        await this.flush(batch.slice(half), lane);
        return;
      }
      if (!isDataError(err)) {
        for (const p of batch) p.reject(err as Error);
        return;
      }
      // One request, and a value Postgres cannot hold: store its events one by one so only
      // the offending ones are refused.
      fresh = new Set();
      try {
        for (const e of unique) {
          try {
            for (const k of await this.store.insert([e], lane)) fresh.add(k);
          } catch (one) {
            if (!isDataError(one)) throw one;
            // Postgres's own message stays in the log of the caller; the producer learns which event.
            failed.set(eventKey(e.tenant, e.id), 'the database refused this event (a value it cannot store)');
          }
        }
      } catch (fatal) {
        for (const p of batch) p.reject(fatal as Error);
        return;
      }
    }
    const stored: StoredEvent[] = [];
    const claimed = new Set<string>();
    for (const p of batch) {
      const outcomes: WriteOutcome[] = p.events.map((e) => {
        const k = eventKey(e.tenant, e.id);
        const error = failed.get(k);
        if (error) return { error };
        if (fresh.has(k) && first.get(k) === e && !claimed.has(k)) {
          claimed.add(k);
          stored.push(e);
          return 'accepted';
        }
        return 'duplicate';
      });
      p.resolve(outcomes);
    }
    this.stats.batches++;
    this.stats.accepted += stored.length;
    this.stats.duplicates += unique.length - stored.length - failed.size + (batch.reduce((n, p) => n + p.events.length, 0) - unique.length);
    if (stored.length > 0) {
      this.stats.lastAcceptedAtMs = Date.now();
      try {
        this.emit('accepted', stored, xid);
      } catch (err) {
        // A consumer's bug must not turn committed events into a failed request.
        this.onListenerError(err);
      }
    }
  }
}

function isDataError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return typeof code === 'string' && code.startsWith('22');
}
