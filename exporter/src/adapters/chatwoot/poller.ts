/**
 * Polls Chatwoot's REST API for what its webhooks never carry: agents, teams, team members and
 * each agent's availability (online / busy / offline). Emits `group.upsert`, `agent.upsert` and
 * `agent.status` only on change. An unreachable or failing Chatwoot is logged and tried again
 * at the next poll, never fatal; a poll whose events could not be stored (429/503) is emitted
 * again next time, since the remembered state only moves once ingest took the events.
 *
 * API (application API, `api_access_token` header; chatwoot/chatwoot):
 * - GET /api/v1/accounts/{id}/agents → array of app/views/api/v1/models/_agent.json.jbuilder:
 *   `id`, `name`, `available_name`, `email`, `role`, `availability_status` (online | busy | offline),
 *   `confirmed`, `auto_offline`...;
 * - GET /api/v1/accounts/{id}/teams → array of app/views/api/v1/models/_team.json.jbuilder:
 *   `id`, `name`, `description`, `allow_auto_assign`, `account_id`, `is_member`;
 * - GET /api/v1/accounts/{id}/teams/{team_id}/team_members → array of agents (same partial,
 *   app/views/api/v1/accounts/team_members/index.json.jbuilder).
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { AppContext } from '../../http/app.js';
import { agentIdOf, groupIdOf } from './map.js';

export const POLLER_ADAPTER = 'chatwoot_api';

export interface PollerSettings {
  url: string;
  accountId: string;
  apiToken: string;
  pollSeconds: number;
  tenant: string;
  /** Longest wait for one API call. */
  timeoutMs?: number;
  /** Ends the calls in flight. */
  signal?: AbortSignal;
  now?: () => number;
}

/** Chatwoot's availability → our agent status (events.md `agent.status`). */
const STATUS: Record<string, 'online' | 'busy' | 'offline'> = { online: 'online', busy: 'busy', offline: 'offline' };

export interface AgentState {
  name: string;
  groups: string[];
  status: 'online' | 'busy' | 'offline';
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const idOf = (v: unknown) => ((typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && /^\d{1,19}$/.test(v)) ? String(v) : undefined);
const short = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 12);

export class ChatwootPoller {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  /** Cuts a poll in flight when the exporter stops, rather than waiting for Chatwoot's answer. */
  private readonly abort = new AbortController();
  private teams = new Map<string, string>();
  private agents = new Map<string, AgentState>();
  /** Completed polls (whether or not anything changed), for tests and the log. */
  polls = 0;
  failures = 0;

  constructor(
    private readonly s: PollerSettings,
    private readonly ctx: AppContext,
    private readonly log: Logger,
  ) {}

  start(): void {
    const loop = async () => {
      if (this.stopped) return;
      this.running = this.pollOnce();
      await this.running;
      if (!this.stopped) this.timer = setTimeout(loop, this.s.pollSeconds * 1000);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await this.running;
  }

  /** One poll: read, compare, emit the changes. Never throws. */
  async pollOnce(): Promise<void> {
    try {
      await this.poll();
      this.polls++;
    } catch (err) {
      if (this.stopped) return;
      this.failures++;
      // The message names the path and status only: never the token.
      this.log.warn({ adapter: POLLER_ADAPTER, err: (err as Error).message }, 'chatwoot poll failed; trying again at the next poll');
    }
  }

  private async poll(): Promise<void> {
    const nowMs = (this.s.now ?? Date.now)();
    const { teams, agents } = await readChatwoot({ ...this.s, signal: this.abort.signal }, (outcome, why, item) =>
      outcome === 'mapped' ? this.ctx.adapters.count(POLLER_ADAPTER, 'mapped') : this.ctx.adapters.bad(this.log, POLLER_ADAPTER, outcome, why, item),
    );

    const events: Record<string, unknown>[] = [];
    for (const [id, name] of teams) {
      if (this.teams.get(id) === name) continue;
      events.push({ id: `cw:team:${id}:name:${short(name)}:${nowMs}`, type: 'group.upsert', time: nowMs, groupId: groupIdOf(id), name });
    }
    for (const [id, a] of agents) {
      const was = this.agents.get(id);
      const agentId = agentIdOf(id);
      if (!was || was.name !== a.name || was.groups.join() !== a.groups.join())
        events.push({ id: `cw:agent:${id}:upsert:${nowMs}`, type: 'agent.upsert', time: nowMs, agentId, name: a.name, groups: a.groups });
      // Chatwoot tells no time of a presence change: the poll that saw it stands in.
      if (!was || was.status !== a.status) events.push({ id: `cw:agent:${id}:status:${a.status}:${nowMs}`, type: 'agent.status', time: nowMs, agentId, status: a.status });
    }
    // An agent removed from the account is offline from then on.
    for (const [id, was] of this.agents) {
      if (agents.has(id) || was.status === 'offline') continue;
      events.push({ id: `cw:agent:${id}:status:offline:${nowMs}`, type: 'agent.status', time: nowMs, agentId: agentIdOf(id), status: 'offline' });
    }
    if (events.length > 0) {
      const answer = await this.ctx.ingest.submit(
        events.map((value) => ({ value })),
        { tenant: this.s.tenant },
      );
      if (answer.rejected.length > 0) this.log.warn({ adapter: POLLER_ADAPTER, rejected: answer.rejected }, 'chatwoot poll: some events were rejected');
    }
    this.teams = teams;
    this.agents = agents;
  }
}

type Report = (outcome: 'mapped' | 'unknown' | 'invalid', why: string, item: unknown) => void;

async function get(s: PollerSettings, path: string): Promise<unknown[]> {
  const url = `${s.url.replace(/\/+$/, '')}/api/v1/accounts/${encodeURIComponent(s.accountId)}${path}`;
  const r = await fetch(url, {
    headers: { api_access_token: s.apiToken, accept: 'application/json' },
    signal: s.signal ? AbortSignal.any([s.signal, AbortSignal.timeout(s.timeoutMs ?? 10_000)]) : AbortSignal.timeout(s.timeoutMs ?? 10_000),
  });
  if (!r.ok) throw new Error(`GET ${path} answered ${r.status}${r.status === 401 ? ' (check CS_CHATWOOT_API_TOKEN)' : ''}`);
  const body = (await r.json()) as unknown;
  // Some versions wrap lists as { payload: [...] }.
  const list = Array.isArray(body) ? body : isObj(body) && Array.isArray(body.payload) ? body.payload : undefined;
  if (!list) throw new Error(`GET ${path} did not answer a JSON array`);
  return list;
}

/** Reads the account's teams (id → name) and agents (id → name, groups, status), as the poller maps them. */
export async function readChatwoot(s: PollerSettings, report: Report = () => {}): Promise<{ teams: Map<string, string>; agents: Map<string, AgentState> }> {
  const agentsRaw = await get(s, '/agents');
  const teamsRaw = await get(s, '/teams');
  const teams = new Map<string, string>();
  const members = new Map<string, string[]>();
  for (const t of teamsRaw) {
    const id = isObj(t) ? idOf(t.id) : undefined;
    if (!isObj(t) || id === undefined) {
      report('invalid', 'team without an id', t);
      continue;
    }
    report('mapped', '', t);
    teams.set(id, typeof t.name === 'string' && t.name.trim() !== '' ? t.name.trim().slice(0, 200) : `team ${id}`);
    for (const m of await get(s, `/teams/${id}/team_members`)) {
      const uid = isObj(m) ? idOf(m.id) : undefined;
      if (uid === undefined) continue;
      const list = members.get(uid) ?? [];
      list.push(groupIdOf(id));
      members.set(uid, list);
    }
  }
  const agents = new Map<string, AgentState>();
  for (const a of agentsRaw) {
    const id = isObj(a) ? idOf(a.id) : undefined;
    if (!isObj(a) || id === undefined) {
      report('invalid', 'agent without an id', a);
      continue;
    }
    const status = STATUS[String(a.availability_status)];
    if (!status) {
      report('unknown', `availability_status "${String(a.availability_status)}" is not online, busy or offline`, a);
      continue;
    }
    report('mapped', '', a);
    const name = [a.available_name, a.name].find((n): n is string => typeof n === 'string' && n.trim() !== '')?.trim().slice(0, 200) ?? `agent ${id}`;
    agents.set(id, { name, groups: (members.get(id) ?? []).sort(), status });
  }
  return { teams, agents };
}
