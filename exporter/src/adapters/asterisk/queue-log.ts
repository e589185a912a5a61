/**
 * Reading Asterisk app_queue's queue_log: the pipe file and the realtime table's CSV export.
 *
 * Format (asterisk/asterisk doc/queuelog.txt; apps/app_queue.c, every `ast_queue_log(queuename,
 * callid, agent, event, fmt, ...)` call): `epoch|callid|queuename|agent|event|data1|...|data5`,
 * epoch in UTC seconds; `data` fields are the event's own and separated by `|` as well. The realtime
 * back end (queues.conf `[general]`, extconfig.conf `queue_log =>`) stores the same fields as the
 * columns `time, callid, queuename, agent, event, data1..data5` (older schemas one `data` column
 * holding the pipe-joined fields), `time` often as a local `YYYY-MM-DD HH:MM:SS` of the server.
 */
import { createHash } from 'node:crypto';
import { tzOffsetMs } from '../../time.js';

export interface QueueLogLine {
  /** Unix seconds (UTC). */
  epoch: number;
  callid: string;
  queue: string;
  agent: string;
  event: string;
  /** data1..dataN, trailing empty fields removed. */
  data: string[];
  /** The line in its canonical pipe form: the same for the pipe file and the CSV export. */
  canonical: string;
  /** A hash of `canonical`: the stem of every event id derived from this line. */
  hash: string;
}

export type ParseResult = { ok: true; line: QueueLogLine } | { ok: false; error: string } | { ok: 'blank' };

const EVENT_RE = /^[A-Z][A-Z0-9_]*$/;

function build(epoch: number, callid: string, queue: string, agent: string, event: string, data: string[]): ParseResult {
  if (!Number.isInteger(epoch) || epoch <= 0) return { ok: false, error: 'the time field is not unix seconds' };
  if (!EVENT_RE.test(event)) return { ok: false, error: `the event field "${event.slice(0, 40)}" is not an event name` };
  const d = [...data];
  while (d.length > 0 && d[d.length - 1] === '') d.pop();
  const canonical = [String(epoch), callid, queue, agent, event, ...d].join('|');
  const hash = createHash('sha256').update(canonical).digest('base64url').slice(0, 24);
  return { ok: true, line: { epoch, callid, queue, agent, event, data: d, canonical, hash } };
}

/** One line of the pipe file (without its newline). Blank lines (hand-edited files have them) are `blank`. */
export function parseLine(raw: string): ParseResult {
  const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (text.trim() === '') return { ok: 'blank' };
  const f = text.split('|');
  if (f.length < 5)
    return { ok: false, error: `a queue_log line has at least 5 fields (epoch|callid|queuename|agent|event), this one ${f.length}` };
  if (!/^\d{1,12}$/.test(f[0])) return { ok: false, error: 'the first field is not unix seconds' };
  return build(Number(f[0]), f[1], f[2], f[3], f[4], f.slice(5));
}

/** Wall-clock `YYYY-MM-DD HH:MM:SS[.ffffff]` in `tz` → unix seconds (the first of two at a DST fold). */
export function localToEpoch(text: string, tz: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?$/.exec(text.trim());
  if (!m) return undefined;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  if (!Number.isFinite(wall)) return undefined;
  let utc = wall - tzOffsetMs(wall, tz);
  utc = wall - tzOffsetMs(utc, tz);
  return Math.floor(utc / 1000);
}

/** A time column: unix seconds, RFC 3339 with an offset, or the server's local wall clock. */
export function timeColumn(text: string, tz: string): number | undefined {
  const t = text.trim();
  if (/^\d{1,12}$/.test(t)) return Number(t);
  if (/[zZ]$|[+-]\d{2}:?\d{2}$/.test(t) && /^\d{4}-\d{2}-\d{2}[ T]/.test(t)) {
    const ms = Date.parse(t.replace(' ', 'T'));
    return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
  }
  return localToEpoch(t, tz);
}

/** RFC 4180 records of a CSV text (quoted fields may hold commas, quotes and newlines). */
export function csvRecords(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/**
 * The realtime table's export as CSV with a header row naming the columns (any order; `id` and
 * other extra columns are ignored). Returns one result per data row, with the row's text for the log.
 */
export function parseCsv(text: string, tz: string): { result: ParseResult; raw: string }[] {
  const records = csvRecords(text.startsWith('\uFEFF') ? text.slice(1) : text);
  const header = records.shift()?.map((h) => h.trim().toLowerCase());
  if (!header) return [];
  const col = (name: string) => header.indexOf(name);
  const need = ['time', 'callid', 'queuename', 'agent', 'event'];
  const missing = need.filter((n) => col(n) < 0);
  if (missing.length > 0)
    throw new Error(`the CSV header must name the columns ${need.join(', ')} and data1..data5 (or data); missing: ${missing.join(', ')}`);
  const dataCols = [1, 2, 3, 4, 5].map((i) => col(`data${i}`)).filter((i) => i >= 0);
  const single = col('data');
  return records.map((r) => {
    const raw = r.join(',');
    if (r.every((v) => v.trim() === '')) return { result: { ok: 'blank' } as const, raw };
    const epoch = timeColumn(r[col('time')] ?? '', tz);
    if (epoch === undefined)
      return {
        result: {
          ok: false,
          error: `the time column "${(r[col('time')] ?? '').slice(0, 40)}" is neither unix seconds nor a date and time`,
        },
        raw,
      };
    const data = dataCols.length > 0 ? dataCols.map((i) => r[i] ?? '') : single >= 0 ? (r[single] ?? '').split('|') : [];
    return {
      result: build(epoch, r[col('callid')] ?? '', r[col('queuename')] ?? '', r[col('agent')] ?? '', r[col('event')] ?? '', data),
      raw,
    };
  });
}
