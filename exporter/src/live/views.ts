/** The live_* report figures (metrics.md, "Monitoring"), computed from a tenant's live state at `nowMs`. */
import { key, unkey } from './derive.js';
import { agentStatusView, type AgentStatusView, type TenantLive } from './state.js';
import { DEFAULT_TARGET, type Target } from '../staffing/erlang.js';
import { staffingByGroup } from './staffing.js';

type Row = Record<string, unknown>;

const ratio = (num: number, den: number): number | null => (den === 0 ? null : num / den);

/** Today's counters grouped by kind and first label (a group or an agent), built once per request. */
class CounterIndex {
  private readonly byKind = new Map<string, Map<string, [string[], number][]>>();
  constructor(t: TenantLive) {
    for (const [k, v] of t.counters) {
      const [kind, first, ...rest] = unkey(k);
      let byFirst = this.byKind.get(kind);
      if (!byFirst) this.byKind.set(kind, (byFirst = new Map()));
      const list = byFirst.get(first ?? '') ?? [];
      list.push([rest, v]);
      byFirst.set(first ?? '', list);
    }
  }
  /** Sum of `kind` for `first` (every one when null) whose further labels pass `match`. */
  sum(kind: string, first: string | null = null, match: (rest: string[]) => boolean = () => true): number {
    const byFirst = this.byKind.get(kind);
    if (!byFirst) return 0;
    const lists = first === null ? [...byFirst.values()] : [byFirst.get(first) ?? []];
    let n = 0;
    for (const list of lists) for (const [rest, v] of list) if (match(rest)) n += v;
    return n;
  }
  /** Ratings (`rating` by group, `a_rating` by agent): 3–5 and 4–5 shares. */
  ratings(kind: 'rating' | 'a_rating', who: string | null) {
    const all = this.sum(kind, who);
    return {
      avg: ratio(
        this.sum(kind, who, ([score]) => Number(score) >= 3),
        all,
      ),
      relative: ratio(
        this.sum(kind, who, ([score]) => Number(score) >= 4),
        all,
      ),
    };
  }
}

/** Agents now online, in another non-offline status, and offline. */
function agentCounts(views: AgentStatusView[]) {
  let online = 0;
  let other = 0;
  let offline = 0;
  for (const v of views) {
    if (v.status === 'online') online++;
    else if (v.status === 'offline') offline++;
    else other++;
  }
  return { agents_online: online, agents_break: other, agents_offline: offline };
}

export interface CurrentFigures {
  queueLength: number;
  longestWaitSeconds: number;
  inConversation: number;
}

/** Queued sessions and open parts now, per group (and '' for the tenant). */
export function currentByGroup(t: TenantLive, nowMs: number): Map<string, CurrentFigures> {
  const out = new Map<string, CurrentFigures>();
  const at = (g: string) => {
    let f = out.get(g);
    if (!f) out.set(g, (f = { queueLength: 0, longestWaitSeconds: 0, inConversation: 0 }));
    return f;
  };
  at('');
  for (const d of t.openSessions(nowMs)) {
    if (d.queued) {
      const wait = Math.max(0, (nowMs - d.queued.queuedAtMs) / 1000);
      for (const g of [d.queued.groupId, '']) {
        const f = at(g);
        f.queueLength++;
        f.longestWaitSeconds = Math.max(f.longestWaitSeconds, wait);
      }
    }
    if (d.openPart) {
      at(d.openPart.groupId).inConversation++;
      at('').inConversation++;
    }
  }
  return out;
}

/** Open parts per agent now: all, and those picked up manually. */
export function partsByAgent(t: TenantLive, nowMs: number): Map<string, { all: number; manual: number }> {
  const out = new Map<string, { all: number; manual: number }>();
  for (const d of t.openSessions(nowMs)) {
    if (!d.openPart) continue;
    const f = out.get(d.openPart.agentId) ?? { all: 0, manual: 0 };
    f.all++;
    if (d.openPart.manual) f.manual++;
    out.set(d.openPart.agentId, f);
  }
  return out;
}

export function statusViews(t: TenantLive, dayFromMs: number, nowMs: number): Map<string, AgentStatusView> {
  return new Map([...t.agents.values()].map((a) => [a.agentId, agentStatusView(a, dayFromMs, nowMs)]));
}

/** live_overview: one row for the tenant. */
export function overviewRow(t: TenantLive, dayFromMs: number, nowMs: number): Row {
  const cur = currentByGroup(t, nowMs).get('')!;
  const c = new CounterIndex(t);
  const r = c.ratings('rating', null);
  const inflow = t.counters.get(key('t_inflow')) ?? 0;
  const answered = t.counters.get(key('t_answered')) ?? 0;
  const transfers = c.sum('transfers');
  const abandoned = c.sum('abandoned');
  return {
    in_conversation: cur.inConversation,
    longest_wait_seconds: cur.longestWaitSeconds,
    avg_satisfaction: r.avg,
    relative_satisfaction: r.relative,
    avg_talk_seconds: ratio(c.sum('part_secs'), c.sum('parts')),
    ...agentCounts([...statusViews(t, dayFromMs, nowMs).values()]),
    queue_length: cur.queueLength,
    inflow,
    answered,
    answer_rate: ratio(answered, inflow),
    transfers,
    transfer_rate: ratio(transfers, answered),
    abandoned,
    abandon_rate: ratio(abandoned, inflow),
    transfer_failed: c.sum('rejected'),
  };
}

/** live_groups: one row per known group (or the ones asked for); `targetOf` gives a group's service-level target. */
export function groupRows(
  t: TenantLive,
  dayFromMs: number,
  nowMs: number,
  only: string[],
  targetOf: (group: string) => Target = () => DEFAULT_TARGET,
): Row[] {
  const cur = currentByGroup(t, nowMs);
  const views = statusViews(t, dayFromMs, nowMs);
  const counters = new CounterIndex(t);
  const ids = t.groupIds().filter((g) => only.length === 0 || only.includes(g));
  const staffing = staffingByGroup(t, ids, nowMs, (a) => views.get(a.agentId)!.status, targetOf, key);
  return ids.map((g) => {
    const st = staffing.get(g)!;
    const c = cur.get(g) ?? { queueLength: 0, longestWaitSeconds: 0, inConversation: 0 };
    const r = counters.ratings('rating', g);
    const inflow = counters.sum('inflow', g);
    const answered = counters.sum('answered', g);
    const transfers = counters.sum('transfers', g);
    const abandoned = counters.sum('abandoned', g);
    const members = [...t.agents.values()].filter((a) => a.groups.includes(g)).map((a) => views.get(a.agentId)!);
    return {
      group_id: g,
      group_name: t.groupName(g),
      in_conversation: c.inConversation,
      longest_wait_seconds: c.longestWaitSeconds,
      avg_satisfaction: r.avg,
      relative_satisfaction: r.relative,
      avg_talk_seconds: ratio(counters.sum('part_secs', g), counters.sum('parts', g)),
      ...agentCounts(members),
      queue_length: c.queueLength,
      inflow,
      answered,
      answer_rate: ratio(answered, inflow),
      transfers,
      transfer_rate: ratio(transfers, answered),
      abandoned,
      abandon_rate: ratio(abandoned, inflow),
      transfer_failed: counters.sum('rejected', g),
      agents_required: st.agentsRequired,
      service_level_expected: st.serviceLevelExpected,
      arrivals_per_hour: st.arrivalsPerHour,
      recent_aht_seconds: st.ahtSeconds,
      concurrency: st.concurrency,
      service_level_target: st.target.level,
      service_level_target_seconds: st.target.seconds,
    };
  });
}

export interface AgentFilter {
  groups: string[];
  agents: string[];
  /** Substring of the name or 工号. */
  name?: string;
}

/** live_agents: one row per known agent passing `filter`, by 工号 then id. */
export function agentRows(t: TenantLive, dayFromMs: number, nowMs: number, filter: AgentFilter): Row[] {
  const parts = partsByAgent(t, nowMs);
  const counters = new CounterIndex(t);
  const needle = filter.name?.trim().toLowerCase();
  return [...t.agents.values()]
    .filter((a) => filter.groups.length === 0 || a.groups.some((g) => filter.groups.includes(g)))
    .filter((a) => filter.agents.length === 0 || filter.agents.includes(a.agentId))
    .filter((a) => !needle || (a.name ?? '').toLowerCase().includes(needle) || (a.workNo ?? '').toLowerCase().includes(needle))
    .sort((x, y) => (x.workNo ?? x.agentId).localeCompare(y.workNo ?? y.agentId) || x.agentId.localeCompare(y.agentId))
    .map((a) => {
      const v = agentStatusView(a, dayFromMs, nowMs);
      const p = parts.get(a.agentId) ?? { all: 0, manual: 0 };
      const r = counters.ratings('a_rating', a.agentId);
      const answered = t.counters.get(key('a_answered', a.agentId)) ?? 0;
      return {
        agent_id: a.agentId,
        name: a.name ?? a.agentId,
        work_no: a.workNo ?? null,
        seat: v.seat,
        status: v.status,
        status_label: v.statusLabel,
        status_seconds: v.sinceMs === null ? null : Math.max(0, (nowMs - v.sinceMs) / 1000),
        in_conversation: p.all,
        manual_in_conversation: p.manual,
        max_sessions: a.maxSessions ?? null,
        answered,
        transfers_manual: counters.sum('a_transfers', a.agentId, ([reason]) => reason === 'manual'),
        transfers_timeout: counters.sum('a_transfers', a.agentId, ([reason]) => reason === 'timeout'),
        avg_satisfaction: r.avg,
        relative_satisfaction: r.relative,
        avg_talk_seconds: ratio(counters.sum('a_part_secs', a.agentId), answered),
        last_offline_at: v.lastOfflineAtMs,
        offline_seconds: v.offlineSeconds,
        first_online_at: v.firstOnlineAtMs,
        online_seconds: v.onlineSeconds,
        offline_remark: v.offlineRemark,
      };
    });
}
