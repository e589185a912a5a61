/**
 * One tenant-day's rollup: derive the facts of the sessions touching the day
 * (TS: the day's session events read flat with COPY, grouped by session in
 * node), store them in bulk, then aggregate the report tables from them in set-based SQL. All in
 * one transaction, after deleting the day's previous rows, so recomputing a
 * day is idempotent and readers never see half a day.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { checkout, type Pool, type PoolClient } from '../db/pool.js';
import { AGENT_STATUSES } from '../ingest/schema.js';
import { addDays, dayStartMs, tzOffsetMs } from '../time.js';
import { deriveSession, type Leg, type Session, type SessionEvent } from '../session/model.js';

/** Columns of the fact rows written with COPY, in the order `handle` writes them. */
const COPY_COLUMNS = {
  report_legs: [
    'tenant',
    'day',
    'session_id',
    'leg_no',
    'group_id',
    'via',
    'hour',
    'queued_at',
    'answered_at',
    'ended_at',
    'outcome',
    'wait_seconds',
    'agent_id',
    'ended_by',
    'credited',
    'score',
    'invited',
  ],
  report_parts: [
    'tenant',
    'day',
    'session_id',
    'part_no',
    'agent_id',
    'group_id',
    'started_at',
    'ended_at',
    'ended_by',
    'first_response_seconds',
    'reply_sum_seconds',
    'reply_count',
    'invited',
    'credited',
    'score',
    'no_revisit',
  ],
  report_sessions: [
    'tenant',
    'day',
    'session_id',
    'state',
    'category',
    'duration_seconds',
    'score',
    'remark',
    'user_id',
    'revisit_24h',
    'region',
    'started_at',
    'ended_at',
    'first_answered_at',
    'agents',
    'groups',
  ],
};

/** Report tables keyed by (tenant, day); facts first, rollups after. */
export const DAY_TABLES = [
  'report_legs',
  'report_parts',
  'report_sessions',
  'report_agent_time',
  'report_group_daily',
  'report_group_slot',
  'report_group_halfhour',
  'report_agent_daily',
  'report_category_daily',
  'report_overview',
];

// Every non-offline status of the contract: the time in each is kept per agent and day.
const STATUSES = AGENT_STATUSES.filter((s) => s !== 'offline');

// Status changes older than this are not looked for when finding the status
// an agent carried into the day: a week without any change is an agent gone.
const STATUS_CARRY_DAYS = 7;
/** The reader hashes the day's session ids (to find their events on the days around it) in memory when it can. */
const READER_WORK_MEM = '512MB';
/** Rows per COPY statement, and COPY statements queued before deriving waits for the writer. */
const COPY_ROWS = 5_000;
const COPY_QUEUE = 3;
const YIELD_SESSIONS = 250;

export interface RollupResult {
  tenant: string;
  day: string;
  sessions: number;
  durationMs: number;
  /** Milliseconds per phase (read: the day's events and the later starts; group; facts: derive and store), for the logs. */
  phases: Record<string, number>;
}

const DAY_MS = 86_400_000;
const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
let isoDay = NaN;
let isoPrefix = '';

/**
 * `new Date(ms).toISOString()`, the form the facts' timestamps are sent in, for
 * whole-millisecond times: the date part is kept from the previous call (a
 * day's times share it), the rest is arithmetic. toISOString was the single
 * biggest cost of writing the facts.
 */
function iso(ms: number | null): string | null {
  if (ms === null) return null;
  if (!Number.isInteger(ms) || ms < 0 || ms >= 253_402_300_800_000) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  if (day !== isoDay) {
    isoDay = day;
    isoPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  let rest = ms - day * DAY_MS;
  const milli = rest % 1000;
  rest = (rest - milli) / 1000;
  const sec = rest % 60;
  rest = (rest - sec) / 60;
  const min = rest % 60;
  const hour = (rest - min) / 60;
  return `${isoPrefix}${PAD2[hour]}:${PAD2[min]}:${PAD2[sec]}.${PAD3[milli]}Z`;
}

/**
 * What the day's COPY reads of each session event type: the letter standing for
 * the type (any other type comes as itself), the body fields the model reads as
 * x, y, z (`->>`), whether the row says if it is on the day itself (starts, for
 * the revisit flags; summaries, for 服务小记分类), a summary's agent and channel
 * (w, v) and its category (c, as JSON text). The columns name the fields through
 * a join with these rows, not a CASE on the type per field: a type compared
 * with up to ten constants in each of six CASEs: the day's read took 7.4–12.1 s
 * instead of 8.9–14.7 s in Postgres at 1M sessions (docs/reports.md, "Performance").
 */
const READ_FIELDS: [
  type: string,
  code: string,
  x: string | null,
  y: string | null,
  z: string | null,
  onDay: boolean,
  w: string | null,
  v: string | null,
  c: string | null,
][] = [
  ['session.start', 's', 'userId', 'region', null, true, null, null, null],
  ['session.queue', 'q', 'groupId', 'via', null, false, null, null, null],
  ['session.answer', 'a', 'groupId', 'agentId', 'manual', false, null, null, null],
  ['session.transfer', 't', 'reason', null, null, false, null, null, null],
  ['session.invite', 'i', null, null, null, false, null, null, null],
  ['session.abandon', 'b', null, null, null, false, null, null, null],
  ['session.reject', 'j', null, null, null, false, null, null, null],
  ['session.rate', 'r', 'score', null, null, false, null, null, null],
  ['session.end', 'e', null, null, null, false, null, null, null],
  ['session.summary', 'y', 'state', 'remark', null, true, 'agentId', 'channel', 'category'],
  // Who wrote a message is the only field of its body the model reads (never `text`).
  ['session.message', 'm', 'from', null, null, false, null, null, null],
];
const TYPE_OF_CODE = new Map<number, string>(READ_FIELDS.map(([t, c]) => [c.charCodeAt(0), t]));
const MESSAGE = 109; // 'm'
const START = 115; // 's'
const SUMMARY = 121; // 'y'
/** The channels of report_category_daily's counts, in its column order. */
const CHANNELS = ['inbound_call', 'manual_outbound', 'system_outbound', 'online'];

/**
 * Epoch milliseconds of a stored time, as COPY text of whole digits. Stored times are whole
 * milliseconds (ingest keeps `new Date(ms)`), so rounding date_part's float8 seconds × 1000 is
 * exact (its error is under 0.001 ms this side of year 2200), without extract()'s numeric
 * arithmetic: the day's id, type, time and seq took 5.5–7.8 s instead of 7.3–10.0 s in
 * Postgres at 1M sessions (docs/reports.md, "Performance").
 */
const EPOCH_MS = (column: string) => `round(date_part('epoch', ${column}) * 1000)`;

/**
 * The events of every session with an event on the day, from the day before
 * to the day after, as flat rows (one per event, in the partitions' order)
 * through `COPY … TO STDOUT`: Postgres only filters them (and may use parallel
 * workers, which a cursor never does) and node groups them by session. Having
 * Postgres group them (json_agg per session, or a sort by session) was most
 * of the rollup's Postgres time (docs/reports.md, "Performance").
 *
 * The columns are those of READ_FIELDS: the type's letter, the time, the
 * arrival, x, y, z, on the day (the revisit flags need every start of the day
 * and the two after it; 服务小记分类 counts the day's summaries), w, v, c.
 * Messages written by neither the user nor an agent are dropped in node. COPY takes no bind parameters: the
 * tenant is quoted by pg's escapeLiteral and the days are checked to be dates
 * before they are inlined.
 */
function sessionEventsCopy(tenant: string, day: string, before: string, after: string): string {
  const literal = (v: string | boolean | null) => (v === null ? 'NULL' : typeof v === 'boolean' ? String(v) : `'${v}'`);
  // Constants of this module, never input.
  const fields = `(VALUES ${READ_FIELDS.map((f) => `(${f.map(literal).join(', ')})`).join(', ')}) k(type, code, x, y, z, on_day, w, v, c)`;
  const columns = `e.session_id, coalesce(k.code, e.type), ${EPOCH_MS('e.time')}, e.seq,
      e.body->>k.x, e.body->>k.y, e.body->>k.z, CASE WHEN k.on_day THEN e.day = ${day}::date END,
      e.body->>k.w, e.body->>k.v, (e.body->k.c)::text`;
  const kinds = `e.type LIKE 'session.%'`;
  // Every session event of the day itself belongs to a session of the day: only the
  // days around it are filtered by the day's session ids (a hash of them).
  return `COPY (SELECT ${columns} FROM events e LEFT JOIN ${fields} ON k.type = e.type
      WHERE e.tenant = ${tenant} AND e.day = ${day}::date AND e.session_id IS NOT NULL AND ${kinds}
    UNION ALL
    SELECT ${columns} FROM events e LEFT JOIN ${fields} ON k.type = e.type
      WHERE e.tenant = ${tenant} AND e.day IN (${before}::date, ${after}::date) AND ${kinds}
        AND e.session_id IN (SELECT session_id FROM events WHERE tenant = ${tenant} AND day = ${day}::date AND session_id IS NOT NULL)) TO STDOUT`;
}

/** The starts with a user on the two days after the day ($2, $3): a session ended late on the day may be revisited then. */
function laterStartsCopy(tenant: string, from: string, to: string): string {
  return `COPY (SELECT body->>'userId', session_id, ${EPOCH_MS('time')} FROM events
    WHERE tenant = ${tenant} AND day BETWEEN ${from}::date AND ${to}::date AND type = 'session.start'
      AND body->>'userId' IS NOT NULL AND session_id IS NOT NULL) TO STDOUT`;
}

const DATE_LITERAL = /^\d{4}-\d{2}-\d{2}$/;
function dateLiteral(day: string): string {
  if (!DATE_LITERAL.test(day)) throw new Error(`not a date: ${JSON.stringify(day)}`);
  return `'${day}'`;
}

// COPY's text format (postgres/postgres, src/backend/commands/copyto.c, CopyAttributeOutText):
// a column is \N when null; otherwise a backslash precedes the delimiter (tab), a backslash,
// and the control characters it writes as b f n r t v; every other byte is sent as is
// (so a tab or newline byte always ends a column or a row, also inside UTF-8 text).
const COPY_UNESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** One row of a COPY's text output, read in place from the bytes: only the columns asked for become strings. */
class CopyRow {
  buf: Buffer = Buffer.alloc(0);
  readonly start: number[] = [];
  readonly end: number[] = [];
  isNull(k: number): boolean {
    const s = this.start[k];
    return this.end[k] - s === 2 && this.buf[s] === 92 && this.buf[s + 1] === 78;
  }
  text(k: number): string | null {
    if (this.isNull(k)) return null;
    const s = this.buf.toString('utf8', this.start[k], this.end[k]);
    return s.indexOf('\\') < 0 ? s : s.replace(/\\(.)/gs, (_, c: string) => COPY_UNESCAPES[c] ?? c);
  }
  /** A non-null number column: plain digits are added up in place, anything else (a fraction, an exponent) goes through Number. */
  num(k: number): number {
    const b = this.buf;
    let v = 0;
    for (let i = this.start[k]; i < this.end[k]; i++) {
      const d = b[i] - 48;
      if (d < 0 || d > 9) return Number(this.text(k));
      v = v * 10 + d;
    }
    return v;
  }
  /** The first byte of a column (a one-letter code). */
  byte(k: number): number {
    return this.buf[this.start[k]];
  }
}

/**
 * Streams the rows of a `COPY … TO STDOUT` (text format, `columns` columns)
 * into `onRow`, one reused CopyRow; returns the number of rows. Rows are cut
 * at the tab and newline bytes; a chunk may end inside a row (or a character),
 * which is carried to the next.
 */
async function copyRows(client: PoolClient, sql: string, columns: number, onRow: (row: CopyRow) => void): Promise<number> {
  const row = new CopyRow();
  let carry: Buffer | null = null;
  let rows = 0;
  for await (const chunk of client.query(copyTo(sql)) as AsyncIterable<Buffer>) {
    const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    const last = buf.lastIndexOf(10);
    if (last < 0) {
      carry = buf;
      continue;
    }
    carry = last + 1 < buf.length ? Buffer.from(buf.subarray(last + 1)) : null;
    row.buf = buf;
    for (let pos = 0; pos <= last;) {
      for (let k = 0; k < columns; k++) {
        const stop = buf.indexOf(k + 1 < columns ? 9 : 10, pos);
        if (stop < 0 || stop > last) throw new Error(`a COPY row without its ${columns} columns`);
        row.start[k] = pos;
        row.end[k] = stop;
        pos = stop + 1;
      }
      onRow(row);
      rows++;
    }
  }
  if (carry) throw new Error('the COPY output ended inside a row');
  return rows;
}

/**
 * Strings of the day's events, each kept once and stood for by a small int
 * (0: null), looked up by their bytes in the COPY output (FNV-1a hash, open
 * addressing): a string is only made for a value not seen before, not for
 * each of the 8.5M rows of a 1M-session day (making one per row and looking
 * it up in a Map was most of node's time reading).
 */
class Strings {
  readonly values: (string | null)[] = [null];
  private readonly hashes: number[] = [0];
  private readonly starts: number[] = [0];
  private readonly lengths: number[] = [0];
  private arena = Buffer.alloc(1 << 20);
  private used = 0;
  private slots = new Int32Array(1 << 16);

  /** The id of column k of a COPY row. */
  ofColumn(r: CopyRow, k: number): number {
    return r.isNull(k) ? 0 : this.ofBytes(r.buf, r.start[k], r.end[k]);
  }

  /** The id of a constant (one with nothing COPY escapes). */
  of(s: string): number {
    const b = Buffer.from(s, 'utf8');
    return this.ofBytes(b, 0, b.length);
  }

  private ofBytes(buf: Buffer, from: number, to: number): number {
    let h = 0x811c9dc5;
    for (let i = from; i < to; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    // FNV's low bits (the slot) mix poorly for ids that differ in their last digits.
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    const len = to - from;
    const mask = this.slots.length - 1;
    for (let j = h & mask; ; j = (j + 1) & mask) {
      const id = this.slots[j];
      if (id === 0) return this.insert(j, h, buf, from, to);
      if (this.hashes[id] !== h || this.lengths[id] !== len) continue;
      const at = this.starts[id];
      let same = true;
      for (let i = 0; i < len; i++) {
        if (this.arena[at + i] !== buf[from + i]) {
          same = false;
          break;
        }
      }
      if (same) return id;
    }
  }

  private insert(slot: number, h: number, buf: Buffer, from: number, to: number): number {
    const len = to - from;
    if (this.used + len > this.arena.length) {
      const bigger = Buffer.alloc(Math.max(this.arena.length * 2, this.used + len));
      this.arena.copy(bigger, 0, 0, this.used);
      this.arena = bigger;
    }
    buf.copy(this.arena, this.used, from, to);
    const id = this.values.length;
    let s = buf.toString('utf8', from, to);
    if (s.indexOf('\\') >= 0) s = s.replace(/\\(.)/gs, (_, c: string) => COPY_UNESCAPES[c] ?? c);
    this.values.push(s);
    this.hashes.push(h);
    this.starts.push(this.used);
    this.lengths.push(len);
    this.used += len;
    this.slots[slot] = id;
    if (this.values.length * 2 > this.slots.length) this.rehash();
    return id;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let id = 1; id < this.values.length; id++) {
      let j = this.hashes[id] & mask;
      while (slots[j] !== 0) j = (j + 1) & mask;
      slots[j] = id;
    }
    this.slots = slots;
  }
}

/**
 * The day's session events as columns of numbers (strings interned), grouped
 * by session once all are read: a 1M-session day is about 8.5M events, which
 * as JS objects would not fit the heap comfortably; as typed arrays they are
 * about 40 bytes each, outside it.
 */
class DayEvents {
  n = 0;
  sess = new Int32Array(1 << 16);
  type = new Int32Array(1 << 16);
  ms = new Float64Array(1 << 16);
  seq = new Float64Array(1 << 16);
  x = new Int32Array(1 << 16);
  y = new Int32Array(1 << 16);
  z = new Int32Array(1 << 16);
  readonly strings = new Strings();
  /** Session ids: session index i is id i + 1 here. */
  private readonly sessions = new Strings();
  /** The interned type of each one-letter code (0: not yet seen). */
  private readonly typeIds = new Int32Array(128);
  private readonly userFrom = this.strings.of('user');
  private readonly agentFrom = this.strings.of('agent');
  /** Starts with a user from the day on (for the revisit flags): user (interned), time, session index (-1: a session not of the day). */
  readonly startUser: number[] = [];
  readonly startMs: number[] = [];
  readonly startSess: number[] = [];
  /** After `group`: the events of session i are order[offsets[i]] … order[offsets[i + 1] - 1]. */
  offsets = new Int32Array(0);
  order = new Int32Array(0);

  /** One row of sessionEventsCopy. */
  add(r: CopyRow): void {
    const code = r.end[1] - r.start[1] === 1 ? r.byte(1) : 0;
    const x = this.strings.ofColumn(r, 4);
    // Messages written by neither the user nor an agent are dropped (sessionEventsCopy).
    if (code === MESSAGE && x !== this.userFrom && x !== this.agentFrom) return;
    if (this.n === this.sess.length) this.grow();
    const i = this.n++;
    const si = this.sessions.ofColumn(r, 0) - 1;
    const ms = r.num(2);
    const type = code ? TYPE_OF_CODE.get(code) : undefined;
    this.sess[i] = si;
    this.type[i] = this.typeIds[code] || (type ? this.strings.of(type) : this.strings.ofColumn(r, 1));
    if (!this.typeIds[code] && type) this.typeIds[code] = this.type[i];
    this.ms[i] = ms;
    this.seq[i] = r.num(3);
    this.x[i] = x;
    this.y[i] = this.strings.ofColumn(r, 5);
    this.z[i] = this.strings.ofColumn(r, code === SUMMARY ? 10 : 6);
    if (r.byte(7) === 116 /* t: on the day */) {
      if (code === START && this.x[i] !== 0) this.addStart(this.x[i], ms, si);
      else if (code === SUMMARY) this.countSummary(this.z[i], this.strings.ofColumn(r, 8), r.text(9));
    }
  }

  /** 服务小记分类 of the day: per category path, leaf and agent, the summaries by channel. */
  readonly categoryRows = new Map<number, { category: string; leaf: string; agent: string | null; channels: number[] }>();

  // As the SQL it replaces counted them: the path joined by '/', its last element the leaf,
  // 未分类 for both without a category (the contract makes it a non-empty array of strings).
  // Keyed by the interned category text and agent: one category text is one path and leaf.
  private countSummary(category: number, agent: number, channel: string | null): void {
    const key = category * TWO_32 + agent;
    let row = this.categoryRows.get(key);
    if (!row) {
      const path = this.category(category);
      const name = path && path.length ? path.join('/') : '未分类';
      const leaf = path && path.length ? path[path.length - 1] : '未分类';
      this.categoryRows.set(key, (row = { category: name, leaf, agent: this.strings.values[agent], channels: [0, 0, 0, 0] }));
    }
    const c = CHANNELS.indexOf(channel ?? '');
    if (c >= 0) row.channels[c]++;
  }

  private category(z: number): string[] | null {
    let category = this.categories.get(z);
    if (category === undefined)
      this.categories.set(z, (category = z === 0 ? null : (JSON.parse(this.strings.values[z]!) as string[] | null)));
    return category;
  }

  /** One row of laterStartsCopy. */
  addLaterStart(r: CopyRow): void {
    // Read while the day's events still stream in: a session not seen yet gets its
    // index now (one of the day's, whose events come later, or one with none, derived as nothing).
    this.addStart(this.strings.ofColumn(r, 0), r.num(2), this.sessions.ofColumn(r, 1) - 1);
  }

  private addStart(user: number, ms: number, sess: number): void {
    this.startUser.push(user);
    this.startMs.push(ms);
    this.startSess.push(sess);
  }

  private grow(): void {
    // By half: at a 1M-session day a doubling would leave nearly half of 600 MB unused.
    const size = Math.ceil(this.sess.length * 1.5);
    const more = <T extends Int32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.sess = more(this.sess);
    this.type = more(this.type);
    this.ms = more(this.ms);
    this.seq = more(this.seq);
    this.x = more(this.x);
    this.y = more(this.y);
    this.z = more(this.z);
  }

  get sessionCount(): number {
    return this.sessions.values.length - 1;
  }

  sessionId(s: number): string {
    return this.sessions.values[s + 1]!;
  }

  /** Groups the events by session (a counting sort: each session's events keep their row order). */
  group(): void {
    const sessions = this.sessionCount;
    const offsets = new Int32Array(sessions + 1);
    for (let i = 0; i < this.n; i++) offsets[this.sess[i] + 1]++;
    for (let s = 0; s < sessions; s++) offsets[s + 1] += offsets[s];
    const fill = offsets.slice(0, sessions);
    const order = new Int32Array(this.n);
    for (let i = 0; i < this.n; i++) order[fill[this.sess[i]]++] = i;
    this.offsets = offsets;
    this.order = order;
    // The user of a session, as the model takes it: its first start's (by time, then arrival).
    const start = this.typeIds['s'.charCodeAt(0)];
    const users = new Int32Array(sessions);
    for (let s = 0; s < sessions && start; s++) {
      let first = -1;
      for (let k = offsets[s]; k < offsets[s + 1]; k++) {
        const i = order[k];
        if (this.type[i] !== start) continue;
        if (first < 0 || this.ms[i] < this.ms[first] || (this.ms[i] === this.ms[first] && this.seq[i] < this.seq[first])) first = i;
      }
      if (first >= 0) users[s] = this.x[first];
    }
    this.users = users;
  }

  /** After `group`: the user (interned) of each session, 0 for none. */
  users = new Int32Array(0);

  private categories = new Map<number, string[] | null>();

  /** The model's view of event i; every event has the same shape (one hidden class for the model's code). */
  event(i: number): SessionEvent {
    const v = this.strings.values;
    const type = v[this.type[i]]!;
    const x = v[this.x[i]];
    const e: SessionEvent = {
      type,
      timeMs: this.ms[i],
      seq: this.seq[i],
      groupId: undefined,
      agentId: undefined,
      via: undefined,
      reason: undefined,
      manual: undefined,
      score: undefined,
      from: undefined,
      userId: undefined,
      region: undefined,
      state: undefined,
      category: undefined,
      remark: undefined,
    };
    switch (type) {
      case 'session.message':
        e.from = x;
        break;
      case 'session.queue':
        e.groupId = x;
        e.via = v[this.y[i]];
        break;
      case 'session.answer': {
        const z = v[this.z[i]];
        e.groupId = x;
        e.agentId = v[this.y[i]];
        e.manual = z === null ? null : z === 'true';
        break;
      }
      case 'session.start':
        e.userId = x;
        e.region = v[this.y[i]];
        break;
      case 'session.transfer':
        e.reason = x;
        break;
      case 'session.rate':
        e.score = x === null ? null : Number(x);
        break;
      case 'session.summary': {
        e.state = x;
        e.remark = v[this.y[i]];
        // Parsed once per distinct value; the model and the facts only read it.
        e.category = this.category(this.z[i]);
        break;
      }
    }
    return e;
  }

  /** The events of session s, for the model. */
  sessionEvents(s: number): SessionEvent[] {
    const from = this.offsets[s];
    const evs = new Array<SessionEvent>(this.offsets[s + 1] - from);
    for (let k = 0; k < evs.length; k++) evs[k] = this.event(this.order[from + k]);
    return evs;
  }
}

/**
 * 24小时内复访: another session of the same user starts after this one's end
 * and at most 24 hours later. The starts are bucketed by user and sorted by
 * time, so each session is one binary search.
 */
class Revisits {
  private readonly first: Int32Array;
  private readonly ms: Float64Array;
  private readonly sess: Int32Array;
  constructor(private readonly d: DayEvents) {
    const users = d.strings.values.length;
    const n = d.startUser.length;
    const first = new Int32Array(users + 1);
    for (let i = 0; i < n; i++) first[d.startUser[i] + 1]++;
    for (let u = 0; u < users; u++) first[u + 1] += first[u];
    const fill = first.slice(0, users);
    const byUser = new Int32Array(n);
    for (let i = 0; i < n; i++) byUser[fill[d.startUser[i]]++] = i;
    const ms = new Float64Array(n);
    const sess = new Int32Array(n);
    for (let u = 0; u < users; u++) {
      const a = first[u];
      const b = first[u + 1];
      let idx: ArrayLike<number> = byUser.subarray(a, b);
      if (b - a > 1) idx = Array.from(idx).sort((i, j) => d.startMs[i] - d.startMs[j]);
      for (let k = a; k < b; k++) {
        ms[k] = d.startMs[idx[k - a]];
        sess[k] = d.startSess[idx[k - a]];
      }
    }
    this.first = first;
    this.ms = ms;
    this.sess = sess;
  }

  /** Whether session `s` (ended or last seen at `endMs`) is followed by a revisit. */
  of(s: number, endMs: number): boolean {
    const u = this.d.users[s];
    if (u === 0) return false;
    let lo = this.first[u];
    let hi = this.first[u + 1];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ms[mid] <= endMs) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < this.first[u + 1] && this.ms[k] <= endMs + DAY_MS; k++) if (this.sess[k] !== s) return true;
    return false;
  }
}

/** Seconds of the union of intervals, each [start, end) in ms, after clipping to `clip` intervals. */
function overlapSeconds(parts: [number, number][], clip: [number, number][]): number {
  if (parts.length === 0 || clip.length === 0) return 0;
  const sorted = [...parts].sort((a, b) => a[0] - b[0]);
  const union: [number, number][] = [];
  for (const [s, e] of sorted) {
    const last = union[union.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else union.push([s, e]);
  }
  let ms = 0;
  for (const [s, e] of union) for (const [cs, ce] of clip) ms += Math.max(0, Math.min(e, ce) - Math.max(s, cs));
  return ms / 1000;
}

/** Small tables (a row per agent): one INSERT from JSON. */
class Bulk {
  private rows: Record<string, unknown>[] = [];
  constructor(
    private readonly client: PoolClient,
    private readonly table: string,
  ) {}
  add(row: Record<string, unknown>): void {
    this.rows.push(row);
  }
  async flush(): Promise<void> {
    if (this.rows.length === 0) return;
    const rows = this.rows;
    this.rows = [];
    // Table names are constants of this module, never input.
    await this.client.query(`INSERT INTO ${this.table} SELECT * FROM jsonb_populate_recordset(NULL::${this.table}, $1::jsonb)`, [
      JSON.stringify(rows),
    ]);
  }
}

/**
 * COPY statements on the rollup's connection, one after the other. A chunk is
 * queued without waiting, so Postgres stores it while the next sessions are
 * derived; deriving only waits when COPY_QUEUE chunks are in flight.
 */
class CopyQueue {
  private tail: Promise<void> = Promise.resolve();
  private readonly inflight: Promise<void>[] = [];
  constructor(private readonly client: PoolClient) {}
  /** Whether the next push would wait for a chunk to be stored. */
  get full(): boolean {
    return this.inflight.length + 1 >= COPY_QUEUE;
  }
  async push(sql: string, data: Buffer): Promise<void> {
    const done = this.tail.then(() => pipeline(Readable.from([data]), this.client.query(copyFrom(sql))));
    // The next COPY starts after this one whatever its outcome; a failure fails the
    // rollup when this chunk is awaited, and is not an unhandled rejection until then.
    this.tail = done.catch(() => undefined);
    this.inflight.push(done);
    if (this.inflight.length >= COPY_QUEUE) await this.inflight.shift();
  }
  /** Waits until every queued chunk is stored. */
  async drain(): Promise<void> {
    while (this.inflight.length) await this.inflight.shift();
  }
}

// COPY's binary format (postgres/postgres, doc/src/sgml/ref/copy.sgml, "Binary Format"): the
// signature, a flags word and a header-extension length; each row an int16 column count, then
// per column an int32 length (-1: null) and the type's send form; an int16 -1 after the last row.
const BINARY_HEADER = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
/** 2000-01-01T00:00:00Z, the epoch of the date and timestamp send forms. */
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const TWO_32 = 2 ** 32;
/** pg_type oid of text (postgres/postgres, src/include/catalog/pg_type.dat), the element type of a text[] in array_send. */
const TEXT_OID = 25;

/**
 * The rows of one table in COPY's binary format, sent through the queue
 * COPY_ROWS at a time: numbers and timestamps go as Postgres stores them, so
 * neither side formats or parses text (the text format's timestamps were the
 * largest cost on both sides), and every value reaches the table bit for bit.
 */
class BinaryRows {
  private buf = Buffer.allocUnsafe(1 << 20);
  private pos = 0;
  private rows = 0;
  private readonly sql: string;
  constructor(
    private readonly queue: CopyQueue,
    table: keyof typeof COPY_COLUMNS,
  ) {
    // Table and column names are constants of this module, never input.
    this.sql = `COPY ${table} (${COPY_COLUMNS[table].join(', ')}) FROM STDIN WITH (FORMAT binary)`;
    this.start();
  }
  private start(): void {
    this.buf.set(BINARY_HEADER, 0);
    this.pos = BINARY_HEADER.length;
  }
  private room(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }
  row(columns: number): this {
    this.room(2);
    this.pos = this.buf.writeInt16BE(columns, this.pos);
    return this;
  }
  null(): this {
    this.room(4);
    this.pos = this.buf.writeInt32BE(-1, this.pos);
    return this;
  }
  text(s: string | null): this {
    if (s === null) return this.null();
    this.room(4 + s.length * 3);
    const n = this.buf.write(s, this.pos + 4, 'utf8');
    this.buf.writeInt32BE(n, this.pos);
    this.pos += 4 + n;
    return this;
  }
  /** An already encoded column (length included). */
  raw(b: Buffer): this {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  int16(v: number | null): this {
    if (v === null) return this.null();
    this.room(6);
    this.pos = this.buf.writeInt32BE(2, this.pos);
    this.pos = this.buf.writeInt16BE(v, this.pos);
    return this;
  }
  int32(v: number): this {
    this.room(8);
    this.pos = this.buf.writeInt32BE(4, this.pos);
    this.pos = this.buf.writeInt32BE(v, this.pos);
    return this;
  }
  float8(v: number | null): this {
    if (v === null) return this.null();
    this.room(12);
    this.pos = this.buf.writeInt32BE(8, this.pos);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
    return this;
  }
  bool(v: boolean): this {
    this.room(5);
    this.pos = this.buf.writeInt32BE(1, this.pos);
    this.buf[this.pos++] = v ? 1 : 0;
    return this;
  }
  /**
   * timestamptz_send (src/backend/utils/adt/timestamp.c): int64 microseconds since 2000-01-01 UTC.
   * Whole milliseconds, as `new Date(ms)` (what the text path sent) keeps them.
   */
  timestamp(ms: number | null): this {
    if (ms === null) return this.null();
    const us = (Math.trunc(ms) - PG_EPOCH_MS) * 1000;
    const hi = Math.floor(us / TWO_32);
    this.room(12);
    this.pos = this.buf.writeInt32BE(8, this.pos);
    this.pos = this.buf.writeInt32BE(hi, this.pos);
    this.pos = this.buf.writeUInt32BE(us - hi * TWO_32, this.pos);
    return this;
  }
  /** array_send (src/backend/utils/adt/arrayfuncs.c) of a text[] without nulls: dimensions, no-null flag, element type, each dimension's length and lower bound (1), then each element. */
  textArray(values: string[]): this {
    const at = this.pos;
    this.room(4 + 20);
    this.pos += 4;
    this.pos = this.buf.writeInt32BE(values.length ? 1 : 0, this.pos);
    this.pos = this.buf.writeInt32BE(0, this.pos);
    this.pos = this.buf.writeInt32BE(TEXT_OID, this.pos);
    if (values.length) {
      this.pos = this.buf.writeInt32BE(values.length, this.pos);
      this.pos = this.buf.writeInt32BE(1, this.pos);
    }
    for (const v of values) this.text(v);
    this.buf.writeInt32BE(this.pos - at - 4, at);
    return this;
  }
  /**
   * Ends a row; sends the chunk when it is full (a promise then, settled when
   * fewer than COPY_QUEUE chunks are in flight). Not async: an await per row was
   * 2.8M promises at a 1M-session day.
   */
  end(): Promise<void> | undefined {
    if (++this.rows >= COPY_ROWS) return this.send();
    return undefined;
  }
  async send(): Promise<void> {
    if (this.rows === 0) return;
    this.room(2);
    this.pos = this.buf.writeInt16BE(-1, this.pos);
    const data = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.buf.length);
    this.rows = 0;
    this.start();
    await this.queue.push(this.sql, data);
  }
}

/** A constant column in its binary form: length, then the bytes. */
function binaryText(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.alloc(4 + b.length);
  out.writeInt32BE(b.length, 0);
  b.copy(out, 4);
  return out;
}

/** date_send (src/backend/utils/adt/date.c): int32 days since 2000-01-01. */
function binaryDate(day: string): Buffer {
  const out = Buffer.alloc(8);
  out.writeInt32BE(4, 0);
  out.writeInt32BE(Math.round((Date.parse(`${day}T00:00:00Z`) - PG_EPOCH_MS) / DAY_MS), 4);
  return out;
}

/** Recomputes the reports of `tenant` for local `day`. `nowMs` caps today's open intervals. */
export async function rollupDay(pool: Pool, tenant: string, day: string, tz: string, nowMs = Date.now()): Promise<RollupResult> {
  const began = Date.now();
  const dayStart = dayStartMs(day, tz);
  const dayEnd = dayStartMs(addDays(day, 1), tz);
  const client = await checkout(pool);
  let failure: unknown;
  let sessions = 0;
  let donePhases: Record<string, number> = {};
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    // The aggregates' distinct counts sort the day's facts: in memory, not in temporary files.
    await client.query(`SET LOCAL work_mem = '256MB'`);
    // Two rollups of one day at once (scheduler and an on-demand request) run one after the other.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('cs-rollup'), hashtext($1 || '/' || $2))`, [tenant, day]);
    // The rollup is dated to the start of the oldest other transaction still open (an
    // ingest batch not yet committed is invisible to this snapshot but stamps its
    // events with its own start), so such a batch marks the day stale again.
    const times = await client.query<{ snap: Date; safe: Date }>(
      `SELECT now() AS snap, least(now(), (SELECT min(xact_start) FROM pg_stat_activity
         WHERE pid <> pg_backend_pid() AND datname = current_database() AND xact_start IS NOT NULL)) AS safe`,
    );
    const snap = times.rows[0].snap.getTime();
    const safe = times.rows[0].safe.getTime();
    const cap = Math.min(dayEnd, Math.max(snap, nowMs));
    for (const t of DAY_TABLES) await client.query(`DELETE FROM ${t} WHERE tenant = $1 AND day = $2`, [tenant, day]);

    const copies = new CopyQueue(client);
    const legs = new BinaryRows(copies, 'report_legs');
    const parts = new BinaryRows(copies, 'report_parts');
    const sess = new BinaryRows(copies, 'report_sessions');
    const tenantColumn = binaryText(tenant);
    const dayColumn = binaryDate(day);
    /** Per agent: its part intervals within the day (for 工时利用率). */
    const engaged = new Map<string, [number, number][]>();
    const partAgents = new Set<string>();
    const groups = new GroupFigures();
    /** Parts with part_no 0 written (服务总量 of report_overview). */
    let firstParts = 0;

    // localDay(ms, tz) === day and localHour(ms, tz) without making a date string for each leg and part.
    const naiveDay = Date.parse(`${day}T00:00:00Z`);
    const hourOnDay = (ms: number): number => {
      const local = ms + tzOffsetMs(ms, tz) - naiveDay;
      return local >= 0 && local < DAY_MS ? Math.floor(local / 3_600_000) : -1;
    };
    // The half hour of the local day (0–47) of a time on it: what hour * 2 + extract(minute FROM t AT TIME ZONE tz) / 30 gave.
    const slotOnDay = (ms: number): number => Math.floor((ms + tzOffsetMs(ms, tz) - naiveDay) / 1_800_000);

    // Columns in the order of COPY_COLUMNS.
    const handle = async (sessionId: string, f: Session, revisit: boolean) => {
      if (f.parts.length === 0 && f.legs.length === 0) return;
      sessions++;
      const creditedLeg = f.credited;
      const score = f.rating?.score ?? null;
      /** Groups with an invited leg of this session (report_group_daily.invited counts sessions). */
      let invitedGroups: string[] | null = null;
      for (let i = 0; i < f.legs.length; i++) {
        const l = f.legs[i];
        const hour = hourOnDay(l.queuedAtMs);
        if (hour < 0) continue;
        const part = l.part === null ? null : f.parts[l.part];
        groups.leg(l, hour, slotOnDay(l.queuedAtMs), creditedLeg === i, score);
        if (part?.invited && !(invitedGroups ??= []).includes(l.groupId)) invitedGroups.push(l.groupId);
        legs
          .row(17)
          .raw(tenantColumn)
          .raw(dayColumn)
          .text(sessionId)
          .int32(i)
          .text(l.groupId)
          .text(l.via)
          .int16(hour)
          .timestamp(l.queuedAtMs)
          .timestamp(l.answeredAtMs)
          .timestamp(l.endedAtMs)
          .text(l.outcome)
          .float8(l.answeredAtMs === null ? null : (l.answeredAtMs - l.queuedAtMs) / 1000)
          .text(l.agentId)
          .text(l.endedBy)
          .bool(creditedLeg === i)
          .int16(score)
          .bool(part?.invited ?? false);
        const sentLegs = legs.end();
        if (sentLegs) await sentLegs;
      }
      for (let i = 0; i < f.parts.length; i++) {
        const p = f.parts[i];
        const end = p.endedAtMs ?? (dayEnd <= snap ? f.lastEventMs : cap);
        const s = Math.max(p.startedAtMs, dayStart);
        const e = Math.min(end, cap);
        if (e > s) {
          let list = engaged.get(p.agentId);
          if (!list) engaged.set(p.agentId, (list = []));
          list.push([s, e]);
        }
        if (hourOnDay(p.startedAtMs) < 0) continue;
        partAgents.add(p.agentId);
        if (i === 0) firstParts++;
        if (p.endedAtMs !== null)
          groups.endedPart(p.groupId, slotOnDay(p.startedAtMs), Math.trunc(p.endedAtMs) - Math.trunc(p.startedAtMs));
        parts
          .row(16)
          .raw(tenantColumn)
          .raw(dayColumn)
          .text(sessionId)
          .int32(i)
          .text(p.agentId)
          .text(p.groupId)
          .timestamp(p.startedAtMs)
          .timestamp(p.endedAtMs)
          .text(p.endedBy)
          .float8(p.firstResponseAtMs === null ? null : (p.firstResponseAtMs - p.startedAtMs) / 1000)
          .float8(p.replySumMs / 1000)
          .int32(p.replyCount)
          .bool(p.invited)
          .bool(creditedLeg === p.leg)
          .int16(score)
          .bool(!revisit);
        const sentParts = parts.end();
        if (sentParts) await sentParts;
      }
      if (invitedGroups) for (const g of invitedGroups) groups.invited(g);
      const reached = f.parts.length > 0;
      const ownsRow = reached && hourOnDay(f.startedAtMs) >= 0;
      if (ownsRow) {
        const agents: string[] = [];
        for (const p of f.parts) if (!agents.includes(p.agentId)) agents.push(p.agentId);
        const groups: string[] = [];
        for (const l of f.legs) if (!groups.includes(l.groupId)) groups.push(l.groupId);
        sess
          .row(16)
          .raw(tenantColumn)
          .raw(dayColumn)
          .text(sessionId)
          .text(f.summary?.state ?? (f.summary ? '已小记' : '未小记'))
          .text(f.summary?.category?.join('/') ?? null)
          .float8(f.endedAtMs === null ? null : (f.endedAtMs - f.parts[0].startedAtMs) / 1000)
          .int16(score)
          .text(f.summary?.remark ?? null)
          .text(f.userId)
          .bool(revisit)
          .text(f.region)
          .timestamp(f.startedAtMs)
          .timestamp(f.endedAtMs)
          .timestamp(f.parts[0].startedAtMs)
          .textArray(agents)
          .textArray(groups);
        const sentSess = sess.end();
        if (sentSess) await sentSess;
      }
    };

    const phases: Record<string, number> = {};
    let mark = Date.now();
    const phase = (name: string) => {
      phases[name] = Date.now() - mark;
      mark = Date.now();
    };
    // The day's events are read on a second connection sharing this transaction's
    // snapshot, while this one counts the categories and reads the later starts.
    const exported = await client.query<{ snapshot: string }>('SELECT pg_export_snapshot() AS snapshot');
    const lit = client.escapeLiteral(tenant);
    const events = new DayEvents();
    // A reader left mid-COPY (an error while rows were in flight) is not reused.
    const reader = await checkout(pool, { discardOnError: true });
    let readerOk = false;
    try {
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await reader.query(`SET TRANSACTION SNAPSHOT '${exported.rows[0].snapshot.replace(/[^0-9A-Fa-f-]/g, '')}'`);
      await reader.query(`SET LOCAL work_mem = '${READER_WORK_MEM}'`);
      // The planner underestimates the sessions of a day (a sample's distinct count)
      // and would find each session's events by a nested loop.
      await reader.query('SET LOCAL enable_nestloop = off');
      const read = copyRows(
        reader,
        sessionEventsCopy(lit, dateLiteral(day), dateLiteral(addDays(day, -1)), dateLiteral(addDays(day, 1))),
        11,
        (r) => events.add(r),
      );
      read.catch(() => undefined);
      await copyRows(client, laterStartsCopy(lit, dateLiteral(addDays(day, 1)), dateLiteral(addDays(day, 2))), 3, (r) =>
        events.addLaterStart(r),
      );
      await read;
      await reader.query('COMMIT');
      readerOk = true;
    } finally {
      reader.done(readerOk ? undefined : new Error('the rollup failed while the reader was open'));
    }
    phase('read');
    await categories(client, tenant, day, events.categoryRows.values());
    events.group();
    const revisits = new Revisits(events);
    phase('group');
    for (let s = 0; s < events.sessionCount; s++) {
      const f = deriveSession(events.sessionEvents(s));
      await handle(events.sessionId(s), f, revisits.of(s, f.endedAtMs ?? f.lastEventMs));
      // Deriving never waits on I/O by itself: let the event loop move the COPY chunks along.
      if ((s + 1) % YIELD_SESSIONS === 0) await new Promise(setImmediate);
    }
    for (const w of [legs, parts, sess]) await w.send();
    await copies.drain();
    phase('facts');
    await agentTime(client, tenant, day, dayStart, cap, engaged, partAgents);
    phase('status');
    await groups.store(client, tenant, day);
    await client.query(`INSERT INTO report_overview (tenant, day, service_total) VALUES ($1, $2, $3)`, [tenant, day, firstParts]);
    await aggregate(client, tenant, day);
    phase('aggregate');
    await client.query(
      `INSERT INTO report_rollups (tenant, day, rolled_at, sessions, duration_ms) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant, day) DO UPDATE SET rolled_at = EXCLUDED.rolled_at, sessions = EXCLUDED.sessions, duration_ms = EXCLUDED.duration_ms`,
      [tenant, day, new Date(safe), sessions, Date.now() - began],
    );
    await client.query('COMMIT');
    phase('commit');
    donePhases = phases;
  } catch (err) {
    failure = err;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.done(failure);
  }
  return { tenant, day, sessions, durationMs: Date.now() - began, phases: donePhases };
}

/** Status intervals clipped to [dayStart, cap): work time, time per status, first online, last offline. */
async function agentTime(
  client: PoolClient,
  tenant: string,
  day: string,
  dayStart: number,
  cap: number,
  engaged: Map<string, [number, number][]>,
  partAgents: Set<string>,
): Promise<void> {
  const { rows } = await client.query<{ a: string; s: string; t: number }>(
    `SELECT body->>'agentId' AS a, body->>'status' AS s, (extract(epoch FROM time) * 1000)::float8 AS t
     FROM events
     WHERE tenant = $1 AND type = 'agent.status' AND day BETWEEN $2::date AND $3::date AND time < $4
     ORDER BY body->>'agentId', time, seq`,
    [tenant, addDays(day, -STATUS_CARRY_DAYS), day, new Date(cap)],
  );
  const byAgent = new Map<string, { s: string; t: number }[]>();
  for (const r of rows) {
    let list = byAgent.get(r.a);
    if (!list) byAgent.set(r.a, (list = []));
    list.push(r);
  }
  const bulk = new Bulk(client, 'report_agent_time');
  const agents = new Set([...byAgent.keys(), ...partAgents]);
  for (const agent of agents) {
    const changes = byAgent.get(agent) ?? [];
    const seconds: Record<string, number> = {};
    const work: [number, number][] = [];
    let firstOnline: number | null = null;
    let lastOffline: number | null = null;
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i];
      const s = Math.max(c.t, dayStart);
      const e = Math.min(i + 1 < changes.length ? changes[i + 1].t : cap, cap);
      if (c.s === 'offline' && c.t >= dayStart) lastOffline = c.t;
      if (e <= s || c.s === 'offline') continue;
      seconds[c.s] = (seconds[c.s] ?? 0) + (e - s) / 1000;
      work.push([s, e]);
      firstOnline ??= s;
    }
    const inDay = work.length > 0 || lastOffline !== null || partAgents.has(agent);
    if (!inDay) continue;
    const workSeconds = work.reduce((n, [s, e]) => n + (e - s) / 1000, 0);
    bulk.add({
      tenant,
      day,
      agent_id: agent,
      first_online_at: iso(firstOnline),
      last_offline_at: iso(lastOffline),
      work_seconds: workSeconds,
      engaged_seconds: overlapSeconds(engaged.get(agent) ?? [], work),
      status_seconds: Object.fromEntries(STATUSES.map((s) => [s, seconds[s] ?? 0])),
    });
  }
  await bulk.flush();
}

const LEVEL_COLUMNS = ['very_satisfied', 'satisfied', 'neutral', 'dissatisfied', 'very_dissatisfied'];
const levelFilters = (prefix: string, distinct: boolean) =>
  LEVEL_COLUMNS.map(
    (c, i) => `count(${distinct ? 'DISTINCT session_id' : '*'}) FILTER (WHERE ${prefix}credited AND ${prefix}score = ${5 - i}) AS ${c}`,
  ).join(',\n       ');

/** 服务小记分类: from the day's summary events (counted while they were read), not from the facts. */
async function categories(
  client: PoolClient,
  tenant: string,
  day: string,
  rows: Iterable<{ category: string; leaf: string; agent: string | null; channels: number[] }>,
): Promise<void> {
  const bulk = new Bulk(client, 'report_category_daily');
  for (const r of rows) {
    const [inbound_call, manual_outbound, system_outbound, online] = r.channels;
    bulk.add({
      tenant,
      day,
      category: r.category,
      leaf: r.leaf,
      agent_id: r.agent,
      inbound_call,
      manual_outbound,
      system_outbound,
      online,
    });
  }
  await bulk.flush();
}

/**
 * The day's figures per skill group (report_group_daily, report_group_slot,
 * report_group_halfhour), counted as the legs and parts are written. They were
 * SQL over the stored facts (three more scans of a 1M-row table and a time-zone
 * conversion per row, 6–10 s of Postgres at 1M sessions: docs/reports.md,
 * "Performance"); every figure is a count or a sum of whole milliseconds, so
 * counting here gives the same values bit for bit.
 */
class GroupFigures {
  private readonly byGroup = new Map<string, GroupDay>();

  private of(group: string): GroupDay {
    let g = this.byGroup.get(group);
    if (!g) this.byGroup.set(group, (g = new GroupDay()));
    return g;
  }

  /** A leg written for the day (queued on it), with its local hour and half hour. */
  leg(l: Leg, hour: number, slot: number, credited: boolean, score: number | null): void {
    const g = this.of(l.groupId);
    const wait = l.answeredAtMs === null ? null : (l.answeredAtMs - l.queuedAtMs) / 1000;
    const within20 = credited && wait !== null && wait <= 20;
    g.legs++;
    if (credited) g.answered++;
    if (l.via === 'direct') {
      g.directInflow++;
      if (l.answeredAtMs !== null) g.directAnswered++;
    }
    if (l.endedBy === 'manual') g.transferOut++;
    if (credited && score !== null) {
      g.rated++;
      // The contract's scores are the integers 1–5: 5 非常满意 first (LEVEL_COLUMNS).
      if (score >= 1 && score <= 5) g.levels[5 - score]++;
    }
    if (within20) g.answered20s++;
    g.hourInflow[hour]++;
    if (credited) g.hourAnswered[hour]++;
    if (within20) g.hourAnswered20s[hour]++;
    g.slotInflow[slot]++;
  }

  /** A session with an invited leg in the group (counted once per session). */
  invited(group: string): void {
    this.of(group).invited++;
  }

  /** An ended part written for the day, by the half hour of its answer. */
  endedPart(group: string, slot: number, ms: number): void {
    const g = this.of(group);
    g.slotPartsEnded[slot]++;
    g.slotPartMs[slot] += ms;
  }

  async store(client: PoolClient, tenant: string, day: string): Promise<void> {
    const daily = new Bulk(client, 'report_group_daily');
    const slots = new Bulk(client, 'report_group_slot');
    const halfhours = new Bulk(client, 'report_group_halfhour');
    for (const [group, g] of this.byGroup) {
      // A group with ended parts but no leg queued on the day has a half-hour row only (as the SQL's union had).
      if (g.legs > 0) {
        daily.add({
          tenant,
          day,
          group_id: group,
          inflow: g.legs,
          answered: g.answered,
          direct_inflow: g.directInflow,
          direct_answered: g.directAnswered,
          transfer_out: g.transferOut,
          rated: g.rated,
          ...Object.fromEntries(LEVEL_COLUMNS.map((c, i) => [c, g.levels[i]])),
          invited: g.invited,
          answered_20s: g.answered20s,
        });
        for (let hour = 0; hour < 24; hour++)
          if (g.hourInflow[hour] > 0)
            slots.add({
              tenant,
              day,
              hour,
              group_id: group,
              inflow: g.hourInflow[hour],
              answered: g.hourAnswered[hour],
              answered_20s: g.hourAnswered20s[hour],
            });
      }
      halfhours.add({
        tenant,
        day,
        group_id: group,
        inflow: Array.from(g.slotInflow),
        parts_ended: Array.from(g.slotPartsEnded),
        // extract(epoch FROM ended_at - started_at) summed as numeric, then float8: the exact
        // sum rounded once, as whole milliseconds divided by 1000 are.
        part_seconds: Array.from(g.slotPartMs, (ms) => ms / 1000),
      });
    }
    await daily.flush();
    await slots.flush();
    await halfhours.flush();
  }
}

class GroupDay {
  legs = 0;
  answered = 0;
  directInflow = 0;
  directAnswered = 0;
  transferOut = 0;
  rated = 0;
  readonly levels = [0, 0, 0, 0, 0];
  invited = 0;
  answered20s = 0;
  readonly hourInflow = new Int32Array(24);
  readonly hourAnswered = new Int32Array(24);
  readonly hourAnswered20s = new Int32Array(24);
  readonly slotInflow = new Int32Array(48);
  readonly slotPartsEnded = new Int32Array(48);
  readonly slotPartMs = new Float64Array(48);
}

/** report_agent_daily, from the day's parts and agent time. */
async function aggregate(client: PoolClient, tenant: string, day: string): Promise<void> {
  const p = [tenant, day];
  await client.query(
    `WITH pa AS (
       SELECT agent_id,
         count(DISTINCT session_id) AS answered,
         count(*) FILTER (WHERE ended_by = 'manual') AS transfer_out,
         count(*) FILTER (WHERE ended_at IS NOT NULL) AS parts_ended,
         coalesce(sum(extract(epoch FROM ended_at - started_at)) FILTER (WHERE ended_at IS NOT NULL), 0) AS talk_seconds,
         count(DISTINCT session_id) FILTER (WHERE credited AND score IS NOT NULL) AS rated,
         ${levelFilters('', true)},
         count(*) FILTER (WHERE first_response_seconds IS NOT NULL) AS first_response_count,
         coalesce(sum(first_response_seconds), 0) AS first_response_seconds,
         count(*) FILTER (WHERE first_response_seconds <= 30) AS responded_30s,
         count(DISTINCT session_id) FILTER (WHERE no_revisit) AS no_revisit,
         count(DISTINCT session_id) FILTER (WHERE invited) AS invited,
         sum(reply_count) AS reply_count,
         sum(reply_sum_seconds) AS reply_seconds,
         array_agg(DISTINCT group_id) AS groups
       FROM report_parts WHERE tenant = $1 AND day = $2 GROUP BY agent_id
     ), t AS (SELECT * FROM report_agent_time WHERE tenant = $1 AND day = $2)
     INSERT INTO report_agent_daily
     SELECT $1, $2, coalesce(pa.agent_id, t.agent_id), t.first_online_at, t.last_offline_at,
       coalesce(t.work_seconds, 0), coalesce(t.engaged_seconds, 0), coalesce(t.status_seconds, '{}'::jsonb),
       coalesce(pa.answered, 0), coalesce(pa.transfer_out, 0), coalesce(pa.parts_ended, 0), coalesce(pa.talk_seconds, 0),
       coalesce(pa.rated, 0), coalesce(pa.very_satisfied, 0), coalesce(pa.satisfied, 0), coalesce(pa.neutral, 0),
       coalesce(pa.dissatisfied, 0), coalesce(pa.very_dissatisfied, 0),
       coalesce(pa.first_response_count, 0), coalesce(pa.first_response_seconds, 0), coalesce(pa.responded_30s, 0),
       coalesce(pa.no_revisit, 0), coalesce(pa.invited, 0), coalesce(pa.reply_count, 0), coalesce(pa.reply_seconds, 0),
       coalesce(pa.groups, '{}')
     FROM pa FULL JOIN t ON t.agent_id = pa.agent_id`,
    p,
  );
}
