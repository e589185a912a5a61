/**
 * GET /metrics: a prom-client Registry of this exporter instance whose
 * families are built from the live state at scrape time, so a group or
 * agent that is gone vanishes from the exposition.
 */
import { Registry } from 'prom-client';
import { AGENT_STATUSES } from '../ingest/schema.js';
import type { AppContext } from '../http/app.js';
import { WAIT_BUCKETS, unkey } from './derive.js';
import type { LiveState, TenantLive } from './state.js';
import { currentByGroup, partsByAgent, statusViews } from './views.js';

type Labels = Record<string, string>;
interface Sample {
  metricName?: string;
  labels: Labels;
  value: number;
}
type MetricType = 'gauge' | 'counter' | 'histogram';

/** The shape prom-client's Registry reads from a metric. */
interface Family {
  name: string;
  help: string;
  type: MetricType;
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: MetricType; aggregator: 'sum'; values: Sample[] }>;
}

/**
 * Counters here are today's figures; re-deriving a session after a late
 * event may lower one slightly (a wait moving to another bucket), which
 * Prometheus would read as a reset. Within a day the exposed value never
 * goes down; at local midnight the counters start again from zero.
 */
class Monotonic {
  private day = '';
  private readonly seen = new Map<string, number>();
  value(day: string, series: string, v: number): number {
    if (day !== this.day) {
      this.day = day;
      this.seen.clear();
    }
    const out = Math.max(v, this.seen.get(series) ?? 0);
    this.seen.set(series, out);
    return out;
  }
}

/** The registry, and `render` to take one consistent snapshot of the live state and expose it. */
export interface LiveMetrics {
  registry: Registry;
  render(): Promise<string>;
}

export function createMetricsRegistry(live: LiveState, ctx: AppContext): LiveMetrics {
  const registry = new Registry();
  const mono = new Monotonic();
  // One snapshot per scrape: every family reads the same moment.
  let snapshot: Map<string, Sample[]> | null = null;

  const collect = (): Map<string, Sample[]> => {
    const started = performance.now();
    live.tick();
    const nowMs = live.now();
    const out = new Map<string, Sample[]>();
    const push = (name: string, labels: Labels, value: number, metricName?: string) => {
      let list = out.get(name);
      if (!list) out.set(name, (list = []));
      list.push({ labels, value, metricName });
    };
    const counter = (name: string, labels: Labels, value: number, metricName = name) =>
      push(name, labels, mono.value(live.day, `${metricName}${JSON.stringify(labels)}`, value), metricName);

    for (const t of live.allTenants()) {
      const tenant = t.tenant;
      const cur = currentByGroup(t, nowMs);
      const views = statusViews(t, live.window.fromMs, nowMs);
      for (const g of t.groupIds()) {
        const c = cur.get(g) ?? { queueLength: 0, longestWaitSeconds: 0, inConversation: 0 };
        push('cs_queue_length', { tenant, group: g }, c.queueLength);
        push('cs_queue_longest_wait_seconds', { tenant, group: g }, c.longestWaitSeconds);
        push('cs_conversations_active', { tenant, group: g }, c.inConversation);
        const byStatus = new Map<string, number>(AGENT_STATUSES.map((s) => [s, 0]));
        for (const a of t.agents.values()) {
          if (!a.groups.includes(g)) continue;
          const status = views.get(a.agentId)!.status;
          byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
        }
        for (const [status, n] of byStatus) push('cs_agents', { tenant, group: g, status }, n);
      }
      countersOf(t, counter);
      const parts = partsByAgent(t, nowMs);
      for (const [agent, v] of views) {
        push('cs_agent_status', { tenant, agent, status: v.status }, 1);
        push('cs_agent_active_sessions', { tenant, agent }, parts.get(agent)?.all ?? 0);
        if (v.sinceMs !== null) push('cs_agent_status_since_timestamp_seconds', { tenant, agent }, v.sinceMs / 1000);
      }
      if (t.lastEventMs !== null) push('cs_exporter_last_event_timestamp_seconds', { tenant }, t.lastEventMs / 1000);
      push('cs_exporter_ingest_lag_seconds', { tenant }, t.lastLagSeconds);
    }
    push('cs_exporter_events_ingested_total', {}, ctx.writer.stats.accepted);
    push('cs_exporter_events_rejected_total', {}, ctx.ingestStats.rejected);
    push('cs_exporter_scrape_duration_seconds', {}, (performance.now() - started) / 1000);
    return out;
  };

  const family = (name: string, type: MetricType, help: string): Family => ({
    name,
    help,
    type,
    aggregator: 'sum',
    async get() {
      // Outside render() (registry.getMetricsAsJSON...), each family reads a fresh state.
      const values = (snapshot ?? collect()).get(name) ?? [];
      return { name, help, type, aggregator: 'sum', values };
    },
  });
  const families: [string, MetricType, string][] = [
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
    ['cs_agent_status', 'gauge', "1 for the agent's current status."],
    ['cs_agent_active_sessions', 'gauge', 'Sessions now in a part with the agent.'],
    ['cs_agent_status_since_timestamp_seconds', 'gauge', 'When the agent entered its current status (unix seconds).'],
    ['cs_exporter_events_ingested_total', 'counter', 'Events stored by this exporter process (duplicates not counted).'],
    ['cs_exporter_events_rejected_total', 'counter', 'Events or bodies this exporter process refused.'],
    ['cs_exporter_last_event_timestamp_seconds', 'gauge', 'Time of the latest event of the tenant (unix seconds).'],
    ['cs_exporter_ingest_lag_seconds', 'gauge', "Receive time − event time of the tenant's latest batch, at most."],
    ['cs_exporter_scrape_duration_seconds', 'gauge', 'Time taken to build this exposition.'],
  ];
  for (const [name, type, help] of families) registry.registerMetric(family(name, type, help) as never);
  return {
    registry,
    async render() {
      snapshot = collect();
      try {
        return await registry.metrics();
      } finally {
        snapshot = null;
      }
    },
  };
}

/** Today's counters of one tenant as counter and histogram samples. */
function countersOf(t: TenantLive, counter: (name: string, labels: Labels, value: number, metricName?: string) => void): void {
  const tenant = t.tenant;
  const buckets = new Map<string, number[]>();
  const waitSums = new Map<string, number>();
  const rows: [string, Labels, number][] = [];
  for (const [k, v] of t.counters) {
    const [kind, a, b] = unkey(k);
    switch (kind) {
      case 'inflow':
        rows.push(['cs_sessions_inflow_total', { tenant, group: a, via: b }, v]);
        break;
      case 'answered':
        rows.push(['cs_sessions_answered_total', { tenant, group: a }, v]);
        break;
      case 'abandoned':
        rows.push(['cs_sessions_abandoned_total', { tenant, group: a }, v]);
        break;
      case 'rejected':
        rows.push(['cs_sessions_rejected_total', { tenant, group: a, reason: b }, v]);
        break;
      case 'transfers':
        rows.push(['cs_transfers_total', { tenant, group: a, reason: b }, v]);
        break;
      case 'rating':
        // A rating of a session no human answered has no credited group.
        if (a !== '') rows.push(['cs_ratings_total', { tenant, group: a, score: b }, v]);
        break;
      case 'parts':
        rows.push(['cs_parts_ended_total', { tenant, group: a }, v]);
        break;
      case 'part_secs':
        rows.push(['cs_part_duration_seconds_total', { tenant, group: a }, v]);
        break;
      case 'wait': {
        const list = buckets.get(a) ?? new Array<number>(WAIT_BUCKETS.length + 1).fill(0);
        list[Number(b)] += v;
        buckets.set(a, list);
        break;
      }
      case 'wait_sum':
        waitSums.set(a, v);
        break;
    }
  }
  rows.sort((x, y) => x[0].localeCompare(y[0]) || JSON.stringify(x[1]).localeCompare(JSON.stringify(y[1])));
  for (const [name, labels, v] of rows) counter(name, labels, v);
  for (const [group, list] of [...buckets].sort()) {
    let cum = 0;
    WAIT_BUCKETS.forEach((le, i) => {
      cum += list[i];
      counter('cs_queue_wait_seconds', { tenant, group, le: String(le) }, cum, 'cs_queue_wait_seconds_bucket');
    });
    cum += list[WAIT_BUCKETS.length];
    counter('cs_queue_wait_seconds', { tenant, group, le: '+Inf' }, cum, 'cs_queue_wait_seconds_bucket');
    counter('cs_queue_wait_seconds', { tenant, group }, waitSums.get(group) ?? 0, 'cs_queue_wait_seconds_sum');
    counter('cs_queue_wait_seconds', { tenant, group }, cum, 'cs_queue_wait_seconds_count');
  }
}
