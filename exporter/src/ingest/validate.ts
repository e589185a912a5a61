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
/** The default lower bound of event times (CS_MIN_EVENT_TIME): seconds sent as milliseconds land in 1970. */
export const DEFAULT_MIN_EVENT_TIME_MS = Date.UTC(2000, 0, 1);
/** The latest deadline a ticket may carry: Postgres and the day strings stop at year 9999. */
const MAX_DEADLINE_MS = Date.UTC(9999, 11, 30);
/** How deeply an event may nest (its own fields need 2 levels; unknown extras get the rest). */
export const MAX_EVENT_DEPTH = 16;
/** JSON size of an event's unknown extra fields, together. */
export const MAX_EXTRAS_BYTES = 64 * 1024;

export interface ValidateOptions {
  /** Events before this instant are refused (CS_MIN_EVENT_TIME). */
  minEventTimeMs?: number;
}

// A lone UTF-16 surrogate survives JSON.parse but not Postgres's jsonb, and NUL fits no Postgres
// text at all: either would fail the whole merged transaction, so they are refused per event here.
export const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a value cannot be stored, and where (path parts, innermost last), or undefined. */
type Fault = { why: 'deep' | 'text' | 'key'; path: string[] };

// Recursion is safe: it stops at MAX_EVENT_DEPTH whatever the input's nesting. The path is only
// built on the way out of a failure, so the common case allocates nothing.
function fault(v: unknown, depth: number): Fault | undefined {
  if (typeof v === 'string') return UNSTORABLE.test(v) ? { why: 'text', path: [] } : undefined;
  if (v === null || typeof v !== 'object') return undefined;
  if (depth >= MAX_EVENT_DEPTH) return { why: 'deep', path: [] };
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const f = fault(v[i], depth + 1);
      if (f) return (f.path.unshift(`[${i}]`), f);
    }
    return undefined;
  }
  for (const k in v) {
    if (UNSTORABLE.test(k)) return { why: 'key', path: [`.${k}`] };
    const f = fault((v as Record<string, unknown>)[k], depth + 1);
    if (f) return (f.path.unshift(`.${k}`), f);
  }
  return undefined;
}

/**
 * What Postgres would refuse in an event, found before it reaches the merged transaction:
 * nesting deeper than MAX_EVENT_DEPTH (jsonb has a stack limit, JSON.stringify a call stack),
 * NUL or a lone surrogate in a string or key, unknown extras over MAX_EXTRAS_BYTES.
 */
function unstorable(event: Record<string, unknown>, known: Set<string>): string | undefined {
  let extras = 0;
  for (const k in event) {
    const f = UNSTORABLE.test(k) ? { why: 'key' as const, path: [] } : fault(event[k], 1);
    if (f) {
      const path = at(k + f.path.join(''));
      if (f.why === 'deep') return `${path}: nests deeper than ${MAX_EVENT_DEPTH} levels; flatten the extra fields`;
      if (f.why === 'key') return `${path}: a field name holds NUL (\\u0000) or a lone surrogate, which cannot be stored`;
      return `${path}: holds NUL (\\u0000) or a lone UTF-16 surrogate, which cannot be stored`;
    }
    if (!known.has(k)) extras += k.length + (JSON.stringify(event[k]) ?? '').length;
  }
  if (extras > MAX_EXTRAS_BYTES) return `(event): unknown extra fields take ${extras} bytes; at most ${MAX_EXTRAS_BYTES} are kept`;
  return undefined;
}

// Paths are built from the producer's own keys: long ones are cut so an answer stays small.
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');
const at = (path: string) => {
  const shown = path.replace(UNSTORABLE_ALL, '\ufffd');
  return shown.length > 100 ? `${shown.slice(0, 100)}…` : shown;
};

const knownFields = new Map<string, Set<string>>(EVENT_TYPES.map((t) => [t, new Set(Object.keys(eventSchema(t).properties))]));

const iso = (ms: number) => (Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms));

/** Checks one raw event; `timezone` gives its local day. */
export function validateEvent(raw: unknown, timezone: string, nowMs = Date.now(), opts: ValidateOptions = {}): Validation {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, error: `event must be a JSON object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}` };
  }
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string') return { ok: false, error: 'type: is required and must be a string' };
  const validate = validators.get(type);
  if (!validate) return { ok: false, error: `type: unknown event type ${JSON.stringify(type.slice(0, 64))}; expected one of ${EVENT_TYPES.join(', ')}` };
  const bad = unstorable(raw as Record<string, unknown>, knownFields.get(type)!);
  if (bad) return { ok: false, error: bad };
  if (!validate(raw)) return { ok: false, error: describe(type, validate.errors ?? []) };
  const event = raw as ContractEvent;
  const timeMs = toMs(event.time);
  if (timeMs > nowMs + MAX_FUTURE_MS) {
    return {
      ok: false,
      error: `time: ${iso(timeMs)} is more than 24 hours in the future; check the producer's clock and that epoch times are in milliseconds`,
    };
  }
  const minMs = opts.minEventTimeMs ?? DEFAULT_MIN_EVENT_TIME_MS;
  if (timeMs < minMs) {
    return {
      ok: false,
      error: `time: ${iso(timeMs)} is before ${iso(minMs)}, the earliest time accepted (CS_MIN_EVENT_TIME); check that epoch times are in milliseconds, not seconds`,
    };
  }
  const deadline = (event as { deadline?: string | number }).deadline;
  if (deadline !== undefined) {
    const d = toMs(deadline);
    if (d < minMs || d > MAX_DEADLINE_MS) return { ok: false, error: `deadline: ${iso(d)} is outside ${iso(minMs)} … ${iso(MAX_DEADLINE_MS)}` };
  }
  return {
    ok: true,
    event: { tenant: event.tenant ?? 'default', id: event.id, type: type as EventType, timeMs, day: localDay(timeMs, timezone), event },
  };
}
