/**
 * The Chatwoot REST poller against a thin fake Chatwoot on 127.0.0.1 (Chatwoot itself cannot run
 * here). Its answers follow chatwoot/chatwoot's views: GET /api/v1/accounts/{id}/agents →
 * app/views/api/v1/models/_agent.json.jbuilder; /teams → _team.json.jbuilder;
 * /teams/{id}/team_members → accounts/team_members/index.json.jbuilder (agents); every call
 * authenticated by the `api_access_token` header.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { liveRows, type Clock } from './helpers/live.js';
import { exporterRoot } from './helpers/exporter.js';
import { loadConfig, type Config } from '../src/config.js';
import { startExporter, type Exporter } from '../src/exporter.js';
import { createLogger } from '../src/log.js';
import { liveComponent } from '../src/live/component.js';
import { chatwootComponent } from '../src/adapters/chatwoot/index.js';
import { ChatwootPoller } from '../src/adapters/chatwoot/poller.js';

// The live clock runs a minute ahead of the real one: the poller started by the exporter stamps
// its events with the real time, which 监控 must see as past.
const T = Date.now() + 60_000;
const API_TOKEN = 'cw-api-token';

const agent = (id: number, name: string, availability_status: string) => ({
  id,
  account_id: 7,
  availability_status,
  auto_offline: true,
  confirmed: true,
  active: true,
  email: `${name.toLowerCase()}@example.com`,
  provider: 'email',
  available_name: name,
  name,
  role: 'agent',
  thumbnail: '',
});
const team = (id: number, name: string) => ({ id, name, description: '', allow_auto_assign: true, account_id: 7, is_member: false });

/** What the fake Chatwoot holds now; the tests change it between polls. */
interface FakeState {
  agents: ReturnType<typeof agent>[];
  teams: ReturnType<typeof team>[];
  members: Record<number, number[]>;
}

function fakeChatwoot(state: FakeState): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.headers.api_access_token !== API_TOKEN) return json(401, { error: 'You need to sign in or sign up before continuing.' });
    const m = /^\/api\/v1\/accounts\/7\/(agents|teams|teams\/(\d+)\/team_members)$/.exec(req.url ?? '');
    if (!m) return json(404, { error: 'not found' });
    if (m[1] === 'agents') return json(200, state.agents);
    if (m[1] === 'teams') return json(200, state.teams);
    const ids = state.members[Number(m[2])] ?? [];
    return json(200, state.agents.filter((a) => ids.includes(a.id)));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests })));
}

const close = (s: Server) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())));

describe('Chatwoot REST poller: agents, teams and presence', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  let fake: Awaited<ReturnType<typeof fakeChatwoot>>;
  const clock: Clock = { ms: T };
  const state: FakeState = {
    agents: [agent(11, 'Alice', 'online'), agent(12, 'Bob', 'busy'), agent(13, 'Carol', 'offline')],
    teams: [team(1, '售前'), team(2, '售后')],
    members: { 1: [11, 12], 2: [12, 13] },
  };
  before(async () => {
    db = await freshDatabase();
    fake = await fakeChatwoot(state);
    const base = loadConfig({
      CS_CHATWOOT_URL: fake.url,
      CS_CHATWOOT_ACCOUNT_ID: '7',
      CS_CHATWOOT_API_TOKEN: API_TOKEN,
      CS_CHATWOOT_POLL_SECONDS: '3600',
    });
    const config: Config = { ...base, port: 0, databaseUrl: db.url, simulate: false };
    exporter = await startExporter(config, createLogger('silent'), [(c) => liveComponent(c, { now: () => clock.ms }), chatwootComponent]);
  });
  after(async () => {
    await exporter?.close();
    if (fake?.server.listening) await close(fake.server);
    await db?.drop();
  });

  const agents = async (tenant: string) =>
    Object.fromEntries((await liveRows(exporter.url, { report: 'live_agents', tenant })).map((r) => [r.agent_id, [r.name, r.status]]));

  it('When the settings name a Chatwoot, then the exporter polls it at start-up and 监控 shows its agents', async () => {
    const until = Date.now() + 10_000;
    let seen: Record<string, unknown> = {};
    while (Date.now() < until) {
      seen = await agents('default');
      if (Object.keys(seen).length === 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // availability_status online / busy / offline → agent.status online / busy / offline; available_name → name.
    assert.deepEqual(seen, { 'cw-agent-11': ['Alice', 'online'], 'cw-agent-12': ['Bob', 'busy'], 'cw-agent-13': ['Carol', 'offline'] });
    assert.ok(fake.requests.includes('/api/v1/accounts/7/teams/2/team_members'));
  });

  it('When an admin runs `cs-exporter adapter chatwoot check`, then it prints the teams and agents as they will be sent', async () => {
    const { stdout, code } = await new Promise<{ stdout: string; code: number | null }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'adapter', 'chatwoot', 'check'], {
        cwd: exporterRoot,
        env: { ...process.env, CS_CHATWOOT_URL: fake.url, CS_CHATWOOT_ACCOUNT_ID: '7', CS_CHATWOOT_API_TOKEN: API_TOKEN, CS_CHATWOOT_WEBHOOK_TOKENS: 'acme=t0k-0123456789abcdef' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (out += c));
      child.on('exit', (c) => resolve({ stdout: out, code: c }));
    });
    assert.equal(code, 0, stdout);
    assert.match(stdout, /on, for tenant\(s\) acme/);
    assert.match(stdout, /cw-team-2\t售后\n/);
    // Bob is in both teams; busy stays busy.
    assert.match(stdout, /cw-agent-12\tBob\tbusy\tcw-team-1,cw-team-2\n/);
    assert.doesNotMatch(stdout, new RegExp(API_TOKEN), 'the token is never printed');
  });

  it('When polled again, then only what changed is sent; a Chatwoot that fails is logged and tried again, never fatal', async () => {
    const poller = new ChatwootPoller({ url: fake.url, accountId: '7', apiToken: API_TOKEN, pollSeconds: 3600, tenant: 'p2', now: () => clock.ms }, exporter.ctx, createLogger('silent'));
    const accepted = () => exporter.ctx.writer.stats.accepted;
    let n = accepted();
    await poller.pollOnce();
    // 2 teams (group.upsert) + 3 agents × (agent.upsert + agent.status) = 8 events.
    assert.equal(accepted() - n, 8);
    const groups = Object.fromEntries((await liveRows(exporter.url, { report: 'live_groups', tenant: 'p2' })).map((r) => [r.group_id, [r.group_name, r.agents_online, r.agents_offline]]));
    // 售前 = Alice (online) + Bob (busy); 售后 = Bob (busy) + Carol (offline). Busy is neither online nor offline.
    assert.deepEqual(groups, { 'cw-team-1': ['售前', 1, 0], 'cw-team-2': ['售后', 0, 1] });

    n = accepted();
    clock.ms += 30_000;
    await poller.pollOnce();
    assert.equal(accepted() - n, 0, 'nothing changed, nothing sent');

    // Alice goes offline (agent.status), 售后 is renamed (group.upsert), Bob, busy, leaves the account
    // (agent.status offline) = 3. Alice's and Carol's names and teams stay: no agent.upsert.
    state.agents = [agent(11, 'Alice', 'offline'), agent(13, 'Carol', 'offline')];
    state.teams = [team(1, '售前'), team(2, '售后服务')];
    state.members = { 1: [11], 2: [13] };
    n = accepted();
    clock.ms += 30_000;
    await poller.pollOnce();
    assert.equal(accepted() - n, 3);
    assert.deepEqual(await agents('p2'), { 'cw-agent-11': ['Alice', 'offline'], 'cw-agent-12': ['Bob', 'offline'], 'cw-agent-13': ['Carol', 'offline'] });

    const bad = new ChatwootPoller({ url: fake.url, accountId: '7', apiToken: 'wrong', pollSeconds: 3600, tenant: 'p2' }, exporter.ctx, createLogger('silent'));
    await bad.pollOnce();
    assert.equal(bad.failures, 1, 'a 401 is a failed poll');
    await close(fake.server);
    n = accepted();
    await poller.pollOnce();
    assert.equal(poller.failures, 1, 'an unreachable Chatwoot is a failed poll');
    assert.equal(accepted() - n, 0);
    const health = await fetch(`${exporter.url}/api/v1/health`);
    assert.equal(health.status, 200);
  });
});

describe('Chatwoot settings', () => {
  it('When the settings are incomplete or malformed, then start-up refuses them naming the setting', () => {
    assert.throws(() => loadConfig({ CS_CHATWOOT_URL: 'https://cw.example.com' }), /needs all of CS_CHATWOOT_URL, CS_CHATWOOT_ACCOUNT_ID and CS_CHATWOOT_API_TOKEN/);
    assert.throws(() => loadConfig({ CS_CHATWOOT_URL: 'cw.example.com', CS_CHATWOOT_ACCOUNT_ID: '1', CS_CHATWOOT_API_TOKEN: 'x' }), /CS_CHATWOOT_URL must be an http\(s\) URL/);
    assert.throws(() => loadConfig({ CS_CHATWOOT_URL: 'https://cw.example.com', CS_CHATWOOT_ACCOUNT_ID: 'acme', CS_CHATWOOT_API_TOKEN: 'x' }), /CS_CHATWOOT_ACCOUNT_ID must be the account's number/);
    assert.throws(() => loadConfig({ CS_CHATWOOT_WEBHOOK_TOKENS: 'acme=short' }), /token of tenant "acme" must be at least 16/);
    assert.throws(() => loadConfig({ CS_CHATWOOT_WEBHOOK_TOKENS: 'acme=a/b-0123456789abcdef' }), /must be at least 16 letters, digits/);
    assert.throws(() => loadConfig({ CS_INGEST_TOKEN: 'same-0123456789abcdef', CS_CHATWOOT_WEBHOOK_TOKENS: 'acme=same-0123456789abcdef' }), /used twice/);
    assert.throws(() => loadConfig({ CS_CHATWOOT_WEBHOOK_SECRETS: 'acme' }), /CS_CHATWOOT_WEBHOOK_SECRETS must be tenant=secret pairs/);
    // Nothing set: both parts off.
    const off = loadConfig({});
    assert.equal(off.chatwootWebhookTokens?.size, 0);
    assert.equal(off.chatwootPoller, undefined);
    const on = loadConfig({ CS_CHATWOOT_URL: 'https://cw.example.com/', CS_CHATWOOT_ACCOUNT_ID: '3', CS_CHATWOOT_API_TOKEN: 'tok' });
    assert.deepEqual(on.chatwootPoller, { url: 'https://cw.example.com/', accountId: '3', apiToken: 'tok', pollSeconds: 30, tenant: 'default' });
  });
});
