/** Writes accepted events to Postgres: day partitions on demand, dedupe, one statement per batch. */
import type { Pool } from '../db/pool.js';
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
  INSERT INTO event_days AS d (tenant, day, events, last_received_at)
  SELECT tenant, day, count(*), now() FROM stored GROUP BY tenant, day ORDER BY tenant, day
  ON CONFLICT (tenant, day) DO UPDATE
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
)
SELECT tenant, id FROM stored`;

export class EventStore {
  private readonly partitions = new Set<string>();

  constructor(private readonly pool: Pool) {}

  /** Creates the day partitions `days` needs that do not exist yet. */
  async ensurePartitions(days: Iterable<string>): Promise<void> {
    const missing = [...new Set(days)].filter((d) => !this.partitions.has(d));
    if (missing.length === 0) return;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // Exporters (or batches) creating the same day at once would collide.
      await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
      for (const day of missing.sort()) {
        // Identifiers cannot be parameters; `day` is a validated YYYY-MM-DD.
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${partitionName(day)} PARTITION OF events FOR VALUES FROM ('${day}') TO ('${addDays(day, 1)}')`,
        );
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    for (const d of missing) this.partitions.add(d);
  }

  /**
   * Stores `events` (already free of in-batch repeats) and returns the keys
   * that were new; the rest were stored before. Returns once committed.
   */
  async insert(events: StoredEvent[]): Promise<Set<string>> {
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
    const res = await this.pool.query<{ tenant: string; id: string }>(INSERT_SQL, [JSON.stringify(rows)]);
    return new Set(res.rows.map((r) => eventKey(r.tenant, r.id)));
  }

  /** Forgets cached partitions (after they were dropped elsewhere). */
  forgetPartitions(): void {
    this.partitions.clear();
  }
}

export function eventKey(tenant: string, id: string): string {
  return `${tenant}\u0000${id}`;
}
