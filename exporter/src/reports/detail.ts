/** GET /api/v1/sessions/:id — one session's fields, legs, parts and transcript, derived from its events now. */
import type { Pool } from '../db/pool.js';
import { SATISFACTION_LABELS } from '../catalog.js';
import { deriveSession, type SessionEvent } from '../session/model.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export async function sessionDetail(pool: Pool, tenant: string, sessionId: string): Promise<Record<string, unknown> | null> {
  const { rows } = await pool.query<{ type: string; t: number; seq: string; body: Record<string, any> }>(
    `SELECT type, (extract(epoch FROM time) * 1000)::float8 AS t, seq, body FROM events
     WHERE tenant = $1 AND session_id = $2 AND type LIKE 'session.%' ORDER BY time, seq`,
    [tenant, sessionId],
  );
  if (rows.length === 0) return null;
  const events: SessionEvent[] = rows.map((r) => ({ ...r.body, type: r.type, timeMs: r.t, seq: Number(r.seq) }));
  const f = deriveSession(events);
  const agentIds = [...new Set(f.parts.map((p) => p.agentId))];
  const groupIds = [...new Set(f.legs.map((l) => l.groupId))];
  const names = await pool.query<{ kind: string; id: string; name: string }>(
    `SELECT 'agent' AS kind, agent_id AS id, name FROM master_agents WHERE tenant = $1 AND agent_id = ANY($2::text[])
     UNION ALL
     SELECT 'group', group_id, name FROM master_groups WHERE tenant = $1 AND group_id = ANY($3::text[])`,
    [tenant, agentIds, groupIds],
  );
  const agentName = (id: string) => names.rows.find((r) => r.kind === 'agent' && r.id === id)?.name ?? id;
  const groupName = (id: string) => names.rows.find((r) => r.kind === 'group' && r.id === id)?.name ?? id;
  const end = f.endedAtMs ?? f.lastEventMs;
  let revisit = false;
  if (f.userId !== null) {
    const r = await pool.query(
      `SELECT 1 FROM events WHERE tenant = $1 AND type = 'session.start' AND body->>'userId' = $2 AND session_id <> $3
         AND time > $4 AND time <= $4::timestamptz + interval '24 hours'
         AND day BETWEEN ($4::timestamptz - interval '1 day')::date AND ($4::timestamptz + interval '2 days')::date LIMIT 1`,
      [tenant, f.userId, sessionId, new Date(end)],
    );
    revisit = r.rowCount! > 0;
  }
  const first = f.parts[0]?.startedAtMs ?? null;
  return {
    session: {
      service_id: sessionId,
      state: f.summary?.state ?? (f.summary ? '已小记' : '未小记'),
      category: f.summary?.category?.join('/') ?? null,
      duration_seconds: f.endedAtMs === null || first === null ? null : (f.endedAtMs - first) / 1000,
      satisfaction: f.rating === null ? null : SATISFACTION_LABELS[f.rating.score],
      remark: f.summary?.remark ?? null,
      user_id: f.userId,
      revisit_24h: revisit,
      region: f.region,
      started_at: iso(f.startedAtMs),
      agents: agentIds.join(','),
      groups: groupIds.join(','),
    },
    legs: f.legs.map((l) => ({
      group_id: l.groupId,
      group_name: groupName(l.groupId),
      via: l.via,
      queued_at: iso(l.queuedAtMs),
      answered_at: iso(l.answeredAtMs),
      ended_at: iso(l.endedAtMs),
      outcome: l.outcome,
      wait_seconds: l.answeredAtMs === null ? null : (l.answeredAtMs - l.queuedAtMs) / 1000,
      agent_id: l.agentId,
    })),
    parts: f.parts.map((p) => ({
      agent_id: p.agentId,
      agent_name: agentName(p.agentId),
      group_id: p.groupId,
      started_at: iso(p.startedAtMs),
      ended_at: iso(p.endedAtMs),
      ended_by: p.endedBy,
    })),
    transcript: rows
      .filter((r) => r.type === 'session.message')
      .map((r) => ({ time: iso(r.t), from: r.body.from, agent_id: r.body.agentId ?? null, text: r.body.text ?? null })),
  };
}
