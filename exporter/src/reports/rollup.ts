/**
 * One tenant-day's rollup: derive the facts of the sessions touching the day
 * (TS, streamed session by session from a server-side cursor), store them in
 * bulk, then aggregate the report tables from them in set-based SQL. All in
 * one transaction, after deleting the day's previous rows, so recomputing a
 * day is idempotent and readers never see half a day.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { checkout, type Pool, type PoolClient } from '../db/pool.js';
import { AGENT_STATUSES } from '../ingest/schema.js';
import { addDays, dayStartMs, localDay, localHour } from '../time.js';
import { deriveSession, type Session, type SessionEvent } from '../session/model.js';

/** Columns of the fact rows written with COPY, in the order `handle` writes them. */
const COPY_COLUMNS = {
  report_legs: [
    'tenant',
    'day',
    'session_id',
    'leg_no',
    'group_id',
    'via',
    'hour',
    'queued_at',
    'answered_at',
    'ended_at',
    'outcome',
    'wait_seconds',
    'agent_id',
    'ended_by',
    'credited',
    'score',
    'invited',
  ],
  report_parts: [
    'tenant',
    'day',
    'session_id',
    'part_no',
    'agent_id',
    'group_id',
    'started_at',
    'ended_at',
    'ended_by',
    'first_response_seconds',
    'reply_sum_seconds',
    'reply_count',
    'invited',
    'credited',
    'score',
    'no_revisit',
  ],
  report_sessions: [
    'tenant',
    'day',
    'session_id',
    'state',
    'category',
    'duration_seconds',
    'score',
    'remark',
    'user_id',
    'revisit_24h',
    'region',
    'started_at',
    'ended_at',
    'first_answered_at',
    'agents',
    'groups',
  ],
};

/** Report tables keyed by (tenant, day); facts first, rollups after. */
export const DAY_TABLES = [
  'report_legs',
  'report_parts',
  'report_sessions',
  'report_agent_time',
  'report_group_daily',
  'report_group_slot',
  'report_group_halfhour',
  'report_agent_daily',
  'report_category_daily',
  'report_overview',
];

// Every non-offline status of the contract: the time in each is kept per agent and day.
const STATUSES = AGENT_STATUSES.filter((s) => s !== 'offline');

// Status changes older than this are not looked for when finding the status
// an agent carried into the day: a week without any change is an agent gone.
const STATUS_CARRY_DAYS = 7;
/** Sessions a page. */
const FETCH = 1_000;
/** The reader groups the day's events by session (a few hundred bytes a session) in memory when it can. */
const READER_WORK_MEM = '512MB';
/** Rows per COPY statement, and COPY statements queued before deriving waits for the writer. */
const COPY_ROWS = 5_000;
const COPY_QUEUE = 3;
const YIELD_SESSIONS = 250;

export interface RollupResult {
  tenant: string;
  day: string;
  sessions: number;
  durationMs: number;
  /** Milliseconds per phase (sessions: read, derive, store facts, revisits included), for the logs. */
  phases: Record<string, number>;
}

/** The events of every session with an event on day $2, from $3 (the day before) to $4 (the day after). */
const SESSION_EVENTS_WHERE = `e.tenant = $1 AND e.day BETWEEN $3::date AND $4::date
  AND e.session_id IN (SELECT session_id FROM events WHERE tenant = $1 AND day = $2::date AND session_id IS NOT NULL)
  AND e.type LIKE 'session.%'
  AND NOT (e.type = 'session.message' AND e.body->>'from' NOT IN ('user', 'agent'))`;

/**
 * One row per session: its events as a JSON array of [type, ms, seq, x, y, z],
 * where x, y, z are only the body fields the derivation reads, per type (a
 * message: `from`; never `text`). The events of a session come in any order
 * (deriveSession puts them in the one event order), so Postgres only groups them:
 * for a 1M-session day it walks the session index instead of sorting every
 * event row on disk as a row-per-event cursor ordered by session did.
 *
 * The 24-hour revisit flag (24小时内复访) comes along, so that the facts are
 * written once with it: a session's end and user as the derivation defines
 * them (its first `session.end`, else its last event; the user of its first
 * `session.start`), joined by user with the starts of the day and the two
 * after it ($5).
 */
const SESSION_EVENTS_SQL = `
WITH s AS (
  SELECT e.session_id AS sid,
    json_agg(json_build_array(e.type, (extract(epoch FROM e.time) * 1000)::float8, e.seq,
      CASE e.type WHEN 'session.message' THEN e.body->>'from' WHEN 'session.queue' THEN e.body->>'groupId'
        WHEN 'session.answer' THEN e.body->>'groupId' WHEN 'session.start' THEN e.body->>'userId'
        WHEN 'session.transfer' THEN e.body->>'reason' WHEN 'session.rate' THEN e.body->>'score'
        WHEN 'session.summary' THEN e.body->>'state' END,
      CASE e.type WHEN 'session.queue' THEN e.body->>'via' WHEN 'session.answer' THEN e.body->>'agentId'
        WHEN 'session.start' THEN e.body->>'region' WHEN 'session.summary' THEN e.body->>'remark' END,
      CASE e.type WHEN 'session.answer' THEN e.body->>'manual' WHEN 'session.summary' THEN (e.body->'category')::text END)) AS evs,
    CASE WHEN count(*) FILTER (WHERE e.type = 'session.start') <= 1 THEN max(e.body->>'userId') FILTER (WHERE e.type = 'session.start')
      ELSE (SELECT f.body->>'userId' FROM events f WHERE f.tenant = $1 AND f.session_id = e.session_id AND f.day BETWEEN $3::date AND $4::date
            AND f.type = 'session.start' ORDER BY f.time, f.seq LIMIT 1) END AS user_id,
    coalesce(min(e.time) FILTER (WHERE e.type = 'session.end'), max(e.time)) AS end_at
  FROM events e WHERE ${SESSION_EVENTS_WHERE}
  GROUP BY e.session_id
), starts AS (
  SELECT body->>'userId' AS user_id, session_id, time FROM events
  WHERE tenant = $1 AND day BETWEEN $2::date AND $5::date AND type = 'session.start' AND body ? 'userId'
), revisit AS (
  SELECT DISTINCT x.sid FROM s x JOIN starts st ON st.user_id = x.user_id
  WHERE st.session_id <> x.sid AND st.time > x.end_at AND st.time <= x.end_at + interval '24 hours'
)
SELECT s.sid, s.evs, r.sid IS NOT NULL AS revisit FROM s LEFT JOIN revisit r ON r.sid = s.sid`;

/** sid, evs, revisit of SESSION_EVENTS_SQL (json arrives parsed). */
type SessionRow = [string, EventCells[], boolean];
/** type, ms, seq, x, y, z */
type EventCells = [string, number, number, string | null, string | null, string | null];

function toEvent(c: EventCells): SessionEvent {
  const [type, timeMs, seq, x, y, z] = c;
  const e: SessionEvent = { type, timeMs, seq };
  switch (type) {
    case 'session.message':
      e.from = x;
      break;
    case 'session.queue':
      e.groupId = x;
      e.via = y;
      break;
    case 'session.answer':
      e.groupId = x;
      e.agentId = y;
      e.manual = z === null ? null : z === 'true';
      break;
    case 'session.start':
      e.userId = x;
      e.region = y;
      break;
    case 'session.transfer':
      e.reason = x;
      break;
    case 'session.rate':
      e.score = x === null ? null : Number(x);
      break;
    case 'session.summary':
      e.state = x;
      e.remark = y;
      e.category = z === null ? null : (JSON.parse(z) as string[] | null);
      break;
  }
  return e;
}

const DAY_MS = 86_400_000;
const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
let isoDay = NaN;
let isoPrefix = '';

/**
 * `new Date(ms).toISOString()`, the form the facts' timestamps are sent in, for
 * whole-millisecond times: the date part is kept from the previous call (a
 * day's times share it), the rest is arithmetic. toISOString was the single
 * biggest cost of writing the facts.
 */
function iso(ms: number | null): string | null {
  if (ms === null) return null;
  if (!Number.isInteger(ms) || ms < 0 || ms >= 253_402_300_800_000) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  if (day !== isoDay) {
    isoDay = day;
    isoPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  let rest = ms - day * DAY_MS;
  const milli = rest % 1000;
  rest = (rest - milli) / 1000;
  const sec = rest % 60;
  rest = (rest - sec) / 60;
  const min = rest % 60;
  const hour = (rest - min) / 60;
  return `${isoPrefix}${PAD2[hour]}:${PAD2[min]}:${PAD2[sec]}.${PAD3[milli]}Z`;
}

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

/** Small tables (a row per agent): one INSERT from JSON. */
class Bulk {
  private rows: Record<string, unknown>[] = [];
  constructor(
    private readonly client: PoolClient,
    private readonly table: string,
  ) {}
  add(row: Record<string, unknown>): void {
    this.rows.push(row);
  }
  async flush(): Promise<void> {
    if (this.rows.length === 0) return;
    const rows = this.rows;
    this.rows = [];
    // Table names are constants of this module, never input.
    await this.client.query(`INSERT INTO ${this.table} SELECT * FROM jsonb_populate_recordset(NULL::${this.table}, $1::jsonb)`, [
      JSON.stringify(rows),
    ]);
  }
}

type CopyValue = string | number | boolean | null | string[];

/**
 * A value in COPY's text format: \N for null, t/f, numbers as JS prints them
 * (what the parameter path sent before, so floats round-trip the same), text[]
 * as a literal with every element quoted, and backslash escapes for the
 * characters COPY treats specially.
 */
function copyText(v: CopyValue): string {
  if (v === null) return '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return copyText(`{${v.map((s) => `"${s.replace(/["\\]/g, '\\$&')}"`).join(',')}}`);
  return /[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]) : v;
}
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * COPY statements on the rollup's connection, one after the other. A chunk is
 * queued without waiting, so Postgres stores it while the next sessions are
 * derived; deriving only waits when COPY_QUEUE chunks are in flight.
 */
class CopyQueue {
  private tail: Promise<void> = Promise.resolve();
  private readonly inflight: Promise<void>[] = [];
  constructor(private readonly client: PoolClient) {}
  async push(sql: string, data: string): Promise<void> {
    const done = this.tail.then(() => pipeline(Readable.from([data]), this.client.query(copyFrom(sql))));
    // The next COPY starts after this one whatever its outcome; a failure fails the
    // rollup when this chunk is awaited, and is not an unhandled rejection until then.
    this.tail = done.catch(() => undefined);
    this.inflight.push(done);
    if (this.inflight.length >= COPY_QUEUE) await this.inflight.shift();
  }
  /** Waits until every queued chunk is stored. */
  async drain(): Promise<void> {
    while (this.inflight.length) await this.inflight.shift();
  }
}

/** The rows of one table, sent through the queue COPY_ROWS at a time. */
class CopyWriter {
  private lines: string[] = [];
  constructor(
    private readonly queue: CopyQueue,
    private readonly table: keyof typeof COPY_COLUMNS,
  ) {}
  async add(values: CopyValue[]): Promise<void> {
    // A flat string per row: the pieces of a concatenated one would all survive until the chunk is sent.
    const cells = new Array<string>(values.length);
    for (let i = 0; i < values.length; i++) cells[i] = copyText(values[i]);
    this.lines.push(cells.join('\t'));
    if (this.lines.length >= COPY_ROWS) await this.send();
  }
  async send(): Promise<void> {
    if (this.lines.length === 0) return;
    const data = this.lines.join('\n') + '\n';
    this.lines = [];
    // Table and column names are constants of this module, never input.
    await this.queue.push(`COPY ${this.table} (${COPY_COLUMNS[this.table].join(', ')}) FROM STDIN`, data);
  }
}

/** Recomputes the reports of `tenant` for local `day`. `nowMs` caps today's open intervals. */
export async function rollupDay(pool: Pool, tenant: string, day: string, tz: string, nowMs = Date.now()): Promise<RollupResult> {
  const began = Date.now();
  const dayStart = dayStartMs(day, tz);
  const dayEnd = dayStartMs(addDays(day, 1), tz);
  const client = await checkout(pool);
  let failure: unknown;
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

    const copies = new CopyQueue(client);
    const legs = new CopyWriter(copies, 'report_legs');
    const parts = new CopyWriter(copies, 'report_parts');
    const sess = new CopyWriter(copies, 'report_sessions');
    /** Per agent: its part intervals within the day (for 工时利用率). */
    const engaged = new Map<string, [number, number][]>();
    const partAgents = new Set<string>();

    const handle = async (sessionId: string, f: Session, revisit: boolean) => {
      if (f.parts.length === 0 && f.legs.length === 0) return;
      sessions++;
      const creditedLeg = f.credited;
      const score = f.rating?.score ?? null;
      let touched = false;
      for (let i = 0; i < f.legs.length; i++) {
        const l = f.legs[i];
        if (localDay(l.queuedAtMs, tz) !== day) continue;
        touched = true;
        const part = l.part === null ? null : f.parts[l.part];
        await legs.add([
          tenant,
          day,
          sessionId,
          i,
          l.groupId,
          l.via,
          localHour(l.queuedAtMs, tz),
          iso(l.queuedAtMs),
          iso(l.answeredAtMs),
          iso(l.endedAtMs),
          l.outcome,
          l.answeredAtMs === null ? null : (l.answeredAtMs - l.queuedAtMs) / 1000,
          l.agentId,
          l.endedBy,
          creditedLeg === i,
          score,
          part?.invited ?? false,
        ]);
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
        await parts.add([
          tenant,
          day,
          sessionId,
          i,
          p.agentId,
          p.groupId,
          iso(p.startedAtMs),
          iso(p.endedAtMs),
          p.endedBy,
          p.firstResponseAtMs === null ? null : (p.firstResponseAtMs - p.startedAtMs) / 1000,
          p.replySumMs / 1000,
          p.replyCount,
          p.invited,
          creditedLeg === p.leg,
          score,
          !revisit,
        ]);
      }
      const reached = f.parts.length > 0;
      const ownsRow = reached && localDay(f.startedAtMs, tz) === day;
      if (ownsRow) {
        const agents: string[] = [];
        for (const p of f.parts) if (!agents.includes(p.agentId)) agents.push(p.agentId);
        const groups: string[] = [];
        for (const l of f.legs) if (!groups.includes(l.groupId)) groups.push(l.groupId);
        await sess.add([
          tenant,
          day,
          sessionId,
          f.summary?.state ?? (f.summary ? '已小记' : '未小记'),
          f.summary?.category?.join('/') ?? null,
          f.endedAtMs === null ? null : (f.endedAtMs - f.parts[0].startedAtMs) / 1000,
          score,
          f.summary?.remark ?? null,
          f.userId,
          revisit,
          f.region,
          iso(f.startedAtMs),
          iso(f.endedAtMs),
          iso(f.parts[0].startedAtMs),
          agents,
          groups,
        ]);
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
    // A reader left mid-query (an error while a page was in flight) is not reused.
    const reader = await checkout(pool, { discardOnError: true });
    let readerOk = false;
    try {
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await reader.query(`SET TRANSACTION SNAPSHOT '${exported.rows[0].snapshot.replace(/[^0-9A-Fa-f-]/g, '')}'`);
      await reader.query(`SET LOCAL work_mem = '${READER_WORK_MEM}'`);
      // The planner underestimates the sessions of a day (a sample's distinct count)
      // and would find each session's events, then each revisit, by a nested loop.
      await reader.query('SET LOCAL enable_nestloop = off');
      await reader.query(`DECLARE session_events NO SCROLL CURSOR FOR ${SESSION_EVENTS_SQL}`, [
        tenant,
        day,
        addDays(day, -1),
        addDays(day, 1),
        addDays(day, 2),
      ]);
      const fetch = () => reader.query<SessionRow>({ text: `FETCH ${FETCH} FROM session_events`, rowMode: 'array' });
      // The first page comes once the reader has grouped the day's events; the
      // categories, which need no facts, are counted meanwhile on this connection.
      let pending = fetch();
      pending.catch(() => undefined);
      await categories(client, tenant, day);
      phase('categories');
      let derived = 0;
      for (;;) {
        const { rows } = await pending;
        const more = rows.length === FETCH;
        if (more) pending = fetch();
        for (const [sid, evs, revisit] of rows) {
          await handle(sid, deriveSession(evs.map(toEvent)), revisit);
          // Deriving never waits on I/O by itself: let the event loop move the
          // COPY chunks (and the next page) along while the sessions are derived.
          if (++derived % YIELD_SESSIONS === 0) await new Promise(setImmediate);
        }
        if (!more) break;
      }
      await reader.query('COMMIT');
      readerOk = true;
    } finally {
      reader.done(readerOk ? undefined : new Error('the rollup failed while the reader was open'));
    }
    for (const w of [legs, parts, sess]) await w.send();
    await copies.drain();
    phase('sessions');
    await agentTime(client, tenant, day, dayStart, cap, engaged, partAgents);
    phase('status');
    await aggregate(client, tenant, day, tz);
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
    failure = err;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.done(failure);
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
    bulk.add({
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

/** 服务小记分类: from the day's summary events, not from the facts. */
async function categories(client: PoolClient, tenant: string, day: string): Promise<void> {
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
    [tenant, day],
  );
}

/** The rollup tables of the day, from its facts. */
async function aggregate(client: PoolClient, tenant: string, day: string, tz: string): Promise<void> {
  const p = [tenant, day];
  // Only the invited legs need a distinct count: counting it apart keeps the
  // day's legs from being sorted by session for one column.
  await client.query(
    `WITH c AS (
       SELECT group_id,
         count(*) AS inflow,
         count(*) FILTER (WHERE credited) AS answered,
         count(*) FILTER (WHERE via = 'direct') AS direct_inflow,
         count(*) FILTER (WHERE via = 'direct' AND answered_at IS NOT NULL) AS direct_answered,
         count(*) FILTER (WHERE ended_by = 'manual') AS transfer_out,
         count(*) FILTER (WHERE credited AND score IS NOT NULL) AS rated,
         ${levelFilters('', false)},
         count(*) FILTER (WHERE credited AND wait_seconds <= 20) AS answered_20s
       FROM report_legs WHERE tenant = $1 AND day = $2 GROUP BY group_id
     ), i AS (
       SELECT group_id, count(DISTINCT session_id) AS invited
       FROM report_legs WHERE tenant = $1 AND day = $2 AND invited GROUP BY group_id
     )
     INSERT INTO report_group_daily
     SELECT $1, $2, c.group_id, c.inflow, c.answered, c.direct_inflow, c.direct_answered, c.transfer_out, c.rated,
       ${LEVEL_COLUMNS.map((l) => `c.${l}`).join(', ')}, coalesce(i.invited, 0), c.answered_20s
     FROM c LEFT JOIN i ON i.group_id = c.group_id`,
    p,
  );
  await client.query(
    `INSERT INTO report_group_slot
     SELECT tenant, day, hour, group_id, count(*), count(*) FILTER (WHERE credited),
            count(*) FILTER (WHERE credited AND wait_seconds <= 20)
     FROM report_legs WHERE tenant = $1 AND day = $2 GROUP BY tenant, day, hour, group_id`,
    p,
  );
  // 排班建议: per half hour of the local day, inflow by queue entry and ended parts by their answer;
  // each group's day as 48-slot arrays (017_forecast_slots.sql).
  await client.query(
    `WITH x AS (
       SELECT group_id, slot, sum(inflow)::int AS inflow, sum(parts_ended)::int AS parts_ended, sum(part_seconds) AS part_seconds
       FROM (
         SELECT group_id, hour * 2 + extract(minute FROM queued_at AT TIME ZONE $3::text)::int / 30 AS slot,
                count(*) AS inflow, 0 AS parts_ended, 0::float8 AS part_seconds
         FROM report_legs WHERE tenant = $1 AND day = $2 GROUP BY 1, 2
         UNION ALL
         SELECT group_id, extract(hour FROM started_at AT TIME ZONE $3::text)::int * 2 + extract(minute FROM started_at AT TIME ZONE $3::text)::int / 30,
                0, count(*), sum(extract(epoch FROM ended_at - started_at))
         FROM report_parts WHERE tenant = $1 AND day = $2 AND ended_at IS NOT NULL GROUP BY 1, 2
       ) u GROUP BY group_id, slot
     )
     INSERT INTO report_group_halfhour
     SELECT $1, $2, g.group_id, array_agg(coalesce(x.inflow, 0) ORDER BY s), array_agg(coalesce(x.parts_ended, 0) ORDER BY s),
            array_agg(coalesce(x.part_seconds, 0) ORDER BY s)
     FROM (SELECT DISTINCT group_id FROM x) g CROSS JOIN generate_series(0, 47) s
     LEFT JOIN x ON x.group_id = g.group_id AND x.slot = s
     GROUP BY g.group_id`,
    [tenant, day, tz],
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
    `INSERT INTO report_overview
     SELECT $1, $2, count(*) FROM report_parts WHERE tenant = $1 AND day = $2 AND part_no = 0`,
    p,
  );
}
