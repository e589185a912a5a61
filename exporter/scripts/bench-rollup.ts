// Rollup timing on a synthetic day: `npx tsx scripts/bench-rollup.ts [sessions] [--load-only]`.
// Uses DATABASE_URL when set (the database is written into!), else an embedded
// Postgres in a temporary directory. Not part of the tests. A database that
// already holds the day's N sessions (an earlier run on DATABASE_URL) is not
// loaded again, so the rollup can be timed repeatedly.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { createPool } from '../src/db/pool.js';
import { migrate } from '../src/db/migrate.js';
import { EventStore } from '../src/ingest/store.js';
import { validateEvent, type StoredEvent } from '../src/ingest/validate.js';
import { createLogger } from '../src/log.js';
import { rollupDay } from '../src/reports/rollup.js';
import { dayStartMs } from '../src/time.js';

const N = Number(process.argv[2] ?? 50_000);
const TZ = 'Asia/Shanghai';
const DAY = '2026-11-10';
let url = process.env.DATABASE_URL;
let stop = async () => {};
if (!url) {
  const dir = mkdtempSync(path.join(tmpdir(), 'cs-bench-pg-'));
  const pg = await startEmbeddedPostgres(dir, 55_000 + Math.floor(Math.random() * 5000), createLogger('warn'));
  url = pg.url;
  stop = async () => {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
const pool = createPool(url, 4);
await migrate(pool);
const store = new EventStore(pool);
const start = dayStartMs(DAY, TZ);
let id = 0;
let batch: StoredEvent[] = [];
const push = async (e: Record<string, unknown>) => {
  const v = validateEvent({ id: `b${++id}`, ...e }, TZ, Date.parse('2030-01-01'));
  if (!v.ok) throw new Error(v.error);
  batch.push(v.event);
  if (batch.length >= 20_000) {
    await store.insert(batch);
    batch = [];
  }
};
// Events the loop below stores: start, queue, then abandon, or answer, 4 messages, (rate,) end.
let expected = 0;
for (let i = 0; i < N; i++) expected += i % 10 === 0 ? 3 : i % 2 === 0 ? 9 : 8;
const loaded = await pool.query<{ events: string }>(`SELECT sum(events)::bigint AS events FROM event_days WHERE tenant = 'default' AND day = $1`, [DAY]);
const reuse = Number(loaded.rows[0]?.events ?? 0) === expected;
if (!reuse && loaded.rows.length) throw new Error(`the database holds another day ${DAY}: use an empty one`);
const t0 = Date.now();
for (let i = 0; i < (reuse ? 0 : N); i++) {
  const s = `s${i}`;
  const t = start + Math.floor((i / N) * 86_000_000);
  const g = `g${i % 8}`;
  const a = `a${i % 200}`;
  await push({ type: 'session.start', time: t, sessionId: s, userId: `u${i % (N / 2)}` });
  await push({ type: 'session.queue', time: t + 1000, sessionId: s, groupId: g, via: 'direct' });
  if (i % 10 === 0) {
    await push({ type: 'session.abandon', time: t + 30_000, sessionId: s, groupId: g });
    continue;
  }
  await push({ type: 'session.answer', time: t + 15_000, sessionId: s, groupId: g, agentId: a });
  await push({ type: 'session.message', time: t + 20_000, sessionId: s, from: 'user', text: '你好' });
  await push({ type: 'session.message', time: t + 30_000, sessionId: s, from: 'agent', agentId: a, text: '您好' });
  await push({ type: 'session.message', time: t + 60_000, sessionId: s, from: 'user', text: '问题' });
  await push({ type: 'session.message', time: t + 80_000, sessionId: s, from: 'agent', agentId: a, text: '答复' });
  if (i % 2 === 0) await push({ type: 'session.rate', time: t + 200_000, sessionId: s, score: 1 + (i % 5) });
  await push({ type: 'session.end', time: t + 200_000, sessionId: s, by: 'user' });
}
if (batch.length) await store.insert(batch);
if (reuse) id = expected;
else console.log(`stored ${id} events for ${N} sessions in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
await pool.query('ANALYZE events');
if (process.argv.includes('--load-only')) {
  await pool.end();
  process.exit(0);
}
// On a shared machine the wall time depends on the neighbours; the CPU seconds
// of this process and of this server's Postgres processes (Linux /proc) say what the rollup costs.
const backend = (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
const stat = (pid: string) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
};
const postmaster = stat(String(backend))[1];
const postgresCpu = () => {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const f = stat(pid);
      if (pid === postmaster || f[1] === postmaster) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / 100;
};
const pg0 = postgresCpu();
const cpu0 = process.cpuUsage();
const r = await rollupDay(pool, 'default', DAY, TZ, Date.parse('2030-01-01'));
const cpu = process.cpuUsage(cpu0);
console.log(`rollup of ${r.sessions} sessions (${id} events) in ${(r.durationMs / 1000).toFixed(1)} s`, r.phases);
console.log(
  `cpu: node ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, postgres ${(postgresCpu() - pg0).toFixed(1)} s (ended backends not counted)`,
);
// The rollup is what makes this process peak (a load holds one batch of 20,000 events at a time).
console.log(`peak RSS of node: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
await pool.end();
await stop();
