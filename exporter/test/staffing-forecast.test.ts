/**
 * 排班建议 (staffing_forecast) and the 流入异常 band on /metrics, on a hand-made history posted as
 * events to a real exporter and rolled up into real Postgres. The figures are worked out by hand
 * from the method of exporter/src/staffing/forecast.ts (docs/reports.md, 排班建议).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import ExcelJS from 'exceljs';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { startTestExporter } from './helpers/exporter.js';
import { postEvents } from './helpers/events.js';
import { parseCsv, queryRows } from './helpers/reports.js';
import type { Exporter } from '../src/exporter.js';
import { addDays, localDay, tzOffsetMs } from '../src/time.js';
import { forecastSlot } from '../src/staffing/forecast.js';
import { listMigrations } from '../src/db/migrate.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

const TZ = 'Asia/Shanghai';
const T = localDay(Date.now(), TZ);
const TOMORROW = addDays(T, 1);
const close = (a: unknown, b: number, msg?: string) => assert.ok(typeof a === 'number' && Math.abs(a - b) < 1e-6, `${msg ?? ''} got ${a}, expected ${b}`);

let n = 0;
const at = (day: string, hhmmss: string) => `${day}T${hhmmss}+08:00`;
const ev = (time: string, e: Record<string, unknown>) => ({ id: `fc-${++n}`, time, ...e });
const pad = (x: number) => String(x).padStart(2, '0');

/** `count` sessions queued into `group` from `start` (HH:MM) on `day`, one a minute apart of 20 s, each answered after 10 s and served `serveSeconds`. */
function sessions(day: string, group: string, agent: string, start: string, count: number, serveSeconds: number): Record<string, unknown>[] {
  const [h, m] = start.split(':').map(Number);
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const sid = `${group}-${day}-${start}-${i}`;
    const base = Date.UTC(2000, 0, 1, h, m, 0) + i * 20_000;
    const t = (plus: number) => {
      const d = new Date(base + plus * 1000);
      return at(day, `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`);
    };
    out.push(
      ev(t(0), { type: 'session.start', sessionId: sid, userId: `u-${sid}` }),
      ev(t(0), { type: 'session.queue', sessionId: sid, groupId: group, via: 'direct' }),
      ev(t(10), { type: 'session.answer', sessionId: sid, groupId: group, agentId: agent }),
      ev(t(10 + serveSeconds), { type: 'session.end', sessionId: sid, by: 'user' }),
    );
  }
  return out;
}

/**
 * The history. Tomorrow (F) is forecast from F−7 = T−6, F−14 = T−13, F−21 = T−20, F−28 = T−27.
 * - g1, slot 10:00–10:30: 16, 14, 12, 10 sessions in those weeks (latest first), parts of 180 s.
 * - g2, slot 10:30–11:00: 30 sessions every week, parts of 180 s; its agents serve 2 at once.
 * - g3: 6 sessions last week (T−7) and 4 the week before (T−14) in the slot now under way and the
 *   next one (so that the test holds if the slot turns over while it runs): the /metrics band.
 */
function history(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [
    ev(at(addDays(T, -30), '08:00:00'), { type: 'group.upsert', groupId: 'g1', name: '售前咨询' }),
    ev(at(addDays(T, -30), '08:00:00'), { type: 'group.upsert', groupId: 'g2', name: '售后服务' }),
    ev(at(addDays(T, -30), '08:00:00'), { type: 'agent.upsert', agentId: 'a1', name: '张三', groups: ['g1'], maxSessions: 1 }),
    ev(at(addDays(T, -30), '08:00:00'), { type: 'agent.upsert', agentId: 'a2', name: '李四', groups: ['g2'], maxSessions: 2 }),
    ev(at(addDays(T, -30), '08:00:00'), { type: 'agent.upsert', agentId: 'a3', name: '王五', groups: ['g2', 'g3'], maxSessions: 2 }),
  ];
  [16, 14, 12, 10].forEach((count, i) => {
    const day = addDays(TOMORROW, -7 * (i + 1));
    out.push(...sessions(day, 'g1', 'a1', '10:00', count, 180));
    out.push(...sessions(day, 'g2', i % 2 ? 'a2' : 'a3', '10:30', 30, 180));
  });
  const nowLocal = new Date(Date.now() + tzOffsetMs(Date.now(), TZ));
  const slotStart = nowLocal.getUTCHours() * 60 + (nowLocal.getUTCMinutes() < 30 ? 0 : 30);
  for (const [weeks, count] of [
    [1, 6],
    [2, 4],
  ])
    for (const start of [slotStart, slotStart + 30].filter((m) => m < 24 * 60)) {
      // The sessions of a slot start at its first minute: a minute past the hour when 6 go in 20 s steps stays inside it.
      const hhmm = `${pad(Math.floor(start / 60))}:${pad(start % 60)}`;
      out.push(...sessions(addDays(T, -7 * weeks), 'g3', 'a3', hhmm, count, 60));
    }
  return out;
}

describe('排班建议 (staffing_forecast): forecast, band, back-test and agents from a hand-made history', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  before(async () => {
    db = await freshDatabase();
    exporter = await startTestExporter(db.url);
    const events = history();
    for (let i = 0; i < events.length; i += 5000) assert.deepEqual((await postEvents(exporter.url, events.slice(i, i + 5000))).body.rejected, []);
  });
  after(async () => {
    await exporter?.close();
    await db?.drop();
  });

  const forecast = async (from: string, to: string, groups: string[] = []) =>
    (await queryRows(exporter.url, { report: 'staffing_forecast', from, to, groups })).rows;
  const slot = (rows: Record<string, unknown>[], date: string, group: string, s: string) => {
    const r = rows.find((x) => x.date === date && x.group_id === group && x.slot === s);
    assert.ok(r, `no row ${date} ${group} ${s} in ${rows.length} rows`);
    return r;
  };

  it('When tomorrow is forecast, then 10:00 of 售前咨询 is the weighted average of 16, 14, 12, 10 with its band', async () => {
    const rows = await forecast(T, TOMORROW);
    const r = slot(rows, TOMORROW, 'g1', '10:00');
    assert.equal(r.group_name, '售前咨询');
    assert.equal(r.weeks, 4);
    // Weights 8, 7, 6, 5 for 1…4 weeks ago: (16·8 + 14·7 + 12·6 + 10·5) / 26 = (128 + 98 + 72 + 50) / 26 = 348/26 = 13.384615.
    close(r.forecast, 348 / 26);
    // Spread: Σ w (x − f)² / Σ w = [8·(2.615385)² + 7·(0.615385)² + 6·(−1.384615)² + 5·(−3.384615)²] / 26
    //   = (54.7219 + 2.6509 + 11.5030 + 57.2781) / 26 = 126.1538 / 26 = 4.852071; plus the Poisson
    //   variance 13.384615 → 18.236686; sd 4.270443; band 13.384615 ± 8.540886 = [4.843729, 21.925501].
    close(r.forecast_lower, 4.843729, 'lower');
    close(r.forecast_upper, 21.925502, 'upper');
    assert.equal(r.actual, null, 'tomorrow has not come');
    // Every part lasted 180 s (answer 10 s after queueing, end 180 s later).
    close(r.aht_seconds, 180);
    // A slot with no inflow in any of the weeks: forecast 0, band 0 ± 0, nobody needed.
    const quiet = slot(rows, TOMORROW, 'g1', '03:00');
    assert.deepEqual([quiet.forecast, quiet.forecast_lower, quiet.forecast_upper, quiet.agents_required], [0, 0, 0, 0]);
  });

  it('When 售后服务 saw 30 a slot every week, then Erlang C asks for 5 servers: 3 agents serving 2 each', async () => {
    const r = slot(await forecast(TOMORROW, TOMORROW, ['g2']), TOMORROW, 'g2', '10:30');
    // 30 each week: forecast 30, no spread, Poisson variance 30 → sd 5.477226; band 30 ± 10.954451.
    close(r.forecast, 30);
    close(r.forecast_lower, 30 - 2 * Math.sqrt(30));
    close(r.forecast_upper, 30 + 2 * Math.sqrt(30));
    // λ = 30 per half hour = 60/h, AHT 180 s → A = 60 · 180 / 3600 = 3 Erlangs. Target 80 % in 20 s.
    // Erlang B recursion B_k = A·B_{k−1} / (k + A·B_{k−1}): 0.75, 0.529412, 0.346154, 0.206107, 0.110063.
    // N = 4: C = 4·0.206107 / (4 − 3·0.793893) = 0.509434; SL = 1 − 0.509434·e^(−1·20/180) = 0.544139 < 0.8.
    // N = 5: C = 5·0.110063 / (5 − 3·0.889937) = 0.236162; SL = 1 − 0.236162·e^(−2·20/180) = 0.810896 ≥ 0.8.
    // 5 servers; a2 and a3 each take 2 at once (接待上限 2) → ⌈5 / 2⌉ = 3 agents.
    assert.equal(r.agents_required, 3);
    close(r.aht_seconds, 180);
  });

  it('When a past day is shown, then its actual, the error and the 14-day back-test WAPE are there', async () => {
    const P = addDays(T, -6);
    const rows = await forecast(P, P, ['g1']);
    const r = slot(rows, P, 'g1', '10:00');
    // P is forecast from its own past weeks: T−13 (14, weight 8), T−20 (12, 7), T−27 (10, 6):
    // (112 + 84 + 60) / 21 = 256/21 = 12.190476; 16 came: error 16 − 12.190476 = +3.809524.
    close(r.forecast, 256 / 21);
    assert.equal(r.actual, 16);
    close(r.forecast_error, 16 - 256 / 21);
    // Back-test over T−1 … T−14: the days with data are T−6 and T−13 (T−20 and T−27 are older).
    // T−13 from T−20 (12, weight 8) and T−27 (10, 7): 166/15 = 11.066667 against 14 → 2.933333.
    // T−6 as above: 3.809524 against 16. Every other slot of those days: 0 forecast, 0 came.
    // WAPE = (2.933333 + 3.809524) / (14 + 16) = 6.742857 / 30 = 0.224762.
    close(r.backtest_wape, (14 - 166 / 15 + 16 - 256 / 21) / 30);
    const other = slot(rows, P, 'g1', '11:00');
    assert.deepEqual([other.actual, other.forecast_error], [0, 0]);
  });

  it('When today is shown, then the slot under way has no actual yet, and a group in its first week has no forecast but what came', async () => {
    const nowLocal = new Date(Date.now() + tzOffsetMs(Date.now(), TZ));
    const label = `${pad(nowLocal.getUTCHours())}:${nowLocal.getUTCMinutes() < 30 ? '00' : '30'}`;
    const now = slot(await forecast(T, T, ['g3']), T, 'g3', label);
    // The slot is still coming in: the band of /metrics (below), nothing to compare yet.
    close(now.forecast, 76 / 15);
    assert.deepEqual([now.actual, now.forecast_error], [null, null]);
    // T−14 is g3's first day: no past week to forecast from, and the 4 sessions that came.
    const first = slot(await forecast(addDays(T, -14), addDays(T, -14), ['g3']), addDays(T, -14), 'g3', label);
    assert.deepEqual([first.forecast, first.forecast_lower, first.forecast_upper, first.agents_required, first.weeks], [null, null, null, null, 0]);
    assert.equal(first.actual, 4);
  });

  it('When it is downloaded, then the CSV and the Excel file hold the rows of the query API with Chinese headers', async () => {
    const q = `report=staffing_forecast&from=${TOMORROW}&to=${TOMORROW}&group=g2`;
    const api = await forecast(TOMORROW, TOMORROW, ['g2']);
    const csv = await fetch(`${exporter.url}/api/v1/export?${q}&format=csv`);
    assert.equal(csv.status, 200, await csv.clone().text());
    assert.ok(decodeURIComponent(csv.headers.get('content-disposition')!).includes(`排班建议_${TOMORROW}_${TOMORROW}_未完结.csv`));
    const table = parseCsv((await csv.text()).replace(/^\uFEFF/, ''));
    const header = table[0];
    for (const name of ['日期', '时段', '技能组', '预测流入量', '预测下限', '预测上限', '实际流入量', '预测误差', '回测误差', '平均处理时长', '需要人数'])
      assert.ok(header.includes(name), `${name} in ${header}`);
    assert.equal(table.length - 1, api.length, 'one line per row of the query API');
    const line = table.find((l) => l[header.indexOf('时段')] === '10:30')!;
    assert.equal(line[header.indexOf('需要人数')], '3');
    assert.equal(Number(line[header.indexOf('预测流入量')]), 30);
    assert.equal(line[header.indexOf('时段开始')], `${TOMORROW} 10:30:00`);

    const xlsx = await fetch(`${exporter.url}/api/v1/export?${q}&format=xlsx`);
    assert.equal(xlsx.status, 200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.from(await xlsx.arrayBuffer()) as any);
    const sheet = wb.worksheets[0];
    assert.equal(sheet.name, '排班建议');
    const heads = (sheet.getRow(1).values as unknown[]).slice(1);
    const row = sheet.getRows(2, sheet.rowCount - 1)!.find((r) => r.getCell(heads.indexOf('时段') + 1).value === '10:30')!;
    assert.equal(row.getCell(heads.indexOf('需要人数') + 1).value, 3);
    assert.equal(sheet.rowCount - 1, api.length);
  });

  it('When the range goes past a week ahead, then the query names the limit', async () => {
    const res = await fetch(`${exporter.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ report: 'staffing_forecast', from: T, to: addDays(T, 8) }),
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /at most 7 days ahead/);
  });

  it('When /metrics is scraped, then the current slot band of g3 is there from its past weeks only', async () => {
    const text = await (await fetch(`${exporter.url}/metrics`)).text();
    const value = (bound: string) => {
      const m = new RegExp(`^cs_inflow_forecast\\{tenant="default",group="g3",bound="${bound}"\\} (\\S+)$`, 'm').exec(text);
      assert.ok(m, `cs_inflow_forecast ${bound} of g3 in\n${text.split('\n').filter((l) => l.includes('forecast')).join('\n')}`);
      return Number(m[1]);
    };
    // 6 last week (weight 8), 4 the week before (7): 76/15 = 5.066667; spread
    // [8·(0.933333)² + 7·(−1.066667)²] / 15 = (6.968889 + 7.964444) / 15 = 0.995556, + 5.066667 = 6.062222,
    // sd 2.462158; band [0.142351, 9.990983].
    close(value('expected'), 76 / 15);
    close(value('lower'), 0.142351);
    close(value('upper'), 9.990983);
    assert.deepEqual(forecastSlot([6, 4]), { expected: value('expected'), lower: value('lower'), upper: value('upper'), weeks: 2 });
    // The inflow counter the rule compares it with is there for the group too.
    assert.match(text, /^cs_sessions_inflow_total\{tenant="default",group="g3",via="direct"\} /m);
  });
});

describe('Migration 017: days rolled up before it get their inflow per slot from report_legs', () => {
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase({ migrate: false });
  });
  after(async () => {
    await db?.drop();
  });

  it('When the migration runs over legs already rolled up, then each group and day has its 48 slots of inflow', async () => {
    const all = listMigrations();
    for (const m of all.filter((x) => x.version < 17)) await db.pool.query(m.sql);
    // Local hour 10 in Asia/Shanghai: 10:05 (02:05Z) is slot 20, 10:40 and 10:59 (02:40Z, 02:59Z) slot 21.
    const legs: [string, string, string][] = [
      ['g1', 's1', '2026-11-20T10:05:00+08:00'],
      ['g1', 's2', '2026-11-20T10:40:00+08:00'],
      ['g1', 's3', '2026-11-20T10:59:00+08:00'],
      ['g2', 's4', '2026-11-20T10:40:00+08:00'],
    ];
    for (const [g, sid, at] of legs)
      await db.pool.query(
        `INSERT INTO report_legs (tenant, day, session_id, leg_no, group_id, via, hour, queued_at, outcome, credited, invited)
         VALUES ('default', '2026-11-20', $1, 0, $2, 'direct', 10, $3, 'abandoned', false, false)`,
        [sid, g, at],
      );
    await db.pool.query(all.find((x) => x.version === 17)!.sql);
    const { rows } = await db.pool.query<{ group_id: string; inflow: number[]; parts_ended: number[] }>(
      `SELECT group_id, inflow, parts_ended FROM report_group_halfhour WHERE tenant = 'default' AND day = '2026-11-20' ORDER BY group_id`,
    );
    const expected = (slots: Record<number, number>) => Array.from({ length: 48 }, (_, i) => slots[i] ?? 0);
    assert.deepEqual(
      rows.map((r) => [r.group_id, r.inflow]),
      [
        ['g1', expected({ 20: 1, 21: 2 })],
        ['g2', expected({ 21: 1 })],
      ],
    );
    // Handling times are not in the legs: empty until the day is rolled up again.
    assert.deepEqual(rows[0].parts_ended, expected({}));
  });
});
