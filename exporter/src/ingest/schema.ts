/**
 * The event contract of events.md as TypeBox schemas: the one source from
 * which both the validators and the published events.schema.json are made.
 */
import { Type, type TSchema, type Static, type TObject, type TProperties } from '@sinclair/typebox';

export const AGENT_STATUSES = [
  'online',
  'break',
  'busy',
  'rest',
  'meeting',
  'training',
  'meal',
  'restroom',
  'discussion',
  'outbound',
  'custom',
  'hosted',
  'offline',
] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

const id = (description: string) => Type.String({ minLength: 1, maxLength: 128, description });
const optText = (description: string, maxLength = 10_000) => Type.Optional(Type.String({ maxLength, description }));
const oneOf = <T extends readonly string[]>(values: T, description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description: `one of ${values.join(', ')} (${description})` },
  );
const time = (description: string) =>
  Type.Union([Type.String({ format: 'rfc3339' }), Type.Integer({ minimum: 0, maximum: 8.64e15 })], {
    description: `an RFC 3339 time with offset, like 2026-11-23T09:30:00+08:00, or epoch milliseconds (${description})`,
  });

/** Fields every event carries. */
export const commonFields = {
  id: id('unique event id, the dedupe key per tenant'),
  type: Type.String({ description: 'event type' }),
  time: time('when it happened'),
  tenant: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: '租户, default "default"' })),
};

/** Per-type fields, keyed by event type (events.md, "Types"). */
export const typeFields = {
  'group.upsert': { groupId: id('skill group id'), name: Type.String({ minLength: 1, maxLength: 200, description: '技能组名称' }) },
  'agent.upsert': {
    agentId: id('agent id'),
    name: Type.String({ minLength: 1, maxLength: 200, description: '客服姓名' }),
    workNo: optText('工号', 64),
    groups: Type.Optional(Type.Array(id('skill group id'), { maxItems: 1000, description: 'skill group ids' })),
    maxSessions: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: '接待上限' })),
  },
  'agent.status': {
    agentId: id('agent id'),
    status: oneOf(AGENT_STATUSES, 'workbench status'),
    label: optText('name of a custom status', 200),
    seat: optText('工位号', 64),
    remark: optText('离线备注', 2000),
  },
  'agent.log': {
    agentId: id('agent id'),
    platform: optText('所属平台', 200),
    operation: Type.String({ minLength: 1, maxLength: 2000, description: '操作' }),
  },
  'session.start': {
    sessionId: id('session id'),
    userId: Type.Optional(id('user id; absent for 匿名用户')),
    region: optText('归属地', 200),
  },
  'session.queue': {
    sessionId: id('session id'),
    groupId: id('skill group id'),
    via: oneOf(['direct', 'transfer', 'overflow'] as const, 'how the session entered the queue'),
  },
  'session.answer': {
    sessionId: id('session id'),
    groupId: id('skill group id'),
    agentId: id('agent id'),
    manual: Type.Optional(Type.Boolean({ description: '手动接入' })),
  },
  'session.abandon': { sessionId: id('session id'), groupId: id('skill group id') },
  'session.reject': {
    sessionId: id('session id'),
    groupId: id('skill group id'),
    reason: oneOf(['busy', 'off_hours', 'no_agent', 'other'] as const, 'why the request for a human failed'),
  },
  'session.transfer': {
    sessionId: id('session id'),
    agentId: id('agent whose part ends'),
    reason: oneOf(['manual', 'timeout'] as const, 'transfer reason'),
  },
  'session.message': {
    sessionId: id('session id'),
    from: oneOf(['user', 'agent', 'robot', 'system'] as const, 'sender'),
    agentId: Type.Optional(id('agent id, when from an agent')),
    text: optText('message text', 100_000),
  },
  'session.invite': { sessionId: id('session id'), agentId: id('agent who invited the rating') },
  'session.rate': {
    sessionId: id('session id'),
    score: Type.Integer({ minimum: 1, maximum: 5, description: 'rating 1–5 (5 非常满意 … 1 非常不满意)' }),
  },
  'session.end': { sessionId: id('session id'), by: Type.Optional(oneOf(['user', 'agent', 'system'] as const, 'who ended it')) },
  'session.summary': {
    sessionId: id('服务记录ID'),
    agentId: id('agent id'),
    channel: oneOf(['online', 'inbound_call', 'manual_outbound', 'system_outbound'] as const, 'service channel'),
    state: optText('小记状态', 200),
    category: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        minItems: 1,
        maxItems: 10,
        description: 'category path, top level first',
      }),
    ),
    remark: optText('备注', 10_000),
  },
  'ticket.create': {
    ticketId: id('ticket id'),
    ticketType: Type.String({ minLength: 1, maxLength: 200, description: '工单类型' }),
    agentId: id('creator agent id'),
    node: optText('工单节点', 200),
    deadline: time('工单时效'),
  },
  'ticket.update': { ticketId: id('ticket id'), node: optText('工单节点', 200), deadline: Type.Optional(time('工单时效')) },
  'ticket.close': { ticketId: id('ticket id') },
} satisfies Record<string, Record<string, TSchema>>;

export type EventType = keyof typeof typeFields;
export const EVENT_TYPES = Object.keys(typeFields) as EventType[];

/** The schema of one event type: the common fields plus that type's own. */
export function eventSchema(type: EventType): TObject {
  return Type.Object(
    { ...commonFields, type: Type.Literal(type), ...typeFields[type] },
    { $id: `#/definitions/${type}`, title: type, additionalProperties: true },
  );
}

type Obj<P> = TObject<P extends TProperties ? P : never>;
/** A validated event of type `K`. */
export type EventOf<K extends EventType> = Static<Obj<Omit<typeof commonFields, 'type'>>> & { type: K } & Static<
    Obj<(typeof typeFields)[K]>
  >;
/** Any valid event. */
export type ContractEvent = { [K in EventType]: EventOf<K> }[EventType];

/** The published JSON Schema (draft 2020-12 keywords): one event, discriminated on `type`. */
export function publishedSchema(): Record<string, unknown> {
  const defs: Record<string, unknown> = {};
  for (const t of EVENT_TYPES) {
    const { $id: _drop, ...rest } = eventSchema(t) as unknown as Record<string, unknown>;
    defs[t] = rest;
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://github.com/cs-data-ops/cs-data-ops/exporter/schema/events.schema.json',
    title: 'Contact-center event (v1)',
    description:
      'One event for POST /api/v1/events (events.md). Generated from exporter/src/ingest/schema.ts by `npm run gen:schema -w exporter`; do not edit. "rfc3339" format: date-time with a Z or ±hh:mm offset.',
    type: 'object',
    required: ['type'],
    properties: { type: { enum: EVENT_TYPES } },
    oneOf: EVENT_TYPES.map((t) => ({ $ref: `#/$defs/${encodeURIComponent(t)}` })),
    $defs: defs,
  };
}
