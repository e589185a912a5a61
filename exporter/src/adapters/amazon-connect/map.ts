/**
 * Amazon Connect → contract events (events.md). Pure functions: what one posted record is, and the
 * events it (or the stored facts of its contact chain) stands for. The mapping is written down in
 * docs/adapters/amazon-connect.md.
 *
 * Sources of the formats (cited beside each rule below):
 * - contact events: awsdocs/amazon-connect-admin-guide doc_source/contact-events.md (the data model and
 *   the samples), and its current version https://docs.aws.amazon.com/connect/latest/adminguide/contact-events.html
 *   (the later event types and the *Timestamp fields);
 * - agent event stream: awsdocs/amazon-connect-admin-guide doc_source/agent-event-stream-model.md and
 *   doc_source/sample-agent-event-stream.md.
 */
import { createHash } from 'node:crypto';

export const ADAPTER = 'amazon-connect';

/** The operator's table (CS_CONNECT_MAP): queues → skill groups, agent status names → our statuses. */
export interface ConnectMap {
  /** Queue ARN, queue id or queue name → group id. */
  queues: Map<string, string>;
  /** Agent status name (as set in Connect) → our status (events.md `status`). */
  statuses: Map<string, string>;
  /** The group of agents' personal queues (`.../queue/agent/<agent id>`): transfers straight to an agent. */
  agentQueueGroup: string;
}

export const DEFAULT_AGENT_QUEUE_GROUP = 'connect-agent-queues';

export function emptyMap(): ConnectMap {
  return { queues: new Map(), statuses: new Map(), agentQueueGroup: DEFAULT_AGENT_QUEUE_GROUP };
}

export type Ev = Record<string, unknown> & { id: string; type: string; time: string };

/** Facts about one contact that a contact event carries. Keys are stable: they are stored (connect_contacts.facts). */
export interface ContactFacts {
  channel?: string;
  initiationMethod?: string;
  /** initiationTimestamp (exact) / the INITIATED event's own time (second precision). */
  initiatedAt?: string;
  initiatedEv?: string;
  queueArn?: string;
  queuedAt?: string;
  queuedEv?: string;
  agentArn?: string;
  connectedAt?: string;
  connectedEv?: string;
  disconnectedAt?: string;
  disconnectedEv?: string;
}

export interface ContactItem {
  kind: 'contact';
  contactId: string;
  sessionId: string;
  previousContactId?: string;
  eventType: string;
  facts: ContactFacts;
}

export type Classified =
  ContactItem | { kind: 'agent'; events: Ev[] } | { kind: 'ignored'; why: string } | { kind: 'unknown' | 'invalid'; why: string };

// --- field access -------------------------------------------------------------------------------

/**
 * Connect's samples spell the same field in PascalCase and camelCase (`AgentInfo`/`agentInfo`,
 * `AgentArn`/`agentArn`: contact-events.md's samples of 2021 and 2023, and
 * ../shared/samples/amazon-connect/awsdocs-2023-04/contact-event-disconnected.jsonc): fields are read
 * case-insensitively.
 */
export function get(o: unknown, name: string): unknown {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return undefined;
  const rec = o as Record<string, unknown>;
  if (name in rec) return rec[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(rec)) if (k.toLowerCase() === lower) return rec[k];
  return undefined;
}

function str(o: unknown, name: string): string | undefined {
  const v = get(o, name);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

class Bad extends Error {}

/** An ISO 8601 timestamp as Connect writes it, returned as given once it parses; Bad otherwise. */
function stamp(o: unknown, name: string): string | undefined {
  const v = str(o, name);
  if (v === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) || !Number.isFinite(Date.parse(v)))
    throw new Bad(`${name}: "${v.slice(0, 60)}" is not an ISO 8601 time with a zone`);
  return v;
}

/** The resource id at the end of an ARN (`.../agent/<id>`, `.../queue/<id>`); the value itself when it is no ARN. */
export function arnId(arn: string): string {
  const i = arn.lastIndexOf('/');
  return i >= 0 && i < arn.length - 1 ? arn.slice(i + 1) : arn;
}

/** Agents' personal queues have ARNs `.../queue/agent/<agent id>` and no name (sample-agent-event-stream.md: "agent queues don't have names"). */
const isAgentQueue = (arn: string) => arn.includes('/queue/agent/');

export function groupOf(map: ConnectMap, queueArn: string, name?: string): string {
  if (isAgentQueue(queueArn)) return map.agentQueueGroup;
  return (
    map.queues.get(queueArn) ??
    map.queues.get(arnId(queueArn)) ??
    (name !== undefined ? map.queues.get(name) : undefined) ??
    arnId(queueArn)
  );
}

/** Contract ids are 1–128 chars: a longer composed id (Connect ids may be 256) is replaced by its hash. */
export function eid(...parts: string[]): string {
  const id = `ac:${parts.join(':')}`;
  return id.length <= 128 ? id : `ac:h:${createHash('sha256').update(id).digest('hex')}`;
}

// --- what a record is ---------------------------------------------------------------------------

/** EventBridge envelope of a contact event (contact-events.md, "Sample contact event"). */
const CONTACT_DETAIL_TYPE = 'Amazon Connect Contact Event';

/** contact-events.md (current version): the types we map; the rest of the documented ones carry nothing we count. */
const MAPPED_CONTACT_EVENTS = new Set(['INITIATED', 'QUEUED', 'CONNECTED_TO_AGENT', 'DISCONNECTED']);
const IGNORED_CONTACT_EVENTS = new Set(['AMD_DISABLED', 'CONNECTED_TO_SYSTEM', 'CONTACT_DATA_UPDATED', 'COMPLETED']);

/** agent-event-stream-model.md: EventType valid values. */
const AGENT_EVENTS = new Set(['LOGIN', 'LOGOUT', 'STATE_CHANGE', 'HEART_BEAT']);

export function classify(value: unknown, map: ConnectMap): Classified {
  if (!isObject(value)) return { kind: 'invalid', why: 'a record must be a JSON object' };
  try {
    const detailType = get(value, 'detail-type');
    if (detailType !== undefined) {
      if (detailType !== CONTACT_DETAIL_TYPE)
        return { kind: 'unknown', why: `EventBridge detail-type ${JSON.stringify(detailType)} is not "${CONTACT_DETAIL_TYPE}"` };
      const detail = get(value, 'detail');
      if (!isObject(detail)) return { kind: 'invalid', why: 'EventBridge event without a "detail" object' };
      return contactItem(detail, stamp(value, 'time'));
    }
    if (get(value, 'AgentARN') !== undefined && get(value, 'EventType') !== undefined) return agentItem(value, map);
    if (get(value, 'ContactId') !== undefined && get(value, 'EventType') !== undefined) return contactItem(value, undefined);
    return {
      kind: 'unknown',
      why: 'neither an EventBridge "Amazon Connect Contact Event", a contact event detail (eventType, contactId) nor an agent event stream record (EventType, AgentARN)',
    };
  } catch (err) {
    if (err instanceof Bad) return { kind: 'invalid', why: err.message };
    throw err;
  }
}

function contactItem(d: Record<string, unknown>, envelopeTime: string | undefined): Classified {
  const eventType = str(d, 'eventType');
  if (eventType === undefined) return { kind: 'invalid', why: 'contact event without eventType' };
  if (IGNORED_CONTACT_EVENTS.has(eventType)) return { kind: 'ignored', why: eventType };
  if (!MAPPED_CONTACT_EVENTS.has(eventType))
    return { kind: 'unknown', why: `contact eventType "${eventType.slice(0, 60)}" is not one this adapter knows` };
  const contactId = str(d, 'contactId');
  if (contactId === undefined) return { kind: 'invalid', why: 'contact event without contactId' };
  // contact-events.md, InitiationMethod OUTBOUND: "An agent initiated voice (phone) contact with the
  // customer, by using the CCP": no visitor asking for a human, so no session (its time is the agent's status time).
  if (str(d, 'initiationMethod')?.toUpperCase() === 'OUTBOUND') return { kind: 'ignored', why: 'an agent-dialed OUTBOUND contact' };
  const queue = get(d, 'queueInfo');
  const agent = get(d, 'agentInfo');
  // The samples write the channel as "VOICE" and as "Voice" (contact-events.md); the data model says VOICE | CHAT | TASK.
  const channel = str(d, 'channel')?.toUpperCase();
  const facts: ContactFacts = {
    channel,
    initiationMethod: str(d, 'initiationMethod')?.toUpperCase(),
    initiatedAt: stamp(d, 'initiationTimestamp'),
    queueArn: str(queue, 'queueArn') ?? str(queue, 'ARN'),
    queuedAt: stamp(queue, 'enqueueTimestamp'),
    agentArn: str(agent, 'agentArn') ?? str(agent, 'AgentARN'),
    connectedAt: stamp(agent, 'connectedToAgentTimestamp'),
    disconnectedAt: stamp(d, 'disconnectTimestamp'),
  };
  // Without the *Timestamp fields (the 2021 data model) the event's own time says when it happened.
  const when = envelopeTime;
  if (eventType === 'INITIATED') facts.initiatedEv = when;
  if (eventType === 'QUEUED') facts.queuedEv = when;
  if (eventType === 'CONNECTED_TO_AGENT') facts.connectedEv = when;
  if (eventType === 'DISCONNECTED') facts.disconnectedEv = when;
  if (eventType === 'QUEUED' && !facts.queueArn) return { kind: 'invalid', why: 'QUEUED contact event without queueInfo.queueArn' };
  if (eventType === 'CONNECTED_TO_AGENT' && !facts.agentArn)
    return { kind: 'invalid', why: 'CONNECTED_TO_AGENT contact event without agentInfo.agentArn' };
  const times: (keyof ContactFacts)[] = [
    'initiatedAt',
    'initiatedEv',
    'queuedAt',
    'queuedEv',
    'connectedAt',
    'connectedEv',
    'disconnectedAt',
    'disconnectedEv',
  ];
  if (!times.some((k) => facts[k] !== undefined))
    return { kind: 'invalid', why: `${eventType} contact event carries no time (no *Timestamp field and no EventBridge "time")` };
  for (const k of Object.keys(facts) as (keyof ContactFacts)[]) if (facts[k] === undefined) delete facts[k];
  // contact-events.md: InitialContactId is "the original identifier of the contact that was transferred":
  // every contact of a transfer chain names it, so it is the session; the first contact has none.
  const sessionId = str(d, 'initialContactId') ?? contactId;
  const previousContactId = str(d, 'previousContactId');
  return {
    kind: 'contact',
    contactId,
    sessionId,
    previousContactId: previousContactId !== undefined && previousContactId !== contactId ? previousContactId : undefined,
    eventType,
    facts,
  };
}

// --- agent event stream -------------------------------------------------------------------------

/** Our status for a Connect agent status name: the operator's table first, then Connect's two system statuses, else `custom` with the name as label. */
export function statusOf(map: ConnectMap, name: string): { status: string; label?: string } {
  const mapped = map.statuses.get(name);
  if (mapped !== undefined) return mapped === 'custom' ? { status: 'custom', label: name } : { status: mapped };
  // agent-event-stream-model.md (AgentStatus.Name): Available = ready for contacts; Offline; anything else is a custom status.
  if (name === 'Available') return { status: 'online' };
  if (name === 'Offline') return { status: 'offline' };
  return { status: 'custom', label: name.slice(0, 200) };
}

function agentItem(r: Record<string, unknown>, map: ConnectMap): Classified {
  const type = str(r, 'EventType');
  const arn = str(r, 'AgentARN');
  const eventId = str(r, 'EventId');
  if (type === undefined || arn === undefined) return { kind: 'invalid', why: 'agent event without EventType or AgentARN' };
  if (!AGENT_EVENTS.has(type)) return { kind: 'unknown', why: `agent EventType "${type.slice(0, 60)}" is not one this adapter knows` };
  if (eventId === undefined) return { kind: 'invalid', why: 'agent event without EventId' };
  const at = stamp(r, 'EventTimestamp');
  if (at === undefined) return { kind: 'invalid', why: 'agent event without EventTimestamp' };
  const agentId = arnId(arn);
  const cur = get(r, 'CurrentAgentSnapshot');
  const prev = get(r, 'PreviousAgentSnapshot');
  const events: Ev[] = [];
  const curStatus = get(cur, 'AgentStatus');
  const curName = str(curStatus, 'Name');
  const curStart = stamp(curStatus, 'StartTimestamp');
  const status = (): Ev[] => {
    if (curName === undefined) return [];
    const s = statusOf(map, curName);
    const time = curStart ?? at;
    // Keyed by the status's own start, not the record: the same change reported again (a later
    // STATE_CHANGE or HEART_BEAT, or a redelivery) is one event.
    return [{ id: eid(agentId, 'status', time, curName), type: 'agent.status', time, agentId, ...s }];
  };
  const master = (): Ev[] => (isObject(get(cur, 'Configuration')) ? upserts(get(cur, 'Configuration'), agentId, eventId, at, map) : []);
  const log = (operation: string): Ev => ({
    id: eid(eventId, 'log'),
    type: 'agent.log',
    time: at,
    agentId,
    platform: 'Amazon Connect',
    operation,
  });

  if (type === 'LOGIN') {
    events.push(...master(), ...status(), log('登录'));
  } else if (type === 'LOGOUT') {
    // agent-event-stream-model.md: PreviousAgentSnapshot is "not applicable to LOGIN or LOGOUT events"; the logout is the offline.
    events.push({ id: eid(agentId, 'status', at, 'LOGOUT'), type: 'agent.status', time: at, agentId, status: 'offline' }, log('退出登录'));
  } else {
    const prevStatus = get(prev, 'AgentStatus');
    const statusChanged =
      !isObject(prev) || str(prevStatus, 'Name') !== curName || str(prevStatus, 'StartTimestamp') !== str(curStatus, 'StartTimestamp');
    const configChanged = isObject(prev) && JSON.stringify(get(prev, 'Configuration')) !== JSON.stringify(get(cur, 'Configuration'));
    // A change of the contacts alone is for the contact events to tell; a HEART_BEAT that changes nothing maps to nothing.
    if (!statusChanged && !configChanged) return { kind: 'ignored', why: `${type} without a status or configuration change` };
    events.push(...master(), ...(statusChanged ? status() : []));
    if (events.length === 0) return { kind: 'ignored', why: `${type} without a current agent snapshot` };
  }
  return { kind: 'agent', events };
}

/** agent.upsert (and group.upsert of its named queues) from an agent's Configuration (agent-event-stream-model.md, Configuration / RoutingProfile). */
function upserts(config: unknown, agentId: string, eventId: string, at: string, map: ConnectMap): Ev[] {
  const first = str(config, 'FirstName') ?? '';
  const last = str(config, 'LastName') ?? '';
  const username = str(config, 'Username');
  const name = `${first} ${last}`.trim() || username || agentId;
  const profile = get(config, 'RoutingProfile');
  const inbound = get(profile, 'InboundQueues');
  const out: Ev[] = [];
  const groups: string[] = [];
  if (Array.isArray(inbound)) {
    for (const q of inbound) {
      const qArn = str(q, 'ARN');
      const qName = str(q, 'Name');
      // Personal agent queues have no name: they are no skill group the agent belongs to.
      if (qArn === undefined || isAgentQueue(qArn)) continue;
      const g = groupOf(map, qArn, qName);
      if (groups.includes(g)) continue;
      groups.push(g);
      if (qName !== undefined)
        out.push({ id: eid(eventId, 'group', g), type: 'group.upsert', time: at, groupId: g, name: qName.slice(0, 200) });
    }
  }
  const upsert: Ev = { id: eid(eventId, 'agent'), type: 'agent.upsert', time: at, agentId, name: name.slice(0, 200), groups };
  if (username !== undefined) upsert.workNo = username.slice(0, 64);
  // RoutingProfile.Concurrency: MaximumSlots per channel; 接待上限 is the most contacts the agent may hold on one channel.
  const conc = get(profile, 'Concurrency');
  if (Array.isArray(conc)) {
    const slots = conc
      .map((c) => get(c, 'MaximumSlots'))
      .filter((n): n is number => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 1000);
    if (slots.length > 0) upsert.maxSessions = Math.max(...slots);
  }
  out.push(upsert);
  return out;
}

// --- contact chains → session events ------------------------------------------------------------

export interface ContactRow {
  contactId: string;
  sessionId: string;
  previousContactId?: string;
  facts: ContactFacts;
}

const exact = (f: ContactFacts, a: keyof ContactFacts, b: keyof ContactFacts) => f[a] ?? f[b];

/**
 * The session events of one contact, from the stored facts of its chain (`rows`: every contact of
 * the session). Each event is emitted only once all it depends on is known, with an id and content
 * that no later fact changes: so the events stored (deduplicated by id) are the same whatever order
 * the contact events came in. `final` adds the abandon and end (see the component: only once the
 * contact's disconnect is older than the grace and no later contact continues the chain).
 */
export function deriveContact(row: ContactRow, rows: Map<string, ContactRow>, map: ConnectMap, final: boolean): Ev[] {
  const f = row.facts;
  const s = row.sessionId;
  const c = row.contactId;
  const out: Ev[] = [];
  const initiated = exact(f, 'initiatedAt', 'initiatedEv');
  const queued = exact(f, 'queuedAt', 'queuedEv');
  const connected = exact(f, 'connectedAt', 'connectedEv');
  const disconnected = exact(f, 'disconnectedAt', 'disconnectedEv');
  const group = f.queueArn !== undefined ? groupOf(map, f.queueArn) : undefined;
  if (row.previousContactId === undefined) {
    if (initiated !== undefined) {
      const start: Ev = { id: eid(c, 'start'), type: 'session.start', time: initiated, sessionId: s };
      // Not in the contract: kept with the event as extra fields (README, "Sending events").
      if (f.channel) start.channel = f.channel;
      if (f.initiationMethod) start.initiationMethod = f.initiationMethod;
      out.push(start);
    }
  } else if (initiated !== undefined && f.initiationMethod === 'TRANSFER') {
    // contact-events.md, InitiationMethod TRANSFER: "transferred by an agent to another agent or to a
    // queue ... This results in a new CTR": the previous contact's agent transferred it (主动转接).
    const prev = rows.get(row.previousContactId);
    const prevAgent = prev?.facts.agentArn;
    if (prev && prevAgent && exact(prev.facts, 'connectedAt', 'connectedEv') !== undefined)
      out.push({
        id: eid(c, 'transfer'),
        type: 'session.transfer',
        time: initiated,
        sessionId: s,
        agentId: arnId(prevAgent),
        reason: 'manual',
      });
  }
  if (queued !== undefined && group !== undefined) {
    // A contact of a chain entered its queue after an agent's transfer, or (QUEUE_TRANSFER, CALLBACK:
    // contact-events.md) after a flow moved it on before any answer: an overflow.
    const via =
      row.previousContactId === undefined
        ? 'direct'
        : f.initiationMethod === 'TRANSFER' || f.initiationMethod === 'DISCONNECT'
          ? 'transfer'
          : 'overflow';
    out.push({ id: eid(c, 'queue'), type: 'session.queue', time: queued, sessionId: s, groupId: group, via });
  }
  if (connected !== undefined && f.agentArn !== undefined && group !== undefined)
    out.push({ id: eid(c, 'answer'), type: 'session.answer', time: connected, sessionId: s, groupId: group, agentId: arnId(f.agentArn) });
  if (final && disconnected !== undefined) {
    // Queued and never connected to an agent: the caller gave up (排队放弃).
    if (connected === undefined && queued !== undefined && group !== undefined)
      out.push({ id: eid(c, 'abandon'), type: 'session.abandon', time: disconnected, sessionId: s, groupId: group });
    out.push({ id: eid(c, 'end'), type: 'session.end', time: disconnected, sessionId: s });
  }
  return out;
}
