/** Cutting a byte stream into queue_log lines, and lines into batches of events for ingest. */
import { createHash } from 'node:crypto';
import { localDay } from '../../time.js';
import type { Ev, QueueLogMapper } from './mapper.js';
import { parseLine } from './queue-log.js';
import type { AdapterOutcome } from '../stats.js';

export const ADAPTER = 'asterisk';
/** Events per ingest submission: well inside the 50,000 of one request. */
export const BATCH_EVENTS = 5_000;
/** Local days per submission: ingest takes at most 31 per request (ingest/submit.ts). */
export const BATCH_DAYS = 20;

export interface RawLine {
  text: string;
  /** Byte offset just past the line's newline. */
  end: number;
}

/** Splits `buf` (read from `start`) into complete lines; returns them and the unfinished rest. */
export function splitLines(buf: Buffer, start: number): { lines: RawLine[]; rest: Buffer } {
  const lines: RawLine[] = [];
  let from = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, from);
    if (nl < 0) break;
    lines.push({ text: buf.toString('utf8', from, nl), end: start + nl + 1 });
    from = nl + 1;
  }
  return { lines, rest: buf.subarray(from) };
}

export const lineHash = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 24);

export interface MappedLine {
  raw: string;
  end: number;
  outcome: AdapterOutcome | 'blank';
  why?: string;
  events: Ev[];
}

export function mapLine(mapper: QueueLogMapper, raw: RawLine): MappedLine {
  const p = parseLine(raw.text);
  if (p.ok === 'blank') return { raw: raw.text, end: raw.end, outcome: 'blank', events: [] };
  if (p.ok === false) return { raw: raw.text, end: raw.end, outcome: 'invalid', why: p.error, events: [] };
  const m = mapper.map1(p.line);
  return { raw: raw.text, end: raw.end, outcome: m.outcome, why: m.why, events: m.outcome === 'mapped' ? m.events : [] };
}

/** Consecutive lines cut into batches of at most BATCH_EVENTS events and BATCH_DAYS days (a line is never split). */
export function batches(lines: MappedLine[], tz: string, maxEvents = BATCH_EVENTS): MappedLine[][] {
  const out: MappedLine[][] = [];
  let cur: MappedLine[] = [];
  let n = 0;
  let days = new Set<string>();
  for (const l of lines) {
    const ld = new Set(l.events.map((e) => localDay(e.time, tz)));
    const newDays = [...ld].filter((d) => !days.has(d)).length;
    if (cur.length > 0 && (n + l.events.length > maxEvents || days.size + newDays > BATCH_DAYS)) {
      out.push(cur);
      cur = [];
      n = 0;
      days = new Set();
    }
    cur.push(l);
    n += l.events.length;
    for (const d of ld) days.add(d);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
