/**
 * The reports' read side: one SQL statement per report over the rollup tables
 * (tickets and 客服日志 straight from the events), and the mapping of its rows
 * to the catalog's ids. The query API runs a statement whole; the export
 * streams the same statement through a cursor.
 */
import { QueryError, type ReportQuery, type Row } from '../query/registry.js';
import { SATISFACTION_LABELS } from '../catalog.js';
import { addDays, dayStartMs } from '../time.js';

/** A report's statement and how one of its rows becomes a report row. */
export interface ReportSql {
  sql: string;
  params: unknown[];
  /** 'array' when `map` takes the columns in SELECT order (pg's rowMode), sparing an object per row. */
  rowMode?: 'array';
  map(row: any): Row;
}

export interface BuildOptions {
  tz: string;
  nowMs: number;
  /** Row cap of list reports; null for exports (everything, streamed). */
  limit: number | null;
}

// Names are master data: the latest upsert wins, whatever day it came on (004_master_data.sql).
const AGENTS_CTE = `agents AS (
  SELECT agent_id, name, work_no, member_of FROM master_agents WHERE tenant = $1)`;
const GROUPS_CTE = `groups_ AS (
  SELECT group_id, name FROM master_groups WHERE tenant = $1)`;

const ratio = (a: number, b: number): number | null => (b ? a / b : null);
const ms = (v: Date | null | undefined): number | null => (v ? v.getTime() : null);
const LEVELS = ['very_satisfied', 'satisfied', 'neutral', 'dissatisfied', 'very_dissatisfied'];

function ratings(r: Record<string, any>): Row {
  const out: Row = { rated: r.rated, rated_rate: ratio(r.rated, r.answered) };
  for (const l of LEVELS) {
    out[l] = r[l];
    out[`${l}_rate`] = ratio(r[l], r.rated);
  }
  return out;
}

function groupFilter(q: ReportQuery, params: unknown[], column: string): string {
  if (q.groups.length === 0) return '';
  params.push(q.groups);
  return ` AND ${column} = ANY($${params.length}::text[])`;
}

function agentFilter(q: ReportQuery, params: unknown[], column: string): string {
  if (q.agents.length === 0) return '';
  params.push(q.agents);
  return ` AND ${column} = ANY($${params.length}::text[])`;
}

function groupDaily(q: ReportQuery): ReportSql {
  const params: unknown[] = [q.tenant, q.from, q.to];
  const sql = `WITH ${GROUPS_CTE}
    SELECT r.*, coalesce(g.name, r.group_id) AS group_name FROM report_group_daily r LEFT JOIN groups_ g USING (group_id)
    WHERE r.tenant = $1 AND r.day BETWEEN $2 AND $3${groupFilter(q, params, 'r.group_id')} ORDER BY r.day, r.group_id`;
  return {
    sql,
    params,
    map: (r) => ({
      date: r.day,
      group_id: r.group_id,
      group_name: r.group_name,
      inflow: r.inflow,
      answered: r.answered,
      answer_rate: ratio(r.answered, r.inflow),
      direct_inflow: r.direct_inflow,
      direct_answered: r.direct_answered,
      direct_answer_rate: ratio(r.direct_answered, r.direct_inflow),
      transfer_out: r.transfer_out,
      transfer_out_rate: ratio(r.transfer_out, r.answered),
      ...ratings(r),
      invited: r.invited,
      invited_rate: ratio(r.invited, r.answered),
      answered_20s: r.answered_20s,
      answered_20s_rate: ratio(r.answered_20s, r.answered),
    }),
  };
}

function groupSlot(q: ReportQuery): ReportSql {
  const params: unknown[] = [q.tenant, q.from, q.to];
  const sql = `WITH ${GROUPS_CTE}
    SELECT r.*, coalesce(g.name, r.group_id) AS group_name FROM report_group_slot r LEFT JOIN groups_ g USING (group_id)
    WHERE r.tenant = $1 AND r.day BETWEEN $2 AND $3${groupFilter(q, params, 'r.group_id')} ORDER BY r.day, r.hour, r.group_id`;
  return {
    sql,
    params,
    map: (r) => ({
      date: r.day,
      hour: r.hour,
      group_id: r.group_id,
      group_name: r.group_name,
      inflow: r.inflow,
      answered: r.answered,
      lost: r.inflow - r.answered,
      answer_rate: ratio(r.answered, r.inflow),
      answered_20s_rate: ratio(r.answered_20s, r.answered),
    }),
  };
}

function agentDaily(q: ReportQuery, o: BuildOptions): ReportSql {
  const params: unknown[] = [q.tenant, q.from, q.to];
  let filter = agentFilter(q, params, 'r.agent_id');
  if (q.groups.length > 0) {
    params.push(q.groups);
    // An agent belongs to a group by its master data, or by having served in it that day.
    filter += ` AND (r.groups && $${params.length}::text[] OR coalesce(a.member_of, '[]'::jsonb) ?| $${params.length}::text[])`;
  }
  // Named columns, times as epoch ms: an all-agents month is tens of thousands of
  // rows, and parsing timestamps and arrays the answer does not need dominates it.
  const sql = `WITH ${AGENTS_CTE}
    SELECT r.day, r.agent_id, coalesce(a.name, r.agent_id) AS agent_name, a.work_no,
      extract(epoch FROM r.first_online_at)::float8 * 1000 AS first_online_ms, extract(epoch FROM r.last_offline_at)::float8 * 1000 AS last_offline_ms,
      r.work_seconds, r.engaged_seconds, r.status_seconds, r.answered, r.transfer_out, r.parts_ended, r.talk_seconds,
      r.rated, r.very_satisfied, r.satisfied, r.neutral, r.dissatisfied, r.very_dissatisfied,
      r.first_response_count, r.first_response_seconds, r.responded_30s, r.no_revisit, r.invited, r.reply_count, r.reply_seconds
    FROM report_agent_daily r LEFT JOIN agents a USING (agent_id)
    WHERE r.tenant = $1 AND r.day BETWEEN $2 AND $3${filter} ORDER BY r.day, r.agent_id`;
  const settledDays = new Map<string, boolean>();
  return {
    sql,
    params,
    rowMode: 'array',
    map: (a: any[]) => {
      // Positions follow the SELECT list above; read into locals, not an object per row (15,500 of them for a month).
      const [
        day,
        agent_id,
        agent_name,
        work_no,
        first_online_ms,
        last_offline_ms,
        work_seconds,
        engaged_seconds,
        status_seconds,
        answered,
        transfer_out,
        parts_ended,
        talk_seconds,
        rated,
        very_satisfied,
        satisfied,
        neutral,
        dissatisfied,
        very_dissatisfied,
        first_response_count,
        first_response_seconds,
        responded_30s,
        no_revisit,
        invited,
        reply_count,
        reply_seconds,
      ] = a as [string, ...any[]];
      const workHours = work_seconds / 3600;
      let settled = settledDays.get(day);
      if (settled === undefined) settledDays.set(day, (settled = o.nowMs >= dayStartMs(addDays(day, 2), o.tz)));
      const status = status_seconds ?? {};
      // One literal, every key in the same order: tens of thousands of these rows
      // stay one object shape, which keeps building the frame's columns fast.
      return {
        date: day,
        agent_id,
        agent_name,
        work_no: work_no ?? null,
        first_online_at: first_online_ms === null ? null : Math.round(first_online_ms),
        last_offline_at: last_offline_ms === null ? null : Math.round(last_offline_ms),
        work_hours: workHours,
        answered,
        transfer_out,
        avg_talk_seconds: ratio(talk_seconds, parts_ended),
        sessions_per_hour: ratio(answered, workHours),
        rated,
        rated_rate: ratio(rated, answered),
        very_satisfied,
        very_satisfied_rate: ratio(very_satisfied, rated),
        satisfied,
        satisfied_rate: ratio(satisfied, rated),
        neutral,
        neutral_rate: ratio(neutral, rated),
        dissatisfied,
        dissatisfied_rate: ratio(dissatisfied, rated),
        very_dissatisfied,
        very_dissatisfied_rate: ratio(very_dissatisfied, rated),
        avg_first_response_seconds: ratio(first_response_seconds, first_response_count),
        responded_30s_rate: ratio(responded_30s, answered),
        no_revisit,
        one_contact_resolution_rate: settled ? ratio(no_revisit, answered) : null,
        invited,
        invited_rate: ratio(invited, answered),
        avg_reply_seconds: ratio(reply_seconds, reply_count),
        utilization: ratio(engaged_seconds, work_seconds),
        break_hours: (status.break ?? 0) / 3600,
        busy_hours: (status.busy ?? 0) / 3600,
        rest_hours: (status.rest ?? 0) / 3600,
        meeting_hours: (status.meeting ?? 0) / 3600,
        training_hours: (status.training ?? 0) / 3600,
        meal_hours: (status.meal ?? 0) / 3600,
        restroom_hours: (status.restroom ?? 0) / 3600,
        discussion_hours: (status.discussion ?? 0) / 3600,
        outbound_hours: (status.outbound ?? 0) / 3600,
        custom_hours: (status.custom ?? 0) / 3600,
        hosted_hours: (status.hosted ?? 0) / 3600,
      };
    },
  };
}

function categoryDaily(q: ReportQuery): ReportSql {
  const params: unknown[] = [q.tenant, q.from, q.to];
  const sql = `SELECT day, category, sum(inbound_call)::int AS inbound_call, sum(manual_outbound)::int AS manual_outbound,
      sum(system_outbound)::int AS system_outbound, sum(online)::int AS online
    FROM report_category_daily WHERE tenant = $1 AND day BETWEEN $2 AND $3${agentFilter(q, params, 'agent_id')}
    GROUP BY day, category ORDER BY day, category`;
  return {
    sql,
    params,
    map: (r) => ({
      date: r.day,
      category: r.category,
      inbound_call: r.inbound_call,
      manual_outbound: r.manual_outbound,
      system_outbound: r.system_outbound,
      online: r.online,
      total: r.inbound_call + r.manual_outbound + r.system_outbound + r.online,
    }),
  };
}

function categoryTop(q: ReportQuery): ReportSql {
  const params: unknown[] = [q.tenant, q.from, q.to];
  const sql = `SELECT leaf, sum(inbound_call + manual_outbound + system_outbound + online)::int AS count
    FROM report_category_daily WHERE tenant = $1 AND day BETWEEN $2 AND $3${agentFilter(q, params, 'agent_id')}
    GROUP BY leaf ORDER BY count DESC, leaf`;
  return { sql, params, map: (r) => ({ category: r.leaf, count: r.count }) };
}

// A ticket is its create event folded with the later updates and the first close.
// Deadlines are RFC 3339 strings or epoch milliseconds (events.md).
const TICKETS_CTE = `tickets AS (
  SELECT c.ticket_id, c.ticket_type, c.agent_id,
    coalesce(n.node, c.node) AS node, coalesce(d.deadline, c.deadline) AS deadline, x.closed_at
  FROM (SELECT DISTINCT ON (body->>'ticketId') body->>'ticketId' AS ticket_id, body->>'ticketType' AS ticket_type,
          body->>'agentId' AS agent_id, body->>'node' AS node, time AS created_at,
          CASE WHEN jsonb_typeof(body->'deadline') = 'number' THEN to_timestamp((body->>'deadline')::float8 / 1000)
               ELSE (body->>'deadline')::timestamptz END AS deadline
        FROM events WHERE tenant = $1 AND type = 'ticket.create' AND day BETWEEN $2 AND $3
        ORDER BY body->>'ticketId', time, seq) c
  LEFT JOIN (SELECT DISTINCT ON (body->>'ticketId') body->>'ticketId' AS ticket_id, body->>'node' AS node
        FROM events WHERE tenant = $1 AND type = 'ticket.update' AND day >= $2::date - 1 AND body ? 'node'
        ORDER BY body->>'ticketId', time DESC, seq DESC) n USING (ticket_id)
  LEFT JOIN (SELECT DISTINCT ON (body->>'ticketId') body->>'ticketId' AS ticket_id,
          CASE WHEN jsonb_typeof(body->'deadline') = 'number' THEN to_timestamp((body->>'deadline')::float8 / 1000)
               ELSE (body->>'deadline')::timestamptz END AS deadline
        FROM events WHERE tenant = $1 AND type = 'ticket.update' AND day >= $2::date - 1 AND body ? 'deadline'
        ORDER BY body->>'ticketId', time DESC, seq DESC) d USING (ticket_id)
  LEFT JOIN (SELECT body->>'ticketId' AS ticket_id, min(time) AS closed_at
        FROM events WHERE tenant = $1 AND type = 'ticket.close' AND day >= $2::date - 1 GROUP BY 1) x USING (ticket_id))`;

const TICKET_COUNTS = `count(*)::int AS total,
  count(*) FILTER (WHERE closed_at IS NOT NULL AND closed_at <= deadline)::int AS closed_on_time,
  count(*) FILTER (WHERE closed_at IS NOT NULL AND closed_at > deadline)::int AS closed_overdue,
  count(*) FILTER (WHERE closed_at IS NULL AND deadline > $4)::int AS open,
  count(*) FILTER (WHERE closed_at IS NULL AND deadline <= $4)::int AS open_overdue`;

function tickets(q: ReportQuery, o: BuildOptions, by: 'agent' | 'type' | 'detail'): ReportSql {
  const params: unknown[] = [q.tenant, q.from, q.to, new Date(o.nowMs)];
  const filter = agentFilter(q, params, 't.agent_id');
  const keys = by === 'agent' ? 't.agent_id' : by === 'type' ? 't.ticket_type' : 't.agent_id, t.ticket_type, t.node';
  const sql = `WITH ${TICKETS_CTE}, ${AGENTS_CTE}
    SELECT ${keys}, max(coalesce(a.name, t.agent_id)) AS agent_name, ${TICKET_COUNTS}
    FROM tickets t LEFT JOIN agents a USING (agent_id) WHERE true${filter}
    GROUP BY ${keys} ORDER BY ${keys}`;
  return {
    sql,
    params,
    map: (r) => {
      const row: Row = {};
      if (by !== 'type') Object.assign(row, { agent_id: r.agent_id, agent_name: r.agent_name });
      if (by !== 'agent') row.ticket_type = r.ticket_type;
      if (by === 'detail') row.node = r.node;
      for (const k of ['total', 'closed_on_time', 'closed_overdue', 'open', 'open_overdue']) row[k] = r[k];
      return row;
    },
  };
}

function overview(q: ReportQuery): ReportSql {
  return {
    sql: `SELECT day, service_total FROM report_overview WHERE tenant = $1 AND day BETWEEN $2 AND $3 ORDER BY day`,
    params: [q.tenant, q.from, q.to],
    map: (r) => ({ date: r.day, service_total: r.service_total, online_service: r.service_total }),
  };
}

function agentLog(q: ReportQuery, o: BuildOptions): ReportSql {
  const params: unknown[] = [q.tenant, q.from, q.to];
  const filter = agentFilter(q, params, "e.body->>'agentId'");
  const limit = o.limit === null ? '' : ` LIMIT ${Math.floor(o.limit)}`;
  const sql = `WITH ${AGENTS_CTE}
    SELECT e.time, e.body->>'agentId' AS agent_id, a.work_no, coalesce(a.name, e.body->>'agentId') AS agent_name,
           e.body->>'platform' AS platform, e.body->>'operation' AS operation
    FROM events e LEFT JOIN agents a ON a.agent_id = e.body->>'agentId'
    WHERE e.tenant = $1 AND e.type = 'agent.log' AND e.day BETWEEN $2 AND $3${filter} ORDER BY e.time, e.seq${limit}`;
  return {
    sql,
    params,
    map: (r) => ({
      time: ms(r.time),
      agent_id: r.agent_id,
      work_no: r.work_no ?? null,
      agent_name: r.agent_name,
      platform: r.platform ?? null,
      operation: r.operation,
    }),
  };
}

/** The sessions filters of the brief, checked. */
export interface SessionFilters {
  userId?: string;
  satisfaction?: number[];
  category?: string;
  revisit?: boolean;
  remark?: string;
  limit?: number;
}

export function checkSessionFilters(f: Record<string, unknown>): SessionFilters {
  const out: SessionFilters = {};
  if (f.userId !== undefined && f.userId !== '') {
    if (typeof f.userId !== 'string') throw new QueryError('filters.userId: must be a string');
    out.userId = f.userId;
  }
  if (f.satisfaction !== undefined) {
    const s = f.satisfaction;
    if (!Array.isArray(s) || s.some((x) => !Number.isInteger(x) || (x as number) < 1 || (x as number) > 5))
      throw new QueryError('filters.satisfaction: must be an array of scores 1–5');
    if (s.length > 0) out.satisfaction = s as number[];
  }
  for (const k of ['category', 'remark'] as const) {
    if (f[k] !== undefined && f[k] !== '') {
      if (typeof f[k] !== 'string') throw new QueryError(`filters.${k}: must be a string`);
      out[k] = f[k] as string;
    }
  }
  if (f.revisit !== undefined && f.revisit !== null && f.revisit !== '') {
    if (typeof f.revisit !== 'boolean') throw new QueryError('filters.revisit: must be true or false');
    out.revisit = f.revisit;
  }
  if (f.limit !== undefined) {
    if (!Number.isInteger(f.limit) || (f.limit as number) < 1 || (f.limit as number) > 100_000)
      throw new QueryError('filters.limit: must be an integer 1–100000');
    out.limit = f.limit as number;
  }
  return out;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

function sessions(q: ReportQuery, o: BuildOptions): ReportSql {
  const f = checkSessionFilters(q.filters);
  const params: unknown[] = [q.tenant, q.from, q.to];
  let where = '';
  const add = (cond: (i: number) => string, value: unknown) => {
    params.push(value);
    where += ` AND ${cond(params.length)}`;
  };
  if (q.groups.length) add((i) => `s.groups && $${i}::text[]`, q.groups);
  if (q.agents.length) add((i) => `s.agents && $${i}::text[]`, q.agents);
  if (f.userId) add((i) => `s.user_id = $${i}`, f.userId);
  if (f.satisfaction) add((i) => `s.score = ANY($${i}::smallint[])`, f.satisfaction);
  // A category matches as a path prefix or as any one level of the path.
  if (f.category) {
    params.push(f.category, `${escapeLike(f.category)}/%`);
    const i = params.length - 1;
    where += ` AND (s.category = $${i} OR s.category LIKE $${i + 1} OR $${i} = ANY(string_to_array(s.category, '/')))`;
  }
  if (f.revisit !== undefined) add((i) => `s.revisit_24h = $${i}`, f.revisit);
  if (f.remark) add((i) => `s.remark LIKE $${i}`, `%${escapeLike(f.remark)}%`);
  const limit = o.limit === null ? null : (f.limit ?? o.limit);
  const sql = `SELECT s.* FROM report_sessions s WHERE s.tenant = $1 AND s.day BETWEEN $2 AND $3${where}
    ORDER BY s.started_at, s.session_id${limit === null ? '' : ` LIMIT ${Math.floor(limit)}`}`;
  return { sql, params, map: sessionRow };
}

/** A report_sessions row as the sessions report's fields. */
export function sessionRow(r: Record<string, any>): Row {
  return {
    service_id: r.session_id,
    state: r.state,
    category: r.category,
    duration_seconds: r.duration_seconds,
    satisfaction: r.score === null ? null : SATISFACTION_LABELS[r.score],
    remark: r.remark,
    user_id: r.user_id,
    revisit_24h: r.revisit_24h,
    region: r.region,
    started_at: ms(r.started_at),
    agents: (r.agents as string[]).join(','),
    groups: (r.groups as string[]).join(','),
  };
}

type Builder = (q: ReportQuery, o: BuildOptions) => ReportSql;

/** The statement of each report this module answers. */
export const BUILDERS: Record<string, Builder> = {
  group_daily: groupDaily,
  group_slot: groupSlot,
  agent_daily: agentDaily,
  category_daily: categoryDaily,
  category_top: categoryTop,
  ticket_agent: (q, o) => tickets(q, o, 'agent'),
  ticket_type: (q, o) => tickets(q, o, 'type'),
  ticket_detail: (q, o) => tickets(q, o, 'detail'),
  overview,
  agent_log: agentLog,
  sessions,
};

/** Reports whose figures come from the rollup tables (tickets and the log are read live). */
export const ROLLED_UP = new Set(['group_daily', 'group_slot', 'agent_daily', 'category_daily', 'category_top', 'overview', 'sessions']);
