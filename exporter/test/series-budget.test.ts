/**
 * The /metrics series budget (docs/scale-out.md, "Prometheus at scale"): how many series a tenant
 * costs, per agent and per skill group, written down family by family and asserted on a real
 * exporter's scrape of two centers of different sizes. A change that adds a label to a family, or
 * a family, changes a figure here and fails until the budget (and the docs) are changed with it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AGENT_STATUSES } from '../src/ingest/schema.js';
import { WAIT_BUCKETS } from '../src/live/derive.js';
import type { Exporter } from '../src/exporter.js';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { post, startLiveExporter, type Clock } from './helpers/live.js';
import { createPool } from '../src/db/pool.js';
import { rollupDay } from '../src/reports/rollup.js';
import { localDay } from '../src/time.js';

const S = 1000;
const STATUSES = AGENT_STATUSES.length; // 13 in events.md
const BUCKETS = WAIT_BUCKETS.length + 1; // 12 bounds and +Inf

/**
 * Series of each live family as [per agent, per group, per tenant, once]. Per group, the counters
 * are exposed at 0 for every label value events.md allows (so a first increase is seen):
 * via direct/transfer/overflow (3), reject reasons busy/off_hours/no_agent/other (4), transfer
 * reasons manual/timeout (2), scores 1–5 (5). Per agent: its current status only (one series, not
 * one per status), its active sessions and since when.
 */
const BUDGET: Record<string, [number, number, number, number]> = {
  cs_queue_length: [0, 1, 0, 0],
  cs_queue_longest_wait_seconds: [0, 1, 0, 0],
  cs_conversations_active: [0, 1, 0, 0],
  cs_agents: [0, STATUSES, 0, 0],
  cs_sessions_inflow_total: [0, 3, 0, 0],
  cs_sessions_answered_total: [0, 1, 0, 0],
  cs_sessions_abandoned_total: [0, 1, 0, 0],
  cs_sessions_rejected_total: [0, 4, 0, 0],
  cs_transfers_total: [0, 2, 0, 0],
  // Buckets, _sum and _count.
  cs_queue_wait_seconds: [0, BUCKETS + 2, 0, 0],
  cs_ratings_total: [0, 5, 0, 0],
  cs_parts_ended_total: [0, 1, 0, 0],
  cs_part_duration_seconds_total: [0, 1, 0, 0],
  // 需要人数 and 预计服务水平: one each per group (both absent while a group has requests and no handling
  // time yet; every group here has ended parts).
  cs_agents_required: [0, 1, 0, 0],
  cs_service_level_expected: [0, 1, 0, 0],
  cs_agent_status: [1, 0, 0, 0],
  cs_agent_active_sessions: [1, 0, 0, 0],
  cs_agent_status_since_timestamp_seconds: [1, 0, 0, 0],
  cs_exporter_last_event_timestamp_seconds: [0, 0, 1, 0],
  cs_exporter_ingest_lag_seconds: [0, 0, 1, 0],
  cs_exporter_events_ingested_total: [0, 0, 0, 1],
  cs_exporter_events_rejected_total: [0, 0, 0, 1],
  cs_exporter_scrape_duration_seconds: [0, 0, 0, 1],
  // 流入异常 (issue 17, forecast): the current slot's forecast, lower and upper bound of each
  // group with history (every group here has a week of it, see `lastWeek`).
  cs_inflow_forecast: [0, 3, 0, 0],
};
// The sums the docs quote: 3 series per agent, 54 per group (3 gauges + 13 statuses + 18 counters
// + 15 of the histogram + 需要人数 and 预计服务水平 + 3 of the forecast band), 2 per tenant.
const PER_AGENT = Object.values(BUDGET).reduce((s, b) => s + b[0], 0);
const PER_GROUP = Object.values(BUDGET).reduce((s, b) => s + b[1], 0);
const PER_TENANT = Object.values(BUDGET).reduce((s, b) => s + b[2], 0);
// The exporter's own figures of a tenant's rollups (self-metrics.ts): success/failure counts,
// last duration, last success, final-through. At most; only once a rollup ran.
const ROLLUP_PER_TENANT = 5;
// process_*, nodejs_* and the exporter's own cs_exporter_* without a tenant: the same for any center
// (cs_exporter_lease_held among them: one per lease the process takes part in, rollup-scheduler and
// simulator, at most 2; per scraped replica, as all of these).
const OWN_SERIES_MAX = 150;

interface Center {
  tenant: string;
  agents: number;
  groups: number;
}

/** Agents (each in one group, some in two) with a status each, the groups' names, and sessions in every state. */
function centerEvents(c: Center, now: number, sessions: number, salt: string): [number, Record<string, unknown>][] {
  const ev: [number, Record<string, unknown>][] = [];
  const g = (i: number) => `${c.tenant}-g${i % c.groups}`;
  const a = (i: number) => `${c.tenant}-a${i % c.agents}`;
  for (let i = 0; i < c.groups; i++) ev.push([now - 900 * S, { tenant: c.tenant, type: 'group.upsert', groupId: g(i), name: `技能组${i}` }]);
  const statuses = ['online', 'break', 'busy', 'meeting', 'offline'];
  for (let i = 0; i < c.agents; i++) {
    // A member of two groups counts in both groups' cs_agents, and is still one agent's series.
    const groups = i % 7 === 0 ? [g(i), g(i + 1)] : [g(i)];
    ev.push([now - 800 * S, { tenant: c.tenant, type: 'agent.upsert', agentId: a(i), name: `客服${i}`, groups }]);
    ev.push([now - 700 * S, { tenant: c.tenant, type: 'agent.status', agentId: a(i), status: statuses[i % statuses.length] }]);
  }
  for (let i = 0; i < sessions; i++) {
    const sid = `${c.tenant}-${salt}-s${i}`;
    const t0 = now - 600 * S + i * 100;
    const base = { tenant: c.tenant, sessionId: sid };
    ev.push([t0, { ...base, type: 'session.queue', groupId: g(i), via: i % 2 ? 'direct' : 'overflow' }]);
    switch (i % 5) {
      case 0: // still waiting
        break;
      case 1:
        ev.push([t0 + 30 * S, { ...base, type: 'session.abandon', groupId: g(i) }]);
        break;
      case 2: // in a conversation now
        ev.push([t0 + 8 * S, { ...base, type: 'session.answer', groupId: g(i), agentId: a(i) }]);
        break;
      case 3:
        ev.push([t0 + 25 * S, { ...base, type: 'session.answer', groupId: g(i), agentId: a(i) }]);
        ev.push([t0 + 60 * S, { ...base, type: 'session.transfer', agentId: a(i), reason: 'manual' }]);
        ev.push([t0 + 90 * S, { ...base, type: 'session.end', by: 'user' }]);
        ev.push([t0 + 95 * S, { ...base, type: 'session.rate', score: 1 + (i % 5) }]);
        break;
      case 4:
        ev.push([t0 + 1 * S, { ...base, type: 'session.reject', groupId: g(i), reason: 'busy' }]);
        break;
    }
  }
  return ev;
}

interface Count {
  families: Map<string, number>;
  byAgent: number;
  byGroup: number;
  tenantOnly: Map<string, number>;
  own: number;
  total: number;
}

/** /metrics series by family (a histogram's _bucket/_sum/_count as its family) and by what they are per. */
async function countSeries(url: string): Promise<Count> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const families = new Map<string, number>();
  const tenantOnly = new Map<string, number>();
  let byAgent = 0;
  let byGroup = 0;
  let own = 0;
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    assert.ok(m, `unparsable exposition line: ${line}`);
    total++;
    const name = m[1].replace(/_(bucket|sum|count)$/, (x) => (m[1].startsWith('cs_queue_wait_seconds') ? '' : x));
    families.set(name, (families.get(name) ?? 0) + 1);
    const labels = new Set([...(m[2] ?? '').matchAll(/(\w+)="/g)].map((x) => x[1]));
    if (labels.has('agent')) byAgent++;
    else if (labels.has('group')) byGroup++;
    else if (labels.has('tenant')) tenantOnly.set(name, (tenantOnly.get(name) ?? 0) + 1);
    else if (!(name in BUDGET)) own++;
  }
  return { families, byAgent, byGroup, tenantOnly, own, total };
}

/**
 * A session per group in the current slot a week ago, rolled up: the history the forecast band of
 * /metrics (cs_inflow_forecast) needs, so that every group has its band.
 */
function lastWeek(c: Center, now: number): [number, Record<string, unknown>][] {
  const t0 = now - 7 * 86_400 * S;
  const ev: [number, Record<string, unknown>][] = [];
  for (let i = 0; i < c.groups; i++) {
    const base = { tenant: c.tenant, sessionId: `${c.tenant}-lastweek-${i}` };
    ev.push([t0, { ...base, type: 'session.queue', groupId: `${c.tenant}-g${i}`, via: 'direct' }]);
    ev.push([t0 + 1, { ...base, type: 'session.abandon', groupId: `${c.tenant}-g${i}` }]);
  }
  return ev;
}

async function rollUpLastWeek(dbUrl: string, c: Center, now: number): Promise<void> {
  const pool = createPool(dbUrl, 2);
  try {
    await rollupDay(pool, c.tenant, localDay(now - 7 * 86_400 * S, 'Asia/Shanghai'), 'Asia/Shanghai', now);
  } finally {
    await pool.end();
  }
}

function expected(centers: Center[]): Map<string, number> {
  const agents = centers.reduce((s, c) => s + c.agents, 0);
  const groups = centers.reduce((s, c) => s + c.groups, 0);
  return new Map(Object.entries(BUDGET).map(([f, [pa, pg, pt, c]]) => [f, pa * agents + pg * groups + pt * centers.length + c]));
}

describe('/metrics series budget', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  const NOW = Date.now();
  const clock: Clock = { ms: NOW };
  const small: Center = { tenant: 'default', agents: 40, groups: 4 };
  const bpo: Center = { tenant: 'bpo2', agents: 200, groups: 12 };

  before(async () => {
    db = await freshDatabase();
    exporter = await startLiveExporter(db.url, clock);
  });
  after(async () => {
    await exporter?.close();
    await db?.drop();
  });

  it('When one center of 40 agents in 4 groups is live, then each family has a·agents + b·groups + c·tenants series, as budgeted', async () => {
    await post(exporter.url, [...lastWeek(small, NOW), ...centerEvents(small, NOW, 100, 'x')]);
    await rollUpLastWeek(db.url, small, NOW);
    const n = await countSeries(exporter.url);
    const want = expected([small]);
    for (const [f, v] of want) assert.equal(n.families.get(f) ?? 0, v, `${f}: ${n.families.get(f) ?? 0} series, budget ${v}`);
    // By hand: 3 × 40 = 120 agent series; 54 × 4 = 216 group series; 2 for the tenant.
    assert.equal(PER_AGENT, 3);
    assert.equal(PER_GROUP, 54);
    assert.equal(PER_TENANT, 2);
    assert.equal(n.byAgent, 120);
    assert.equal(n.byGroup, 216);
    assert.ok(n.own <= OWN_SERIES_MAX, `${n.own} series of the exporter itself`);
  });

  it('When a second tenant of 200 agents in 12 groups joins and sessions keep coming, then the series grow by the budget and by nothing else', async () => {
    const before = await countSeries(exporter.url);
    // 500 more sessions of the first center: sessions are counted in series, never labels of them.
    await post(exporter.url, centerEvents(small, NOW, 500, 'y'));
    const afterSessions = await countSeries(exporter.url);
    assert.equal(afterSessions.byAgent + afterSessions.byGroup, before.byAgent + before.byGroup, 'sessions added series');

    await post(exporter.url, [...lastWeek(bpo, NOW), ...centerEvents(bpo, NOW, 300, 'z')]);
    await rollUpLastWeek(db.url, bpo, NOW);
    const n = await countSeries(exporter.url);
    const want = expected([small, bpo]);
    for (const [f, v] of want) assert.equal(n.families.get(f) ?? 0, v, `${f}: ${n.families.get(f) ?? 0} series, budget ${v}`);
    // By hand: agents 3 × (40 + 200) = 720; groups 54 × (4 + 12) = 864.
    assert.equal(n.byAgent, 720);
    assert.equal(n.byGroup, 864);
    // Per tenant, without agent or group: the 2 live ones, and the rollup figures once rollups ran.
    for (const [f, v] of n.tenantOnly) {
      if (f in BUDGET) assert.equal(v, BUDGET[f][2] * 2, f);
      else assert.ok(f.startsWith('cs_exporter_rollup'), `${f}: a per-tenant family outside the budget`);
    }
    const rollupSeries = [...n.tenantOnly].filter(([f]) => !(f in BUDGET)).reduce((s, [, v]) => s + v, 0);
    assert.ok(rollupSeries <= ROLLUP_PER_TENANT * 2, `${rollupSeries} rollup series for 2 tenants`);
    // The exporter's own series do not depend on the centers' size.
    assert.ok(n.own <= OWN_SERIES_MAX, `${n.own} series of the exporter itself`);
    assert.ok(Math.abs(n.own - before.own) <= 20, `own series went from ${before.own} to ${n.own}`);
    // The whole scrape: 3·agents + 54·groups + 2·tenants + 3, plus the exporter's own and the rollups'.
    assert.equal(n.total, 3 * 240 + 54 * 16 + 2 * 2 + 3 + n.own + rollupSeries);
  });
});
