/**
 * The cardinality budget: how many tenants, skill groups per tenant and agents per tenant ingest
 * lets into being. Each is a label value of /metrics and a row of the live views, so one request
 * naming 100,000 groups would make every scrape huge and slow; past the budget an event that names
 * a new one is rejected, naming the budget. Names already admitted stay admitted.
 *
 * Counted in this process since it started, over the events it accepted (a restart begins again
 * from zero, so what /metrics shows stays within twice the budget even across restarts).
 */
import type { StoredEvent } from './validate.js';

export interface CardinalityLimits {
  tenants: number;
  groupsPerTenant: number;
  agentsPerTenant: number;
}

export const DEFAULT_CARDINALITY: CardinalityLimits = { tenants: 100, groupsPerTenant: 1_000, agentsPerTenant: 50_000 };

function limit(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Error(`${name} must be a whole number from 1 to 1000000, got "${raw}"`);
  return n;
}

/** CS_MAX_TENANTS, CS_MAX_GROUPS_PER_TENANT, CS_MAX_AGENTS_PER_TENANT. */
export function cardinalityLimits(env: NodeJS.ProcessEnv = process.env): CardinalityLimits {
  return {
    tenants: limit(env, 'CS_MAX_TENANTS', DEFAULT_CARDINALITY.tenants),
    groupsPerTenant: limit(env, 'CS_MAX_GROUPS_PER_TENANT', DEFAULT_CARDINALITY.groupsPerTenant),
    agentsPerTenant: limit(env, 'CS_MAX_AGENTS_PER_TENANT', DEFAULT_CARDINALITY.agentsPerTenant),
  };
}

/** The group and agent ids an event brings into being. */
function names(e: StoredEvent): { groups: string[]; agents: string[] } {
  const ev = e.event as { groupId?: unknown; groups?: unknown; agentId?: unknown };
  const groups: string[] = [];
  if (typeof ev.groupId === 'string') groups.push(ev.groupId);
  if (Array.isArray(ev.groups)) for (const g of ev.groups) if (typeof g === 'string') groups.push(g);
  return { groups, agents: typeof ev.agentId === 'string' ? [ev.agentId] : [] };
}

export class CardinalityBudget {
  private readonly tenants = new Map<string, { groups: Set<string>; agents: Set<string> }>();

  constructor(readonly limits: CardinalityLimits = DEFAULT_CARDINALITY) {}

  /** Admits the event's names, or says which budget it would break (and admits none of them). */
  admit(e: StoredEvent): string | undefined {
    let t = this.tenants.get(e.tenant);
    if (!t) {
      if (this.tenants.size >= this.limits.tenants)
        return `tenant: this exporter already serves ${this.limits.tenants} tenants, the most it takes (CS_MAX_TENANTS); "${e.tenant.slice(0, 64)}" is not one of them`;
      t = { groups: new Set(), agents: new Set() };
      this.tenants.set(e.tenant, t);
    }
    const { groups, agents } = names(e);
    const newGroups = new Set(groups.filter((g) => !t.groups.has(g)));
    if (t.groups.size + newGroups.size > this.limits.groupsPerTenant)
      return `groupId: tenant "${e.tenant.slice(0, 64)}" already has ${t.groups.size} skill groups; at most ${this.limits.groupsPerTenant} are taken (CS_MAX_GROUPS_PER_TENANT)`;
    const newAgents = agents.filter((a) => !t.agents.has(a));
    if (t.agents.size + newAgents.length > this.limits.agentsPerTenant)
      return `agentId: tenant "${e.tenant.slice(0, 64)}" already has ${t.agents.size} agents; at most ${this.limits.agentsPerTenant} are taken (CS_MAX_AGENTS_PER_TENANT)`;
    for (const g of newGroups) t.groups.add(g);
    for (const a of newAgents) t.agents.add(a);
    return undefined;
  }
}
