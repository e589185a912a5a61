/**
 * GET /metrics: the exposition text is written here from the live state at
 * scrape time, so a group or agent that is gone vanishes from it. The label
 * part of every series (`name{tenant="…",group="…"} `) is built once and
 * kept, so a scrape is mostly number formatting and concatenation; the
 * format is prom-client's (same content type, HELP/TYPE lines and layout).
 */
import { Registry } from 'prom-client';
import { AGENT_STATUSES } from '../ingest/schema.js';
import type { AppContext } from '../http/app.js';
import { WAIT_BUCKETS, key, unkey } from './derive.js';
import type { AgentRecord, LiveState, TenantLive } from './state.js';
import { staffingByGroup } from './staffing.js';
import { InflowBands } from '../staffing/inflow-band.js';

type MetricType = 'gauge' | 'counter' | 'histogram';

const FAMILIES = [
  ['cs_queue_length', 'gauge', 'Sessions now queued in the skill group (当前排队量).'],
  ['cs_queue_longest_wait_seconds', 'gauge', 'Longest current wait among sessions now queued in the group; 0 when none (最长等待时间).'],
  ['cs_conversations_active', 'gauge', 'Sessions now in a part with an agent of the group (对话中用户数).'],
  ['cs_agents', 'gauge', 'Members of the group by current status (在线/小休/离线人数).'],
  ['cs_sessions_inflow_total', 'counter', 'Legs entered into the group today, by how they entered (流入量). Resets at local midnight.'],
  ['cs_sessions_answered_total', 'counter', 'Legs of the group answered today (接通量). Resets at local midnight.'],
  ['cs_sessions_abandoned_total', 'counter', 'Queued legs of the group given up today (排队放弃量). Resets at local midnight.'],
  [
    'cs_sessions_rejected_total',
    'counter',
    'Requests for a human in the group that failed today (转人工失败量). Resets at local midnight.',
  ],
  ['cs_transfers_total', 'counter', 'Parts of the group ended by a transfer today (转接量). Resets at local midnight.'],
  ['cs_queue_wait_seconds', 'histogram', 'Queue wait of the legs answered today (answer − queue entry). Resets at local midnight.'],
  [
    'cs_ratings_total',
    'counter',
    "Today's ratings credited to the group of the session's last answered leg, by score. Resets at local midnight.",
  ],
  ['cs_parts_ended_total', 'counter', 'Parts (conversations with an agent) of the group that ended today. Resets at local midnight.'],
  ['cs_part_duration_seconds_total', 'counter', 'Total duration of the parts counted in cs_parts_ended_total.'],
  [
    'cs_agents_required',
    'gauge',
    'Agents the group needs now to meet its service-level target, Erlang C over the last 15 minutes of arrivals and the last hour of handling time (需要人数). Absent while no handling time is known.',
  ],
  [
    'cs_service_level_expected',
    'gauge',
    "Share of requests the group's agents now online will answer within the target wait, Erlang C, 0–1 (预计服务水平).",
  ],
  ['cs_agent_status', 'gauge', "1 for the agent's current status."],
  ['cs_agent_active_sessions', 'gauge', 'Sessions now in a part with the agent.'],
  ['cs_agent_status_since_timestamp_seconds', 'gauge', 'When the agent entered its current status (unix seconds).'],
  ['cs_exporter_events_ingested_total', 'counter', 'Events stored by this exporter process (duplicates not counted).'],
  ['cs_exporter_events_rejected_total', 'counter', 'Events or bodies this exporter process refused.'],
  ['cs_exporter_last_event_timestamp_seconds', 'gauge', 'Time of the latest event of the tenant (unix seconds).'],
  ['cs_exporter_ingest_lag_seconds', 'gauge', "Receive time − event time of the tenant's latest batch, at most."],
  ['cs_exporter_scrape_duration_seconds', 'gauge', 'Time taken to build this exposition.'],
] as const satisfies readonly (readonly [string, MetricType, string])[];

const STATUS_INDEX = new Map<string, number>(AGENT_STATUSES.map((s, i) => [s, i]));

type FamilyName = (typeof FAMILIES)[number][0];
const F = Object.fromEntries(FAMILIES.map(([name], i) => [name, i])) as Record<FamilyName, number>;

/** Counter kinds of derive.ts `contributions` that are exposed, by family (the histogram is apart). */
const COUNTER_FAMILY: Record<string, { family: number; labels: string[] }> = {
  inflow: { family: F.cs_sessions_inflow_total, labels: ['group', 'via'] },
  answered: { family: F.cs_sessions_answered_total, labels: ['group'] },
  abandoned: { family: F.cs_sessions_abandoned_total, labels: ['group'] },
  rejected: { family: F.cs_sessions_rejected_total, labels: ['group', 'reason'] },
  transfers: { family: F.cs_transfers_total, labels: ['group', 'reason'] },
  rating: { family: F.cs_ratings_total, labels: ['group', 'score'] },
  parts: { family: F.cs_parts_ended_total, labels: ['group'] },
  part_secs: { family: F.cs_part_duration_seconds_total, labels: ['group'] },
};

/**
 * The label values each per-group counter may take (events.md): every one is
 * exposed from the start of the day at 0 for every group the tenant has, so
 * the first busy signal or transfer is an increase Prometheus can see (a
 * series born at 1 has no increase in rate()/increase()).
 */
const KNOWN_GROUP_COUNTERS: string[][] = [
  ...['direct', 'transfer', 'overflow'].map((via) => ['inflow', via]),
  ['answered'],
  ['abandoned'],
  ...['busy', 'off_hours', 'no_agent', 'other'].map((reason) => ['rejected', reason]),
  ...['manual', 'timeout'].map((reason) => ['transfers', reason]),
  ...['1', '2', '3', '4', '5'].map((score) => ['rating', score]),
  ['parts'],
  ['part_secs'],
];

const HEADERS = FAMILIES.map(([name, type, help]) =>
  Buffer.from(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}`),
);
const BLANK = Buffer.from('\n\n');
const NEWLINE = Buffer.from('\n');

const escapeLabel = (v: string): string => (/[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : v);

/** `name{a="x",b="y"} `, ready for the value. */
function prefix(name: string, labels: [string, string][]): string {
  if (labels.length === 0) return `${name} `;
  return `${name}{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}} `;
}

/** A kept line is joined on every scrape: flattening the concatenation once makes that cheaper. */
function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}

/** Number formatting as prom-client writes it. */
function num(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf';
  return `${v}`;
}

/** A counter series. Counters never go down within a day (see `highest`). */
interface CounterSeries {
  family: number;
  prefix: string;
  highest: number;
}

interface HistSeries {
  group: string;
  /** Prefixes of the buckets (+Inf last), _sum and _count. */
  buckets: string[];
  sum: string;
  count: string;
  /** Highest cumulative counts so far today (buckets, then _sum, then _count). */
  highest: number[];
  /** This scrape's per-bucket counts and sum; `stamp` tells which scrape wrote them. */
  counts: number[];
  waitSum: number;
  hasWait: boolean;
  stamp: number;
}

interface GroupSeries {
  queueLength: string;
  longestWait: string;
  active: string;
  /** cs_agents prefixes, in AGENT_STATUSES order. */
  agents: string[];
  required: string;
  serviceLevel: string;
}

interface AgentSeries {
  label: string;
  statusFor: string;
  statusLine: string;
  activePrefix: string;
  activeFor: number;
  activeLine: string;
  sincePrefix: string;
  sinceFor: number | null;
  sinceLine: string;
}

/** The kept label prefixes (and highest counter values) of one tenant, for one day. */
interface TenantSeries {
  day: string;
  groups: Map<string, GroupSeries>;
  agents: Map<string, AgentSeries>;
  /** By counter key; null for keys that are not exposed (per agent, tenant-wide). */
  counters: Map<string, CounterSeries | { hist: HistSeries; bucket: number } | null>;
  hists: Map<string, HistSeries>;
  lastEvent: string;
  lag: string;
}

/** What /metrics needs of an agent's status now: the status and the start of its current run (as agentStatusView). */
function currentStatus(a: AgentRecord, nowMs: number): { status: string; sinceMs: number | null } {
  const s = a.statuses;
  let i = s.length - 1;
  while (i >= 0 && s[i].timeMs > nowMs) i--;
  if (i < 0) return { status: 'offline', sinceMs: null };
  const status = s[i].status;
  while (i > 0 && s[i - 1].status === status) i--;
  return { status, sinceMs: s[i].timeMs };
}

/** Today's counters of a tenant, plus every known label value of every group at 0 where it has none. */
function* withKnownZeros(counters: Map<string, number>, groups: string[]): Generator<[string, number]> {
  yield* counters;
  for (const g of groups)
    for (const [kind, value] of KNOWN_GROUP_COUNTERS) {
      const k = value === undefined ? key(kind, g) : key(kind, g, value);
      if (!counters.has(k)) yield [k, 0];
    }
  // The wait histogram too: every bucket, the sum and the count.
  for (const g of groups) {
    for (let b = 0; b <= WAIT_BUCKETS.length; b++) {
      const k = key('wait', g, b);
      if (!counters.has(k)) yield [k, 0];
    }
    if (!counters.has(key('wait_sum', g))) yield [key('wait_sum', g), 0];
  }
}

/** The /metrics renderer; `render` takes one consistent snapshot of the live state and writes it out. */
export interface LiveMetrics {
  contentType: string;
  /** The exposition text, UTF-8: the live figures, then the exporter's own (self-metrics.ts). */
  render(): Promise<Buffer>;
}

export function createMetricsRegistry(live: LiveState, ctx: AppContext): LiveMetrics {
  const cache = new Map<string, TenantSeries>();
  let scrapeNo = 0;
  const live_ = live;
  const bands = new InflowBands(ctx.pool, ctx.config.timezone, ctx.config.serviceTargets, ctx.log);

  const tenantSeries = (t: TenantLive): TenantSeries => {
    let ts = cache.get(t.tenant);
    // Counters start again at local midnight, and so does their highest value.
    if (!ts || ts.day !== live.day) {
      const tl: [string, string] = ['tenant', t.tenant];
      ts = {
        day: live.day,
        groups: ts?.groups ?? new Map(),
        agents: ts?.agents ?? new Map(),
        counters: new Map(),
        hists: new Map(),
        lastEvent: prefix('cs_exporter_last_event_timestamp_seconds', [tl]),
        lag: prefix('cs_exporter_ingest_lag_seconds', [tl]),
      };
      cache.set(t.tenant, ts);
    }
    return ts;
  };

  const groupSeries = (ts: TenantSeries, tenant: string, g: string): GroupSeries => {
    let gs = ts.groups.get(g);
    if (!gs) {
      const l: [string, string][] = [
        ['tenant', tenant],
        ['group', g],
      ];
      gs = {
        queueLength: prefix('cs_queue_length', l),
        longestWait: prefix('cs_queue_longest_wait_seconds', l),
        active: prefix('cs_conversations_active', l),
        agents: AGENT_STATUSES.map((s) => prefix('cs_agents', [...l, ['status', s]])),
        required: prefix('cs_agents_required', l),
        serviceLevel: prefix('cs_service_level_expected', l),
      };
      ts.groups.set(g, gs);
    }
    return gs;
  };

  const agentSeries = (ts: TenantSeries, tenant: string, agent: string): AgentSeries => {
    let as = ts.agents.get(agent);
    if (!as) {
      const l: [string, string][] = [
        ['tenant', tenant],
        ['agent', agent],
      ];
      as = {
        label: `tenant="${escapeLabel(tenant)}",agent="${escapeLabel(agent)}"`,
        statusFor: '',
        statusLine: '',
        activePrefix: prefix('cs_agent_active_sessions', l),
        activeFor: -1,
        activeLine: '',
        sincePrefix: prefix('cs_agent_status_since_timestamp_seconds', l),
        sinceFor: null,
        sinceLine: '',
      };
      ts.agents.set(agent, as);
    }
    return as;
  };

  const counterSeries = (ts: TenantSeries, tenant: string, k: string) => {
    let c = ts.counters.get(k);
    if (c !== undefined) return c;
    const [kind, a, b] = unkey(k);
    c = null;
    if (kind === 'wait' || kind === 'wait_sum') {
      let h = ts.hists.get(a);
      if (!h) {
        const l: [string, string][] = [
          ['tenant', tenant],
          ['group', a],
        ];
        h = {
          group: a,
          buckets: [...WAIT_BUCKETS.map(String), '+Inf'].map((le) => prefix('cs_queue_wait_seconds_bucket', [...l, ['le', le]])),
          sum: prefix('cs_queue_wait_seconds_sum', l),
          count: prefix('cs_queue_wait_seconds_count', l),
          highest: new Array<number>(WAIT_BUCKETS.length + 3).fill(0),
          counts: new Array<number>(WAIT_BUCKETS.length + 1).fill(0),
          waitSum: 0,
          hasWait: false,
          stamp: -1,
        };
        ts.hists.set(a, h);
      }
      c = { hist: h, bucket: kind === 'wait' ? Number(b) : -1 };
    } else {
      const f = COUNTER_FAMILY[kind];
      // A rating of a session no human answered has no credited group.
      if (f && !(kind === 'rating' && a === '')) {
        const values = [a, b];
        c = {
          family: f.family,
          prefix: prefix(FAMILIES[f.family][0], [['tenant', tenant], ...f.labels.map((n, i): [string, string] => [n, values[i]])]),
          highest: 0,
        };
      }
    }
    ts.counters.set(k, c);
    return c;
  };

  const collect = (): Buffer => {
    const started = performance.now();
    live.tick();
    const nowMs = live.now();
    const stamp = ++scrapeNo;
    const out: string[][] = FAMILIES.map(() => []);
    const o = (f: number, line: string) => out[f].push(line);

    for (const t of live.allTenants()) {
      const tenant = t.tenant;
      const ts = tenantSeries(t);

      // Queues, conversations and open parts per group and per agent, in one pass.
      const cur = new Map<string, { queueLength: number; longestWaitSeconds: number; inConversation: number }>();
      const activeByAgent = new Map<string, number>();
      for (const d of t.openSessions(nowMs)) {
        if (d.queued) {
          const g = d.queued.groupId;
          let f = cur.get(g);
          if (!f) cur.set(g, (f = { queueLength: 0, longestWaitSeconds: 0, inConversation: 0 }));
          f.queueLength++;
          f.longestWaitSeconds = Math.max(f.longestWaitSeconds, Math.max(0, (nowMs - d.queued.queuedAtMs) / 1000));
        }
        if (d.openPart) {
          const g = d.openPart.groupId;
          let f = cur.get(g);
          if (!f) cur.set(g, (f = { queueLength: 0, longestWaitSeconds: 0, inConversation: 0 }));
          f.inConversation++;
          activeByAgent.set(d.openPart.agentId, (activeByAgent.get(d.openPart.agentId) ?? 0) + 1);
        }
      }

      // Members by status per group, and the per-agent series.
      const byGroup = new Map<string, number[]>();
      // Statuses outside events.md's list (none today), by group.
      let others: Map<string, Map<string, number>> | null = null;
      for (const a of t.agents.values()) {
        const { status, sinceMs } = currentStatus(a, nowMs);
        const si = STATUS_INDEX.get(status);
        const groups = a.groups;
        for (let i = 0; i < groups.length; i++) {
          const g = groups[i];
          if (i > 0 && groups.indexOf(g) !== i) continue;
          if (si !== undefined) {
            let counts = byGroup.get(g);
            if (!counts) byGroup.set(g, (counts = new Array<number>(AGENT_STATUSES.length).fill(0)));
            counts[si]++;
          } else {
            others ??= new Map();
            let counts = others.get(g);
            if (!counts) others.set(g, (counts = new Map()));
            counts.set(status, (counts.get(status) ?? 0) + 1);
          }
        }
        const as = agentSeries(ts, tenant, a.agentId);
        if (as.statusFor !== status) {
          as.statusFor = status;
          as.statusLine = flat(`cs_agent_status{${as.label},status="${escapeLabel(status)}"} 1`);
        }
        o(F.cs_agent_status, as.statusLine);
        const active = activeByAgent.get(a.agentId) ?? 0;
        if (as.activeFor !== active) {
          as.activeFor = active;
          as.activeLine = flat(as.activePrefix + num(active));
        }
        o(F.cs_agent_active_sessions, as.activeLine);
        if (sinceMs !== null) {
          if (as.sinceFor !== sinceMs) {
            as.sinceFor = sinceMs;
            as.sinceLine = flat(as.sincePrefix + num(sinceMs / 1000));
          }
          o(F.cs_agent_status_since_timestamp_seconds, as.sinceLine);
        }
      }

      const groups = t.groupIds();
      const statusNow = new Map<string, string>();
      const staffing = staffingByGroup(
        t,
        groups,
        nowMs,
        (a) => {
          let st = statusNow.get(a.agentId);
          if (st === undefined) statusNow.set(a.agentId, (st = currentStatus(a, nowMs).status));
          return st;
        },
        (g) => ctx.config.serviceTargets.of(tenant, g),
        key,
      );
      for (const g of groups) {
        const gs = groupSeries(ts, tenant, g);
        const st = staffing.get(g)!;
        if (st.agentsRequired !== null) o(F.cs_agents_required, gs.required + num(st.agentsRequired));
        if (st.serviceLevelExpected !== null) o(F.cs_service_level_expected, gs.serviceLevel + num(st.serviceLevelExpected));
        const c = cur.get(g);
        o(F.cs_queue_length, gs.queueLength + num(c?.queueLength ?? 0));
        o(F.cs_queue_longest_wait_seconds, gs.longestWait + num(c?.longestWaitSeconds ?? 0));
        o(F.cs_conversations_active, gs.active + num(c?.inConversation ?? 0));
        const counts = byGroup.get(g);
        for (let i = 0; i < gs.agents.length; i++) o(F.cs_agents, gs.agents[i] + num(counts ? counts[i] : 0));
        // A status outside events.md's list still shows, after the known ones.
        const extra = others?.get(g);
        if (extra)
          for (const [status, n] of extra)
            o(
              F.cs_agents,
              prefix('cs_agents', [
                ['tenant', tenant],
                ['group', g],
                ['status', status],
              ]) + num(n),
            );
      }

      // Today's counters; each series holds its highest value of the day.
      const counterLines = new Map<number, [string, string][]>();
      const hists: HistSeries[] = [];
      for (const [k, v] of withKnownZeros(t.counters, groups)) {
        const c = counterSeries(ts, tenant, k);
        if (c === null) continue;
        if ('hist' in c) {
          const h = c.hist;
          if (h.stamp !== stamp) {
            h.stamp = stamp;
            h.counts.fill(0);
            h.waitSum = 0;
            h.hasWait = false;
            hists.push(h);
          }
          if (c.bucket < 0) h.waitSum = v;
          else {
            h.counts[c.bucket] += v;
            h.hasWait = true;
          }
          continue;
        }
        c.highest = Math.max(c.highest, v);
        let lines = counterLines.get(c.family);
        if (!lines) counterLines.set(c.family, (lines = []));
        lines.push([c.prefix, c.prefix + num(c.highest)]);
      }
      for (const [f, lines] of counterLines) {
        lines.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
        for (const [, line] of lines) o(f, line);
      }
      hists.sort((x, y) => (x.group < y.group ? -1 : x.group > y.group ? 1 : 0));
      for (const h of hists) {
        let cum = 0;
        for (let i = 0; i < h.buckets.length; i++) {
          cum += h.counts[i];
          h.highest[i] = Math.max(h.highest[i], cum);
          o(F.cs_queue_wait_seconds, h.buckets[i] + num(h.highest[i]));
        }
        const s = h.buckets.length;
        h.highest[s] = Math.max(h.highest[s], h.waitSum);
        h.highest[s + 1] = Math.max(h.highest[s + 1], cum);
        o(F.cs_queue_wait_seconds, h.sum + num(h.highest[s]));
        o(F.cs_queue_wait_seconds, h.count + num(h.highest[s + 1]));
      }

      if (t.lastEventMs !== null) o(F.cs_exporter_last_event_timestamp_seconds, ts.lastEvent + num(t.lastEventMs / 1000));
      o(F.cs_exporter_ingest_lag_seconds, ts.lag + num(t.lastLagSeconds));
    }
    o(F.cs_exporter_events_ingested_total, `cs_exporter_events_ingested_total ${num(ctx.writer.stats.accepted)}`);
    o(F.cs_exporter_events_rejected_total, `cs_exporter_events_rejected_total ${num(ctx.ingestStats.rejected)}`);
    o(F.cs_exporter_scrape_duration_seconds, `cs_exporter_scrape_duration_seconds ${num((performance.now() - started) / 1000)}`);

    // Encoded family by family: the HELP texts hold Chinese, and one string of
    // everything would be a two-byte string, slower to encode than the ASCII lines.
    const parts: Buffer[] = [];
    for (let f = 0; f < FAMILIES.length; f++) {
      parts.push(HEADERS[f]);
      if (out[f].length > 0) parts.push(NEWLINE, Buffer.from(out[f].join('\n')));
      parts.push(f + 1 < FAMILIES.length ? BLANK : NEWLINE);
    }
    return Buffer.concat(parts);
  };

  return {
    contentType: Registry.PROMETHEUS_CONTENT_TYPE,
    async render() {
      const live = collect();
      // 流入异常: the current slot's forecast band per group, computed once per slot (staffing/inflow-band.ts).
      const forecast = Buffer.from(await bands.text([...live_.allTenants()].map((t) => t.tenant), live_.now()));
      if (!ctx.self) return Buffer.concat([live, NEWLINE, forecast]);
      // prom-client's registry writes the same text format; a blank line keeps the families apart.
      return Buffer.concat([live, NEWLINE, forecast, NEWLINE, Buffer.from(await ctx.self.text())]);
    },
  };
}
