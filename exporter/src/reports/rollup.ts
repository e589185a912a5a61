/**
 * One tenant-day's rollup: derive the facts of the sessions touching the day
 * (TS, streamed session by session from a server-side cursor), store them in
 * bulk, then aggregate the report tables from them in set-based SQL. All in
 * one transaction, after deleting the day's previous rows, so recomputing a
 * day is idempotent and readers never see half a day.
 */
import type { Pool, PoolClient } from '../db/pool.js';
import { addDays, dayStartMs, localDay, localHour } from '../time.js';
import { deriveSession, type SessionEvent, type SessionFacts } from './derive.js';

/** Column types of the fact tables written through `unnest` (the rows of the busy tables). */
const COLUMNS: Record<string, [string, string][]> = {
  report_legs: [
    ['tenant', 'text'],
    ['day', 'date'],
    ['session_id', 'text'],
    ['leg_no', 'int'],
    ['group_id', 'text'],
    ['via', 'text'],
    ['hour', 'smallint'],
    ['queued_at', 'timestamptz'],
    ['answered_at', 'timestamptz'],
    ['ended_at', 'timestamptz'],
    ['outcome', 'text'],
    ['wait_seconds', 'float8'],
    ['agent_id', 'text'],
    ['ended_by', 'text'],
    ['credited', 'boolean'],
    ['score', 'smallint'],
    ['invited', 'boolean'],
  ],
  report_parts: [
    ['tenant', 'text'],
    ['day', 'date'],
    ['session_id', 'text'],
    ['part_no', 'int'],
    ['agent_id', 'text'],
    ['group_id', 'text'],
    ['started_at', 'timestamptz'],
    ['ended_at', 'timestamptz'],
    ['ended_by', 'text'],
    ['first_response_seconds', 'float8'],
    ['reply_sum_seconds', 'float8'],
    ['reply_count', 'int'],
    ['invited', 'boolean'],
    ['credited', 'boolean'],
    ['score', 'smallint'],
    ['no_revisit', 'boolean'],
  ],
  tmp_ends: [
    ['session_id', 'text'],
    ['user_id', 'text'],
    ['end_at', 'timestamptz'],
  ],
};

/** Report tables keyed by (tenant, day); facts first, rollups after. */
const DAY_TABLES = [
  'report_legs',
  'report_parts',
  'report_sessions',
  'report_agent_time',
  'report_group_daily',
  'report_group_slot',
  'report_agent_daily',
  'report_category_daily',
  'report_overview',
];

const STATUSES = [
  'online',
  'break',
  'busy',
  'rest',
  'meeting',
  'training',
  'meal',
  'restroom',
  'discussion',
  'outbound',
  'custom',
  'hosted',
] as const;

// Status changes older than this are not looked for when finding the status
// an agent carried into the day: a week without any change is an agent gone.
const STATUS_CARRY_DAYS = 7;
const FETCH = 5_000;
const FLUSH = 5_000;

export interface RollupResult {
  tenant: string;
  day: string;
  sessions: number;
  durationMs: number;
  /** Milliseconds per phase (sessions: stream, derive, store facts), for the logs. */
  phases: Record<string, number>;
}

const SESSION_EVENTS_SQL = `
SELECT e.session_id AS sid, e.type, (extract(epoch FROM e.time) * 1000)::float8 AS t, e.seq,
       e.body->>'groupId' AS g, e.body->>'agentId' AS a, e.body->>'via' AS via, e.body->>'reason' AS r,
       e.body->>'from' AS fr, (e.body->>'score')::int AS sc, e.body->>'userId' AS u, e.body->>'region' AS rg,
       e.body->>'by' AS by, (e.body->>'manual')::boolean AS m, e.body->>'state' AS st, e.body->'category' AS cat,
       e.body->>'remark' AS rm
FROM events e
WHERE e.tenant = $1 AND e.day BETWEEN $3::date AND $4::date
  AND e.session_id IN (SELECT DISTINCT session_id FROM events WHERE tenant = $1 AND day = $2::date AND session_id IS NOT NULL)
  AND e.type LIKE 'session.%'
  AND NOT (e.type = 'session.message' AND e.body->>'from' NOT IN ('user', 'agent'))
ORDER BY e.session_id, e.time, e.seq`;

interface EventRow {
  sid: string;
  type: string;
  t: number;
  seq: string;
  g: string | null;
  a: string | null;
  via: string | null;
  r: string | null;
  fr: string | null;
  sc: number | null;
  u: string | null;
  rg: string | null;
  by: string | null;
  m: boolean | null;
  st: string | null;
  cat: string[] | null;
  rm: string | null;
}

function toEvent(r: EventRow): SessionEvent {
  return {
    type: r.type,
    timeMs: r.t,
    seq: Number(r.seq),
    groupId: r.g,
    agentId: r.a,
    via: r.via,
    reason: r.r,
    from: r.fr,
    score: r.sc,
    userId: r.u,
    region: r.rg,
    by: r.by,
    manual: r.m,
    state: r.st,
    category: r.cat,
    remark: r.rm,
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Seconds of the union of intervals, each [start, end) in ms, after clipping to `clip` intervals. */
function overlapSeconds(parts: [number, number][], clip: [number, number][]): number {
  if (parts.length === 0 || clip.length === 0) return 0;
  const sorted = [...parts].sort((a, b) => a[0] - b[0]);
  const union: [number, number][] = [];
  for (const [s, e] of sorted) {
    const last = union[union.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else union.push([s, e]);
  }
  let ms = 0;
  for (const [s, e] of union) for (const [cs, ce] of clip) ms += Math.max(0, Math.min(e, ce) - Math.max(s, cs));
  return ms / 1000;
}

class Bulk {
  private rows: Record<string, unknown>[] = [];
  constructor(
    private readonly client: PoolClient,
    private readonly table: string,
  ) {}
  async add(row: Record<string, unknown>): Promise<void> {
    this.rows.push(row);
    if (this.rows.length >= FLUSH) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.rows.length === 0) return;
    const rows = this.rows;
    this.rows = [];
    // Table names are constants of this module, never input. Typed arrays through
    // unnest parse much faster than JSON for the tables with a row per leg or part.
    const cols = COLUMNS[this.table];
    if (cols) {
      await this.client.query(
        `INSERT INTO ${this.table} (${cols.map(([c]) => c).join(', ')}) SELECT * FROM unnest(${cols.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ')})`,
        cols.map(([c]) => rows.map((r) => r[c] ?? null)),
      );
      return;
    }
    await this.client.query(`INSERT INTO ${this.table} SELECT * FROM jsonb_populate_recordset(NULL::${this.table}, $1::jsonb)`, [
      JSON.stringify(rows),
    ]);
  }
}

/** Recomputes the reports of `tenant` for local `day`. `nowMs` caps today's open intervals. */
export async function rollupDay(pool: Pool, tenant: string, day: string, tz: string, nowMs = Date.now()): Promise<RollupResult> {
  const began = Date.now();
  const dayStart = dayStartMs(day, tz);
  const dayEnd = dayStartMs(addDays(day, 1), tz);
  const client = await pool.connect();
  let sessions = 0;
  let donePhases: Record<string, number> = {};
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    // The day's session events are sorted by session: in memory, not in temporary files.
    await client.query(`SET LOCAL work_mem = '256MB'`);
    // Two rollups of one day at once (scheduler and an on-demand request) run one after the other.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('cs-rollup'), hashtext($1 || '/' || $2))`, [tenant, day]);
    // The rollup is dated to the start of the oldest other transaction still open (an
    // ingest batch not yet committed is invisible to this snapshot but stamps its
    // events with its own start), so such a batch marks the day stale again.
    const times = await client.query<{ snap: Date; safe: Date }>(
      `SELECT now() AS snap, least(now(), (SELECT min(xact_start) FROM pg_stat_activity
         WHERE pid <> pg_backend_pid() AND datname = current_database() AND xact_start IS NOT NULL)) AS safe`,
    );
    const snap = times.rows[0].snap.getTime();
    const safe = times.rows[0].safe.getTime();
    const cap = Math.min(dayEnd, Math.max(snap, nowMs));
    for (const t of DAY_TABLES) await client.query(`DELETE FROM ${t} WHERE tenant = $1 AND day = $2`, [tenant, day]);

    const legs = new Bulk(client, 'report_legs');
    const parts = new Bulk(client, 'report_parts');
    const sess = new Bulk(client, 'report_sessions');
    await client.query('CREATE TEMP TABLE tmp_ends (session_id text, user_id text, end_at timestamptz) ON COMMIT DROP');
    const ends = new Bulk(client, 'tmp_ends');
    /** Per agent: its part intervals within the day (for 工时利用率). */
    const engaged = new Map<string, [number, number][]>();
    const partAgents = new Set<string>();

    const handle = async (f: SessionFacts) => {
      if (f.parts.length === 0 && f.legs.length === 0) return;
      sessions++;
      const creditedLeg = f.credited;
      let touched = false;
      for (let i = 0; i < f.legs.length; i++) {
        const l = f.legs[i];
        if (localDay(l.queuedAtMs, tz) !== day) continue;
        touched = true;
        const part = l.part === null ? null : f.parts[l.part];
        await legs.add({
          tenant,
          day,
          session_id: f.sessionId,
          leg_no: i,
          group_id: l.groupId,
          via: l.via,
          hour: localHour(l.queuedAtMs, tz),
          queued_at: iso(l.queuedAtMs),
          answered_at: iso(l.answeredAtMs),
          ended_at: iso(l.endedAtMs),
          outcome: l.outcome,
          wait_seconds: l.answeredAtMs === null ? null : (l.answeredAtMs - l.queuedAtMs) / 1000,
          agent_id: l.agentId,
          ended_by: l.endedBy,
          credited: creditedLeg === i,
          score: f.score,
          invited: part?.invited ?? false,
        });
      }
      for (let i = 0; i < f.parts.length; i++) {
        const p = f.parts[i];
        const end = p.endedAtMs ?? (dayEnd <= snap ? f.lastEventMs : cap);
        const s = Math.max(p.startedAtMs, dayStart);
        const e = Math.min(end, cap);
        if (e > s) {
          let list = engaged.get(p.agentId);
          if (!list) engaged.set(p.agentId, (list = []));
          list.push([s, e]);
        }
        if (localDay(p.startedAtMs, tz) !== day) continue;
        touched = true;
        partAgents.add(p.agentId);
        await parts.add({
          tenant,
          day,
          session_id: f.sessionId,
          part_no: i,
          agent_id: p.agentId,
          group_id: p.groupId,
          started_at: iso(p.startedAtMs),
          ended_at: iso(p.endedAtMs),
          ended_by: p.endedBy,
          first_response_seconds: p.firstResponseAtMs === null ? null : (p.firstResponseAtMs - p.startedAtMs) / 1000,
          reply_sum_seconds: p.replySumMs / 1000,
          reply_count: p.replyCount,
          invited: p.invited,
          credited: creditedLeg === p.leg,
          score: f.score,
          no_revisit: true,
        });
      }
      const reached = f.parts.length > 0;
      const ownsRow = reached && localDay(f.startedAtMs, tz) === day;
      if (ownsRow) {
        const agents: string[] = [];
        for (const p of f.parts) if (!agents.includes(p.agentId)) agents.push(p.agentId);
        const groups: string[] = [];
        for (const l of f.legs) if (!groups.includes(l.groupId)) groups.push(l.groupId);
        await sess.add({
          tenant,
          day,
          session_id: f.sessionId,
          state: f.summary?.state ?? (f.summary ? '已小记' : '未小记'),
          category: f.summary?.category?.join('/') ?? null,
          duration_seconds: f.endedAtMs === null ? null : (f.endedAtMs - f.parts[0].startedAtMs) / 1000,
          score: f.score,
          remark: f.summary?.remark ?? null,
          user_id: f.userId,
          revisit_24h: false,
          region: f.region,
          started_at: iso(f.startedAtMs),
          ended_at: iso(f.endedAtMs),
          first_answered_at: iso(f.parts[0].startedAtMs),
          agents,
          groups,
        });
      }
      if ((touched || ownsRow) && f.userId !== null) {
        await ends.add({ session_id: f.sessionId, user_id: f.userId, end_at: iso(f.endedAtMs ?? f.lastEventMs) });
      }
    };

    const phases: Record<string, number> = {};
    let mark = Date.now();
    const phase = (name: string) => {
      phases[name] = Date.now() - mark;
      mark = Date.now();
    };
    // The day's events are read on a second connection sharing this transaction's
    // snapshot, so the next page streams in while this one is derived and written.
    const exported = await client.query<{ snapshot: string }>('SELECT pg_export_snapshot() AS snapshot');
    const reader = await pool.connect();
    let readerOk = false;
    try {
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await reader.query(`SET TRANSACTION SNAPSHOT '${exported.rows[0].snapshot.replace(/[^0-9A-Fa-f-]/g, '')}'`);
      await reader.query(`SET LOCAL work_mem = '256MB'`);
      await reader.query(`DECLARE session_events NO SCROLL CURSOR FOR ${SESSION_EVENTS_SQL}`, [
        tenant,
        day,
        addDays(day, -1),
        addDays(day, 1),
      ]);
      let current: string | null = null;
      let buffer: SessionEvent[] = [];
      let pending = reader.query<EventRow>(`FETCH ${FETCH} FROM session_events`);
      for (;;) {
        const { rows } = await pending;
        const more = rows.length === FETCH;
        if (more) pending = reader.query<EventRow>(`FETCH ${FETCH} FROM session_events`);
        for (const r of rows) {
          if (r.sid !== current) {
            if (current !== null) await handle(deriveSession(current, buffer));
            current = r.sid;
            buffer = [];
          }
          buffer.push(toEvent(r));
        }
        if (!more) break;
      }
      if (current !== null) await handle(deriveSession(current, buffer));
      await reader.query('COMMIT');
      readerOk = true;
    } finally {
      // A reader left mid-query (an error while a page was in flight) is not reused.
      reader.release(!readerOk);
    }
    for (const b of [legs, parts, sess, ends]) await b.flush();

    // 24小时内复访: the same user started a session within 24 h after this one ended.
    phase('sessions');
    // Starts of the day and the two after, joined by user: a hash join, not a scan per session.
    await client.query(
      `CREATE TEMP TABLE tmp_starts ON COMMIT DROP AS
       SELECT body->>'userId' AS user_id, session_id, time FROM events
       WHERE tenant = $1 AND day BETWEEN $2::date AND $3::date AND type = 'session.start' AND body ? 'userId'`,
      [tenant, day, addDays(day, 2)],
    );
    await client.query('ANALYZE tmp_starts');
    await client.query('ANALYZE tmp_ends');
    await client.query(
      `CREATE TEMP TABLE tmp_revisit ON COMMIT DROP AS
       SELECT DISTINCT x.session_id FROM tmp_ends x JOIN tmp_starts s ON s.user_id = x.user_id
       WHERE s.session_id <> x.session_id AND s.time > x.end_at AND s.time <= x.end_at + interval '24 hours'`,
    );
    await client.query('ANALYZE tmp_revisit');
    await client.query(
      `UPDATE report_parts p SET no_revisit = false FROM tmp_revisit r WHERE p.tenant = $1 AND p.day = $2 AND p.session_id = r.session_id`,
      [tenant, day],
    );
    await client.query(
      `UPDATE report_sessions s SET revisit_24h = true FROM tmp_revisit r WHERE s.tenant = $1 AND s.day = $2 AND s.session_id = r.session_id`,
      [tenant, day],
    );

    phase('revisit');
    await agentTime(client, tenant, day, dayStart, cap, engaged, partAgents);
    phase('status');
    await aggregate(client, tenant, day);
    phase('aggregate');
    await client.query(
      `INSERT INTO report_rollups (tenant, day, rolled_at, sessions, duration_ms) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant, day) DO UPDATE SET rolled_at = EXCLUDED.rolled_at, sessions = EXCLUDED.sessions, duration_ms = EXCLUDED.duration_ms`,
      [tenant, day, new Date(safe), sessions, Date.now() - began],
    );
    await client.query('COMMIT');
    phase('commit');
    donePhases = phases;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  return { tenant, day, sessions, durationMs: Date.now() - began, phases: donePhases };
}

/** Status intervals clipped to [dayStart, cap): work time, time per status, first online, last offline. */
async function agentTime(
  client: PoolClient,
  tenant: string,
  day: string,
  dayStart: number,
  cap: number,
  engaged: Map<string, [number, number][]>,
  partAgents: Set<string>,
): Promise<void> {
  const { rows } = await client.query<{ a: string; s: string; t: number }>(
    `SELECT body->>'agentId' AS a, body->>'status' AS s, (extract(epoch FROM time) * 1000)::float8 AS t
     FROM events
     WHERE tenant = $1 AND type = 'agent.status' AND day BETWEEN $2::date AND $3::date AND time < $4
     ORDER BY body->>'agentId', time, seq`,
    [tenant, addDays(day, -STATUS_CARRY_DAYS), day, new Date(cap)],
  );
  const byAgent = new Map<string, { s: string; t: number }[]>();
  for (const r of rows) {
    let list = byAgent.get(r.a);
    if (!list) byAgent.set(r.a, (list = []));
    list.push(r);
  }
  const bulk = new Bulk(client, 'report_agent_time');
  const agents = new Set([...byAgent.keys(), ...partAgents]);
  for (const agent of agents) {
    const changes = byAgent.get(agent) ?? [];
    const seconds: Record<string, number> = {};
    const work: [number, number][] = [];
    let firstOnline: number | null = null;
    let lastOffline: number | null = null;
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i];
      const s = Math.max(c.t, dayStart);
      const e = Math.min(i + 1 < changes.length ? changes[i + 1].t : cap, cap);
      if (c.s === 'offline' && c.t >= dayStart) lastOffline = c.t;
      if (e <= s || c.s === 'offline') continue;
      seconds[c.s] = (seconds[c.s] ?? 0) + (e - s) / 1000;
      work.push([s, e]);
      firstOnline ??= s;
    }
    const inDay = work.length > 0 || lastOffline !== null || partAgents.has(agent);
    if (!inDay) continue;
    const workSeconds = work.reduce((n, [s, e]) => n + (e - s) / 1000, 0);
    await bulk.add({
      tenant,
      day,
      agent_id: agent,
      first_online_at: iso(firstOnline),
      last_offline_at: iso(lastOffline),
      work_seconds: workSeconds,
      engaged_seconds: overlapSeconds(engaged.get(agent) ?? [], work),
      status_seconds: Object.fromEntries(STATUSES.map((s) => [s, seconds[s] ?? 0])),
    });
  }
  await bulk.flush();
}

const LEVEL_COLUMNS = ['very_satisfied', 'satisfied', 'neutral', 'dissatisfied', 'very_dissatisfied'];
const levelFilters = (prefix: string, distinct: boolean) =>
  LEVEL_COLUMNS.map(
    (c, i) => `count(${distinct ? 'DISTINCT session_id' : '*'}) FILTER (WHERE ${prefix}credited AND ${prefix}score = ${5 - i}) AS ${c}`,
  ).join(',\n       ');

/** The rollup tables of the day, from its facts (and, for categories, its summaries). */
async function aggregate(client: PoolClient, tenant: string, day: string): Promise<void> {
  const p = [tenant, day];
  await client.query(
    `INSERT INTO report_group_daily
     SELECT tenant, day, group_id,
       count(*) AS inflow,
       count(*) FILTER (WHERE credited) AS answered,
       count(*) FILTER (WHERE via = 'direct') AS direct_inflow,
       count(*) FILTER (WHERE via = 'direct' AND answered_at IS NOT NULL) AS direct_answered,
       count(*) FILTER (WHERE ended_by = 'manual') AS transfer_out,
       count(*) FILTER (WHERE credited AND score IS NOT NULL) AS rated,
       ${levelFilters('', false)},
       count(DISTINCT session_id) FILTER (WHERE invited) AS invited,
       count(*) FILTER (WHERE credited AND wait_seconds <= 20) AS answered_20s
     FROM report_legs WHERE tenant = $1 AND day = $2 GROUP BY tenant, day, group_id`,
    p,
  );
  await client.query(
    `INSERT INTO report_group_slot
     SELECT tenant, day, hour, group_id, count(*), count(*) FILTER (WHERE credited),
            count(*) FILTER (WHERE credited AND wait_seconds <= 20)
     FROM report_legs WHERE tenant = $1 AND day = $2 GROUP BY tenant, day, hour, group_id`,
    p,
  );
  await client.query(
    `WITH pa AS (
       SELECT agent_id,
         count(DISTINCT session_id) AS answered,
         count(*) FILTER (WHERE ended_by = 'manual') AS transfer_out,
         count(*) FILTER (WHERE ended_at IS NOT NULL) AS parts_ended,
         coalesce(sum(extract(epoch FROM ended_at - started_at)) FILTER (WHERE ended_at IS NOT NULL), 0) AS talk_seconds,
         count(DISTINCT session_id) FILTER (WHERE credited AND score IS NOT NULL) AS rated,
         ${levelFilters('', true)},
         count(*) FILTER (WHERE first_response_seconds IS NOT NULL) AS first_response_count,
         coalesce(sum(first_response_seconds), 0) AS first_response_seconds,
         count(*) FILTER (WHERE first_response_seconds <= 30) AS responded_30s,
         count(DISTINCT session_id) FILTER (WHERE no_revisit) AS no_revisit,
         count(DISTINCT session_id) FILTER (WHERE invited) AS invited,
         sum(reply_count) AS reply_count,
         sum(reply_sum_seconds) AS reply_seconds,
         array_agg(DISTINCT group_id) AS groups
       FROM report_parts WHERE tenant = $1 AND day = $2 GROUP BY agent_id
     ), t AS (SELECT * FROM report_agent_time WHERE tenant = $1 AND day = $2)
     INSERT INTO report_agent_daily
     SELECT $1, $2, coalesce(pa.agent_id, t.agent_id), t.first_online_at, t.last_offline_at,
       coalesce(t.work_seconds, 0), coalesce(t.engaged_seconds, 0), coalesce(t.status_seconds, '{}'::jsonb),
       coalesce(pa.answered, 0), coalesce(pa.transfer_out, 0), coalesce(pa.parts_ended, 0), coalesce(pa.talk_seconds, 0),
       coalesce(pa.rated, 0), coalesce(pa.very_satisfied, 0), coalesce(pa.satisfied, 0), coalesce(pa.neutral, 0),
       coalesce(pa.dissatisfied, 0), coalesce(pa.very_dissatisfied, 0),
       coalesce(pa.first_response_count, 0), coalesce(pa.first_response_seconds, 0), coalesce(pa.responded_30s, 0),
       coalesce(pa.no_revisit, 0), coalesce(pa.invited, 0), coalesce(pa.reply_count, 0), coalesce(pa.reply_seconds, 0),
       coalesce(pa.groups, '{}')
     FROM pa FULL JOIN t ON t.agent_id = pa.agent_id`,
    p,
  );
  await client.query(
    `INSERT INTO report_category_daily
     SELECT tenant, day, category, leaf, agent_id,
       count(*) FILTER (WHERE channel = 'inbound_call'), count(*) FILTER (WHERE channel = 'manual_outbound'),
       count(*) FILTER (WHERE channel = 'system_outbound'), count(*) FILTER (WHERE channel = 'online')
     FROM (SELECT tenant, day, body->>'agentId' AS agent_id, body->>'channel' AS channel,
             coalesce((SELECT string_agg(c, '/' ORDER BY n) FROM jsonb_array_elements_text(body->'category') WITH ORDINALITY AS x(c, n)), '未分类') AS category,
             coalesce(body->'category'->>-1, '未分类') AS leaf
           FROM events WHERE tenant = $1 AND day = $2 AND type = 'session.summary') s
     GROUP BY tenant, day, category, leaf, agent_id`,
    p,
  );
  await client.query(
    `INSERT INTO report_overview
     SELECT $1, $2, count(*) FROM report_parts WHERE tenant = $1 AND day = $2 AND part_no = 0`,
    p,
  );
}
