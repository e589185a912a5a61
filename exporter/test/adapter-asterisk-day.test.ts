/**
 * A busy day of a PBX written as Asterisk writes queue_log (the data fields of apps/app_queue.c, see
 * src/adapters/asterisk/mapper.ts): 3,000 calls over three queues with transfers (BLINDTRANSFER),
 * overflows after EXITWITHTIMEOUT, abandons, EXITEMPTY, EXITWITHKEY, callers still queued at the end
 * of the day, 24 agents on two shifts joining and leaving queues (ADDMEMBER/REMOVEMEMBER) and
 * pausing with reasons (PAUSE/UNPAUSE, PAUSEALL/UNPAUSEALL); the log rotated at noon. Imported with
 * `cs-exporter adapter asterisk import` (its importFiles) into a real exporter, the reports reconcile
 * with the generator's own ground truth, and importing again (or the same lines as the realtime
 * table's CSV export, in the PBX's local time) stores nothing twice.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Exporter } from '../src/exporter.js';
import { importFiles, type ImportOptions } from '../src/adapters/asterisk/import.js';
import { localHour } from '../src/time.js';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { startTestExporter } from './helpers/exporter.js';
import { queryRows } from './helpers/reports.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

const TZ = 'Asia/Shanghai';
const DAY = '2026-11-20';
const DAY0 = Date.parse(`${DAY}T00:00:00+08:00`) / 1000;
const at = (h: number, m = 0, s = 0) => DAY0 + h * 3600 + m * 60 + s;
const QUEUES = ['sales', 'support', 'vip'];
const CALLS = 3_000;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Leg {
  queue: string;
  hour: number;
  answeredBy: string | null;
}
interface Truth {
  legs: { call: string; legs: Leg[] }[];
  /** per agent id: seconds present (non-offline) and per status */
  agents: Map<string, { work: number; status: Record<string, number>; answered: Set<string> }>;
  outcomes: Record<string, number>;
  /** per call: caller, first queue entry, first answer, hang-up or completion, last line (unix seconds) */
  calls: Map<string, { caller: string; start: number; answered: number | null; end: number | null; last: number }>;
}

/** The day's lines (time order, as Asterisk appends them) and what they mean, worked out as they are written. */
function generate(seed = 7): { lines: [number, string][]; truth: Truth } {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  const lines: [number, string][] = [];
  const truth: Truth = { legs: [], agents: new Map(), outcomes: {}, calls: new Map() };
  const line = (t: number, callid: string, queue: string, agent: string, event: string, ...data: (string | number)[]) => {
    lines.push([t, [t, callid, queue, agent, event, ...data].join('|')]);
    const c = truth.calls.get(callid);
    if (!c) return;
    c.last = Math.max(c.last, t);
    if (event === 'CONNECT' && c.answered === null) c.answered = t;
    if (event === 'ABANDON' || event.startsWith('COMPLETE')) c.end = t;
  };
  const outcome = (k: string) => (truth.outcomes[k] = (truth.outcomes[k] ?? 0) + 1);

  // Agents 1001–1012 work 07:30–16:xx, 1013–1024 12:30–21:xx; each in one or two queues.
  const shifts: { id: string; iface: string; queues: string[]; from: number; to: number }[] = [];
  for (let i = 0; i < 24; i++) {
    const id = String(1001 + i);
    const queues = i % 3 === 0 ? [QUEUES[i % 2], 'vip'] : [QUEUES[i % 2]];
    const from = (i < 12 ? at(7, 30) : at(12, 30)) + int(0, 1800);
    const to = from + 8 * 3600 + int(0, 3600);
    shifts.push({ id, iface: `PJSIP/${id}`, queues, from, to });
  }
  const reasons: [string, string][] = [
    ['Lunch', 'meal'],
    ['', 'break'],
    ['Training', 'training'],
    ['Coaching', 'custom'],
  ];
  for (const s of shifts) {
    const a = { work: s.to - s.from, status: {} as Record<string, number>, answered: new Set<string>() };
    truth.agents.set(s.id, a);
    for (const q of s.queues) line(s.from, 'NONE', q, s.iface, 'ADDMEMBER', '');
    // Two or three pauses, one after the other, well inside the shift.
    let t = s.from + int(1800, 3600);
    const all = s.id === '1005'; // pauses with PauseQueueMember without a queue: PAUSEALL, then each queue's PAUSE
    for (let k = int(2, 3); k > 0; k--) {
      const [reason, status] = all ? ['', 'break'] : pick(reasons);
      const dur = int(300, 3600);
      if (all) line(t, 'NONE', 'NONE', s.iface, 'PAUSEALL', '');
      for (const q of s.queues) line(t, 'NONE', q, s.iface, 'PAUSE', reason);
      if (all) line(t + dur, 'NONE', 'NONE', s.iface, 'UNPAUSEALL', '');
      for (const q of s.queues) line(t + dur, 'NONE', q, s.iface, 'UNPAUSE', '');
      a.status[status] = (a.status[status] ?? 0) + dur;
      t += dur + int(1800, 3600);
    }
    for (const q of s.queues) line(s.to, 'NONE', q, s.iface, 'REMOVEMEMBER', '');
  }
  const membersAt = (q: string, t: number) => shifts.filter((s) => s.queues.includes(q) && s.from <= t && t < s.to);

  const callers = Array.from({ length: 1_500 }, (_, i) => `+8613${String(800_000_000 + i * 7919).slice(0, 9)}`);
  const other = (q: string) => pick(QUEUES.filter((x) => x !== q));
  for (let c = 0; c < CALLS; c++) {
    const t0 = at(8) + int(0, 13 * 3600 - 1);
    const callid = `${t0}.${c}`;
    const legs: Leg[] = [];
    truth.legs.push({ call: callid, legs });
    const caller = pick(callers);
    truth.calls.set(callid, { caller, start: t0, answered: null, end: null, last: t0 });
    const leg = (q: string, t: number): void => {
      const l: Leg = { queue: q, hour: localHour(t * 1000, TZ), answeredBy: null };
      legs.push(l);
      line(t, callid, q, 'NONE', 'ENTERQUEUE', '', caller, 1);
      const x = r();
      const members = membersAt(q, t);
      if (x < 0.7 && members.length > 0) {
        const w = int(1, 90);
        const ag = pick(members);
        if (members.length > 1 && r() < 0.3) line(t + w - 1, callid, q, pick(members.filter((m) => m !== ag)).iface, 'RINGNOANSWER', 15000);
        line(t + w, callid, q, ag.iface, 'CONNECT', w, `${t + w}.${c}9`, int(1, 10));
        l.answeredBy = ag.id;
        truth.agents.get(ag.id)!.answered.add(callid);
        const talk = int(20, 900);
        if (legs.length < 2 && r() < 0.12) {
          line(t + w + talk, callid, q, ag.iface, 'BLINDTRANSFER', '8002', 'from-internal', w, talk, 1);
          outcome('transferred');
          leg(other(q), t + w + talk);
        } else {
          line(t + w + talk, callid, q, ag.iface, r() < 0.5 ? 'COMPLETEAGENT' : 'COMPLETECALLER', w, talk, 1);
          outcome('completed');
        }
      } else if (x < 0.82) {
        const w = int(5, 200);
        line(t + w, callid, q, 'NONE', 'ABANDON', 1, 1, w);
        outcome('abandoned');
      } else if (x < 0.92) {
        const w = int(120, 300);
        line(t + w, callid, q, 'NONE', 'EXITWITHTIMEOUT', 1, 1, w);
        outcome('timeout');
        // The dialplan sends a timed-out caller on to another queue: an overflow, same call, same second.
        if (legs.length < 2 && r() < 0.5) leg(other(q), t + w);
      } else if (x < 0.96 || members.length === 0) {
        const w = int(1, 5);
        line(t + w, callid, q, 'NONE', 'EXITEMPTY', 1, 1, w);
        outcome('empty');
      } else {
        const w = int(5, 60);
        line(t + w, callid, q, 'NONE', 'EXITWITHKEY', '5', 1, 1, w);
        outcome('key');
      }
    };
    leg(pick(QUEUES), t0);
  }
  // Callers still waiting when the day's log is read.
  for (let k = 0; k < 5; k++) {
    const t = at(23, 50, k);
    const q = QUEUES[k % 3];
    truth.legs.push({ call: `${t}.q${k}`, legs: [{ queue: q, hour: 23, answeredBy: null }] });
    const caller = pick(callers);
    truth.calls.set(`${t}.q${k}`, { caller, start: t, answered: null, end: null, last: t });
    line(t, `${t}.q${k}`, q, 'NONE', 'ENTERQUEUE', '', caller, 1);
    outcome('queued');
  }
  lines.sort((a, b) => a[0] - b[0]); // stable: a call's lines of one second keep their order
  return { lines, truth };
}

describe('Asterisk queue_log: a generated busy day, rotated at noon, imported', { timeout: 10 * 60_000 }, () => {
  let db: TestDatabase;
  let exporter: Exporter;
  let dir: string;
  let opts: ImportOptions;
  const { lines, truth } = generate();
  before(async () => {
    db = await freshDatabase();
    exporter = await startTestExporter(db.url);
    dir = mkdtempSync(join(tmpdir(), 'ast-day-'));
    const noon = at(12);
    writeFileSync(
      join(dir, 'queue_log.1'),
      lines
        .filter(([t]) => t < noon)
        .map(([, l]) => `${l}\n`)
        .join(''),
    );
    writeFileSync(
      join(dir, 'queue_log'),
      lines
        .filter(([t]) => t >= noon)
        .map(([, l]) => `${l}\n`)
        .join(''),
    );
    opts = {
      files: [join(dir, 'queue_log.1'), join(dir, 'queue_log')],
      url: exporter.url,
      timezone: TZ,
      csvTimezone: TZ,
      warn: (m) => assert.fail(m),
    };
  });
  after(async () => {
    await exporter?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('When both files are imported, then every line is taken and the outcomes are as generated', async () => {
    const s = await importFiles(opts);
    assert.equal(s.lines.unknown + s.lines.invalid, 0);
    assert.equal(s.rejected, 0);
    assert.equal(s.lines.mapped + s.lines.ignored, lines.length);
    assert.ok(s.accepted > 10_000, `accepted ${s.accepted}`);
    assert.equal(s.duplicates, 0);
    // Every kind the day must exercise did happen.
    for (const k of ['completed', 'transferred', 'abandoned', 'timeout', 'empty', 'key', 'queued'])
      assert.ok((truth.outcomes[k] ?? 0) > 0, k);
  });

  it('When group_daily and group_slot are read, then inflow, answered and lost reconcile per queue and per hour', async () => {
    // Ground truth by metrics.md: every leg counts in inflow at its entry; a call is answered (credited)
    // once, at its last answered leg; lost = inflow − answered = the legs that timed out, emptied,
    // were abandoned (hang-up or key), are still queued, or were answered and then transferred on.
    const exp = new Map<string, { inflow: number; answered: number }>();
    const cell = (k: string) => exp.get(k) ?? (exp.set(k, { inflow: 0, answered: 0 }), exp.get(k)!);
    for (const { legs } of truth.legs) {
      const credited = legs.filter((l) => l.answeredBy).at(-1);
      for (const l of legs) {
        for (const k of [`${l.queue}`, `${l.queue}|${l.hour}`]) {
          cell(k).inflow++;
          if (l === credited) cell(k).answered++;
        }
      }
    }
    const daily = (await queryRows(exporter.url, { report: 'group_daily', from: DAY, to: DAY, metrics: ['inflow', 'answered'] })).rows;
    assert.deepEqual(
      daily.map((r) => [r.group_id, r.inflow, r.answered]),
      QUEUES.map((q) => [q, exp.get(q)!.inflow, exp.get(q)!.answered]),
    );
    const total = QUEUES.reduce((n, q) => n + exp.get(q)!.inflow, 0);
    assert.equal(
      total,
      truth.legs.reduce((n, c) => n + c.legs.length, 0),
    );
    const slots = (await queryRows(exporter.url, { report: 'group_slot', from: DAY, to: DAY, metrics: ['inflow', 'answered', 'lost'] }))
      .rows;
    const got = slots.filter((r) => (r.inflow as number) > 0).map((r) => `${r.group_id}|${r.hour}: ${r.inflow} ${r.answered} ${r.lost}`);
    const want = [...exp].filter(([k]) => k.includes('|')).map(([k, v]) => `${k}: ${v.inflow} ${v.answered} ${v.inflow - v.answered}`);
    assert.deepEqual(got.sort(), want.sort());
  });

  it('When agent_daily is read, then online and pause time and answered calls are the shifts generated', async () => {
    const rows = (
      await queryRows(exporter.url, {
        report: 'agent_daily',
        from: DAY,
        to: DAY,
        metrics: ['answered', 'work_hours', 'break_hours', 'meal_hours', 'training_hours', 'custom_hours'],
      })
    ).rows;
    const round = (h: number) => Math.round(h * 1e4) / 1e4;
    const got = rows.map((r) => [
      r.agent_id,
      r.answered,
      round(r.work_hours as number),
      round(r.break_hours as number),
      round(r.meal_hours as number),
      round(r.training_hours as number),
      round(r.custom_hours as number),
    ]);
    // Present from the first ADDMEMBER to the last REMOVEMEMBER (paused time included: 小休 etc. are not offline);
    // each status's time is the generated pause lengths for its reason ("" → break, Lunch → meal, Coaching → custom).
    const want = [...truth.agents]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, a]) => [
        id,
        a.answered.size,
        round(a.work / 3600),
        round((a.status.break ?? 0) / 3600),
        round((a.status.meal ?? 0) / 3600),
        round((a.status.training ?? 0) / 3600),
        round((a.status.custom ?? 0) / 3600),
      ]);
    assert.deepEqual(got, want);
  });

  it('When 会话记录 is listed, then 服务时长 runs from the first answer to the hang-up or completion, and a caller back within 24 h is a revisit', async () => {
    const rows = (await queryRows(exporter.url, { report: 'sessions', from: DAY, to: DAY, filters: { limit: 100_000 } })).rows;
    // Sessions that reached a human: calls with a CONNECT. The session ends at ABANDON or COMPLETE*; after a
    // timeout, empty queue, key or transfer that led nowhere it has no end, and the revisit rule takes its last line.
    // A revisit: the same caller number starts another call in (end, end + 24 h].
    const starts = new Map<string, number[]>();
    for (const c of truth.calls.values()) starts.set(c.caller, [...(starts.get(c.caller) ?? []), c.start]);
    const want = [...truth.calls]
      .filter(([, c]) => c.answered !== null)
      .map(([id, c]) => {
        const end = c.end ?? c.last;
        const revisit = starts.get(c.caller)!.some((t) => t > end && t <= end + 86_400);
        return `${id} ${c.caller} ${c.end === null ? null : c.end - c.answered!} ${revisit}`;
      })
      .sort();
    const got = rows.map((r) => `${r.service_id} ${r.user_id} ${r.duration_seconds} ${r.revisit_24h}`).sort();
    assert.deepEqual(got, want);
    assert.ok(rows.some((r) => r.revisit_24h === true) && rows.some((r) => r.duration_seconds === null));
  });

  it('When the files are imported again, or the morning as the realtime table CSV in local time, then nothing is stored twice', async () => {
    const again = await importFiles(opts);
    assert.equal(again.accepted, 0);
    assert.ok(again.duplicates > 10_000);
    // --from/--to name local days: the day after holds none of these events, the day itself all of them.
    const next = await importFiles({ ...opts, from: '2026-11-21', to: '2026-11-21' });
    assert.deepEqual([next.accepted, next.duplicates, next.outOfRange], [0, 0, again.duplicates]);
    const same = await importFiles({ ...opts, from: DAY, to: DAY });
    assert.deepEqual([same.accepted, same.duplicates, same.outOfRange], [0, again.duplicates, 0]);
    // The realtime table: columns time (the PBX's wall clock, UTC+8), callid, queuename, agent, event, data1..data5.
    const pad = (n: number) => String(n).padStart(2, '0');
    const local = (t: number) => {
      const d = new Date((t + 8 * 3600) * 1000);
      return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    };
    const q = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    const rows = lines
      .filter(([t]) => t < at(12))
      .map(([t, l]) => {
        const f = l.split('|');
        const data = [...f.slice(5), '', '', '', '', ''].slice(0, 5);
        return [String(1 + t), local(t), f[1], f[2], f[3], f[4], ...data].map(q).join(',');
      });
    writeFileSync(
      join(dir, 'queue_log.csv'),
      ['id,time,callid,queuename,agent,event,data1,data2,data3,data4,data5', ...rows].join('\r\n') + '\r\n',
    );
    const csv = await importFiles({ ...opts, files: [join(dir, 'queue_log.csv')] });
    assert.equal(csv.lines.invalid + csv.lines.unknown, 0);
    assert.equal(csv.accepted, 0, 'the CSV rows are the same lines: the same event ids');
    assert.ok(csv.duplicates > 3_000);
  });
});
