/**
 * The one way events get in. The HTTP route (POST /api/v1/events) and every adapter (Asterisk
 * queue_log, Chatwoot, Amazon Connect...) hand their raw items here: validated against the
 * contract, scoped to a tenant, held to the request and cardinality budgets, stored durably
 * (group commit) and deduplicated before anything is acknowledged.
 */
import type { Logger } from 'pino';
import { DatabaseUnavailableError, isUnavailable } from '../db/errors.js';
import { RequestError } from '../http/errors.js';
import { CardinalityBudget } from './cardinality.js';
import type { RawItem } from './parse.js';
import { validateEvent, type StoredEvent } from './validate.js';
import { sliced } from './slices.js';
import { WAIT_PER_TRANSACTION, type BudgetTicket, type EventWriter, type OverloadResource } from './writer.js';

/** Rejections listed one by one in an answer; `rejectedCount` says how many there were in all. */
export const MAX_LISTED_REJECTIONS = 100;
/**
 * Distinct days one request may write. Each new day is a partition to create (and every session
 * lookup pays for each partition), so a request spanning 2,000 past days is refused past this:
 * its events of further days are rejected, naming the budget. A month of backfill fits in one request.
 */
export const MAX_DAYS_PER_REQUEST = 31;
/** Events validated in one slice of the shared per-turn budget (slices.ts): a few ms at most. */
const VALIDATE_SLICE = 200;
/**
 * Submissions of at most this many items are validated at once, not in a slice: tens of
 * microseconds, against a turn of the event loop waited per slice. So a single-event request
 * (a webhook) reaches the writer's queue in the I/O callback that completed it, and the writer's
 * pump at the end of that same turn commits it with the others that arrived together.
 */
const INLINE_VALIDATE = 20;
/** Seconds a producer refused for overload is told to wait (Retry-After). */
export const OVERLOAD_RETRY_AFTER_SECONDS = 1;

export interface IngestAnswer {
  accepted: number;
  duplicates: number;
  /** The first MAX_LISTED_REJECTIONS rejections, by index. */
  rejected: { index: number; error: string }[];
  /** All rejections, listed or not: present only when the list was cut at MAX_LISTED_REJECTIONS. */
  rejectedCount?: number;
}

/** Ingest is at its in-flight budget: nothing of the submission was stored, so a retry is safe. */
export class OverloadedError extends RequestError {
  constructor(
    readonly resource: OverloadResource,
    readonly limit: number,
    readonly setting: string,
  ) {
    super(
      429,
      `${
        resource === 'wait'
          ? `ingest's writer queue holds requests waiting longer than ${limit} ms, its bound (${setting}, or ${WAIT_PER_TRANSACTION} recent transactions if longer)`
          : `ingest is at its in-flight budget of ${limit} ${resource} (${setting})`
      }; nothing of this request was stored: retry after ${OVERLOAD_RETRY_AFTER_SECONDS} s`,
      { 'Retry-After': String(OVERLOAD_RETRY_AFTER_SECONDS) },
    );
    this.name = 'OverloadedError';
  }
}

export interface IngestOptions {
  writer: EventWriter;
  timezone: string;
  /** Events before this instant are refused (CS_MIN_EVENT_TIME). */
  minEventTimeMs?: number;
  /** Tenants, groups and agents ingest lets into being. */
  cardinality?: CardinalityBudget;
  /** Counts every rejected event (health's `events.rejected`). */
  stats: { rejected: number };
  log: Logger;
}

export interface SubmitOptions {
  /** The tenant a tenant-scoped token or an adapter's setting writes for: unnamed events are its own, others are refused. */
  tenant?: string;
  /** The caller's share of the budget (the HTTP route takes one before reading the body); a fresh one is taken and released otherwise. */
  ticket?: BudgetTicket;
  /** For the log line when the database fails. */
  requestId?: string;
}

export class Ingest {
  readonly cardinality: CardinalityBudget;
  constructor(private readonly opts: IngestOptions) {
    this.cardinality = opts.cardinality ?? new CardinalityBudget();
  }

  get writer(): EventWriter {
    return this.opts.writer;
  }

  /** The error for a budget `what` that is used up. */
  overloaded(what: OverloadResource): OverloadedError {
    const w = this.opts.writer;
    if (what === 'wait') return new OverloadedError('wait', w.budget.maxWaitMs ?? Infinity, 'CS_INGEST_MAX_WAIT_MS');
    return what === 'events'
      ? new OverloadedError('events', w.budget.maxEvents, 'CS_INGEST_MAX_EVENTS')
      : new OverloadedError('bytes', w.budget.maxBytes, 'CS_INGEST_MAX_BYTES');
  }

  /**
   * Validates and stores `items`; resolves once every accepted event is durable. Throws
   * OverloadedError (nothing stored) or DatabaseUnavailableError (nothing acknowledged; a retry
   * stores no event twice). An empty answer (nothing accepted, nothing duplicate) is the caller's to refuse.
   */
  async submit(items: readonly (RawItem | { value: unknown })[], o: SubmitOptions = {}): Promise<IngestAnswer> {
    const own = o.ticket === undefined;
    const ticket = o.ticket ?? this.opts.writer.ticket();
    try {
      return await this.run(items, o, ticket);
    } finally {
      if (own) ticket.release();
    }
  }

  private async run(items: readonly RawItem[], o: SubmitOptions, ticket: BudgetTicket): Promise<IngestAnswer> {
    const answer: IngestAnswer = { accepted: 0, duplicates: 0, rejected: [] };
    const valid: StoredEvent[] = [];
    const validIndex: number[] = [];
    const now = Date.now();
    const scope = o.tenant;
    const days = new Set<string>();
    const check = (index: number) => {
      const item = items[index];
      if ('error' in item) {
        answer.rejected.push({ index, error: item.error });
        return;
      }
      const v = validateEvent(item.value, this.opts.timezone, now, { minEventTimeMs: this.opts.minEventTimeMs });
      if (!v.ok) {
        answer.rejected.push({ index, error: v.error });
        return;
      }
      if (scope !== undefined) {
        const named = (item.value as { tenant?: unknown }).tenant;
        if (named !== undefined && named !== scope) {
          answer.rejected.push({
            index,
            error: `tenant: this ingest token is for tenant "${scope}" only, the event names "${String(named)}"`,
          });
          return;
        }
        v.event.tenant = scope;
      }
      const dayKey = `${v.event.tenant}\u0000${v.event.day}`;
      if (!days.has(dayKey) && days.size >= MAX_DAYS_PER_REQUEST) {
        answer.rejected.push({
          index,
          error: `time: this request already spans ${MAX_DAYS_PER_REQUEST} days, the most one request may write; send day ${v.event.day} in another request`,
        });
        return;
      }
      const over = this.cardinality.admit(v.event);
      if (over) {
        answer.rejected.push({ index, error: over });
        return;
      }
      days.add(dayKey);
      valid.push(v.event);
      validIndex.push(index);
    };
    // In slices of the shared per-turn budget (slices.ts), so /metrics and health keep answering
    // however many producers' requests are being validated at once.
    let next = 0;
    if (items.length <= INLINE_VALIDATE) {
      for (; next < items.length; next++) check(next);
    } else {
      await sliced(() => {
        const end = Math.min(items.length, next + VALIDATE_SLICE);
        for (; next < end; next++) check(next);
        return next >= items.length;
      });
    }
    if (valid.length > 0 && !ticket.take('events', valid.length)) throw this.overloaded('events');
    // Checked last, just before queueing: an adapter's submission meets the same bound as a request.
    if (valid.length > 0 && this.opts.writer.overWait()) throw this.overloaded('wait');
    let outcomes;
    try {
      outcomes = await this.opts.writer.write(valid);
    } catch (err) {
      // The cause (hosts, ports, Postgres's words) goes to the log only; the boundary answers 503 + Retry-After.
      if (isUnavailable(err)) {
        this.opts.log.warn({ err, requestId: o.requestId }, 'storing events failed: database unavailable');
        throw new DatabaseUnavailableError(
          'the database did not confirm this request; send it again later (events it already holds are never stored twice)',
          err instanceof DatabaseUnavailableError ? err.retryAfterSeconds : undefined,
          { cause: err },
        );
      }
      throw err;
    }
    outcomes.forEach((out, i) => {
      if (out === 'accepted') answer.accepted++;
      else if (out === 'duplicate') answer.duplicates++;
      else answer.rejected.push({ index: validIndex[i], error: out.error });
    });
    answer.rejected.sort((a, b) => a.index - b.index);
    const rejectedCount = answer.rejected.length;
    if (rejectedCount > MAX_LISTED_REJECTIONS) {
      answer.rejected.length = MAX_LISTED_REJECTIONS;
      answer.rejectedCount = rejectedCount;
    }
    this.opts.stats.rejected += rejectedCount;
    return answer;
  }
}
