/**
 * Start-up: rebuilds the live state from the stored events, so a restart
 * neither loses the queues nor resets today's figures.
 */
import { withClient, type Pool, type PoolClient } from '../db/pool.js';
import type { StoredEvent } from '../ingest/validate.js';
import type { EventType } from '../ingest/schema.js';
import { addDays, localDay } from '../time.js';
import { LIVE_SESSION_TYPES } from './derive.js';
import { currentSnapshot, type Snapshot } from './follow.js';
import { SESSION_HORIZON_MS, type LiveState } from './state.js';

interface EventRow {
  tenant: string;
  id: string;
  type: string;
  time: Date;
  day: string;
  body: Record<string, unknown>;
}

function toStored(r: EventRow): StoredEvent {
  return { tenant: r.tenant, id: r.id, type: r.type as EventType, timeMs: r.time.getTime(), day: r.day, event: r.body as never };
}

/** Loads what the live state needs; returns how many events were replayed. */
export async function loadLiveState(pool: Pool, live: LiveState): Promise<number> {
  return (await loadLiveStateAt(pool, live)).events;
}

/**
 * Loads what the live state needs, all of it as of one snapshot, and returns
 * that snapshot: the log follower goes on from exactly there (live/follow.ts),
 * so an event committed during the load is applied once, by the follower.
 */
export async function loadLiveStateAt(pool: Pool, live: LiveState): Promise<{ events: number; snapshot: Snapshot }> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      // The first statement fixes the transaction's snapshot: every query below sees the same.
      const snapshot = await currentSnapshot(client);
      const events = await replayAll(client, live);
      await client.query('COMMIT');
      return { events, snapshot };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

async function replayAll(pool: PoolClient, live: LiveState): Promise<number> {
  const nowMs = live.now();
  // Sessions with any event since midnight or within the horizon, whichever is earlier.
  const sinceMs = Math.min(live.window.fromMs, nowMs - SESSION_HORIZON_MS);
  const sinceDay = addDays(localDay(sinceMs, live.timezone), -1);
  const sessionTypes = [...LIVE_SESSION_TYPES];
  let n = 0;
  const replay = (rows: EventRow[]) => {
    live.apply(rows.map(toStored));
    n += rows.length;
  };

  replay(
    (
      await pool.query<EventRow>(
        `SELECT DISTINCT ON (tenant, body->>'groupId') tenant, id, type, time, day::text AS day, body
           FROM events WHERE type = 'group.upsert'
          ORDER BY tenant, body->>'groupId', time DESC, seq DESC`,
      )
    ).rows,
  );
  replay(
    (
      await pool.query<EventRow>(
        `SELECT DISTINCT ON (tenant, body->>'agentId') tenant, id, type, time, day::text AS day, body
           FROM events WHERE type = 'agent.upsert'
          ORDER BY tenant, body->>'agentId', time DESC, seq DESC`,
      )
    ).rows,
  );
  // Each agent's status at midnight, then today's changes.
  replay(
    (
      await pool.query<EventRow>(
        `SELECT DISTINCT ON (tenant, body->>'agentId') tenant, id, type, time, day::text AS day, body
           FROM events WHERE type = 'agent.status' AND time < $1
          ORDER BY tenant, body->>'agentId', time DESC, seq DESC`,
        [new Date(live.window.fromMs)],
      )
    ).rows,
  );
  replay(
    (
      await pool.query<EventRow>(
        `SELECT tenant, id, type, time, day::text AS day, body FROM events
          WHERE type = 'agent.status' AND day >= $2::date AND time >= $1 ORDER BY time, seq`,
        [new Date(live.window.fromMs), addDays(live.day, -1)],
      )
    ).rows,
  );
  // Whole sessions (their earlier events too) of the sessions touched since `sinceMs`.
  replay(
    (
      await pool.query<EventRow>(
        `WITH touched AS (
           SELECT DISTINCT tenant, session_id FROM events
            WHERE session_id IS NOT NULL AND day >= $2::date AND time >= $1)
         SELECT e.tenant, e.id, e.type, e.time, e.day::text AS day, e.body
           FROM events e JOIN touched t ON t.tenant = e.tenant AND t.session_id = e.session_id
          WHERE e.type = ANY($3) AND e.day >= $4::date
          ORDER BY e.time, e.seq`,
        [new Date(sinceMs), sinceDay, sessionTypes, addDays(sinceDay, -1)],
      )
    ).rows,
  );
  return n;
}

/** The live session events of some sessions of a tenant (a late event's reload; see LiveState). */
export async function loadSessions(pool: Pool, tenant: string, sessionIds: string[], sinceDay: string): Promise<StoredEvent[]> {
  const { rows } = await pool.query<EventRow>(
    `SELECT tenant, id, type, time, day::text AS day, body FROM events
      WHERE tenant = $1 AND session_id = ANY($2) AND type = ANY($3) AND day >= $4::date
      ORDER BY time, seq`,
    [tenant, sessionIds, [...LIVE_SESSION_TYPES], sinceDay],
  );
  return rows.map(toStored);
}
