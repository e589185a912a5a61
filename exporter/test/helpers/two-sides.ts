/**
 * One real exporter (ingest, live state, rollup) with its clock at the last
 * millisecond of a past day, and the figures a manager compares between 监控
 * (live_groups, live_overview) and 报表 (group_daily, overview, the rollup's
 * leg facts) for that day.
 */
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.js';
import { startExporter, type Exporter } from '../../src/exporter.js';
import { liveComponent } from '../../src/live/component.js';
import type { LiveState } from '../../src/live/state.js';
import { createLogger } from '../../src/log.js';
import { reportsComponent } from '../../src/reports/component.js';
import { addDays, dayStartMs } from '../../src/time.js';
import type { TestDatabase } from './db.js';
import { postEvents } from './events.js';
import { queryRows } from './reports.js';

export const TZ = 'Asia/Shanghai';

export interface TwoSides {
  exporter: Exporter;
  live: LiveState;
  day: string;
  /** The day's first and last millisecond. */
  fromMs: number;
  lastMs: number;
}

export async function startTwoSides(db: TestDatabase, day: string): Promise<TwoSides> {
  process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';
  const fromMs = dayStartMs(day, TZ);
  const lastMs = dayStartMs(addDays(day, 1), TZ) - 1;
  const config = { ...loadConfig({ CS_TIMEZONE: TZ, CS_ROLLUP_INTERVAL_SECONDS: '0' }), port: 0, databaseUrl: db.url, simulate: false };
  let live: LiveState | undefined;
  const exporter = await startExporter(config, createLogger('silent'), [
    (c) => {
      const lc = liveComponent(c, { now: () => lastMs });
      live = lc.live;
      return lc;
    },
    reportsComponent,
  ]);
  return { exporter, live: live!, day, fromMs, lastMs };
}

/** Posts events (bodies with id, type, time) in batches; every one must be accepted or a duplicate. */
export async function deliver(s: TwoSides, events: Record<string, unknown>[], batch = 500): Promise<void> {
  for (let i = 0; i < events.length; i += batch) {
    const r = await postEvents(s.exporter.url, events.slice(i, i + batch));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.rejected, []);
  }
  // Late events for compacted sessions reload them from Postgres asynchronously.
  await s.live.settled();
}

/** Per group, the figures both sides have (zeros left out). */
export interface Figures {
  inflow: Record<string, number>;
  answered: Record<string, number>;
  abandoned: Record<string, number>;
  transfersOut: Record<string, number>;
  /** `${group}/${score}` → ratings. */
  ratings: Record<string, number>;
  tenantAnswered: number;
  satisfaction: { avg: number | null; relative: number | null };
}

type Row = Record<string, unknown>;
const num = (v: unknown) => (typeof v === 'number' ? v : 0);
const nonZero = (o: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(o)
      .filter(([, v]) => v !== 0)
      .sort(),
  );

/** What 监控 shows at the day's last millisecond: live_groups, live_overview and /metrics. */
export async function liveFigures(
  s: TwoSides,
  tenant = 'default',
): Promise<Figures & { groups: Row[]; metrics: string; transfersTimeout: Record<string, number> }> {
  const url = s.exporter.url;
  const groups = (await queryRows(url, { report: 'live_groups', tenant })).rows;
  const overview = (await queryRows(url, { report: 'live_overview', tenant })).rows[0] ?? {};
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const by = (k: string) => nonZero(Object.fromEntries(groups.map((r) => [r.group_id as string, num(r[k])])));
  const ratings: Record<string, number> = {};
  const transfersOut: Record<string, number> = {};
  const transfersTimeout: Record<string, number> = {};
  for (const line of metrics.split('\n')) {
    if (!line.includes(`tenant="${tenant}"`)) continue;
    const m = /^cs_ratings_total\{(.*)\} (\S+)$/.exec(line);
    if (m) {
      const g = /group="([^"]*)"/.exec(m[1])![1];
      const score = /score="([^"]*)"/.exec(m[1])![1];
      if (Number(m[2]) !== 0) ratings[`${g}/${score}`] = Number(m[2]);
    }
    const t = /^cs_transfers_total\{(.*)\} (\S+)$/.exec(line);
    if (t && Number(t[2]) !== 0) {
      const g = /group="([^"]*)"/.exec(t[1])![1];
      const target = /reason="manual"/.test(t[1]) ? transfersOut : transfersTimeout;
      target[g] = (target[g] ?? 0) + Number(t[2]);
    }
  }
  return {
    inflow: by('inflow'),
    answered: by('answered'),
    abandoned: by('abandoned'),
    transfersOut: nonZero(transfersOut),
    transfersTimeout: nonZero(transfersTimeout),
    ratings: nonZero(ratings),
    tenantAnswered: num(overview.answered),
    satisfaction: {
      avg: (overview.avg_satisfaction as number | null) ?? null,
      relative: (overview.relative_satisfaction as number | null) ?? null,
    },
    groups,
    metrics,
  };
}

/** What 报表 shows for the day after its T+1 rollup: group_daily, overview, and the rollup's leg facts for abandons. */
export async function reportFigures(
  s: TwoSides,
  db: TestDatabase,
  tenant = 'default',
): Promise<Figures & { answeredLegs: Record<string, number> }> {
  const url = s.exporter.url;
  const res = await fetch(`${url}/api/v1/rollups`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ date: s.day, tenant }),
  });
  assert.equal(res.status, 200, await res.text());
  const daily = (await queryRows(url, { report: 'group_daily', tenant, from: s.day, to: s.day })).rows;
  const overview = (await queryRows(url, { report: 'overview', tenant, from: s.day, to: s.day })).rows;
  const by = (k: string) => nonZero(Object.fromEntries(daily.map((r) => [r.group_id as string, num(r[k])])));
  // group_daily has no 排队放弃量: the abandoned legs are read from the facts it is rolled up from.
  const legs = await db.pool.query<{ group_id: string; abandoned: number; answered: number }>(
    `SELECT group_id, count(*) FILTER (WHERE outcome = 'abandoned')::int AS abandoned,
            count(*) FILTER (WHERE answered_at IS NOT NULL)::int AS answered
     FROM report_legs WHERE tenant = $1 AND day = $2 GROUP BY group_id`,
    [tenant, s.day],
  );
  const ratings: Record<string, number> = {};
  const levels: [string, number][] = [
    ['very_satisfied', 5],
    ['satisfied', 4],
    ['neutral', 3],
    ['dissatisfied', 2],
    ['very_dissatisfied', 1],
  ];
  let rated = 0;
  let good = 0;
  let fair = 0;
  for (const r of daily) {
    for (const [k, score] of levels) {
      const n = num(r[k]);
      if (n) ratings[`${r.group_id as string}/${score}`] = n;
      rated += n;
      if (score >= 4) good += n;
      if (score === 3) fair += n;
    }
  }
  return {
    inflow: by('inflow'),
    answered: by('answered'),
    abandoned: nonZero(Object.fromEntries(legs.rows.map((r) => [r.group_id, r.abandoned]))),
    answeredLegs: nonZero(Object.fromEntries(legs.rows.map((r) => [r.group_id, r.answered]))),
    transfersOut: by('transfer_out'),
    ratings: nonZero(ratings),
    tenantAnswered: overview.reduce((n, r) => n + num(r.service_total), 0),
    satisfaction: { avg: rated ? (good + fair) / rated : null, relative: rated ? good / rated : null },
  };
}
