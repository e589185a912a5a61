/**
 * A fast, deterministic generator of contract events for volumes the
 * simulator would need hours to play out (a 1M-session day): every session
 * has a valid lifecycle, but the behaviour is plain, since only the volume
 * and the shape of the work matter to the rollup and query benchmarks.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { Pool } from '../src/db/pool.js';
import { dayStartMs, localDay } from '../src/time.js';

export interface GenOptions {
  day: string;
  timezone: string;
  sessions: number;
  agents: number;
  groups: number;
  tenant?: string;
}

/** An event as the contract has it, plus what the events table stores beside the body. */
export interface GenEvent {
  tenant: string;
  id: string;
  type: string;
  timeMs: number;
  day: string;
  sessionId: string | null;
  body: Record<string, unknown>;
}

/** Deterministic [0, 1) from an integer: the same day always gives the same events. */
function unit(i: number, salt: number): number {
  let x = (i * 2654435761 + salt * 40503) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 2246822507) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 3266489909) >>> 0;
  x ^= x >>> 16;
  return (x >>> 0) / 4294967296;
}

/** Calls `emit` with the day's events, agents first, then session by session. */
export function generateDay(o: GenOptions, emit: (e: GenEvent) => void): void {
  const tenant = o.tenant ?? 'default';
  const start = dayStartMs(o.day, o.timezone);
  const day = o.day;
  let seq = 0;
  const ev = (type: string, timeMs: number, sessionId: string | null, fields: Record<string, unknown>) => {
    const id = `${day}-${seq++}`;
    // The generator keeps every time inside the day, so `day` is the local day.
    emit({ tenant, id, type, timeMs, day, sessionId, body: { id, type, time: timeMs, ...fields } });
  };
  const perGroup = Math.max(1, Math.floor(o.agents / o.groups));
  for (let g = 0; g < o.groups; g++) ev('group.upsert', start + 1000, null, { groupId: `g${g}`, name: `技能组${g + 1}` });
  for (let a = 0; a < o.agents; a++) {
    const g = a % o.groups;
    ev('agent.upsert', start + 2000, null, { agentId: `a${a}`, name: `客服${a + 1}`, workNo: `${1000 + a}`, groups: [`g${g}`], maxSessions: 5 });
    ev('agent.status', start + 7 * 3600_000 + a * 10, null, { agentId: `a${a}`, status: 'online', seat: `S${a}` });
    ev('agent.status', start + 12 * 3600_000 + a * 10, null, { agentId: `a${a}`, status: 'meal' });
    ev('agent.status', start + 13 * 3600_000 + a * 10, null, { agentId: `a${a}`, status: 'online' });
    ev('agent.status', start + 22 * 3600_000 + 30 * 60_000 + a * 10, null, { agentId: `a${a}`, status: 'offline', remark: '下班' });
  }
  // Arrivals between 08:00 and 22:00, so that every part ends within the day.
  const span = 14 * 3600_000;
  for (let i = 0; i < o.sessions; i++) {
    const sid = `s-${day}-${i}`;
    const g = i % o.groups;
    const agent = `a${g + o.groups * Math.floor(unit(i, 1) * perGroup)}`;
    const t0 = start + 8 * 3600_000 + Math.floor((i / o.sessions) * span);
    const r = unit(i, 2);
    const user = r < 0.1 ? {} : { userId: `u${Math.floor(unit(i, 3) * o.sessions * 0.7)}` };
    ev('session.start', t0, sid, { sessionId: sid, ...user, region: '上海' });
    ev('session.queue', t0 + 1000, sid, { sessionId: sid, groupId: `g${g}`, via: 'direct' });
    const wait = Math.floor(unit(i, 4) * 60_000);
    if (r < 0.08) {
      ev('session.abandon', t0 + 1000 + wait, sid, { sessionId: sid, groupId: `g${g}` });
      continue;
    }
    if (r < 0.11) {
      ev('session.reject', t0 + 1000 + wait, sid, { sessionId: sid, groupId: `g${g}`, reason: 'busy' });
      continue;
    }
    const ta = t0 + 1000 + wait;
    ev('session.answer', ta, sid, { sessionId: sid, groupId: `g${g}`, agentId: agent });
    ev('session.message', ta + 5_000, sid, { sessionId: sid, from: 'user', text: '你好，我想咨询订单' });
    ev('session.message', ta + 15_000, sid, { sessionId: sid, from: 'agent', agentId: agent, text: '您好，请提供订单号' });
    ev('session.message', ta + 40_000, sid, { sessionId: sid, from: 'user', text: '12345678' });
    ev('session.message', ta + 55_000, sid, { sessionId: sid, from: 'agent', agentId: agent, text: '已为您查询，请稍候' });
    const end = ta + 90_000 + Math.floor(unit(i, 5) * 500_000);
    if (unit(i, 6) < 0.3) ev('session.invite', end - 5_000, sid, { sessionId: sid, agentId: agent });
    ev('session.end', end, sid, { sessionId: sid, by: 'user' });
    if (unit(i, 7) < 0.25) ev('session.rate', end + 5_000, sid, { sessionId: sid, score: 1 + Math.floor(unit(i, 8) * 5) });
    if (unit(i, 9) < 0.6)
      ev('session.summary', end + 10_000, sid, { sessionId: sid, agentId: agent, channel: 'online', state: '已解决', category: ['售前', '商品', '价格'] });
  }
  if (localDay(start + 23 * 3600_000, o.timezone) !== day) throw new Error(`day ${day} is shorter than 23 h in ${o.timezone}`);
}

/** The `events` table row of an event, as a CSV line for COPY. */
export function copyLine(e: GenEvent): string {
  const body = JSON.stringify(e.body).replace(/"/g, '""');
  const sid = e.sessionId === null ? '' : e.sessionId;
  return `${e.tenant},${e.id},${e.type},${new Date(e.timeMs).toISOString()},${e.day},${sid},"${body}"\n`;
}

export const COPY_EVENTS_SQL = 'COPY events (tenant, id, type, time, day, session_id, body) FROM STDIN WITH (FORMAT csv)';

/**
 * Loads events straight into the events table with one COPY in one
 * transaction (the partitions must exist): how a benchmark gets millions of
 * events in place fast, and the ingest baseline.
 */
export async function copyEvents(pool: Pool, events: Iterable<GenEvent>): Promise<number> {
  const client = await pool.connect();
  let n = 0;
  try {
    await client.query('BEGIN');
    const source = Readable.from(
      (function* () {
        let chunk = '';
        for (const e of events) {
          n++;
          chunk += copyLine(e);
          if (chunk.length > 1 << 20) {
            yield chunk;
            chunk = '';
          }
        }
        if (chunk) yield chunk;
      })(),
    );
    await pipeline(source, client.query(copyFrom(COPY_EVENTS_SQL)));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  return n;
}
