/**
 * Rollup and query. Events are loaded with COPY (the ingest path is measured
 * elsewhere), then the exporter finalises days through its API, as the
 * scheduler or an operator would, and answers report queries.
 */
import { EventStore } from '../src/ingest/store.js';
import { addDays } from '../src/time.js';
import { copyEvents, generateDay, type GenEvent } from './gen.js';
import { figure, percentile, round, spawnExporter, timed, type BenchServer, type Figure } from './lib.js';

const TZ = 'Asia/Shanghai';

async function loadDays(pool: import('../src/db/pool.js').Pool, days: string[], sessions: number, agents: number, groups: number): Promise<number> {
  await new EventStore(pool).ensurePartitions(days);
  let total = 0;
  for (const day of days) {
    const events: GenEvent[] = [];
    generateDay({ day, timezone: TZ, sessions, agents, groups }, (e) => events.push(e));
    total += await copyEvents(pool, events);
    // What ingest would have recorded: the scheduler and the rollup read it.
    await pool.query(
      `INSERT INTO event_days (tenant, day, events, last_received_at) VALUES ('default', $1, $2, now())
       ON CONFLICT (tenant, day, lane) DO UPDATE SET events = EXCLUDED.events, last_received_at = now()`,
      [day, events.length],
    );
  }
  // What ingest keeps beside the events: the master data reports take names from.
  await pool.query(`INSERT INTO master_agents (tenant, agent_id, name, work_no, member_of, time, seq)
    SELECT DISTINCT ON (tenant, body->>'agentId') tenant, body->>'agentId', body->>'name', body->>'workNo', coalesce(body->'groups', '[]'::jsonb), time, seq
    FROM events WHERE type = 'agent.upsert' ORDER BY tenant, body->>'agentId', time DESC, seq DESC
    ON CONFLICT (tenant, agent_id) DO NOTHING`);
  await pool.query(`INSERT INTO master_groups (tenant, group_id, name, time, seq)
    SELECT DISTINCT ON (tenant, body->>'groupId') tenant, body->>'groupId', body->>'name', time, seq
    FROM events WHERE type = 'group.upsert' ORDER BY tenant, body->>'groupId', time DESC, seq DESC
    ON CONFLICT (tenant, group_id) DO NOTHING`);
  await pool.query('ANALYZE events');
  return total;
}

async function api(url: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

// A long interval keeps the scheduler from racing the measured rollups.
const EXPORTER_ENV = { CS_TIMEZONE: TZ, CS_ROLLUP_INTERVAL_SECONDS: '86400' };

export async function benchRollup(server: BenchServer, scale: number, yesterday: string): Promise<Figure[]> {
  const sessions = Math.round(1_000_000 * scale);
  const day = addDays(yesterday, -1);
  const { url: databaseUrl, pool } = await server.database('bench_rollup');
  const events = await loadDays(pool, [day], sessions, 2000, 20);
  // The floor: reading the day's partition once.
  const scanMs = await timed(() => pool.query(`SELECT count(*), sum(length(body::text)) FROM events WHERE day = $1`, [day]));
  const exporter = await spawnExporter({ DATABASE_URL: databaseUrl, ...EXPORTER_ENV });
  try {
    const ms = await timed(() => api(exporter.url, '/api/v1/rollups', { date: day, tenant: 'default' }));
    const again = await timed(() => api(exporter.url, '/api/v1/rollups', { date: day, tenant: 'default' }));
    const what = `${sessions.toLocaleString('en-US')} sessions, ${events.toLocaleString('en-US')} events, 2000 agents, 20 groups`;
    return [
      figure('rollup', 'finalise a day', round(ms / 1000, 1), 's', ['<=', 60 * scale], what),
      figure('rollup', 'recompute the same day', round(again / 1000, 1), 's'),
      figure('rollup', 'baseline: scan the day once', round(scanMs / 1000, 2), 's', undefined, 'SELECT over the partition'),
      figure('rollup', 'rollup / scan', round(ms / scanMs, 1), 'ratio'),
    ];
  } finally {
    await exporter.stop();
  }
}

export async function benchQuery(server: BenchServer, scale: number, yesterday: string): Promise<Figure[]> {
  const days = Array.from({ length: 31 }, (_, i) => addDays(yesterday, -31 + i));
  const sessions = Math.round(20_000 * scale);
  const agents = 500;
  const groups = 20;
  const { url: databaseUrl, pool } = await server.database('bench_query');
  await loadDays(pool, days, sessions, agents, groups);
  const exporter = await spawnExporter({ DATABASE_URL: databaseUrl, ...EXPORTER_ENV });
  try {
    for (const day of days) await api(exporter.url, '/api/v1/rollups', { date: day, tenant: 'default' });
    // A month of past days in production was written weeks ago and is long settled: without this,
    // autovacuum and the checkpoint of the month just loaded run during the timed requests (p95 800+ ms
    // beside a p50 under 300 in some runs, on an otherwise idle machine).
    await pool.query('VACUUM (ANALYZE)');
    await pool.query('CHECKPOINT');
    const range = { from: days[0], to: days[days.length - 1], tenant: 'default' };
    const cases: [string, object, number][] = [
      ['group_daily, one group', { report: 'group_daily', ...range, groups: ['g3'] }, 20],
      ['group_daily, all groups', { report: 'group_daily', ...range }, 300],
      ['agent_daily, one agent', { report: 'agent_daily', ...range, agents: ['a7'] }, 20],
      ['agent_daily, all agents', { report: 'agent_daily', ...range }, 300],
    ];
    const out: Figure[] = [];
    for (const [name, body, target] of cases) {
      const times: number[] = [];
      let rows = 0;
      for (let i = 0; i < 55; i++) {
        let answer: { frames: { fields: { values: unknown[] }[] }[] } | undefined;
        const ms = await timed(async () => (answer = (await api(exporter.url, '/api/v1/query', body)) as typeof answer));
        if (i >= 5) times.push(ms); // the first few warm caches and plans
        rows = answer!.frames.reduce((n, f) => n + (f.fields[0]?.values.length ?? 0), 0);
      }
      if (rows === 0) throw new Error(`${name}: no rows`);
      times.sort((a, b) => a - b);
      out.push(figure('query', `${name} p50`, round(percentile(times, 50), 1), 'ms', undefined, `31 days, ${rows} rows`));
      out.push(figure('query', `${name} p95`, round(percentile(times, 95), 1), 'ms', ['<=', target]));
    }
    return out;
  } finally {
    await exporter.stop();
  }
}
