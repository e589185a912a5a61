/** Validates raw events against the contract and normalises the accepted ones. */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { EVENT_TYPES, eventSchema, type ContractEvent, type EventType } from './schema.js';
import { isDay, localDay } from '../time.js';

/** An accepted event, ready to be stored and fed to the live state. */
export interface StoredEvent {
  tenant: string;
  id: string;
  type: EventType;
  /** Event time, epoch milliseconds. */
  timeMs: number;
  /** Local day of `timeMs` (the partition and report day). */
  day: string;
  event: ContractEvent;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/** Epoch ms of an RFC 3339 time with offset, or NaN when it is not one. */
export function parseRfc3339(s: string): number {
  const m = RFC3339.exec(s);
  if (!m || !isDay(m[1])) return NaN;
  // Leap seconds have no epoch representation: fold :60 into the next second.
  const normal = s.replace(/^(.{10})[t ]/, '$1T').replace(/:60(?=[.Zz+-])/, ':59');
  const ms = Date.parse(normal);
  return m[3] === '60' ? ms + 1000 : ms;
}

const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
ajv.addFormat('rfc3339', { type: 'string', validate: (s: string) => !Number.isNaN(parseRfc3339(s)) });

const validators = new Map<string, ValidateFunction>(EVENT_TYPES.map((t) => [t, ajv.compile(eventSchema(t))]));

function fieldName(err: ErrorObject): string {
  const path = err.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (err.keyword === 'required') {
    const missing = (err.params as { missingProperty: string }).missingProperty;
    return path ? `${path}.${missing}` : missing;
  }
  return path || '(event)';
}

/** One readable message naming the field(s) at fault. */
function describe(type: string, errors: ErrorObject[]): string {
  // An anyOf failure (a time, or one of a set of words) says it best through its
  // description; the failed branches under it only add noise.
  const unionPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const messages: string[] = [];
  for (const err of errors) {
    if (err.keyword !== 'anyOf' && [...unionPaths].some((p) => err.instancePath === p || err.instancePath.startsWith(`${p}/`))) continue;
    const field = fieldName(err);
    let text: string;
    if (err.keyword === 'required') text = `is required for ${type}`;
    else if (err.keyword === 'anyOf') text = `must be ${String((err.parentSchema as { description?: string }).description ?? 'valid')}`;
    else if (err.keyword === 'format' && (err.params as { format: string }).format === 'rfc3339') {
      text = 'must be an RFC 3339 time with offset or epoch milliseconds';
    } else text = err.message ?? 'is invalid';
    const msg = `${field}: ${text}`;
    if (!messages.includes(msg)) messages.push(msg);
  }
  return messages.join('; ');
}

function toMs(t: string | number): number {
  return typeof t === 'number' ? t : parseRfc3339(t);
}

export type Validation = { ok: true; event: StoredEvent } | { ok: false; error: string };

// Further ahead than this is a producer's clock or unit bug (seconds sent as
// milliseconds...), not an event; it would also open day partitions for years ahead.
const MAX_FUTURE_MS = 24 * 3600 * 1000;

/** Checks one raw event; `timezone` gives its local day. */
export function validateEvent(raw: unknown, timezone: string, nowMs = Date.now()): Validation {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, error: `event must be a JSON object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}` };
  }
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string') return { ok: false, error: 'type: is required and must be a string' };
  const validate = validators.get(type);
  if (!validate) return { ok: false, error: `type: unknown event type "${type}"; expected one of ${EVENT_TYPES.join(', ')}` };
  if (!validate(raw)) return { ok: false, error: describe(type, validate.errors ?? []) };
  const event = raw as ContractEvent;
  const timeMs = toMs(event.time);
  if (timeMs > nowMs + MAX_FUTURE_MS) {
    return {
      ok: false,
      error: `time: ${new Date(timeMs).toISOString()} is more than 24 hours in the future; check the producer's clock and that epoch times are in milliseconds`,
    };
  }
  return {
    ok: true,
    event: { tenant: event.tenant ?? 'default', id: event.id, type: type as EventType, timeMs, day: localDay(timeMs, timezone), event },
  };
}
