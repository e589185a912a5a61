/**
 * Amazon Connect payloads for the adapter tests, built in the shapes of Connect's documentation:
 * contact events as EventBridge delivers them (awsdocs/amazon-connect-admin-guide
 * doc_source/contact-events.md, "Sample contact event"), agent event stream records
 * (doc_source/agent-event-stream-model.md, doc_source/sample-agent-event-stream.md), and Kinesis Data
 * Firehose HTTP endpoint deliveries (awsdocs/amazon-kinesis-data-firehose-developer-guide
 * doc_source/httpdeliveryrequestresponse.md). Also the reader of ../shared/samples/amazon-connect/.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { amazonConnectComponent } from '../src/adapters/amazon-connect/component.js';
import { loadConfig, type Config } from '../src/config.js';
import { startExporter, type Exporter } from '../src/exporter.js';
import { liveComponent } from '../src/live/component.js';
import { createLogger } from '../src/log.js';
import { reportsComponent } from '../src/reports/component.js';

// ../shared/samples/ beside the repo root; CS_SAMPLES_DIR names it where the checkout is elsewhere (a git worktree).
export const SAMPLES = process.env.CS_SAMPLES_DIR
  ? `${process.env.CS_SAMPLES_DIR.replace(/\/+$/, '')}/amazon-connect/`
  : fileURLToPath(new URL('../../../shared/samples/amazon-connect/', import.meta.url));

/** Every sample file under ../shared/samples/amazon-connect/, as [relative path, text]; fails clearly when the folder is absent. */
export function connectSamples(): [string, string][] {
  if (!existsSync(SAMPLES))
    throw new Error(
      `the Amazon Connect samples are not at ${SAMPLES}: the tests read them from ../shared/samples/ beside the repo (or CS_SAMPLES_DIR)`,
    );
  return readdirSync(SAMPLES, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => {
      const full = `${d.parentPath ?? (d as unknown as { path: string }).path}/${d.name}`;
      return [full.slice(SAMPLES.length).replace(/^\/+/, ''), readFileSync(full, 'utf8')] as [string, string];
    })
    .sort(([a], [b]) => a.localeCompare(b));
}

/** The samples README: `.jsonc` files carry `//` comments and trailing commas as published. This drops both (outside strings). */
export function stripJsonc(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else out += c;
  }
  return out.replace(/,(\s*[}\]])/g, '$1');
}

export const INSTANCE = 'arn:aws:connect:us-west-2:111122223333:instance/aaaaaaaa-bbbb-cccc-dddd-111111111111';
export const queueArn = (id: string) => `${INSTANCE}/queue/${id}`;
export const agentArn = (id: string) => `${INSTANCE}/agent/${id}`;
export const iso = (ms: number) => new Date(ms).toISOString();

export interface AgentDef {
  id: string;
  first: string;
  last: string;
  username: string;
  queues: { id: string; name: string }[];
}

/** An AgentSnapshot (agent-event-stream-model.md) with `status` set since `since`. */
export function snapshot(a: AgentDef, status: string, since: number): Record<string, unknown> {
  return {
    AgentStatus: { ARN: `${INSTANCE}/agent-state/${status}`, Name: status, StartTimestamp: iso(since) },
    Configuration: {
      AgentHierarchyGroups: null,
      FirstName: a.first,
      LastName: a.last,
      RoutingProfile: {
        ARN: `${INSTANCE}/routing-profile/rp-1`,
        Concurrency: [
          { AvailableSlots: 3, Channel: 'CHAT', MaximumSlots: 3 },
          { AvailableSlots: 1, Channel: 'VOICE', MaximumSlots: 1 },
        ],
        DefaultOutboundQueue: { ARN: queueArn('outbound'), Channels: ['VOICE'], Name: 'OutboundQueue' },
        // The agent's own queue comes first, without a name, as in sample-agent-event-stream.md.
        InboundQueues: [
          { ARN: `${INSTANCE}/queue/agent/${a.id}`, Channels: ['VOICE', 'CHAT'], Name: null },
          ...a.queues.map((q) => ({ ARN: queueArn(q.id), Channels: ['CHAT', 'VOICE'], Name: q.name })),
        ],
        Name: 'Profile',
      },
      Username: a.username,
    },
    Contacts: [],
  };
}

/** One agent event stream record. */
export function agentRecord(
  eventId: string,
  type: 'LOGIN' | 'LOGOUT' | 'STATE_CHANGE' | 'HEART_BEAT',
  a: AgentDef,
  at: number,
  cur?: [string, number],
  prev?: [string, number],
): Record<string, unknown> {
  const r: Record<string, unknown> = {
    AWSAccountId: '111122223333',
    AgentARN: agentArn(a.id),
    EventId: eventId,
    EventTimestamp: iso(at),
    EventType: type,
    InstanceARN: INSTANCE,
    Version: '2019-05-25',
  };
  if (cur) r.CurrentAgentSnapshot = snapshot(a, cur[0], cur[1]);
  if (prev) r.PreviousAgentSnapshot = snapshot(a, prev[0], prev[1]);
  return r;
}

/** An EventBridge "Amazon Connect Contact Event" around `detail`, delivered at `at` (second precision, as EventBridge's `time`). */
export function eventBridge(id: string, at: number, detail: Record<string, unknown>): Record<string, unknown> {
  return {
    version: '0',
    id,
    'detail-type': 'Amazon Connect Contact Event',
    source: 'aws.connect',
    account: '111122223333',
    time: iso(Math.floor(at / 1000) * 1000).replace('.000Z', 'Z'),
    region: 'us-west-2',
    resources: [INSTANCE],
    detail,
  };
}

/** A Kinesis Data Firehose HTTP endpoint delivery of `records` (each JSON, base64 in `data`). */
export function firehoseDelivery(requestId: string, records: unknown[]): Record<string, unknown> {
  return {
    requestId,
    timestamp: Date.now(),
    records: records.map((r) => ({ data: Buffer.from(typeof r === 'string' ? r : JSON.stringify(r)).toString('base64') })),
  };
}

export async function postConnect(
  url: string,
  body: unknown,
  auth: { bearer?: string; firehoseKey?: string } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth.bearer !== undefined) headers.authorization = `Bearer ${auth.bearer}`;
  if (auth.firehoseKey !== undefined) {
    // Firehose's headers (httpdeliveryrequestresponse.md): the request id is the body's requestId.
    headers['x-amz-firehose-access-key'] = auth.firehoseKey;
    headers['x-amz-firehose-protocol-version'] = '1.0';
    const id = (body as { requestId?: unknown } | null)?.requestId;
    if (typeof id === 'string') headers['x-amz-firehose-request-id'] = id;
  }
  const res = await fetch(`${url}/api/v1/adapters/amazon-connect`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed, headers: res.headers };
}

/** An in-process exporter with the Connect adapter, 报表, and 监控 seen through a fixed clock (`nowMs`). */
export function startConnectExporter(databaseUrl: string, nowMs: number, settings: Partial<Config>): Promise<Exporter> {
  const config: Config = { ...loadConfig({}), port: 0, databaseUrl, simulate: false, ...settings };
  return startExporter(config, createLogger('silent'), [
    (c) => liveComponent(c, { now: () => nowMs }),
    reportsComponent,
    amazonConnectComponent,
  ]);
}
