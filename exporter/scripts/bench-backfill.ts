// Measures the simulator's backfill into a real exporter: 7 past days × 200
// agents (plus today up to now), posted as fast as ingest takes them.
// Run: npx tsx scripts/bench-backfill.ts [--days 7] [--agents 200]
// Uses DATABASE_URL when set, otherwise an embedded Postgres in a temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { startExporter } from '../src/exporter.js';
import { createLogger } from '../src/log.js';
import { Poster, Simulation } from '../src/simulator/runner.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { createServer } from 'node:net';

const { values } = parseArgs({ options: { days: { type: 'string' }, agents: { type: 'string' } } });
const days = Number(values.days ?? 7);
const agents = Number(values.agents ?? 200);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

const log = createLogger('warn');
let databaseUrl = process.env.DATABASE_URL;
let stopPg = async () => {};
if (!databaseUrl) {
  const dir = mkdtempSync(path.join(tmpdir(), 'cs-bench-pg-'));
  const pg = await startEmbeddedPostgres(dir, await freePort(), log);
  databaseUrl = pg.url;
  stopPg = async () => {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
const exporter = await startExporter({ ...loadConfig({}), port: 0, databaseUrl, simulate: false }, log);
const post = new Poster(exporter.url, undefined, 3);
const sim = new Simulation({
  size: { seed: 1, tenants: 1, groups: 6, agents, traffic: 1, timezone: 'Asia/Shanghai' },
  days,
  follow: false,
  post,
});
await sim.done;
const seconds = sim.backfillMs / 1000;
console.log(
  JSON.stringify({
    date: new Date().toISOString(),
    cpus: cpus().length,
    days,
    agents,
    events: sim.backfilled,
    accepted: post.accepted,
    rejected: post.rejected,
    seconds: Number(seconds.toFixed(1)),
    eventsPerSecond: Math.round(sim.backfilled / seconds),
  }),
);
await exporter.close();
await stopPg();
