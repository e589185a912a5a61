/**
 * Chatwoot account-webhook bodies → contract events (events.md). Pure: one body in, its events out,
 * nothing remembered between bodies. Chatwoot sends what changed (`changed_attributes`, with the
 * previous and the current value) and the conversation as it stands, so each body can be mapped on
 * its own; the session model puts the events of a conversation in order, whatever order the
 * bodies arrived in. Every event id is derived from the body (conversation, what happened, the
 * value, the body's own time), so a redelivered body, or the same change told by two webhooks
 * (`conversation_status_changed` and `conversation_updated` of one save), is stored once.
 *
 * Shapes, from chatwoot/chatwoot:
 * - app/listeners/webhook_listener.rb: `conversation.webhook_data.merge(event:, changed_attributes:)`,
 *   `message.webhook_data.merge(event:)`;
 * - app/listeners/base_listener.rb `extract_changed_attributes`: an array of
 *   `{ attr => { previous_value, current_value } }`;
 * - app/presenters/conversations/event_data_presenter.rb `push_data`: `id` (the display id, per
 *   account), `inbox_id`, `status`, `meta.{sender, assignee, assignee_type, team}`, `created_at`
 *   (epoch s), `updated_at` (epoch s, float), `timestamp` (= last_activity_at, epoch s);
 * - app/models/conversation.rb: statuses open | resolved | pending | snoozed; a conversation of an
 *   inbox with a bot starts `pending` (determine_conversation_status), `bot_handoff!` opens it;
 *   `notify_conversation_updation` sends `previous_changes` (which hold `updated_at`) for
 *   team_id, assignee_id, status...;
 * - app/models/message.rb `webhook_data`: `id`, `content`, `created_at`, `message_type`
 *   (incoming | outgoing | activity | template), `content_type`, `content_attributes`, `private`,
 *   `sender` (a user: `type: "user"`; a contact; an agent bot), `conversation` (its webhook_data);
 * - CSAT: the survey message's `content_attributes.submitted_values.csat_survey_response.rating`
 *   (1–5), sent as `message_updated` when the visitor answers (app/models/csat_survey_response.rb,
 *   app/controllers/public/api/v1/csat_survey_controller.rb).
 */
import { createHash } from 'node:crypto';
import type { AdapterOutcome } from '../stats.js';

export interface ChatwootMapOptions {
  /** The skill group of a conversation with no team (CS_CHATWOOT_DEFAULT_GROUP). */
  defaultGroup: string;
}

export interface ChatwootMapping {
  outcome: AdapterOutcome;
  events: Record<string, unknown>[];
  /** Why a body is not mapped: for the log line (ignored, unknown, invalid). */
  why?: string;
}

/** Webhook events that are understood and carry nothing we count. */
const IGNORED_EVENTS = new Set([
  'webwidget_triggered',
  'contact_created',
  'contact_updated',
  'conversation_typing_on',
  'conversation_typing_off',
  'inbox_created',
  'inbox_updated',
  // Deprecated (docs of 2022): Chatwoot sends conversation_status_changed for the same change,
  // and these carry no previous status (the published conversation_opened even says "pending").
  'conversation_opened',
  'conversation_resolved',
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class BadBody extends Error {}

/** A Chatwoot time: epoch seconds (number, maybe fractional, or numeric string) or an ISO 8601 string. */
export function chatwootTimeMs(v: unknown): number | undefined {
  // Truncated to the millisecond, as Rails writes times in JSON (ISO with 3 decimals): the float
  // `updated_at` of one body and the ISO `updated_at` of another then name the same instant
  // (the epsilon absorbs binary fractions such as .123 = .12299999).
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.floor(v * 1000 + 1e-3);
  if (typeof v === 'string' && v.trim() !== '') {
    if (/^\d+(\.\d+)?$/.test(v.trim())) return Math.floor(Number(v) * 1000 + 1e-3);
    // "2020-03-03 13:05:57 UTC" (the annotated sample) and ISO 8601 both parse once normalised.
    const ms = Date.parse(v.replace(/ UTC$/, 'Z').replace(/^(\d{4}-\d{2}-\d{2}) /, '$1T'));
    if (Number.isFinite(ms)) return ms;
  }
  return undefined;
}

const intId = (v: unknown): string | undefined =>
  (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && /^\d{1,19}$/.test(v)) ? String(v) : undefined;

export const agentIdOf = (userId: string) => `cw-agent-${userId}`;
export const groupIdOf = (teamId: string) => `cw-team-${teamId}`;

/**
 * The session id. A conversation's `id` in a webhook is its display id, numbered per account, and
 * conversation bodies carry no account id; the inbox id is global and an inbox has one account,
 * so inbox + display id names one conversation across a whole Chatwoot installation.
 */
function sessionOf(conv: Obj): string {
  const display = intId(conv.id);
  const inbox = intId(conv.inbox_id);
  if (display === undefined) throw new BadBody('conversation id (the display id) is missing or not a number');
  if (inbox === undefined) throw new BadBody('conversation inbox_id is missing or not a number');
  return `cw-${inbox}-${display}`;
}

function meta(conv: Obj): Obj {
  return isObj(conv.meta) ? conv.meta : {};
}

/** The conversation's skill group: its team, else the default group. */
function groupOf(conv: Obj, o: ChatwootMapOptions): string {
  const team = meta(conv).team;
  const id = isObj(team) ? intId(team.id) : undefined;
  return id === undefined ? o.defaultGroup : groupIdOf(id);
}

/** The human assignee (an agent bot assignee is no agent of ours: the conversation is still the bot's). */
function humanAssignee(conv: Obj): string | undefined {
  const m = meta(conv);
  if (m.assignee_type === 'AgentBot') return undefined;
  const a = m.assignee;
  if (!isObj(a) || (a.type !== undefined && a.type !== 'user')) return undefined;
  const id = intId(a.id);
  return id === undefined ? undefined : agentIdOf(id);
}

interface Change {
  prev: unknown;
  cur: unknown;
}

/** `changed_attributes` as attr → change; absent (older Chatwoot, or nothing sent) gives an empty map. */
function changesOf(body: Obj): Map<string, Change> {
  const out = new Map<string, Change>();
  const add = (k: string, v: unknown) => {
    if (isObj(v) && ('current_value' in v || 'previous_value' in v)) out.set(k, { prev: v.previous_value ?? null, cur: v.current_value ?? null });
    else if (Array.isArray(v) && v.length === 2) out.set(k, { prev: v[0] ?? null, cur: v[1] ?? null });
  };
  const ca = body.changed_attributes;
  if (Array.isArray(ca)) for (const entry of ca) if (isObj(entry)) for (const [k, v] of Object.entries(entry)) add(k, v);
  if (isObj(ca)) for (const [k, v] of Object.entries(ca)) add(k, v);
  return out;
}

/**
 * When a change happened. Chatwoot sends no event time: the save's `updated_at` is it (in
 * `changed_attributes` of conversation_updated, and as the body's `updated_at` in current
 * versions); bodies of older versions have neither, and then the conversation's
 * `timestamp` (its last activity, at or before the change) stands in. Never the receipt time:
 * a redelivery must give the same event.
 */
function changeTimeMs(conv: Obj, changes: Map<string, Change>): number {
  const t = chatwootTimeMs(changes.get('updated_at')?.cur) ?? chatwootTimeMs(conv.updated_at) ?? chatwootTimeMs(conv.timestamp);
  if (t === undefined) throw new BadBody('the conversation carries no time (updated_at, timestamp)');
  return t;
}

const short = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 12);

/** Builds the events of one conversation at one instant, with ids derived from what happened. */
class Out {
  readonly events: Record<string, unknown>[] = [];
  private readonly seen = new Set<string>();
  constructor(
    readonly sessionId: string,
    readonly timeMs: number,
  ) {}
  private get sec() {
    return Math.floor(this.timeMs / 1000);
  }
  private push(key: string, e: Record<string, unknown>) {
    const id = `cw:${this.sessionId}:${key}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.events.push({ id, time: this.timeMs, ...e });
  }
  start(userId: string | undefined) {
    // One start per conversation, whatever its time: a redelivered or later-built body is the same start.
    this.push('start', { type: 'session.start', sessionId: this.sessionId, ...(userId ? { userId } : {}) });
  }
  queue(groupId: string, via: 'direct' | 'transfer') {
    this.push(`queue:${groupId}:${this.sec}`, { type: 'session.queue', sessionId: this.sessionId, groupId, via });
  }
  answer(groupId: string, agentId: string) {
    this.push(`answer:${agentId}:${this.sec}`, { type: 'session.answer', sessionId: this.sessionId, groupId, agentId });
  }
  transfer(agentId: string) {
    // Chatwoot does not say why an agent gave a conversation away: an agent's or an admin's act, so manual.
    this.push(`transfer:${agentId}:${this.sec}`, { type: 'session.transfer', sessionId: this.sessionId, agentId, reason: 'manual' });
  }
  end() {
    this.push(`end:${this.sec}`, { type: 'session.end', sessionId: this.sessionId });
  }
  groupName(conv: Obj) {
    const team = meta(conv).team;
    const id = isObj(team) ? intId(team.id) : undefined;
    if (id === undefined || !isObj(team) || typeof team.name !== 'string' || team.name.trim() === '') return;
    const name = team.name.trim().slice(0, 200);
    // Keyed by the name: only a renamed team gives a new upsert.
    this.events.push({ id: `cw:team:${id}:name:${short(name)}`, time: this.timeMs, type: 'group.upsert', groupId: groupIdOf(id), name });
  }
}

function contactOf(conv: Obj): string | undefined {
  const s = meta(conv).sender;
  const id = isObj(s) ? intId(s.id) : undefined;
  return id === undefined ? undefined : `cw-contact-${id}`;
}

/** A conversation waiting for a human: it enters its group's queue, and is answered at once when it already has an agent. */
function queueEntry(out: Out, conv: Obj, o: ChatwootMapOptions) {
  const group = groupOf(conv, o);
  out.queue(group, 'direct');
  const agent = humanAssignee(conv);
  if (agent) out.answer(group, agent);
}

function conversationCreated(body: Obj, o: ChatwootMapOptions): ChatwootMapping {
  const sid = sessionOf(body);
  const t = chatwootTimeMs(body.created_at) ?? chatwootTimeMs(body.timestamp);
  if (t === undefined) throw new BadBody('conversation_created carries no time (created_at, timestamp)');
  const out = new Out(sid, t);
  out.start(contactOf(body));
  out.groupName(body);
  // Created open = no bot in front: it asks for a human at once. Pending = a bot has it first.
  if (body.status === 'open') queueEntry(out, body, o);
  else if (body.status === 'resolved') out.end();
  return { outcome: 'mapped', events: out.events };
}

function conversationChanged(event: string, body: Obj, o: ChatwootMapOptions): ChatwootMapping {
  const sid = sessionOf(body);
  const changes = changesOf(body);
  const out = new Out(sid, changeTimeMs(body, changes));
  const status = typeof body.status === 'string' ? body.status : undefined;
  // conversation_status_changed of older versions carries no changed_attributes: its status is the new one.
  const statusChange = changes.get('status') ?? (event === 'conversation_status_changed' && status ? { prev: null, cur: status } : undefined);
  if (statusChange) {
    // pending → open is the bot's hand-off; resolved → open a reopened conversation (a new
    // queue entry of the same session). snoozed → open resumes what was already going on.
    if (statusChange.cur === 'open' && statusChange.prev !== 'snoozed') queueEntry(out, body, o);
    // Resolved while still queued (no agent) is an abandon: the session model counts a session
    // that ends while queued as abandoned (session/model.ts, LegOutcome).
    else if (statusChange.cur === 'resolved') out.end();
  }
  const assignee = changes.get('assignee_id');
  if (assignee && status === 'open') {
    const group = groupOf(body, o);
    const prev = intId(assignee.prev);
    const cur = intId(assignee.cur);
    if (prev !== undefined && prev !== cur) out.transfer(agentIdOf(prev));
    if (cur !== undefined) out.answer(group, agentIdOf(cur));
    // Unassigned: back to waiting in the group's queue.
    else if (prev !== undefined) out.queue(group, 'transfer');
  }
  const team = changes.get('team_id');
  // A waiting conversation moved to another team moves to that group's queue; with an agent on
  // it, the agent keeps it (the part stays where it was answered).
  if (team && !statusChange && !assignee && status === 'open' && !humanAssignee(body)) out.queue(groupOf(body, o), 'transfer');
  out.groupName(body);
  const counted = out.events.filter((e) => e.type !== 'group.upsert');
  if (counted.length === 0)
    return { outcome: 'ignored', events: [], why: `${event}: no change we count (${[...changes.keys()].join(', ') || 'no changed_attributes'})` };
  return { outcome: 'mapped', events: out.events };
}

function messageOf(body: Obj): { conv: Obj; sid: string; msgId: string } {
  const conv = body.conversation;
  if (!isObj(conv)) throw new BadBody('message has no conversation');
  const msgId = intId(body.id);
  if (msgId === undefined) throw new BadBody('message id is missing or not a number');
  return { conv, sid: sessionOf(conv), msgId };
}

function messageCreated(body: Obj): ChatwootMapping {
  const { sid, msgId } = messageOf(body);
  if (body.private === true) return { outcome: 'ignored', events: [], why: 'private note' };
  const t = chatwootTimeMs(body.created_at);
  if (t === undefined) throw new BadBody('message created_at is missing or not a time');
  const sender = isObj(body.sender) ? body.sender : undefined;
  let from: 'user' | 'agent' | 'robot';
  let agentId: string | undefined;
  switch (body.message_type) {
    case 'incoming':
      from = 'user';
      break;
    case 'outgoing': {
      const uid = sender && sender.type === 'user' ? intId(sender.id) : undefined;
      // An outgoing message with no user behind it is an agent bot's or an automation's.
      if (uid !== undefined) ((from = 'agent'), (agentId = agentIdOf(uid)));
      else from = 'robot';
      break;
    }
    case 'template':
      from = 'robot';
      break;
    case 'activity':
      return { outcome: 'ignored', events: [], why: 'activity message (Chatwoot tells its own status changes)' };
    default:
      throw new BadBody(`message_type "${String(body.message_type)}" is not incoming, outgoing, activity or template`);
  }
  const text = typeof body.content === 'string' ? body.content.slice(0, 100_000) : undefined;
  const e: Record<string, unknown> = { id: `cw:${sid}:msg:${msgId}`, type: 'session.message', time: t, sessionId: sid, from };
  if (agentId) e.agentId = agentId;
  if (text !== undefined && text !== '') e.text = text;
  return { outcome: 'mapped', events: [e] };
}

function messageUpdated(body: Obj): ChatwootMapping {
  const { conv, sid, msgId } = messageOf(body);
  const ca = isObj(body.content_attributes) ? body.content_attributes : {};
  const sv = isObj(ca.submitted_values) ? ca.submitted_values : {};
  const csat = isObj(sv.csat_survey_response) ? sv.csat_survey_response : undefined;
  if (!csat) return { outcome: 'ignored', events: [], why: 'message_updated without a CSAT rating' };
  const score = typeof csat.rating === 'string' ? Number(csat.rating) : csat.rating;
  if (typeof score !== 'number' || !Number.isInteger(score) || score < 1 || score > 5)
    throw new BadBody(`CSAT rating ${JSON.stringify(csat.rating)} is not a whole number from 1 to 5`);
  // The answer touches the conversation (message belongs_to :conversation, touch: true): its
  // updated_at is when the visitor rated; older bodies lack it, and the survey's own time stands in.
  const t = chatwootTimeMs(conv.updated_at) ?? chatwootTimeMs(body.updated_at) ?? chatwootTimeMs(body.created_at);
  if (t === undefined) throw new BadBody('the CSAT message carries no time');
  // One rating per survey message: a later edit of the same survey is a duplicate.
  return { outcome: 'mapped', events: [{ id: `cw:${sid}:rate:${msgId}`, type: 'session.rate', time: t, sessionId: sid, score }] };
}

/** Maps one parsed webhook body. Never throws: a body that cannot be read is `invalid` with the reason. */
export function mapChatwootBody(body: unknown, o: ChatwootMapOptions): ChatwootMapping {
  if (!isObj(body)) return { outcome: 'invalid', events: [], why: 'body is not a JSON object' };
  const event = body.event;
  if (typeof event !== 'string') {
    // An ActionCable (WebSocket) frame posted here: a different transport, understood and not taken
    // (presence comes from the poller, the rest from the webhooks).
    if ('identifier' in body && ('message' in body || 'command' in body))
      return { outcome: 'ignored', events: [], why: 'a Chatwoot WebSocket (ActionCable) frame, not a webhook body' };
    return { outcome: 'invalid', events: [], why: 'body has no "event" field' };
  }
  try {
    switch (event) {
      case 'conversation_created':
        return conversationCreated(body, o);
      case 'conversation_status_changed':
      case 'conversation_updated':
        return conversationChanged(event, body, o);
      case 'message_created':
        return messageCreated(body);
      case 'message_updated':
        return messageUpdated(body);
      default:
        if (IGNORED_EVENTS.has(event)) return { outcome: 'ignored', events: [], why: `${event} carries nothing we count` };
        return { outcome: 'unknown', events: [], why: `unknown Chatwoot event "${event.slice(0, 100)}"` };
    }
  } catch (err) {
    if (err instanceof BadBody) return { outcome: 'invalid', events: [], why: `${event}: ${err.message}` };
    throw err;
  }
}
