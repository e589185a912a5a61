/** `cs-exporter simulate`: the simulator as a stand-alone producer. */
import { parseArgs } from 'node:util';
import { ConfigError } from '../config.js';
import { Poster, Simulation, writeNdjson, type SimulationSize } from './runner.js';
import { DEFAULT_NIGHT_AGENTS } from './vocab.js';

export const SIMULATE_HELP = `cs-exporter simulate — a simulated contact center as an event source

Usage:
  cs-exporter simulate [--target URL] [options]                 live: today so far, then real time
  cs-exporter simulate --backfill 7d [--live] [options]         7 past days and today up to now, as fast as
                                                                the exporter takes them (--live: then go on)
  cs-exporter simulate --out FILE [--days N] [options]          N past days (default 1) and today as NDJSON
                                                                (FILE "-" = stdout)
Options:
  --target URL     exporter base URL (default http://127.0.0.1:9470)
  --token T        ingest token (default CS_INGEST_TOKEN)
  --agents N       agents per tenant (default 40)
  --groups N       skill groups, 1–10 (default 6)
  --night-agents N agents of the 24-hour group 夜间热线, on top of --agents (default 4; 0: no such group)
  --tenants N      tenants: default, tenant2, ... (default 1)
  --traffic X      traffic level, 1 = staffed for it (default 1)
  --seed N         the same seed gives the same events (default 1)
  --timezone TZ    default CS_TIMEZONE or Asia/Shanghai`;

function num(v: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError(`--${name} must be a number from ${min} to ${max}, got "${v}"`);
  return n;
}

function daysArg(v: string): number {
  const m = /^(\d+)d?$/.exec(v);
  if (!m) throw new ConfigError(`--backfill takes a number of days like 7d, got "${v}"`);
  return Number(m[1]);
}

export async function simulateCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string' },
      token: { type: 'string' },
      agents: { type: 'string' },
      groups: { type: 'string' },
      'night-agents': { type: 'string' },
      tenants: { type: 'string' },
      traffic: { type: 'string' },
      seed: { type: 'string' },
      timezone: { type: 'string' },
      backfill: { type: 'string' },
      live: { type: 'boolean' },
      out: { type: 'string' },
      days: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(SIMULATE_HELP);
  const size: SimulationSize = {
    seed: num(values.seed, 'seed', 1, 0, 2 ** 31),
    tenants: num(values.tenants, 'tenants', 1, 1, 100),
    groups: num(values.groups, 'groups', 6, 1, 10),
    agents: num(values.agents, 'agents', 40, 1, 20000),
    traffic: num(values.traffic, 'traffic', 1, 0.01, 100),
    nightAgents: num(values['night-agents'], 'night-agents', DEFAULT_NIGHT_AGENTS, 0, 100),
    timezone: values.timezone ?? process.env.CS_TIMEZONE ?? 'Asia/Shanghai',
  };
  if (values.out) {
    const n = await writeNdjson(size, num(values.days, 'days', values.backfill ? daysArg(values.backfill) : 1, 0, 365), values.out);
    if (values.out !== '-') console.error(`wrote ${n} events to ${values.out}`);
    return;
  }
  const target = (values.target ?? 'http://127.0.0.1:9470').replace(/\/$/, '');
  const post = new Poster(target, values.token ?? process.env.CS_INGEST_TOKEN, 3);
  const days = values.backfill ? daysArg(values.backfill) : 0;
  const follow = !values.backfill || values.live === true;
  const sim = new Simulation({ size, days, follow, post });
  const stop = () => void sim.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const report = () =>
    console.error(
      `accepted ${post.accepted}, duplicates ${post.duplicates}, rejected ${post.rejected}${post.firstRejection ? ` (first: ${post.firstRejection})` : ''}`,
    );
  const progress = follow ? setInterval(report, 60_000) : undefined;
  try {
    await sim.done;
  } finally {
    clearInterval(progress);
  }
  if (days > 0)
    console.error(
      `backfilled ${sim.backfilled} events in ${(sim.backfillMs / 1000).toFixed(1)} s (${Math.round(sim.backfilled / (sim.backfillMs / 1000))} events/s)`,
    );
  report();
  if (post.rejected > 0) process.exitCode = 1;
}
