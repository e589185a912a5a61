/**
 * The Chatwoot mapping rules of docs/adapters/chatwoot.md, one body each (no exporter needed):
 * what each body turns into, by event type and the fields that decide the figures.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mapChatwootBody, chatwootTimeMs } from '../src/adapters/chatwoot/map.js';
import { created, message, statusChanged, updated, type ConvState } from './adapter-chatwoot-bodies.js';

const T = Date.UTC(2026, 10, 20, 2) / 1000; // 10:00 +08:00
const O = { defaultGroup: 'chatwoot' };
const TEAM = { id: 4, name: '售后' };
const ANN = { id: 21, name: 'Ann' };
const BEN = { id: 22, name: 'Ben' };
const base: ConvState = { display: 7, status: 'open', team: TEAM, assignee: null, createdSec: T };

/** The events of a body, as `type field=value...` (ids and times left out), upserts apart. */
function brief(body: unknown): string[] {
  const m = mapChatwootBody(body, O);
  assert.equal(m.outcome === 'mapped' || m.events.length === 0, true);
  return m.events
    .filter((e) => e.type !== 'group.upsert')
    .map((e) => [e.type, ...['groupId', 'agentId', 'via', 'reason', 'from', 'score'].filter((k) => e[k] !== undefined).map((k) => `${k}=${e[k]}`)].join(' '));
}

describe('Chatwoot mapping rules', () => {
  it('When a conversation is reopened (resolved → open), then it queues again, answered at once by the agent it kept', () => {
    assert.deepEqual(brief(statusChanged({ ...base, assignee: ANN }, 'resolved', T + 500)), [
      'session.queue groupId=cw-team-4 via=direct',
      'session.answer groupId=cw-team-4 agentId=cw-agent-21',
    ]);
  });

  it('When the agent is removed (A → none), then A transfers and the conversation waits again in its group', () => {
    assert.deepEqual(brief(updated(base, T + 60, { assignee_id: [ANN.id, null] })), [
      'session.transfer agentId=cw-agent-21 reason=manual',
      'session.queue groupId=cw-team-4 via=transfer',
    ]);
  });

  it('When a waiting conversation moves to another team, then it queues there via transfer; with an agent on it, nothing', () => {
    assert.deepEqual(brief(updated(base, T + 60, { team_id: [3, TEAM.id] })), ['session.queue groupId=cw-team-4 via=transfer']);
    const m = mapChatwootBody(updated({ ...base, assignee: BEN }, T + 60, { team_id: [3, TEAM.id] }), O);
    assert.equal(m.outcome, 'ignored');
  });

  it('When a snoozed conversation wakes up, or one goes to pending or snoozed, then nothing is counted', () => {
    for (const [status, prev] of [['open', 'snoozed'], ['pending', 'open'], ['snoozed', 'open']] as const)
      assert.equal(mapChatwootBody(statusChanged({ ...base, status }, prev, T + 90), O).outcome, 'ignored', `${prev} → ${status}`);
  });

  it('When an agent bot holds the conversation, then it is no agent of ours', () => {
    const body = created({ ...base, assignee: ANN }) as any;
    body.meta.assignee = { id: 5, name: 'Bot', type: 'agent_bot' };
    body.meta.assignee_type = 'AgentBot';
    assert.deepEqual(brief(body), ['session.start', 'session.queue groupId=cw-team-4 via=direct']);
  });

  it('When messages come, then the visitor, the agent and the bot are told apart; private notes and activities are not messages', () => {
    assert.deepEqual(brief(message(base, 1, T + 1, 'incoming', null, 'hi')), ['session.message from=user']);
    assert.deepEqual(brief(message(base, 2, T + 2, 'outgoing', ANN, 'hello')), ['session.message agentId=cw-agent-21 from=agent']);
    const bot = message(base, 3, T + 3, 'outgoing', null, 'I am a bot') as any;
    bot.sender = { id: 5, name: 'Bot', type: 'agent_bot' };
    assert.deepEqual(brief(bot), ['session.message from=robot']);
    assert.equal(mapChatwootBody({ ...message(base, 4, T + 4, 'outgoing', ANN, 'note'), private: true }, O).outcome, 'ignored');
    assert.equal(mapChatwootBody(message(base, 5, T + 5, 'activity', null, 'Conversation was resolved by Ann'), O).outcome, 'ignored');
  });

  it('When one save is told twice (conversation_status_changed and conversation_updated), then both give the same event ids', () => {
    const a = mapChatwootBody(statusChanged({ ...base, status: 'resolved' }, 'open', T + 300), O).events.map((e) => [e.id, e.time]);
    const b = mapChatwootBody(updated({ ...base, status: 'resolved' }, T + 300, { status: ['open', 'resolved'] }), O).events.map((e) => [e.id, e.time]);
    assert.deepEqual(a, b);
    assert.equal(a.length, 2); // session.end + the team's group.upsert
  });

  it('When Chatwoot writes a time as epoch seconds (float) or ISO 8601, then the same instant gives the same millisecond', () => {
    assert.equal(chatwootTimeMs(1627063369.123), chatwootTimeMs('2021-07-23T18:02:49.123Z'));
    assert.equal(chatwootTimeMs(1627063369.1239), 1627063369123);
    assert.equal(chatwootTimeMs('2020-03-03 13:05:57 UTC'), Date.UTC(2020, 2, 3, 13, 5, 57));
    assert.equal(chatwootTimeMs('yesterday'), undefined);
  });
});
