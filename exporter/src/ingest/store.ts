/** Writes accepted events to Postgres: day partitions on demand, dedupe, one statement per batch. */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { DatabaseUnavailableError, isServerError } from '../db/errors.js';
import { poolTimeouts, probeDatabase, unavailable, withClient, type Pool } from '../db/pool.js';
import { addDays } from '../time.js';
import type { StoredEvent } from './validate.js';

const PARTITION_LOCK = 4_247_002;

export function partitionName(day: string): string {
  return `events_p${day.replace(/-/g, '')}`;
}

// One round trip stores a whole batch: the key goes into event_ids first, and
// only the events whose key was new go into the log; the day counters feed
// the rollup scheduler, and upserts keep the master data current. Sorted
// inserts keep concurrent batches from deadlocking on each other's keys.
// The day counters are one row per writer lane ($3, see EventWriter): a transaction holds its
// row's lock until it commits, so on one row the writer's transactions in flight would commit
// one after the other, each waiting for the other's WAL flush (docs/robustness.md, "The day counters, one row per writer lane").
const INSERT_SQL = `
WITH input AS (
  SELECT * FROM ROWS FROM (jsonb_to_recordset($1::jsonb)
    AS (tenant text, id text, type text, time timestamptz, day date, session_id text, body jsonb))
    WITH ORDINALITY AS t(tenant, id, type, time, day, session_id, body, n)
), fresh AS (
  INSERT INTO event_ids (tenant, id, day)
  SELECT tenant, id, day FROM input ORDER BY tenant, id
  ON CONFLICT DO NOTHING
  RETURNING tenant, id
), stored AS (
  INSERT INTO events (tenant, id, type, time, day, session_id, body)
  SELECT i.tenant, i.id, i.type, i.time, i.day, i.session_id, i.body
  FROM input i JOIN fresh f ON f.tenant = i.tenant AND f.id = i.id
  ORDER BY i.n
  RETURNING tenant, id, day, type, time, seq, CASE WHEN type IN ('agent.upsert', 'group.upsert') THEN body END AS master
), days AS (
  INSERT INTO event_days AS d (tenant, day, lane, events, last_received_at)
  SELECT tenant, day, $3::smallint, count(*), now() FROM stored GROUP BY tenant, day ORDER BY tenant, day
  ON CONFLICT (tenant, day, lane) DO UPDATE
    SET events = d.events + EXCLUDED.events, last_received_at = EXCLUDED.last_received_at
), agents AS (
  INSERT INTO master_agents AS m (tenant, agent_id, name, work_no, member_of, time, seq)
  SELECT DISTINCT ON (tenant, master->>'agentId') tenant, master->>'agentId', master->>'name', master->>'workNo',
         coalesce(master->'groups', '[]'::jsonb), time, seq
  FROM stored WHERE type = 'agent.upsert' ORDER BY tenant, master->>'agentId', time DESC, seq DESC
  ON CONFLICT (tenant, agent_id) DO UPDATE
    SET name = EXCLUDED.name, work_no = EXCLUDED.work_no, member_of = EXCLUDED.member_of, time = EXCLUDED.time, seq = EXCLUDED.seq
    WHERE (m.time, m.seq) < (EXCLUDED.time, EXCLUDED.seq)
), groups_ AS (
  INSERT INTO master_groups AS m (tenant, group_id, name, time, seq)
  SELECT DISTINCT ON (tenant, master->>'groupId') tenant, master->>'groupId', master->>'name', time, seq
  FROM stored WHERE type = 'group.upsert' ORDER BY tenant, master->>'groupId', time DESC, seq DESC
  ON CONFLICT (tenant, group_id) DO UPDATE SET name = EXCLUDED.name, time = EXCLUDED.time, seq = EXCLUDED.seq
    WHERE (m.time, m.seq) < (EXCLUDED.time, EXCLUDED.seq)
), wake AS (
  -- The replicas' wake-up (live/follow.ts), delivered at commit and never for a rolled-back batch;
  -- sent by this statement rather than a trigger on events, which Citus would run on the workers.
  -- The payload names the exporter that stored the batch: its own follower need not wake for it.
  SELECT pg_notify('cs_events', $2) WHERE EXISTS (SELECT 1 FROM stored)
)
SELECT tenant, id, pg_current_xact_id()::text AS xid FROM stored, (SELECT count(*) FROM wake) w`;
// Prepared once per connection (pg names it): the CTE above is parsed and planned on the first
// batch only, not on every one; with single-event requests (webhooks) that planning was a large
// share of each transaction's time in Postgres. A new text needs a new name: a connection keeps
// what it prepared under the old one.
export const INSERT_STATEMENT = 'cs_ingest_insert_v3';

// Batches whose outcome is unknown are remembered up to this many events; past it the
// oldest are let go (the live state then learns of them at the next start).
const MAX_IN_DOUBT = 500_000;
// A key not found is checked again: the commit of a batch cut off mid-answer may land a little later.
const IN_DOUBT_CHECKS = 3;
const RESOLVE_CHUNK = 5_000;

/**
 * Emits `recovered` with events a batch stored although its caller was told
 * it failed (the connection broke after the COMMIT, before its answer
 * arrived): they are in Postgres and were never reported as stored.
 */
export class EventStore extends EventEmitter<{ recovered: [StoredEvent[]]; resolveError: [unknown] }> {
  private readonly partitions = new Set<string>();
  /** This process's name in the wake-up's payload (see INSERT_SQL, live/follow.ts). */
  readonly origin = randomUUID();
  /**
   * Events of batches that failed without an answer from Postgres, by key: they
   * may or may not be stored. A later batch meeting one as a duplicate reports
   * it as new (it was stored by the failed batch, and nobody was told); the
   * resolver looks up the rest.
   */
  private readonly inDoubt = new Map<string, { event: StoredEvent; misses: number }>();
  private resolveTimer: NodeJS.Timeout | null = null;
  /** When a batch last found the database unavailable; null once it answered again. */
  private unavailableSince: number | null = null;
  private resolving = false;
  private closed = false;

  constructor(private readonly pool: Pool) {
    super();
  }

  /** Events whose storing is still unknown (tests). */
  get inDoubtCount(): number {
    return this.inDoubt.size;
  }

  /** Creates the day partitions `days` needs that do not exist yet. */
  async ensurePartitions(days: Iterable<string>): Promise<void> {
    const missing = [...new Set(days)].filter((d) => !this.partitions.has(d));
    if (missing.length === 0) return;
    try {
      await withClient(this.pool, async (client) => {
        // A producer waits on this too: bounded like the insert, even if the server stops answering.
        const timeout = poolTimeouts(this.pool).ingestMs;
        const query = (text: string, values?: unknown[]) => client.query({ text, values, query_timeout: timeout } as never);
        try {
          await query('BEGIN');
          // Exporters (or batches) creating the same day at once would collide.
          await query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
          for (const day of missing.sort()) {
            // Identifiers cannot be parameters; `day` is a validated YYYY-MM-DD.
            await query(
              `CREATE TABLE IF NOT EXISTS ${partitionName(day)} PARTITION OF events FOR VALUES FROM ('${day}') TO ('${addDays(day, 1)}')`,
            );
          }
          await query('COMMIT');
        } catch (err) {
          // A server error leaves the connection usable: end the transaction. After a timeout the connection is destroyed.
          if (isServerError(err)) await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
    } catch (err) {
      throw unavailable(this.pool, err, 'creating day partitions');
    }
    for (const d of missing) this.partitions.add(d);
  }

  /**
   * Stores `events` (already free of in-batch repeats) and returns the keys
   * that were new to the caller: stored now, or stored by an earlier batch
   * whose answer was lost (that batch failed, so nobody counted them). The
   * rest were stored and reported before. Returns once committed. `lane`: which row of the
   * day counters it writes; transactions in flight at once should each have their own.
   */
  async insert(events: StoredEvent[], lane = 0): Promise<Set<string>> {
    return (await this.insertTx(events, lane)).fresh;
  }

  /**
   * As insert, and the transaction's id (xid8 as text) when it stored anything: the live
   * follower skips that transaction's rows in the log (live/follow.ts), they were applied already.
   */
  async insertTx(events: StoredEvent[], lane = 0): Promise<{ fresh: Set<string>; xid?: string }> {
    // After a batch found the database unavailable, the next ones ask first, with the health
    // probe's short limit: the pool's other connections to a frozen server would each cost a
    // whole ingest timeout, and a batch never sent is not in doubt.
    if (this.unavailableSince !== null) {
      await probeDatabase(this.pool);
      this.unavailableSince = null;
    }
    try {
      return await this.store(events, lane);
    } catch (err) {
      const mapped = unavailable(this.pool, err, 'storing events');
      if (mapped instanceof DatabaseUnavailableError) this.unavailableSince ??= Date.now();
      throw mapped;
    }
  }

  private async store(events: StoredEvent[], lane: number): Promise<{ fresh: Set<string>; xid?: string }> {
    await this.ensurePartitions(events.map((e) => e.day));
    const rows = events.map((e) => ({
      tenant: e.tenant,
      id: e.id,
      type: e.type,
      time: new Date(e.timeMs).toISOString(),
      day: e.day,
      session_id: 'sessionId' in e.event ? e.event.sessionId : null,
      body: e.event,
    }));
    const body = JSON.stringify(rows);
    let sent = false;
    let res;
    try {
      res = await withClient(this.pool, (client) => {
        sent = true;
        return client.query<{ tenant: string; id: string; xid: string }>({
          name: INSERT_STATEMENT,
          text: INSERT_SQL,
          values: [body, this.origin, lane],
          query_timeout: poolTimeouts(this.pool).ingestMs,
        } as never);
      });
    } catch (err) {
      // Sent, and no answer from Postgres (a cut connection, a timeout): it may have committed.
      if (sent && !isServerError(err)) this.doubt(events);
      throw err;
    }
    const fresh = new Set(res.rows.map((r) => eventKey(r.tenant, r.id)));
    let xid: string | undefined = res.rows[0]?.xid;
    if (this.inDoubt.size > 0) {
      for (const e of events) {
        const k = eventKey(e.tenant, e.id);
        // New now: that earlier batch did not commit after all. A duplicate: it did, and this batch
        // reports it; its row then belongs to that batch's transaction, not to this one, so the
        // caller cannot tell the follower to skip by transaction (it gates such events by key).
        if (this.inDoubt.delete(k) && !fresh.has(k)) {
          fresh.add(k);
          xid = undefined;
        }
      }
    }
    return { fresh, xid };
  }

  private doubt(events: StoredEvent[]): void {
    for (const e of events) this.inDoubt.set(eventKey(e.tenant, e.id), { event: e, misses: 0 });
    for (const k of this.inDoubt.keys()) {
      if (this.inDoubt.size <= MAX_IN_DOUBT) break;
      this.inDoubt.delete(k);
    }
    this.scheduleResolve(250);
  }

  private scheduleResolve(ms: number): void {
    if (this.resolveTimer || this.resolving || this.closed || this.inDoubt.size === 0) return;
    this.resolveTimer = setTimeout(() => {
      this.resolveTimer = null;
      void this.resolve();
    }, ms);
    this.resolveTimer.unref();
  }

  /**
   * Looks up the events in doubt: those stored are emitted as `recovered`;
   * those not found after a few looks were not stored (their producer was
   * told to retry). Retried while the database is unavailable.
   */
  private async resolve(): Promise<void> {
    this.resolving = true;
    let delay = 1_000;
    try {
      const keys = [...this.inDoubt.keys()];
      for (let i = 0; i < keys.length; i += RESOLVE_CHUNK) {
        const chunk = keys.slice(i, i + RESOLVE_CHUNK).filter((k) => this.inDoubt.has(k));
        if (chunk.length === 0) continue;
        const tenants = chunk.map((k) => this.inDoubt.get(k)!.event.tenant);
        const ids = chunk.map((k) => this.inDoubt.get(k)!.event.id);
        const { rows } = await this.pool.query<{ tenant: string; id: string }>(
          'SELECT e.tenant, e.id FROM event_ids e JOIN unnest($1::text[], $2::text[]) AS k(tenant, id) ON e.tenant = k.tenant AND e.id = k.id',
          [tenants, ids],
        );
        const found = new Set(rows.map((r) => eventKey(r.tenant, r.id)));
        const recovered: StoredEvent[] = [];
        // Synchronous from here: a batch answered meanwhile has already taken what it met.
        for (const k of chunk) {
          const d = this.inDoubt.get(k);
          if (!d) continue;
          if (found.has(k)) {
            this.inDoubt.delete(k);
            recovered.push(d.event);
          } else if (++d.misses >= IN_DOUBT_CHECKS) this.inDoubt.delete(k);
        }
        if (recovered.length > 0) this.emit('recovered', recovered);
      }
    } catch (err) {
      this.emit('resolveError', err);
      delay = 5_000;
    } finally {
      this.resolving = false;
    }
    this.scheduleResolve(delay);
  }

  /** Stops looking up events in doubt (the pool is about to close). */
  close(): void {
    this.closed = true;
    if (this.resolveTimer) clearTimeout(this.resolveTimer);
    this.resolveTimer = null;
  }

  /** Forgets cached partitions (after they were dropped elsewhere). */
  forgetPartitions(): void {
    this.partitions.clear();
  }
}

export function eventKey(tenant: string, id: string): string {
  return `${tenant}\u0000${id}`;
}
