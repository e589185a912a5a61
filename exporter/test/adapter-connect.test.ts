/**
 * The Amazon Connect adapter end to end: contact events (EventBridge), agent event stream records
 * (bare, and in a Kinesis Data Firehose HTTP endpoint delivery) posted to a real exporter on a real
 * Postgres, and what 监控 (/metrics, live_groups, live_agents) and 报表 (group_daily, group_slot,
 * agent_daily, sessions) then show.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dayStartMs, localDay } from '../src/time.js';
import type { Exporter } from '../src/exporter.js';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { liveRows, scrape, series } from './helpers/live.js';
import { queryRows } from './helpers/reports.js';
import { waitFor } from './helpers/faults.js';
import {
  agentRecord,
  eventBridge,
  firehoseDelivery,
  iso,
  postConnect,
  startConnectExporter,
  queueArn,
  agentArn,
  type AgentDef,
} from './adapter-connect.helpers.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

const TZ = 'Asia/Shanghai';
const S = 1000;
const H = 3600 * S;
// Yesterday (local), so its reports are final whatever the time the test runs; 监控 is looked at
// through the live component's clock, set to yesterday 10:10:00 (T + 600 s).
const DAY = localDay(Date.now() - 24 * H, TZ);
const B = dayStartMs(DAY, TZ);
const T = B + 10 * H;
const NOW = T + 600 * S;
const at = (secs: number) => T + secs * S;
// Seconds a disconnect waits for a transfer's next contact before it ends the session.
const GRACE = 3;

const TOKENS = { default: 'tok-default-0123456789', shuffled: 'tok-shuffled-0123456789' };

const A1: AgentDef = { id: 'ag-1', first: 'San', last: 'Zhang', username: 'zhang', queues: [{ id: 'q-presales', name: 'Presales' }] };
const A2: AgentDef = {
  id: 'ag-2',
  first: 'Si',
  last: 'Li',
  username: 'li',
  queues: [
    { id: 'q-presales', name: 'Presales' },
    { id: 'q-aftersales', name: 'Aftersales' },
  ],
};
const Q_PRE = queueArn('q-presales');
const Q_POST = queueArn('q-aftersales');

/** The operator's table (CS_CONNECT_MAP): q-presales becomes group "presales"; "Lunch" is 用餐; Coaching stays custom. */
const MAP = { queues: { [Q_PRE]: 'presales' }, statuses: { Lunch: 'meal' } };

// --- the agents' day (agent event stream) ---------------------------------------------------------
// ag-1: logs in Available at T-3600 (09:00), goes to Lunch at T+300, logs out at T+500; one
//       HEART_BEAT at T+420 changes nothing.
// ag-2: logs in Available at T-1800 (09:30), Coaching (a custom status) T+200..T+260, then Available
//       for the rest of the day.
const a1Records = [
  agentRecord('e-a1-login', 'LOGIN', A1, at(-3600), ['Available', at(-3600)]),
  agentRecord('e-a1-lunch', 'STATE_CHANGE', A1, at(300), ['Lunch', at(300)], ['Available', at(-3600)]),
  agentRecord('e-a1-hb', 'HEART_BEAT', A1, at(420), ['Lunch', at(300)], ['Lunch', at(300)]),
  agentRecord('e-a1-logout', 'LOGOUT', A1, at(500)),
];
const a2Records = [
  agentRecord('e-a2-login', 'LOGIN', A2, at(-1800), ['Available', at(-1800)]),
  agentRecord('e-a2-coach', 'STATE_CHANGE', A2, at(200), ['Coaching', at(200)], ['Available', at(-1800)]),
  agentRecord('e-a2-back', 'STATE_CHANGE', A2, at(260), ['Available', at(260)], ['Coaching', at(200)]),
];

// --- the contacts (EventBridge contact events) ----------------------------------------------------
// Each event carries what Connect knew of the contact by then, as the documented samples do (the
// DISCONNECTED sample still carries queueInfo and AgentInfo).
const voice = (contactId: string, extra: Record<string, unknown>) => ({ contactId, channel: 'VOICE', instanceArn: 'arn', ...extra });
// c1: a call queued in presales at +10, answered by ag-1 at +25 (wait 15 s); ag-1 transfers it at
//     +100 to the queue q-aftersales: Connect makes contact c2 (InitiationMethod TRANSFER,
//     PreviousContactId c1) and disconnects c1 at +102.
const c1 = {
  initiationMethod: 'INBOUND',
  initiationTimestamp: iso(at(0)),
};
const c1q = { ...c1, queueInfo: { queueArn: Q_PRE, queueType: 'STANDARD', enqueueTimestamp: iso(at(10)) } };
const c1a = { ...c1q, agentInfo: { agentArn: agentArn('ag-1'), connectedToAgentTimestamp: iso(at(25)) } };
// c2: queued in q-aftersales at +104, answered by ag-2 at +130 (wait 26 s), hung up at +250.
const c2 = { initialContactId: 'c1', previousContactId: 'c1', initiationMethod: 'TRANSFER', initiationTimestamp: iso(at(100)) };
const c2q = { ...c2, queueInfo: { queueArn: Q_POST, queueType: 'STANDARD', enqueueTimestamp: iso(at(104)) } };
const c2a = { ...c2q, agentInfo: { agentArn: agentArn('ag-2'), connectedToAgentTimestamp: iso(at(130)) } };
// c4: a call queued in q-aftersales at +405, still waiting at 10:10 (195 s).
const c4q = {
  initiationMethod: 'INBOUND',
  initiationTimestamp: iso(at(400)),
  queueInfo: { queueArn: Q_POST, queueType: 'STANDARD', enqueueTimestamp: iso(at(405)) },
};
const contactEvents = [
  eventBridge('eb-c1-init', at(0), voice('c1', { eventType: 'INITIATED', ...c1 })),
  eventBridge('eb-c1-queued', at(10), voice('c1', { eventType: 'QUEUED', ...c1q })),
  eventBridge('eb-c1-conn', at(25), voice('c1', { eventType: 'CONNECTED_TO_AGENT', ...c1a })),
  eventBridge('eb-c2-init', at(100), voice('c2', { eventType: 'INITIATED', ...c2 })),
  eventBridge('eb-c1-disc', at(102), voice('c1', { eventType: 'DISCONNECTED', ...c1a, disconnectTimestamp: iso(at(102)) })),
  eventBridge('eb-c2-queued', at(104), voice('c2', { eventType: 'QUEUED', ...c2q })),
  eventBridge('eb-c2-conn', at(130), voice('c2', { eventType: 'CONNECTED_TO_AGENT', ...c2a })),
  eventBridge('eb-c2-disc', at(250), voice('c2', { eventType: 'DISCONNECTED', ...c2a, disconnectTimestamp: iso(at(250)) })),
  // COMPLETED follows DISCONNECTED with the same data (contact-events.md): nothing more to count.
  eventBridge('eb-c2-done', at(251), voice('c2', { eventType: 'COMPLETED', ...c2a, disconnectTimestamp: iso(at(250)) })),
  // c3: a chat in the 2021 data model (PascalCase fields, "Chat", no *Timestamp fields: the
  //     EventBridge `time` says when): queued in presales at +45, gone at +95 without an agent.
  eventBridge('eb-c3-init', at(40), { EventType: 'INITIATED', ContactId: 'c3', Channel: 'Chat', InitiationMethod: 'API' }),
  eventBridge('eb-c3-queued', at(45), {
    EventType: 'QUEUED',
    ContactId: 'c3',
    Channel: 'Chat',
    InitiationMethod: 'API',
    QueueInfo: { QueueArn: Q_PRE, QueueType: 'STANDARD' },
  }),
  eventBridge('eb-c3-disc', at(95), {
    EventType: 'DISCONNECTED',
    ContactId: 'c3',
    Channel: 'Chat',
    InitiationMethod: 'API',
    QueueInfo: { QueueArn: Q_PRE, QueueType: 'STANDARD' },
  }),
  eventBridge(
    'eb-c4-init',
    at(400),
    voice('c4', { eventType: 'INITIATED', initiationMethod: 'INBOUND', initiationTimestamp: iso(at(400)) }),
  ),
  eventBridge('eb-c4-queued', at(405), voice('c4', { eventType: 'QUEUED', ...c4q })),
];

/** Sends the whole scenario for `tenant`'s token: ag-1's records as one Firehose delivery, ag-2's as a JSON array, the contact events one per request (as an API destination does). */
async function sendScenario(url: string, token: string, order: unknown[] = contactEvents, reverseAgents = false): Promise<number> {
  let accepted = 0;
  const turn = <T>(xs: T[]) => (reverseAgents ? [...xs].reverse() : xs);
  const fh = await postConnect(url, firehoseDelivery('fh-req-1', turn(a1Records)), { firehoseKey: token });
  assert.equal(fh.status, 200, JSON.stringify(fh.body));
  assert.deepEqual(Object.keys(fh.body).sort(), ['requestId', 'timestamp'], 'the documented Firehose answer, nothing else');
  assert.equal(fh.body.requestId, 'fh-req-1');
  const a2 = await postConnect(url, turn(a2Records), { bearer: token });
  assert.equal(a2.status, 200, JSON.stringify(a2.body));
  accepted += a2.body.accepted;
  for (const e of order) {
    const r = await postConnect(url, e, { bearer: token });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    accepted += r.body.accepted;
  }
  return accepted;
}

/** Everything the user sees of `tenant`: the reports of DAY and the live lists at NOW. */
async function figures(url: string, tenant: string) {
  const q = (report: string, extra: Record<string, unknown> = {}) =>
    queryRows(url, { report, from: DAY, to: DAY, tenant, ...extra }).then((r) => r.rows);
  return {
    group_daily: await q('group_daily', {
      metrics: ['inflow', 'answered', 'answer_rate', 'direct_inflow', 'direct_answered', 'transfer_out', 'answered_20s'],
    }),
    group_slot: await q('group_slot', { metrics: ['inflow', 'answered', 'lost'] }),
    agent_daily: await q('agent_daily', {
      metrics: [
        'first_online_at',
        'last_offline_at',
        'work_hours',
        'answered',
        'transfer_out',
        'avg_talk_seconds',
        'meal_hours',
        'custom_hours',
      ],
    }),
    sessions: await q('sessions', { metrics: ['service_id', 'duration_seconds', 'agents', 'groups'] }),
    live_groups: await liveRows(url, {
      report: 'live_groups',
      tenant,
      metrics: [
        'queue_length',
        'longest_wait_seconds',
        'in_conversation',
        'inflow',
        'answered',
        'abandoned',
        'agents_online',
        'agents_break',
        'agents_offline',
      ],
    }),
    live_agents: await liveRows(url, {
      report: 'live_agents',
      tenant,
      metrics: ['name', 'work_no', 'status', 'max_sessions', 'answered', 'transfers_manual'],
    }),
  };
}

function startWithTokens(dbUrl: string, mapFile: string): Promise<Exporter> {
  return startConnectExporter(dbUrl, NOW, {
    connectTokens: new Map([
      [TOKENS.default, 'default'],
      [TOKENS.shuffled, 'shuffled'],
    ]),
    connectMapFile: mapFile,
    connectEndGraceSeconds: GRACE,
  });
}

describe('Amazon Connect: a contact chain and two agents’ day, through EventBridge, stream records and Firehose', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  let seen: Awaited<ReturnType<typeof figures>>;
  before(async () => {
    db = await freshDatabase();
    const dir = mkdtempSync(path.join(tmpdir(), 'cs-connect-'));
    writeFileSync(path.join(dir, 'map.json'), JSON.stringify(MAP));
    exporter = await startWithTokens(db.url, path.join(dir, 'map.json'));
  });
  after(async () => {
    await exporter.close();
    await db.drop();
  });

  it('When the scenario is posted, then 报表 and 监控 show the figures worked out from metrics.md', async () => {
    await sendScenario(exporter.url, TOKENS.default);
    // c2's and c3's sessions end only once their disconnects are GRACE old (a transfer's next contact may still come).
    await waitFor(
      'the sessions to end after the grace',
      async () => {
        const g = await liveRows(exporter.url, { report: 'live_groups', metrics: ['abandoned', 'in_conversation'] });
        return g.some((r) => r.abandoned === 1) && g.every((r) => r.in_conversation === 0) ? true : undefined;
      },
      20_000,
    );
    seen = await figures(exporter.url, 'default');

    // Legs — presales: c1 direct (wait 15, answered by ag-1, part +25..+100 = 75 s, ended by ag-1's
    // transfer), c3 direct (abandoned at +95). q-aftersales: c2 = c1's transfer leg (wait 26,
    // ag-2, part +130..+250 = 120 s), c4 direct (still queued).
    // 应答量 credits the session to the group of its last answered leg: c1's session → q-aftersales.
    assert.deepEqual(seen.group_daily, [
      // inflow 2; answered 0 (credited elsewhere); direct 2, of which 1 answered here; 1 manual transfer out.
      {
        date: DAY,
        group_id: 'presales',
        group_name: 'Presales',
        inflow: 2,
        answered: 0,
        answer_rate: 0,
        direct_inflow: 2,
        direct_answered: 1,
        transfer_out: 1,
        answered_20s: 0,
      },
      // inflow 2 (c2's transfer leg, c4); answered 1 → 1/2; direct 1 (c4, unanswered); 26 s > 20 s.
      {
        date: DAY,
        group_id: 'q-aftersales',
        group_name: 'Aftersales',
        inflow: 2,
        answered: 1,
        answer_rate: 0.5,
        direct_inflow: 1,
        direct_answered: 0,
        transfer_out: 0,
        answered_20s: 0,
      },
    ]);
    // Every leg entered in hour 10: lost = inflow − answered.
    assert.deepEqual(seen.group_slot, [
      { date: DAY, hour: 10, group_id: 'presales', group_name: 'Presales', inflow: 2, answered: 0, lost: 2 },
      { date: DAY, hour: 10, group_id: 'q-aftersales', group_name: 'Aftersales', inflow: 2, answered: 1, lost: 1 },
    ]);
    const a1 = seen.agent_daily.find((r) => r.agent_id === 'ag-1');
    const a2 = seen.agent_daily.find((r) => r.agent_id === 'ag-2');
    // ag-1: online 09:00..10:05 (3,900 s) + 用餐 ("Lunch" through the table) 10:05..10:08:20 (200 s)
    // = 4,100 s = 1.138889 h of work; offline at the LOGOUT 10:08:20; one part of 75 s, one transfer.
    assert.deepEqual(a1, {
      date: DAY,
      agent_id: 'ag-1',
      agent_name: 'San Zhang',
      work_no: 'zhang',
      first_online_at: at(-3600),
      last_offline_at: at(500),
      work_hours: 1.138889,
      answered: 1,
      transfer_out: 1,
      avg_talk_seconds: 75,
      meal_hours: 0.055556,
      custom_hours: 0,
    });
    // ag-2: non-offline from 09:30 to the day's end (14.5 h), of which Coaching (custom) 60 s =
    // 0.016667 h; one part of 120 s.
    assert.deepEqual(a2, {
      date: DAY,
      agent_id: 'ag-2',
      agent_name: 'Si Li',
      work_no: 'li',
      first_online_at: at(-1800),
      last_offline_at: null,
      work_hours: 14.5,
      answered: 1,
      transfer_out: 0,
      avg_talk_seconds: 120,
      meal_hours: 0,
      custom_hours: 0.016667,
    });
    // 会话记录 lists the sessions that reached a human: only c1's (c3 gave up, c4 still waits). It
    // reached ag-1 then ag-2; 服务时长 = first answer (+25) → end (+250) = 225 s.
    assert.deepEqual(seen.sessions, [{ service_id: 'c1', duration_seconds: 225, agents: 'ag-1,ag-2', groups: 'presales,q-aftersales' }]);

    // 监控 at 10:10: c4 waits in q-aftersales since +405 → 195 s; nobody is in a conversation.
    // Members: presales = ag-1 (offline since its LOGOUT), ag-2 (online); q-aftersales = ag-2.
    assert.deepEqual(seen.live_groups, [
      {
        group_id: 'presales',
        group_name: 'Presales',
        queue_length: 0,
        longest_wait_seconds: 0,
        in_conversation: 0,
        inflow: 2,
        answered: 1,
        abandoned: 1,
        agents_online: 1,
        agents_break: 0,
        agents_offline: 1,
      },
      {
        group_id: 'q-aftersales',
        group_name: 'Aftersales',
        queue_length: 1,
        longest_wait_seconds: 195,
        in_conversation: 0,
        inflow: 2,
        answered: 1,
        abandoned: 0,
        agents_online: 1,
        agents_break: 0,
        agents_offline: 0,
      },
    ]);
    // 接待上限 = the most slots of one channel (CHAT 3).
    assert.deepEqual(
      seen.live_agents
        .map((r) => [r.agent_id, r.name, r.work_no, r.status, r.max_sessions, r.answered, r.transfers_manual])
        .sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
      [
        ['ag-1', 'San Zhang', 'zhang', 'offline', 3, 1, 1],
        ['ag-2', 'Si Li', 'li', 'online', 3, 1, 0],
      ],
    );
    const m = await scrape(exporter.url);
    assert.equal(m.get(series('cs_queue_length', { tenant: 'default', group: 'q-aftersales' })), 1);
    assert.equal(m.get(series('cs_agents', { tenant: 'default', group: 'q-aftersales', status: 'online' })), 1);
    // Items read: 4 records in the Firehose delivery (3 mapped, the HEART_BEAT ignored), 3 bare
    // records (mapped), 14 contact events (13 mapped, COMPLETED ignored).
    assert.equal(m.get(series('cs_exporter_adapter_items_total', { adapter: 'amazon-connect', outcome: 'mapped' })), 3 + 3 + 13);
    assert.equal(m.get(series('cs_exporter_adapter_items_total', { adapter: 'amazon-connect', outcome: 'ignored' })), 1 + 1);
  });

  it('When every record is posted again, then nothing is stored twice and the figures stay the same', async () => {
    const accepted = await sendScenario(exporter.url, TOKENS.default);
    assert.equal(accepted, 0, 'a redelivery stores nothing new');
    await new Promise((r) => setTimeout(r, (GRACE + 1) * S));
    assert.deepEqual(await figures(exporter.url, 'default'), seen);
  });

  it('When the records arrive shuffled (a transfer’s next contact after the previous one’s disconnect, a logout before its login), then the figures are the same', async () => {
    // Disconnects first, then everything else newest first: c1's DISCONNECTED comes before the
    // contact c2 that continues it, c2's before its own INITIATED, QUEUED and CONNECTED_TO_AGENT.
    const first = ['eb-c1-disc', 'eb-c2-disc', 'eb-c3-disc'];
    const order = [
      ...first.map((id) => contactEvents.find((e) => e.id === id)!),
      ...contactEvents.filter((e) => !first.includes(String(e.id))).reverse(),
    ];
    assert.equal(order.length, contactEvents.length);
    // The agents' records newest first as well (ag-1's LOGOUT before its LOGIN).
    await sendScenario(exporter.url, TOKENS.shuffled, order, true);
    await waitFor(
      'the shuffled sessions to end',
      async () => {
        const g = await liveRows(exporter.url, { report: 'live_groups', tenant: 'shuffled', metrics: ['abandoned', 'in_conversation'] });
        return g.some((r) => r.abandoned === 1) && g.every((r) => r.in_conversation === 0) ? true : undefined;
      },
      20_000,
    );
    assert.deepEqual(await figures(exporter.url, 'shuffled'), seen);
  });
});
