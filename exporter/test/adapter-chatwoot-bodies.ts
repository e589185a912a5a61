/**
 * Chatwoot webhook bodies for the adapter tests, shaped as Chatwoot builds them:
 * conversation bodies = Conversations::EventDataPresenter#push_data (app/presenters/conversations/
 * event_data_presenter.rb) merged with `event` and `changed_attributes` (app/listeners/
 * webhook_listener.rb; changed_attributes as base_listener.rb `extract_changed_attributes` writes
 * them); message bodies = Message#webhook_data (app/models/message.rb). Times in epoch seconds.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// `../shared/samples/` next to the repo root; CS_SAMPLES_DIR names it elsewhere (a git worktree
// lives one level deeper than the checkout the samples sit beside).
export const SAMPLES_DIR = process.env.CS_SAMPLES_DIR
  ? `${process.env.CS_SAMPLES_DIR.replace(/\/+$/, '')}/chatwoot/`
  : fileURLToPath(new URL('../../../shared/samples/chatwoot/', import.meta.url));

/** Every Chatwoot sample file as [relative path, raw text]; fails clearly when the samples are absent. */
export function chatwootSamples(): [string, string][] {
  if (!existsSync(SAMPLES_DIR)) throw new Error(`the Chatwoot samples are not at ${SAMPLES_DIR} (../shared/samples/chatwoot/ next to the repo): the adapter tests read them from there`);
  return readdirSync(SAMPLES_DIR)
    .sort()
    .flatMap((dir) => readdirSync(`${SAMPLES_DIR}${dir}`).sort().map((f): [string, string] => [`${dir}/${f}`, readFileSync(`${SAMPLES_DIR}${dir}/${f}`, 'utf8')]));
}

export interface Team {
  id: number;
  name: string;
}
export interface User {
  id: number;
  name: string;
}

export interface ConvState {
  display: number;
  inbox?: number;
  contact?: number;
  status: 'open' | 'pending' | 'resolved' | 'snoozed';
  team?: Team | null;
  assignee?: User | null;
  createdSec: number;
}

export function conversation(c: ConvState, extra: { updatedSec?: number; timestampSec?: number } = {}): Record<string, unknown> {
  return {
    additional_attributes: {},
    can_reply: true,
    channel: 'Channel::WebWidget',
    id: c.display,
    inbox_id: c.inbox ?? 3,
    messages: [],
    labels: [],
    meta: {
      sender: { id: c.contact ?? 500 + c.display, name: `visitor ${c.display}`, type: 'contact' },
      assignee: c.assignee ? { id: c.assignee.id, name: c.assignee.name, available_name: c.assignee.name, type: 'user', availability_status: 'online' } : null,
      assignee_type: c.assignee ? 'User' : null,
      team: c.team ? { id: c.team.id, name: c.team.name } : null,
      hmac_verified: false,
    },
    status: c.status,
    custom_attributes: {},
    snoozed_until: null,
    unread_count: 0,
    first_reply_created_at: null,
    priority: null,
    waiting_since: 0,
    agent_last_seen_at: 0,
    contact_last_seen_at: 0,
    last_activity_at: extra.timestampSec ?? c.createdSec,
    timestamp: extra.timestampSec ?? c.createdSec,
    created_at: c.createdSec,
    ...(extra.updatedSec !== undefined ? { updated_at: extra.updatedSec + 0.5004 } : {}),
  };
}

export const created = (c: ConvState) => ({ ...conversation(c), event: 'conversation_created' });

/** conversation_status_changed of a current Chatwoot: changed_attributes hold status only; the body's updated_at is the save. */
export function statusChanged(c: ConvState, prev: string, atSec: number) {
  return { ...conversation(c, { updatedSec: atSec, timestampSec: atSec }), event: 'conversation_status_changed', changed_attributes: [{ status: { previous_value: prev, current_value: c.status } }] };
}

/** conversation_updated: previous_changes of the save, updated_at among them (ISO, as Rails serialises times). */
export function updated(c: ConvState, atSec: number, changes: Record<string, [unknown, unknown]>) {
  // The same instant as the body's updated_at (float seconds) of the same save, to the millisecond.
  const iso = (s: number) => new Date(s * 1000 + 500).toISOString();
  return {
    ...conversation(c, { timestampSec: atSec }),
    event: 'conversation_updated',
    changed_attributes: [
      ...Object.entries(changes).map(([k, [p, v]]) => ({ [k]: { previous_value: p, current_value: v } })),
      { updated_at: { previous_value: iso(atSec - 1), current_value: iso(atSec) } },
    ],
  };
}

export function message(c: ConvState, id: number, atSec: number, type: 'incoming' | 'outgoing' | 'activity', sender: User | null, content: string) {
  return {
    id,
    content,
    created_at: new Date(atSec * 1000).toISOString(),
    message_type: type,
    content_type: 'text',
    private: false,
    content_attributes: {},
    source_id: null,
    sender: sender ? { id: sender.id, name: sender.name, type: 'user' } : { id: c.contact ?? 500 + c.display, name: `visitor ${c.display}`, type: 'contact' },
    inbox: { id: c.inbox ?? 3, name: 'Website' },
    conversation: conversation(c, { timestampSec: atSec }),
    account: { id: 1, name: 'Acme' },
    event: 'message_created',
  };
}

/** The visitor's CSAT answer: message_updated of the input_csat survey message; the conversation is touched at the answer. */
export function csat(c: ConvState, id: number, surveySec: number, ratedSec: number, rating: number) {
  return {
    ...message(c, id, surveySec, 'outgoing', null, 'Please rate the conversation'),
    content_type: 'input_csat',
    content_attributes: { submitted_values: { csat_survey_response: { rating, feedback_message: 'thanks' } } },
    conversation: conversation(c, { updatedSec: ratedSec, timestampSec: ratedSec }),
    event: 'message_updated',
  };
}
