/**
 * Erlang C: how many agents a queue needs to answer a share of its requests within a target wait,
 * and the service level a given staff will give. Pure arithmetic, no I/O; live monitoring (需要人数)
 * and the staffing forecast (排班建议) both use it.
 *
 * The model (M/M/N): requests arrive at random at `arrivalsPerHour`, each holds one server for
 * `ahtSeconds` on average, and whoever finds every server busy waits in one queue. A chat agent
 * serving up to `concurrency` sessions at once counts as that many servers, each holding a session for
 * the time one session occupies one of the agent's slots (the part's duration, not the agent's time
 * per session divided by the concurrency): agents needed = servers needed / concurrency, rounded up.
 */

export interface Load {
  /** Requests for a human per hour. */
  arrivalsPerHour: number;
  /** Average handling time of one request, seconds (how long it holds one server). */
  ahtSeconds: number;
  /** Sessions one agent serves at once (接待上限 in use); 1 for voice. */
  concurrency?: number;
}

export interface Target {
  /** The wait within which `level` of requests should be answered, seconds (e.g. 20). */
  seconds: number;
  /** The share to answer within `seconds`, 0–1 (e.g. 0.8). */
  level: number;
}

/** The default service-level target: 80 % answered within 20 s. */
export const DEFAULT_TARGET: Target = { seconds: 20, level: 0.8 };

/** Offered traffic in Erlangs: arrivals per second × seconds each holds a server. */
export function erlangs(load: Load): number {
  return (load.arrivalsPerHour / 3600) * load.ahtSeconds;
}

/**
 * Probability that a request waits (Erlang C) with `servers` servers and `a` Erlangs offered; 1 when
 * the servers cannot keep up (servers ≤ a). Computed through Erlang B's recursion, which stays finite
 * where A^N / N! would overflow (hundreds of servers).
 */
export function probabilityWait(servers: number, a: number): number {
  if (a <= 0) return 0;
  if (servers <= a) return 1;
  let b = 1;
  for (let k = 1; k <= servers; k++) b = (a * b) / (k + a * b);
  return (servers * b) / (servers - a * (1 - b));
}

/** Share of requests answered within `targetSeconds` with `servers` servers. */
export function serviceLevelOf(servers: number, a: number, ahtSeconds: number, targetSeconds: number): number {
  if (a <= 0) return 1;
  if (servers <= a) return 0;
  const c = probabilityWait(servers, a);
  return 1 - c * Math.exp((-(servers - a) * targetSeconds) / ahtSeconds);
}

export interface Staffing {
  /** Offered traffic, Erlangs. */
  erlangs: number;
  /** Servers (agent slots) needed. */
  servers: number;
  /** Agents needed: servers / concurrency, rounded up. */
  agents: number;
  /** The service level those servers give, 0–1. */
  serviceLevel: number;
  /** Average wait of all requests with those servers, seconds. */
  asaSeconds: number;
}

/** The most servers searched for; past it the load is refused as unrealistic input. */
const MAX_SERVERS = 100_000;

/** The fewest agents that meet `target` for `load` (0 when nothing arrives). */
export function agentsRequired(load: Load, target: Target = DEFAULT_TARGET): Staffing {
  const a = erlangs(load);
  const concurrency = Math.max(1, Math.floor(load.concurrency ?? 1));
  if (!(a > 0) || !(load.ahtSeconds > 0)) return { erlangs: Math.max(0, a || 0), servers: 0, agents: 0, serviceLevel: 1, asaSeconds: 0 };
  let n = Math.max(1, Math.floor(a) + 1);
  while (serviceLevelOf(n, a, load.ahtSeconds, target.seconds) < target.level) {
    if (++n > MAX_SERVERS) throw new RangeError(`a load of ${a.toFixed(0)} Erlangs needs more than ${MAX_SERVERS} servers`);
  }
  return {
    erlangs: a,
    servers: n,
    agents: Math.ceil(n / concurrency),
    serviceLevel: serviceLevelOf(n, a, load.ahtSeconds, target.seconds),
    asaSeconds: (probabilityWait(n, a) * load.ahtSeconds) / (n - a),
  };
}

/** The service level `agents` agents will give `load` (each serving `concurrency` at once). */
export function expectedServiceLevel(load: Load, agents: number, target: Target = DEFAULT_TARGET): number {
  const a = erlangs(load);
  const servers = Math.max(0, Math.floor(agents)) * Math.max(1, Math.floor(load.concurrency ?? 1));
  return serviceLevelOf(servers, a, load.ahtSeconds, target.seconds);
}
