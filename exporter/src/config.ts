import { parseServiceTargets, type ServiceTargets } from './staffing/targets.js';

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
  /** Latency-bounded admission: refuse (429) while the oldest queued ingest request has waited longer (CS_INGEST_MAX_WAIT_MS). */
  ingestMaxWaitMs: number;
  /**
   * How far V8 lets the heap grow past what the last full collection kept, in percent
   * (CS_HEAP_GROWING_PERCENT, `cs-exporter serve` only; 0 = V8's own choice, up to 4×). Bounds RSS
   * under saturation: docs/robustness.md, "Memory under saturation".
   */
  heapGrowingPercent: number;
  /** Ended sessions per tenant whose events stay in memory (CS_LIVE_MAX_ENDED_SESSIONS); older ones are compacted early. */
  liveMaxEndedSessions: number;
  /** Events before this instant are refused (CS_MIN_EVENT_TIME; default 2000-01-01T00:00:00Z). */
  minEventTimeMs: number;
  /** Service-level targets per tenant and group, for 需要人数 and the staffing forecast (CS_SERVICE_LEVEL_TARGETS; default 80 % within 20 s). */
  serviceTargets: ServiceTargets;
  // Chatwoot adapter (docs/adapters/chatwoot.md).
  /** Webhook tokens: token → tenant (CS_CHATWOOT_WEBHOOK_TOKENS, tenant=token pairs); the endpoint is off when empty. */
  chatwootWebhookTokens?: Map<string, string>;
  /** Signing secrets of the tenants' Chatwoot webhooks: tenant → secrets (CS_CHATWOOT_WEBHOOK_SECRETS, tenant=secret pairs). */
  chatwootWebhookSecrets?: Map<string, string[]>;
  /** Skill group of a conversation without a team (CS_CHATWOOT_DEFAULT_GROUP). */
  chatwootDefaultGroup?: string;
  /** The REST poller, when CS_CHATWOOT_URL, CS_CHATWOOT_ACCOUNT_ID and CS_CHATWOOT_API_TOKEN are all set. */
  chatwootPoller?: { url: string; accountId: string; apiToken: string; pollSeconds: number; tenant: string };
  /** Asterisk queue_log adapter (docs/adapters/asterisk.md): follows `queueLog` when set. */
  asterisk: { queueLog?: string; tenant: string; mapFile?: string; timezone: string };
  /** Amazon Connect adapter: token → tenant of its endpoint (CS_CONNECT_TOKENS, `tenant=token,...`); empty = adapter off. */
  connectTokens: Map<string, string>;
  /** Amazon Connect adapter: JSON file of queue → group and status name → status (CS_CONNECT_MAP). */
  connectMapFile?: string;
  /** Amazon Connect adapter: seconds a contact's disconnect waits for a transfer before it ends the session (CS_CONNECT_END_GRACE_SECONDS). */
  connectEndGraceSeconds: number;
  /** Replicas: the live state's fallback poll of the event log, besides LISTEN/NOTIFY (CS_LIVE_FOLLOW_POLL_MS). */
  liveFollowPollMs: number;
  /** Replicas: how often the background-work lease is tried for, or its holder's session checked (CS_LEASE_CHECK_MS). */
  leaseCheckMs: number;
}

export class ConfigError extends Error {}

function serviceTargetsSetting(text: string | undefined): ServiceTargets {
  try {
    return parseServiceTargets(text);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

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

function timezoneSetting(raw: string, name = 'CS_TIMEZONE'): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: raw });
  } catch {
    throw new ConfigError(`${name} "${raw}" is not a known IANA time zone (e.g. Asia/Shanghai)`);
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
function checkTokensDistinct(c: Pick<Config, 'ingestToken' | 'apiToken' | 'tenantIngestTokens' | 'tenantApiTokens' | 'connectTokens'>): void {
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
  for (const [token, tenant] of c.connectTokens) use(token, `CS_CONNECT_TOKENS (Amazon Connect adapter of tenant "${tenant}")`);
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
    ingestMaxWaitMs: positiveSetting(env, 'CS_INGEST_MAX_WAIT_MS', 250, 600_000),
    liveMaxEndedSessions: positiveSetting(env, 'CS_LIVE_MAX_ENDED_SESSIONS', 20_000, 10_000_000),
    heapGrowingPercent: countSetting(env, 'CS_HEAP_GROWING_PERCENT', 50, 1_000),
    minEventTimeMs: minEventTimeSetting(empty(env.CS_MIN_EVENT_TIME)),
    serviceTargets: serviceTargetsSetting(env.CS_SERVICE_LEVEL_TARGETS),
    ...chatwootSettings(env, [empty(env.CS_INGEST_TOKEN), empty(env.CS_API_TOKEN)]),
    asterisk: {
      queueLog: empty(env.CS_ASTERISK_QUEUE_LOG),
      tenant: empty(env.CS_ASTERISK_TENANT) ?? 'default',
      mapFile: empty(env.CS_ASTERISK_MAP),
      // The realtime table's CSV carries the PBX's wall clock; queue_log epochs are UTC either way.
      timezone: timezoneSetting(empty(env.CS_ASTERISK_TIMEZONE) ?? empty(env.CS_TIMEZONE) ?? 'Asia/Shanghai', 'CS_ASTERISK_TIMEZONE'),
    },
    connectTokens: tenantTokens(env, 'CS_CONNECT_TOKENS', [empty(env.CS_INGEST_TOKEN), empty(env.CS_API_TOKEN)]),
    connectMapFile: empty(env.CS_CONNECT_MAP),
    connectEndGraceSeconds: countSetting(env, 'CS_CONNECT_END_GRACE_SECONDS', 30, 86_400),
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

/** The Chatwoot adapter's settings (docs/adapters/chatwoot.md). */
function chatwootSettings(env: NodeJS.ProcessEnv, others: (string | undefined)[]): Partial<Config> {
  const empty = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v.trim());
  const secrets = new Map<string, string[]>();
  for (const pair of (empty(env.CS_CHATWOOT_WEBHOOK_SECRETS) ?? '').split(',').filter((p) => p.trim() !== '')) {
    const m = /^\s*([^=\s]+)\s*=\s*(\S+)\s*$/.exec(pair);
    if (!m) throw new ConfigError('CS_CHATWOOT_WEBHOOK_SECRETS must be tenant=secret pairs separated by commas (the secret Chatwoot shows for the webhook)');
    secrets.set(m[1], [...(secrets.get(m[1]) ?? []), m[2]]);
  }
  const group = empty(env.CS_CHATWOOT_DEFAULT_GROUP) ?? 'chatwoot';
  if (group.length > 128) throw new ConfigError('CS_CHATWOOT_DEFAULT_GROUP must be a group id of at most 128 characters');
  const url = empty(env.CS_CHATWOOT_URL);
  const accountId = empty(env.CS_CHATWOOT_ACCOUNT_ID);
  const apiToken = empty(env.CS_CHATWOOT_API_TOKEN);
  const set = [url, accountId, apiToken].filter((v) => v !== undefined).length;
  if (set > 0 && set < 3) throw new ConfigError('the Chatwoot poller needs all of CS_CHATWOOT_URL, CS_CHATWOOT_ACCOUNT_ID and CS_CHATWOOT_API_TOKEN (or none of them)');
  if (url !== undefined && !/^https?:\/\/[^\s]+$/.test(url)) throw new ConfigError(`CS_CHATWOOT_URL must be an http(s) URL, e.g. https://chatwoot.example.com, got "${url}"`);
  if (accountId !== undefined && !/^\d+$/.test(accountId)) throw new ConfigError(`CS_CHATWOOT_ACCOUNT_ID must be the account's number (in Chatwoot's URLs: /app/accounts/<id>/...), got "${accountId}"`);
  const tokens = tenantTokens(env, 'CS_CHATWOOT_WEBHOOK_TOKENS', others);
  // The token is a path segment of the URL given to Chatwoot.
  for (const [token, tenant] of tokens)
    if (!/^[A-Za-z0-9._~-]{16,}$/.test(token))
      throw new ConfigError(`CS_CHATWOOT_WEBHOOK_TOKENS: the token of tenant "${tenant}" must be at least 16 letters, digits or . _ ~ - (it goes in the webhook URL); e.g. openssl rand -hex 24`);
  return {
    chatwootWebhookTokens: tokens,
    chatwootWebhookSecrets: secrets,
    chatwootDefaultGroup: group,
    chatwootPoller:
      url && accountId && apiToken
        ? { url, accountId, apiToken, pollSeconds: positiveSetting(env, 'CS_CHATWOOT_POLL_SECONDS', 30, 86_400), tenant: empty(env.CS_CHATWOOT_TENANT) ?? 'default' }
        : undefined,
  };
}
