/** Exporter settings, read once from the environment (see api.md and the README). */
export interface Config {
  port: number;
  host: string;
  /** Postgres connection string; undefined means "start the embedded Postgres". */
  databaseUrl?: string;
  /** Where the embedded Postgres keeps its data. */
  dataDir: string;
  /** Port of the embedded Postgres. */
  embeddedPgPort: number;
  timezone: string;
  ingestToken?: string;
  apiToken?: string;
  /** Tokens that open ingest / the query API for one tenant only: token → tenant. */
  tenantIngestTokens: Map<string, string>;
  tenantApiTokens: Map<string, string>;
  simulate: boolean;
  /** Simulator: past days backfilled at start-up (CS_SIMULATE_DAYS). */
  simulateDays: number;
  /** Simulator: agents per tenant (CS_SIMULATE_AGENTS). */
  simulateAgents: number;
  /** Simulator: seed; the same seed gives the same events (CS_SIMULATE_SEED). */
  simulateSeed: number;
  logLevel: string;
  /** Waiting for a pooled or new Postgres connection (CS_DB_CONNECT_TIMEOUT_MS). */
  dbConnectTimeoutMs: number;
  /** Longest statement (CS_DB_STATEMENT_TIMEOUT_MS). */
  dbStatementTimeoutMs: number;
  /** Longest ingest batch statement (CS_DB_INGEST_TIMEOUT_MS). */
  dbIngestTimeoutMs: number;
  /** Health check's database probe (CS_DB_HEALTH_TIMEOUT_MS). */
  dbHealthTimeoutMs: number;
  /** Retry-After of a 503 while the database is unavailable (CS_DB_RETRY_AFTER_SECONDS). */
  dbRetryAfterSeconds: number;
  /** Ingest budget: events queued or being stored at once (CS_INGEST_MAX_EVENTS); past it, 429. */
  ingestMaxEvents: number;
  /** Ingest budget: request bytes being read, queued or stored at once (CS_INGEST_MAX_BYTES); past it, 429. */
  ingestMaxBytes: number;
  /** Ended sessions per tenant whose events stay in memory (CS_LIVE_MAX_ENDED_SESSIONS); older ones are compacted early. */
  liveMaxEndedSessions: number;
  /** Events before this instant are refused (CS_MIN_EVENT_TIME; default 2000-01-01T00:00:00Z). */
  minEventTimeMs: number;
  /** Replicas: the live state's fallback poll of the event log, besides LISTEN/NOTIFY (CS_LIVE_FOLLOW_POLL_MS). */
  liveFollowPollMs: number;
  /** Replicas: how often the background-work lease is tried for, or its holder's session checked (CS_LEASE_CHECK_MS). */
  leaseCheckMs: number;
}

export class ConfigError extends Error {}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function intSetting(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name} must be a port number (0–65535), got "${raw}"`);
  return n;
}

function countSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new ConfigError(`${name} must be a whole number from 0 to ${max}, got "${raw}"`);
  return n;
}

/** A timeout or delay: 0 would mean "wait forever" to the pg driver, so it is refused. */
function positiveSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new ConfigError(`${name} must be a whole number from 1 to ${max}, got "${raw}"`);
  return n;
}

function minEventTimeSetting(raw: string | undefined): number {
  if (raw === undefined || raw === '') return Date.UTC(2000, 0, 1);
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? Date.parse(`${raw}T00:00:00Z`) : Date.parse(raw);
  // Before 1970 would let seconds-as-milliseconds through again; day strings need 4-digit years.
  if (!Number.isFinite(ms) || ms < 0 || ms > Date.now())
    throw new ConfigError(`CS_MIN_EVENT_TIME must be a past day or time from 1970 on (e.g. 2000-01-01 or 2020-01-01T00:00:00Z), got "${raw}"`);
  return ms;
}

function timezoneSetting(raw: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: raw });
  } catch {
    throw new ConfigError(`CS_TIMEZONE "${raw}" is not a known IANA time zone (e.g. Asia/Shanghai)`);
  }
  return raw;
}

/** `tenant=token,tenant2=token2` → token → tenant. */
function tenantTokens(env: NodeJS.ProcessEnv, name: string, others: (string | undefined)[]): Map<string, string> {
  const out = new Map<string, string>();
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return out;
  for (const pair of raw.split(',')) {
    const m = /^\s*([^=\s]+)\s*=\s*(\S+)\s*$/.exec(pair);
    if (!m) throw new ConfigError(`${name} must be tenant=token pairs separated by commas, got "${pair.trim()}"`);
    const [, tenant, token] = m;
    if (out.has(token) || others.includes(token)) throw new ConfigError(`${name}: the token of tenant "${tenant}" is used twice; every token must be its own`);
    out.set(token, tenant);
  }
  return out;
}

/**
 * Every token opens one door: a token that is tenant A's query token and
 * tenant B's ingest token (or an operator's token and a tenant's) would let
 * whoever holds it act in a role nobody meant to give them.
 */
function checkTokensDistinct(c: Pick<Config, 'ingestToken' | 'apiToken' | 'tenantIngestTokens' | 'tenantApiTokens'>): void {
  const uses = new Map<string, string[]>();
  const use = (token: string | undefined, role: string) => {
    if (token === undefined) return;
    const list = uses.get(token) ?? [];
    list.push(role);
    uses.set(token, list);
  };
  use(c.ingestToken, 'CS_INGEST_TOKEN (operator ingest)');
  use(c.apiToken, 'CS_API_TOKEN (operator query)');
  for (const [token, tenant] of c.tenantIngestTokens) use(token, `CS_TENANT_INGEST_TOKENS (ingest of tenant "${tenant}")`);
  for (const [token, tenant] of c.tenantApiTokens) use(token, `CS_TENANT_API_TOKENS (query of tenant "${tenant}")`);
  for (const roles of uses.values()) {
    // The operator's two tokens may be one: it opens everything either way.
    const operatorOnly = roles.every((r) => r.startsWith('CS_INGEST_TOKEN') || r.startsWith('CS_API_TOKEN'));
    if (roles.length > 1 && !operatorOnly)
      throw new ConfigError(`one token is used for ${roles.join(' and ')}; every tenant token must be its own (the token itself is not shown)`);
  }
}

/**
 * Reads and checks the settings. `simulateDefault` is true under `npm start`
 * (api.md: the simulator is on there unless CS_SIMULATE=0) and false otherwise.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, simulateDefault = false): Config {
  const empty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);
  const config: Config = {
    port: intSetting(env, 'PORT', 9470),
    host: empty(env.HOST) ?? '127.0.0.1',
    databaseUrl: empty(env.DATABASE_URL),
    dataDir: empty(env.CS_DATA_DIR) ?? '.data',
    embeddedPgPort: intSetting(env, 'CS_EMBEDDED_PG_PORT', 54329),
    timezone: timezoneSetting(empty(env.CS_TIMEZONE) ?? 'Asia/Shanghai'),
    ingestToken: empty(env.CS_INGEST_TOKEN),
    apiToken: empty(env.CS_API_TOKEN),
    tenantIngestTokens: tenantTokens(env, 'CS_TENANT_INGEST_TOKENS', [empty(env.CS_INGEST_TOKEN), empty(env.CS_API_TOKEN)]),
    tenantApiTokens: tenantTokens(env, 'CS_TENANT_API_TOKENS', [empty(env.CS_INGEST_TOKEN), empty(env.CS_API_TOKEN)]),
    simulate:
      env.CS_SIMULATE === undefined || env.CS_SIMULATE === '' ? simulateDefault : env.CS_SIMULATE !== '0' && env.CS_SIMULATE !== 'false',
    simulateDays: countSetting(env, 'CS_SIMULATE_DAYS', 2, 90),
    simulateAgents: countSetting(env, 'CS_SIMULATE_AGENTS', 40, 5000),
    simulateSeed: countSetting(env, 'CS_SIMULATE_SEED', 1, 2 ** 31),
    logLevel: empty(env.LOG_LEVEL) ?? 'info',
    dbConnectTimeoutMs: positiveSetting(env, 'CS_DB_CONNECT_TIMEOUT_MS', 2_000, 600_000),
    dbStatementTimeoutMs: positiveSetting(env, 'CS_DB_STATEMENT_TIMEOUT_MS', 300_000, 86_400_000),
    dbIngestTimeoutMs: positiveSetting(env, 'CS_DB_INGEST_TIMEOUT_MS', 5_000, 600_000),
    dbHealthTimeoutMs: positiveSetting(env, 'CS_DB_HEALTH_TIMEOUT_MS', 500, 60_000),
    dbRetryAfterSeconds: positiveSetting(env, 'CS_DB_RETRY_AFTER_SECONDS', 5, 3_600),
    ingestMaxEvents: positiveSetting(env, 'CS_INGEST_MAX_EVENTS', 50_000, 10_000_000),
    ingestMaxBytes: positiveSetting(env, 'CS_INGEST_MAX_BYTES', 32 * 1024 * 1024, 16 * 1024 ** 3),
    liveMaxEndedSessions: positiveSetting(env, 'CS_LIVE_MAX_ENDED_SESSIONS', 20_000, 10_000_000),
    minEventTimeMs: minEventTimeSetting(empty(env.CS_MIN_EVENT_TIME)),
    liveFollowPollMs: positiveSetting(env, 'CS_LIVE_FOLLOW_POLL_MS', 500, 60_000),
    leaseCheckMs: positiveSetting(env, 'CS_LEASE_CHECK_MS', 2_000, 60_000),
  };
  checkTokensDistinct(config);
  // An exporter reachable from the network without tokens would let anyone
  // write events and read every tenant's data.
  if (!isLoopback(config.host) && (!config.ingestToken || !config.apiToken)) {
    throw new ConfigError(`HOST=${config.host} is not loopback: set both CS_INGEST_TOKEN and CS_API_TOKEN before binding beyond 127.0.0.1`);
  }
  return config;
}
