/**
 * The live state follows the committed event log, whoever wrote it: every
 * replica on one Postgres applies every event once (docs/scale-out-replicas.md).
 *
 * The cursor is a Postgres snapshot. Each read takes, in one statement, the
 * statement's own snapshot (pg_current_snapshot() returns the active snapshot:
 * postgres/postgres src/backend/utils/adt/xid8funcs.c) and the rows that
 * snapshot sees but the previous one did not: those whose inserting transaction
 * (events.xid, migration 008) is at or past the previous snapshot's xmax, or was
 * in progress in it (its xip list). MVCC makes the rows a statement sees exactly
 * those its snapshot calls committed, so a transaction that commits late (after
 * a younger one was read) is read at the first look after its commit: none is
 * missed, none read twice, and a long transaction elsewhere (a rollup) holds
 * nothing back.
 *
 * Wake-up: LISTEN cs_events (the trigger of migration 008 notifies at each
 * commit that inserted events), and a poll every `pollMs` as a fallback.
 */
import pg from 'pg';
import Cursor from 'pg-cursor';
import type { Logger } from 'pino';
import { checkout, type Pool, type PoolClient } from '../db/pool.js';
import type { StoredEvent } from '../ingest/validate.js';
import type { EventType } from '../ingest/schema.js';
import { eventKey } from '../ingest/store.js';

/** A pg_snapshot in its text form `xmin:xmax:xip,...` (postgres docs, "Snapshot Information Functions"). */
export interface Snapshot {
  xmin: string;
  xmax: string;
  xip: string[];
}

export function parseSnapshot(text: string): Snapshot {
  const m = /^(\d+):(\d+):([\d,]*)$/.exec(text);
  if (!m) throw new Error(`not a pg_snapshot: "${text}"`);
  return { xmin: m[1], xmax: m[2], xip: m[3] === '' ? [] : m[3].split(',') };
}

/** The current snapshot of `client` (in a REPEATABLE READ transaction: the one its every statement sees). */
export async function currentSnapshot(client: PoolClient): Promise<Snapshot> {
  const { rows } = await client.query<{ snap: string }>('SELECT pg_current_snapshot()::text AS snap');
  return parseSnapshot(rows[0].snap);
}

interface LogRow {
  snap: string;
  xid: string | null;
  tenant: string | null;
  id: string;
  type: string;
  time: Date;
  day: string;
  body: Record<string, unknown>;
}

// The LEFT JOIN keeps one row (the snapshot) when nothing is new. $3: this replica's own
// transactions, applied already as its writer answered them: their rows (every row this replica
// stored, under load tens of thousands a second with their bodies) are not read back at all.
const READ_SQL = `
SELECT s.snap::text AS snap, e.xid::text AS xid, e.tenant, e.id, e.type, e.time, e.day::text AS day, e.body
  FROM (SELECT pg_current_snapshot() AS snap) s
  LEFT JOIN events e ON (e.xid >= $1::xid8 OR e.xid = ANY($2::xid8[])) AND e.xid <> ALL($3::xid8[])
 ORDER BY e.seq`;

const CHANNEL = 'cs_events';
// Rows applied at a time: a replica catching up on a long stretch of the log (cut off from the
// database while the others went on) reads it through a cursor, not into memory at once.
const PAGE = 5_000;
// A page that never comes (a connection lost without the driver noticing) must not stop the
// follower for good: the read is given up, its connection destroyed, and the next one starts.
const PAGE_TIMEOUT_MS = 60_000;

export interface FollowerOptions {
  pool: Pool;
  log: Logger;
  /** The fallback poll (and the listener's reconnect pace). */
  pollMs: number;
  /** Applies events read from the log (not those this replica already applied as its own). */
  apply(events: StoredEvent[]): void;
  /**
   * The payload of this replica's own wake-ups (its writer's EventStore.origin): not followed by
   * a read, its writer applied those events as it answered them (a transaction whose answer was
   * lost is recovered by the store, and read at the next poll or another replica's wake-up).
   */
  origin?: string;
}

/** How long an own event waits for the log to pass it before its key is let go. */
const OWN_KEY_TTL_MS = 60_000;
/** How long, and how many, keys read from the log are kept for the writer's late report (see prune). */
const SEEN_TTL_MS = 10_000;
const SEEN_MAX = 200_000;

export class LogFollower {
  private cursor: Snapshot | null = null;
  private reading: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private listener: pg.Client | null = null;
  private listenTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failures = 0;
  /** Gives up the read in flight (stop). */
  private abortRead: ((err: Error) => void) | null = null;
  /**
   * The one gate every event passes into the live state, so each is applied once. Keys are
   * the log's own unique key (tenant, id): one log position each. `own`: events this replica
   * stored and applied at once (its writer's 'accepted'), until the log passes them. `seen`:
   * events applied from the log, for a while, in case this replica's writer reports them
   * after the log did (the read can land between the commit and the writer's answer).
   */
  private readonly own = new Map<string, number>();
  private readonly seen = new Map<string, number>();
  /**
   * Transactions of this replica's writer whose events were all applied as its own: their rows
   * are skipped whole (in the read's SQL, and here for a read sent before the writer's answer),
   * instead of one key per event waiting for the log to pass it. Let go once a read's snapshot
   * saw them committed: the reads after it never return them.
   */
  private readonly ownXids = new Set<string>();
  /** `rows`: event rows the reads brought back from Postgres (what following costs). */
  readonly stats = { reads: 0, rows: 0, applied: 0, skipped: 0, notifications: 0 };

  constructor(private readonly opts: FollowerOptions) {}

  /** Starts following from `from`, the snapshot the start-up load saw. */
  start(from: Snapshot): void {
    this.cursor = from;
    this.stopped = false;
    void this.listen();
    this.schedule();
    // Whatever committed between the load and now.
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.listenTimer);
    const l = this.listener;
    this.listener = null;
    // Nothing a read in flight brings is wanted any more; its connection goes (the pool can then end).
    this.abortRead?.(new Error('the live state is stopping'));
    await l?.end().catch(() => undefined);
    while (this.reading) await this.reading;
  }

  /**
   * Events this replica's writer stored: applied at once (as with one exporter, with the
   * clock of the moment), unless the log got there first; the log then skips them.
   */
  applyOwn(events: StoredEvent[], xid?: string): void {
    const now = Date.now();
    const fresh: StoredEvent[] = [];
    if (xid !== undefined) this.ownXids.add(xid);
    for (const e of events) {
      const k = eventKey(e.tenant, e.id);
      if (this.seen.delete(k) || this.own.has(k)) {
        this.stats.skipped++;
        continue;
      }
      // Every event of transaction `xid` is in `events` (the writer's one transaction): skipped by xid.
      if (xid === undefined) this.own.set(k, now);
      fresh.push(e);
    }
    if (fresh.length > 0) this.opts.apply(fresh);
  }

  /** Resolves once a read that started after this call is done (or failed): the log as of now is applied. */
  async caughtUp(): Promise<void> {
    if (this.stopped || !this.cursor) return;
    // A read in flight may have started before the caller's write committed: wait for one more.
    if (this.reading) {
      this.again = true;
      await this.reading;
      while (this.reading) await this.reading;
      return;
    }
    this.wake();
    while (this.reading) await this.reading;
  }

  /** Reads now (coalesced: one read at a time, one more after it if asked meanwhile). */
  wake(): void {
    if (this.stopped || !this.cursor) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readLoop().finally(() => {
      this.reading = null;
    });
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    // After failures the pace slows (a database away is not hammered), up to 10 s.
    const ms = this.failures === 0 ? this.opts.pollMs : Math.min(10_000, this.opts.pollMs * 2 ** this.failures);
    this.timer = setTimeout(() => {
      this.wake();
      this.schedule();
    }, ms);
    this.timer.unref();
  }

  private async readLoop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.readOnce();
        this.failures = 0;
      } catch (err) {
        this.failures++;
        // Once per outage, not once per poll.
        if (this.failures === 1) this.opts.log.warn({ err }, 'live: reading the event log failed; retrying');
        return;
      }
    } while (this.again && !this.stopped);
  }

  private async readOnce(): Promise<void> {
    const from = this.cursor!;
    const client = await checkout(this.opts.pool, { discardOnError: true });
    // One statement, so one snapshot for every page of it.
    const cursor = client.query(new Cursor<LogRow>(READ_SQL, [from.xmax, from.xip, [...this.ownXids]]));
    let timer: NodeJS.Timeout | undefined;
    const aborted = new Promise<never>((_, reject) => {
      this.abortRead = reject;
    });
    aborted.catch(() => undefined);
    const page = () =>
      Promise.race([
        new Promise<LogRow[]>((resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`no rows of the event log within ${PAGE_TIMEOUT_MS} ms`)), PAGE_TIMEOUT_MS);
          cursor.read(PAGE, (err, rows) => (err ? reject(err) : resolve(rows)));
        }).finally(() => clearTimeout(timer)),
        aborted,
      ]);
    let failure: unknown;
    try {
      let snap: string | undefined;
      for (;;) {
        const rows = await page();
        if (rows.length === 0 || this.stopped) break;
        snap ??= rows[0].snap;
        this.applyRows(rows);
        if (rows.length < PAGE) break;
      }
      await Promise.race([new Promise<void>((resolve) => cursor.close(() => resolve())), aborted]);
      this.stats.reads++;
      // Only once every page is applied: a read cut off half-way is read again (the gate and the
      // live state's own dedupe by event id absorb the pages applied twice).
      if (snap !== undefined && !this.stopped) this.cursor = parseSnapshot(snap);
      this.prune();
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      this.abortRead = null;
      client.done(failure);
    }
  }

  private applyRows(rows: LogRow[]): void {
    const fresh: StoredEvent[] = [];
    const now = Date.now();
    for (const r of rows) {
      if (r.tenant === null) continue;
      this.stats.rows++;
      if (r.xid !== null && this.ownXids.has(r.xid)) {
        this.stats.skipped++;
        continue;
      }
      const k = eventKey(r.tenant, r.id);
      if (this.own.delete(k)) {
        this.stats.skipped++;
        continue;
      }
      if (this.seen.has(k)) continue;
      this.seen.set(k, now);
      fresh.push({ tenant: r.tenant, id: r.id, type: r.type as EventType, timeMs: r.time.getTime(), day: r.day, event: r.body as never });
    }
    if (fresh.length > 0) {
      this.stats.applied += fresh.length;
      this.opts.apply(fresh);
    }
  }

  /**
   * Own keys the log never passed (told of twice: a lost answer, then its retry) are let go
   * after a while; keys read from the log sooner, and at most SEEN_MAX of them (past that,
   * an event reported by both is applied twice, which the live state absorbs: it is
   * idempotent by event id, only the ingest lag gauge may then show the repeat's).
   */
  private prune(): void {
    const now = Date.now();
    if (this.ownXids.size > 0 && this.cursor) {
      const xmax = BigInt(this.cursor.xmax);
      for (const x of this.ownXids) if (BigInt(x) < xmax && !this.cursor.xip.includes(x)) this.ownXids.delete(x);
    }
    for (const [k, at] of this.own) {
      if (at > now - OWN_KEY_TTL_MS) break;
      this.own.delete(k);
    }
    for (const [k, at] of this.seen) {
      if (at > now - SEEN_TTL_MS && this.seen.size <= SEEN_MAX) break;
      this.seen.delete(k);
    }
  }

  /** Own keys not yet passed by the log, and log keys kept (tests). */
  get keys(): { own: number; seen: number; ownXids: number } {
    return { own: this.own.size, seen: this.seen.size, ownXids: this.ownXids.size };
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const o = this.opts.pool.options as pg.ClientConfig;
    const c = new pg.Client({ ...o, application_name: 'cs-exporter live follower' });
    let retried = false;
    const retry = () => {
      if (retried || this.stopped) return;
      retried = true;
      if (this.listener === c) this.listener = null;
      c.end().catch(() => undefined);
      this.listenTimer = setTimeout(() => void this.listen(), Math.max(1_000, this.opts.pollMs));
      this.listenTimer.unref();
    };
    // A lost connection (server restart) must not take the process down: the poll covers meanwhile.
    c.on('error', retry);
    c.on('end', retry);
    c.on('notification', (n) => {
      this.stats.notifications++;
      if (this.opts.origin !== undefined && n.payload === this.opts.origin) return;
      this.wake();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
      if (this.stopped) {
        await c.end();
        return;
      }
      this.listener = c;
      // Commits while the listener was away were not announced.
      this.wake();
    } catch {
      retry();
    }
  }
}
