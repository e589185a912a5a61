/**
 * The Amazon Connect adapter and its input: the real samples of ../shared/samples/amazon-connect/,
 * tokens, bad and unknown records, and ingest's 429 passed on so the forwarder retries.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { loadConfig, type Config } from '../src/config.js';
import { startExporter, type Exporter } from '../src/exporter.js';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { liveRows, scrape, series } from './helpers/live.js';
import { queryRows } from './helpers/reports.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';
import { waitFor } from './helpers/faults.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  agentRecord,
  connectSamples,
  eventBridge,
  firehoseDelivery,
  postConnect,
  queueArn,
  stripJsonc,
  type AgentDef,
} from './adapter-connect.helpers.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

const TOKENS: Record<string, string> = {
  default: 'tok-in-default-0123456789',
  'sample-agent': 'tok-in-sample-agent-0123',
  'sample-connected': 'tok-in-sample-conn-0123',
  'sample-disconnected': 'tok-in-sample-disc-0123',
};

/**
 * How each published sample is read. The two agent event stream samples do not parse even with
 * their comments and trailing commas dropped: the documentation page broke them. Each repair below
 * is the least edit that makes the published text the record it shows; the test checks that each is
 * needed and applies exactly once. `tenant`: each sample goes to its own tenant, since the two contact
 * samples reuse one placeholder contact id for different contacts.
 */
const SAMPLE_PLAN: Record<string, { tenant: string; repairs: [RegExp, string, string][] }> = {
  'awsdocs-2019-11/sample-agent-event-stream.jsonc': {
    tenant: 'sample-agent',
    repairs: [
      [/^\s*They aren't on any chats right now\.\s*$/m, '', 'a comment continued on a line without //'],
      [/("MaximumSlots": 3\s*)\{/, '$1},{', 'the "}," between the CHAT and VOICE Concurrency entries is missing'],
    ],
  },
  'awsdocs-2023-04/sample-agent-event-stream.jsonc': {
    tenant: 'sample-agent',
    repairs: [[/(\}\s*)\}\s*,(\s*"Configuration")/, '$1,$2', 'CurrentAgentSnapshot is closed before its Configuration']],
  },
  'awsdocs-2023-04/contact-event-connected-to-agent.json': { tenant: 'sample-connected', repairs: [] },
  'awsdocs-2023-04/contact-event-disconnected.jsonc': { tenant: 'sample-disconnected', repairs: [] },
};

function readSample(file: string, text: string): unknown {
  const plan = SAMPLE_PLAN[file];
  assert.ok(plan, `a new Amazon Connect sample ${file}: say in SAMPLE_PLAN how it is read and what it should show`);
  let body = file.endsWith('.jsonc') ? stripJsonc(text) : text;
  if (plan.repairs.length > 0) assert.throws(() => JSON.parse(body), `${file} parses as published: drop its repairs`);
  for (const [re, by, why] of plan.repairs) {
    assert.equal(body.match(new RegExp(re.source, `${re.flags}g`))?.length ?? 0, 1, `${file}: the repair "${why}" should apply once`);
    body = body.replace(re, by);
  }
  return JSON.parse(body);
}

interface Captured {
  lines: () => Record<string, unknown>[];
}

async function start(dbUrl: string, overrides: Partial<Config> = {}): Promise<Exporter & Captured> {
  const out: string[] = [];
  const log = pino({ level: 'warn' }, new Writable({ write: (c, _e, cb) => (out.push(String(c)), cb()) }));
  const config: Config = {
    ...loadConfig({}),
    port: 0,
    databaseUrl: dbUrl,
    simulate: false,
    connectTokens: new Map(Object.entries(TOKENS).map(([tenant, token]) => [token, tenant])),
    // The samples' contact ends at once: no transfer will follow them.
    connectEndGraceSeconds: 0,
    ...overrides,
  };
  const e = await startExporter(config, log);
  return Object.assign(e, {
    lines: () =>
      out
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  });
}

const items = async (url: string, outcome: string) =>
  (await scrape(url)).get(series('cs_exporter_adapter_items_total', { adapter: 'amazon-connect', outcome })) ?? 0;

describe('Amazon Connect: the published samples', () => {
  let db: TestDatabase;
  let exporter: Exporter & Captured;
  before(async () => {
    db = await freshDatabase();
    exporter = await start(db.url);
  });
  after(async () => {
    await exporter.close();
    await db.drop();
  });

  it('When every sample is posted, then each is read, and what it holds shows up in 监控 and 报表', async () => {
    const samples = connectSamples();
    assert.deepEqual(samples.map(([f]) => f).sort(), Object.keys(SAMPLE_PLAN).sort(), 'every sample file has a plan');
    const answers: Record<string, any> = {};
    for (const [file, text] of samples) {
      const r = await postConnect(exporter.url, readSample(file, text), { bearer: TOKENS[SAMPLE_PLAN[file].tenant] });
      assert.equal(r.status, 200, `${file}: ${JSON.stringify(r.body)}`);
      answers[file] = r.body;
    }
    // 2019 HEART_BEAT: Offline before and after, same configuration: it changes nothing (ignored).
    assert.deepEqual(answers['awsdocs-2019-11/sample-agent-event-stream.jsonc'].records, { mapped: 0, ignored: 1, unknown: 0, invalid: 0 });
    // 2023 HEART_BEAT: Offline → Available since 2019-08-13T20:52:30.704Z: group.upsert of
    // Omni-channel-queue, agent.upsert, agent.status online (3 events).
    assert.deepEqual(answers['awsdocs-2023-04/sample-agent-event-stream.jsonc'], {
      accepted: 3,
      duplicates: 0,
      records: { mapped: 1, ignored: 0, unknown: 0, invalid: 0 },
      problems: [],
    });
    // CONNECTED_TO_AGENT (a bare detail): session.start, session.queue, session.answer.
    assert.equal(answers['awsdocs-2023-04/contact-event-connected-to-agent.json'].accepted, 3);
    // DISCONNECTED (EventBridge envelope): its InitiationMethod is OUTBOUND, a call the agent dialled:
    // no session (ignored).
    assert.deepEqual(answers['awsdocs-2023-04/contact-event-disconnected.jsonc'], {
      accepted: 0,
      duplicates: 0,
      records: { mapped: 0, ignored: 1, unknown: 0, invalid: 0 },
      problems: [],
    });

    // 报表, agent: 20:52:30.704Z on 08-13 is 04:52:30.704 on 2019-08-14 in Asia/Shanghai; online
    // to the day's end (16:00Z) = 68,849.296 s = 19.124804 h.
    const agent = await queryRows(exporter.url, {
      report: 'agent_daily',
      from: '2019-08-14',
      to: '2019-08-14',
      tenant: 'sample-agent',
      metrics: ['first_online_at', 'work_hours'],
    });
    assert.deepEqual(agent.rows, [
      {
        date: '2019-08-14',
        agent_id: 'agent-ARN',
        agent_name: 'AgentEventStreamTest Agent',
        work_no: 'aestest',
        first_online_at: Date.parse('2019-08-13T20:52:30.704Z'),
        work_hours: 19.124804,
      },
    ]);
    // 监控: the agent is online in its routing profile's named queue (the agent queue has no name and is no group).
    const live = await liveRows(exporter.url, {
      report: 'live_agents',
      tenant: 'sample-agent',
      metrics: ['name', 'status', 'max_sessions'],
    });
    assert.deepEqual(
      live.map((r) => [r.agent_id, r.name, r.status, r.max_sessions]),
      [['agent-ARN', 'AgentEventStreamTest Agent', 'online', 3]],
    );
    assert.equal(
      (await scrape(exporter.url)).get(series('cs_agents', { tenant: 'sample-agent', group: 'queue-ARN', status: 'online' })),
      1,
    );

    // 报表, contacts: the CONNECTED_TO_AGENT sample is of 2021-08-05 local (17:29Z + 8 h = 01:29).
    // Enqueued 17:29:04, connected 17:29:09: waited 5 s ≤ 20 s, a direct leg answered and credited
    // to its queue (the group is the queue id, the agent the id of its ARN). The outbound
    // DISCONNECTED sample leaves nothing.
    const day = (tenant: string) =>
      queryRows(exporter.url, {
        report: 'group_daily',
        from: '2021-08-05',
        to: '2021-08-05',
        tenant,
        metrics: ['inflow', 'answered', 'direct_inflow', 'direct_answered', 'answered_20s'],
      }).then((r) => r.rows.map(({ group_name: _n, ...rest }) => rest));
    const QID = '12345678-1234-1234-1234-123456789012';
    assert.deepEqual(await day('sample-connected'), [
      { date: '2021-08-05', group_id: QID, inflow: 1, answered: 1, direct_inflow: 1, direct_answered: 1, answered_20s: 1 },
    ]);
    assert.deepEqual(await day('sample-disconnected'), []);
    const agentDay = (tenant: string) =>
      queryRows(exporter.url, { report: 'agent_daily', from: '2021-08-05', to: '2021-08-05', tenant, metrics: ['answered'] }).then((r) =>
        r.rows.map((x) => [x.agent_id, x.answered]),
      );
    assert.deepEqual(await agentDay('sample-connected'), [[QID, 1]]);
    assert.deepEqual(await agentDay('sample-disconnected'), []);
  });

  it('When a sample is posted as published (broken JSON), then it is refused with 400, counted and logged, and the adapter goes on', async () => {
    const [file, text] = connectSamples().find(([f]) => f.startsWith('awsdocs-2019-11/'))!;
    const before = await items(exporter.url, 'invalid');
    const r = await postConnect(exporter.url, text, { bearer: TOKENS.default });
    assert.equal(r.status, 400, file);
    assert.match(r.body.error, /^body is not valid JSON/);
    assert.equal(await items(exporter.url, 'invalid'), before + 1);
    const logged = exporter
      .lines()
      .find((l) => l.adapter === 'amazon-connect' && l.outcome === 'invalid' && String(l.input).includes('AgentEventStreamTest'));
    assert.ok(logged, 'the body is in the log');
    assert.equal(logged.msg, 'adapter amazon-connect: body is not JSON');
  });
});

describe('Amazon Connect: tokens, bad records, overload', () => {
  let db: TestDatabase;
  let exporter: Exporter & Captured;
  const A: AgentDef = { id: 'ag-9', first: 'Wu', last: 'Wang', username: 'wang', queues: [{ id: 'q-9', name: 'Billing' }] };
  const login = agentRecord('e-login-9', 'LOGIN', A, Date.now() - 60_000, ['Available', Date.now() - 60_000]);
  before(async () => {
    db = await freshDatabase();
    exporter = await start(db.url);
  });
  after(async () => {
    await exporter.close();
    await db.drop();
  });

  it('When the token is missing or wrong, then 401 and nothing is read', async () => {
    const before = await scrape(exporter.url);
    const none = await postConnect(exporter.url, login);
    const wrong = await postConnect(exporter.url, login, { bearer: 'not-a-token' });
    const wrongKey = await postConnect(exporter.url, firehoseDelivery('fh-401', [login]), { firehoseKey: 'not-a-token' });
    assert.deepEqual([none.status, wrong.status, wrongKey.status], [401, 401, 401]);
    assert.match(wrong.body.error, /CS_CONNECT_TOKENS/);
    // Firehose reads only its own answer shape (httpdeliveryrequestresponse.md).
    assert.equal(wrongKey.body.requestId, 'fh-401');
    assert.equal(typeof wrongKey.body.timestamp, 'number');
    assert.match(wrongKey.body.errorMessage, /token/);
    // Another tenant's ingest token or the query token does not open it either: only CS_CONNECT_TOKENS.
    const after = await scrape(exporter.url);
    for (const outcome of ['mapped', 'ignored', 'unknown', 'invalid']) {
      const key = series('cs_exporter_adapter_items_total', { adapter: 'amazon-connect', outcome });
      assert.equal(after.get(key) ?? 0, before.get(key) ?? 0, outcome);
    }
    assert.deepEqual(await liveRows(exporter.url, { report: 'live_agents', metrics: ['status'] }), []);
  });

  it('When a batch holds bad and unknown records, then the good one is taken and the others are counted and logged', async () => {
    const batch = [
      login,
      'hello',
      { foo: 1 },
      eventBridge('eb-foo', Date.now(), { eventType: 'SOMETHING_NEW', contactId: 'k1', channel: 'VOICE' }),
      { ...eventBridge('eb-other', Date.now(), {}), 'detail-type': 'Amazon Connect Agent Event' },
      eventBridge('eb-bad-time', Date.now(), {
        eventType: 'QUEUED',
        contactId: 'k2',
        initiationTimestamp: 'yesterday',
        queueInfo: { queueArn: queueArn('q-9') },
      }),
      { ...agentRecord('x', 'LOGOUT', A, Date.now()), EventId: undefined },
    ];
    const r = await postConnect(exporter.url, batch, { bearer: TOKENS.default });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // The LOGIN: group.upsert (Billing), agent.upsert, agent.status online, agent.log 登录 = 4 events.
    assert.equal(r.body.accepted, 4);
    assert.deepEqual(r.body.records, { mapped: 1, ignored: 0, unknown: 3, invalid: 3 });
    assert.deepEqual(
      r.body.problems.map((p: { index: number; outcome: string }) => [p.index, p.outcome]),
      [
        [1, 'invalid'],
        [2, 'unknown'],
        [3, 'unknown'],
        [4, 'unknown'],
        [5, 'invalid'],
        [6, 'invalid'],
      ],
    );
    assert.match(r.body.problems[4].error, /initiationTimestamp: "yesterday" is not an ISO 8601 time/);
    // Each bad record is in the log with its body.
    const logged = exporter.lines().filter((l) => l.adapter === 'amazon-connect');
    assert.ok(logged.some((l) => l.outcome === 'unknown' && l.input === '{"foo":1}'));
    assert.ok(logged.some((l) => l.outcome === 'unknown' && String(l.input).includes('SOMETHING_NEW')));
    assert.ok(logged.some((l) => l.outcome === 'invalid' && l.input === 'hello'));
    // 监控: the good record's agent is online in Billing.
    const live = await liveRows(exporter.url, { report: 'live_agents', metrics: ['name', 'status'] });
    assert.deepEqual(
      live.map((x) => [x.agent_id, x.name, x.status]),
      [['ag-9', 'Wu Wang', 'online']],
    );
    const m = await scrape(exporter.url);
    assert.equal(m.get(series('cs_agents', { tenant: 'default', group: 'q-9', status: 'online' })), 1);
    assert.equal(await items(exporter.url, 'unknown'), 3);
  });

  it('When a Firehose delivery holds a record that is not JSON, then the delivery is acknowledged and the other records are taken', async () => {
    const logout = agentRecord('e-logout-9', 'LOGOUT', A, Date.now() - 1_000);
    const before = await items(exporter.url, 'invalid');
    const r = await postConnect(exporter.url, firehoseDelivery('fh-mixed', ['not json at all', logout]), { firehoseKey: TOKENS.default });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body).sort(), ['requestId', 'timestamp']);
    assert.equal(await items(exporter.url, 'invalid'), before + 1);
    const live = await liveRows(exporter.url, { report: 'live_agents', metrics: ['status'] });
    assert.deepEqual(
      live.map((x) => [x.agent_id, x.status]),
      [['ag-9', 'offline']],
    );
  });

  it('When Firehose sends its delivery gzip-compressed, then it is read as well', async () => {
    // httpdeliveryrequestresponse.md, "Content-Encoding": a stream may GZIP the body, with Content-Encoding: gzip.
    const login = agentRecord('e-login-9-gz', 'LOGIN', A, Date.now() - 500, ['Available', Date.now() - 500]);
    const res = await fetch(`${exporter.url}/api/v1/adapters/amazon-connect`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'x-amz-firehose-access-key': TOKENS.default,
        'x-amz-firehose-request-id': 'fh-gz',
      },
      body: gzipSync(JSON.stringify(firehoseDelivery('fh-gz', [login]))),
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { requestId: string }).requestId, 'fh-gz');
    const live = await liveRows(exporter.url, { report: 'live_agents', metrics: ['status'] });
    assert.deepEqual(
      live.map((x) => [x.agent_id, x.status]),
      [['ag-9', 'online']],
    );
  });

  it('When ingest is over its budget, then 429 with Retry-After is passed on (in Firehose’s shape to Firehose) and nothing is stored', async () => {
    const small = await start(db.url, { ingestMaxEvents: 2 });
    // Another producer's batch holds the whole budget (a request alone on an idle writer is always admitted).
    const other = small.ctx.writer.ticket();
    assert.ok(other.take('events', 2));
    try {
      const fresh = agentRecord('e-login-10', 'LOGIN', { ...A, id: 'ag-10' }, Date.now() - 5_000, ['Available', Date.now() - 5_000]);
      const plain = await postConnect(small.url, fresh, { bearer: TOKENS.default });
      assert.equal(plain.status, 429);
      assert.equal(plain.headers.get('retry-after'), '1');
      assert.match(plain.body.error, /CS_INGEST_MAX_EVENTS/);
      const fh = await postConnect(small.url, firehoseDelivery('fh-429', [fresh]), { firehoseKey: TOKENS.default });
      assert.equal(fh.status, 429);
      assert.equal(fh.headers.get('retry-after'), '1');
      assert.equal(fh.body.requestId, 'fh-429');
      const live = await liveRows(small.url, { report: 'live_agents', metrics: ['status'] });
      assert.equal(
        live.find((x) => x.agent_id === 'ag-10'),
        undefined,
        'nothing of the refused record was stored',
      );
    } finally {
      other.release();
      await small.close();
    }
  });

  it('When the database loses the answer to a delivery, then 503 with Retry-After, and the retry counts everything once', async () => {
    const proxy = await startTcpProxy(db.url);
    const flaky = await start(proxy.url);
    try {
      const tenant = 'default';
      const qArn = queueArn('q-503');
      const call = (eventType: string, at: number, extra: Record<string, unknown> = {}) =>
        eventBridge(`eb-503-${eventType}`, at, {
          eventType,
          contactId: 'k503',
          channel: 'VOICE',
          initiationMethod: 'INBOUND',
          initiationTimestamp: new Date(at - 5_000).toISOString(),
          queueInfo: { queueArn: qArn, enqueueTimestamp: new Date(at).toISOString() },
          ...extra,
        });
      // The contact facts commit, then the connection dies before Postgres's answer arrives.
      proxy.cutAfterCommit('INSERT INTO connect_contacts', 1);
      const body = [call('INITIATED', Date.now() - 60_000), call('QUEUED', Date.now() - 55_000)];
      const lost = await postConnect(flaky.url, body, { bearer: TOKENS[tenant] });
      assert.equal(lost.status, 503, JSON.stringify(lost.body));
      assert.match(lost.headers.get('retry-after') ?? '', /^\d+$/);
      assert.equal(proxy.cuts(), 1);
      // The forwarder retries; the facts already stored change nothing, and the session is queued once.
      const retry = await postConnect(flaky.url, body, { bearer: TOKENS[tenant] });
      assert.equal(retry.status, 200, JSON.stringify(retry.body));
      const again = await postConnect(flaky.url, body, { bearer: TOKENS[tenant] });
      assert.deepEqual([again.body.accepted, again.body.duplicates], [0, 2]);
      const g = await liveRows(flaky.url, { report: 'live_groups', metrics: ['queue_length', 'inflow'] });
      assert.deepEqual(
        g.filter((r) => r.group_id === 'q-503').map((r) => [r.queue_length, r.inflow]),
        [[1, 1]],
      );
    } finally {
      await flaky.close();
      await proxy.close();
    }
  });
});

describe('Amazon Connect: settings', () => {
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase();
  });
  after(async () => {
    await db.drop();
  });

  it('When the exporter restarts within a disconnect’s grace, then the abandon and end still come, once', async () => {
    const qArn = queueArn('q-restart');
    const t0 = Date.now() - 120_000;
    const q = {
      initiationMethod: 'INBOUND',
      initiationTimestamp: new Date(t0).toISOString(),
      queueInfo: { queueArn: qArn, enqueueTimestamp: new Date(t0 + 5_000).toISOString() },
    };
    const body = [
      eventBridge('eb-r-init', t0, { eventType: 'INITIATED', contactId: 'kr', channel: 'VOICE', ...q }),
      eventBridge('eb-r-disc', t0 + 65_000, {
        eventType: 'DISCONNECTED',
        contactId: 'kr',
        channel: 'VOICE',
        ...q,
        disconnectTimestamp: new Date(t0 + 65_000).toISOString(),
      }),
    ];
    const abandoned = async (url: string) =>
      (await liveRows(url, { report: 'live_groups', metrics: ['abandoned', 'queue_length'] }))
        .filter((r) => r.group_id === 'q-restart')
        .map((r) => [r.abandoned, r.queue_length]);
    // The first exporter's grace is long enough that it stops before ending anything; the second's is short.
    const first = await start(db.url, { connectEndGraceSeconds: 600 });
    try {
      assert.equal((await postConnect(first.url, body, { bearer: TOKENS.default })).status, 200);
      // Within the grace: queued, not yet given up.
      assert.deepEqual(await abandoned(first.url), [[0, 1]]);
    } finally {
      await first.close();
    }
    // The pending end is in Postgres (connect_contacts), not in the stopped process.
    const second = await start(db.url, { connectEndGraceSeconds: 2 });
    try {
      await waitFor('the abandon after the restart', async () => ((await abandoned(second.url))[0]?.[0] === 1 ? true : undefined), 15_000);
      // Queued 5 s after the start, gone at 65 s without an agent: one abandon, nothing waiting.
      assert.deepEqual(await abandoned(second.url), [[1, 0]]);
      const again = await postConnect(second.url, body, { bearer: TOKENS.default });
      assert.deepEqual([again.body.accepted, again.body.duplicates], [0, 2]);
    } finally {
      await second.close();
    }
  });

  it('When a CS_CONNECT_TOKENS token is also a token of another role, or is no tenant=token pair, then the settings are refused', () => {
    assert.throws(
      () => loadConfig({ CS_CONNECT_TOKENS: 'a=tok-shared-123', CS_TENANT_API_TOKENS: 'b=tok-shared-123' }),
      /one token is used for CS_TENANT_API_TOKENS \(query of tenant "b"\) and CS_CONNECT_TOKENS \(Amazon Connect adapter of tenant "a"\)/,
    );
    assert.throws(() => loadConfig({ CS_CONNECT_TOKENS: 'just-a-token' }), /CS_CONNECT_TOKENS must be tenant=token pairs/);
    assert.deepEqual(
      [...loadConfig({ CS_CONNECT_TOKENS: 'a=tok-1, b=tok-2' }).connectTokens],
      [
        ['tok-1', 'a'],
        ['tok-2', 'b'],
      ],
    );
  });

  it('When CS_CONNECT_TOKENS is not set, then the endpoint says the adapter is off', async () => {
    const off = await start(db.url, { connectTokens: new Map() });
    try {
      const r = await postConnect(off.url, { EventType: 'LOGIN' }, { bearer: 'anything' });
      assert.equal(r.status, 404);
      assert.match(r.body.error, /the Amazon Connect adapter is off: set CS_CONNECT_TOKENS/);
    } finally {
      await off.close();
    }
  });

  it('When CS_CONNECT_MAP names a status that does not exist, then the exporter does not start, and says which', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cs-connect-map-'));
    const file = path.join(dir, 'map.json');
    writeFileSync(file, JSON.stringify({ statuses: { Lunch: 'lunch' } }));
    await assert.rejects(start(db.url, { connectMapFile: file }), /CS_CONNECT_MAP: statuses\["Lunch"\] must be one of online, break/);
    writeFileSync(file, '{ not json');
    await assert.rejects(start(db.url, { connectMapFile: file }), /CS_CONNECT_MAP: cannot read .* as JSON/);
  });
});
