/** The stable cast of a simulated tenant: skill groups, agents with their shifts, the user pool. */
import { Rng, hash32 } from './rng.js';
import { DEFAULT_NIGHT_AGENTS, GIVEN, GROUP_PROFILES, NIGHT_GROUP, NIGHT_SHIFTS, REGIONS, SHIFTS, SURNAMES } from './vocab.js';

export interface SimOptions {
  seed: number;
  tenant: string;
  /** Number of skill groups (1–10). */
  groups: number;
  agents: number;
  /** Multiplier of the default traffic, which scales with the staff. */
  traffic: number;
  /** Requests for a human per hour at the daily peak; overrides `traffic` (tests keep it fixed while the staff changes). */
  peakPerHour?: number;
  timezone: string;
  /** Agents of the 24-hour group 夜间热线 (vocab.ts NIGHT_GROUP), on top of `agents`; 0 or absent: no such group. */
  nightAgents?: number;
}

export const DEFAULT_OPTIONS: SimOptions = {
  seed: 1,
  tenant: 'default',
  groups: 6,
  agents: 40,
  traffic: 1,
  timezone: 'Asia/Shanghai',
  nightAgents: DEFAULT_NIGHT_AGENTS,
};

export interface GroupDef {
  id: string;
  name: string;
  share: number;
  tops: readonly string[];
  overflowTo?: string;
  patience: number;
  /** Staffed around the clock, with its own arrivals (the 夜间热线). */
  allDay?: boolean;
}

export interface AgentDef {
  id: string;
  name: string;
  workNo: string;
  groups: string[];
  maxSessions: number;
  homeSeat: string;
  shift: (typeof SHIFTS)[number] | (typeof NIGHT_SHIFTS)[number];
  /** An agent of the 24-hour group: works every day. */
  allDay?: boolean;
}

export interface Roster {
  groups: GroupDef[];
  agents: AgentDef[];
  /** Peak requests for a human per hour. */
  peakPerHour: number;
  /** Short tag of the options, in every id, so runs of different sizes never share ids. */
  tag: string;
}

// The daily curve peaks at 1.3; per agent and peak hour this many visitors ask for a human.
const PEAK_PER_AGENT = 11;

export function buildRoster(o: SimOptions): Roster {
  const rng = new Rng(o.seed, o.tenant, 'roster');
  const n = Math.max(1, Math.min(GROUP_PROFILES.length, o.groups));
  const groups: GroupDef[] = GROUP_PROFILES.slice(0, n).map((p, i) => ({
    id: `g${i + 1}`,
    name: p.name,
    share: p.share,
    tops: p.top,
    overflowTo: p.overflowTo < n && p.overflowTo !== i ? `g${p.overflowTo + 1}` : undefined,
    patience: p.patience,
  }));
  const usedNames = new Set<string>();
  const agents: AgentDef[] = [];
  for (let i = 0; i < o.agents; i++) {
    let name = '';
    for (let tries = 0; tries < 20 && (!name || usedNames.has(name)); tries++) {
      name = rng.pick(SURNAMES) + rng.pick(GIVEN) + (rng.chance(0.6) ? rng.pick(GIVEN) : '');
    }
    if (usedNames.has(name)) name += String(i);
    usedNames.add(name);
    // The first agents cover every group on every shift, so a small roster still
    // has someone in each group; the rest follow the traffic shares.
    const cover = i < n * SHIFTS.length;
    const primary = cover ? groups[i % n] : rng.weighted(groups, (g) => g.share);
    const shift = cover ? SHIFTS[Math.floor(i / n) % SHIFTS.length] : rng.weighted(SHIFTS, (s) => s.share);
    const memberOf = [primary.id];
    const extra = rng.chance(0.1) ? 2 : rng.chance(0.3) ? 1 : 0;
    for (let k = 0; k < extra && memberOf.length < n; k++) {
      const g = rng.weighted(
        groups.filter((x) => !memberOf.includes(x.id)),
        (x) => x.share,
      );
      memberOf.push(g.id);
    }
    agents.push({
      id: `a${String(i + 1).padStart(4, '0')}`,
      name,
      workNo: String(10001 + i),
      groups: memberOf,
      maxSessions: rng.weighted([1, 2, 3, 4, 5], (m) => [5, 15, 40, 25, 15][m - 1]),
      homeSeat: `${'ABCD'[Math.floor(i / 60) % 4]}-${String((Math.floor(i / 12) % 5) + 1).padStart(2, '0')}-${String((i % 12) + 1).padStart(2, '0')}`,
      shift,
    });
  }
  addNightGroup(o, groups, agents, usedNames);
  const peakPerHour = o.peakPerHour ?? o.traffic * o.agents * PEAK_PER_AGENT;
  const night = o.nightAgents ? `|n${o.nightAgents}` : '';
  const tag = (hash32(`${o.seed}|${o.tenant}|${n}|${o.agents}|${o.traffic}|${o.peakPerHour ?? ''}${night}`) % 46656)
    .toString(36)
    .padStart(3, '0');
  return { groups, agents, peakPerHour, tag };
}

/**
 * The 24-hour group and its agents, after the day roster and from a stream of their own, so the day
 * groups and agents of a seed stay what they were.
 */
function addNightGroup(o: SimOptions, groups: GroupDef[], agents: AgentDef[], usedNames: Set<string>): void {
  const count = Math.max(0, Math.floor(o.nightAgents ?? 0));
  if (count === 0) return;
  const rng = new Rng(o.seed, o.tenant, 'night-roster');
  groups.push({
    id: NIGHT_GROUP.id,
    name: NIGHT_GROUP.name,
    share: 0,
    tops: NIGHT_GROUP.top,
    patience: NIGHT_GROUP.patience,
    allDay: true,
  });
  const first = agents.length;
  for (let k = 0; k < count; k++) {
    let name = '';
    for (let tries = 0; tries < 20 && (!name || usedNames.has(name)); tries++)
      name = rng.pick(SURNAMES) + rng.pick(GIVEN) + rng.pick(GIVEN);
    if (usedNames.has(name)) name += String(first + k);
    usedNames.add(name);
    const i = first + k;
    agents.push({
      id: `a${String(i + 1).padStart(4, '0')}`,
      name,
      workNo: String(10001 + i),
      groups: [NIGHT_GROUP.id],
      // A phone-like line: fewer sessions at once than the chat groups.
      maxSessions: rng.weighted([1, 2, 3], (m) => [30, 50, 20][m - 1]),
      homeSeat: `N-01-${String(k + 1).padStart(2, '0')}`,
      shift: NIGHT_SHIFTS[k % NIGHT_SHIFTS.length],
      allDay: true,
    });
  }
}

/** 归属地 of a known user: stable, so a returning visitor comes from the same place. */
export function userRegion(userNo: number): string {
  const r = new Rng('region', userNo);
  return r.weighted(REGIONS, (x) => x[1])[0];
}
