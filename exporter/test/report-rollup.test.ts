import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { exporterRoot, startTestExporter } from './helpers/exporter.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { postEvents } from './helpers/events.js';
import type { Exporter } from '../src/exporter.js';
import { createLogger } from '../src/log.js';
import { RollupService } from '../src/reports/service.js';
import { RollupScheduler } from '../src/reports/scheduler.js';
import { DAY, dayEvents } from './helpers/report-fixture.js';
import { queryRows } from './helpers/reports.js';
import { DAY_TABLES } from '../src/reports/rollup.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';


describe('Rollups: idempotent, on demand, scheduled, and late events', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  const rollup = async (body: unknown) => {
    const r = await fetch(`${exporter.url}/api/v1/rollups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as any };
  };
  const dump = async () => {
    const out: Record<string, unknown[]> = {};
    for (const t of DAY_TABLES)
      out[t] = (await db.pool.query(`SELECT * FROM ${t} x WHERE tenant = 'default' AND day = $1 ORDER BY x::text`, [DAY])).rows;
    return out;
  };
  before(async () => {
    db = await freshDatabase();
    exporter = await startTestExporter(db.url);
    assert.deepEqual((await postEvents(exporter.url, dayEvents())).body.rejected, []);
  });
  after(async () => {
    await exporter.close();
    await db.drop();
  });

  it('When the scheduler runs, then every day with events is rolled up once, and a second round finds nothing to do', async () => {
    const service = new RollupService(db.pool, 'Asia/Shanghai', createLogger('silent'), 300_000);
    const scheduler = new RollupScheduler(service, 'Asia/Shanghai', 300_000, createLogger('silent'));
    // Events exist on the 19th (a2's status), the 20th and the 21st (S6's end, S4's start).
    assert.equal(await scheduler.runOnce(), 3);
    assert.equal(await scheduler.runOnce(), 0);
  });

  it('When a day is recomputed twice, then every report table is identical', async () => {
    const first = await rollup({ date: DAY, tenant: 'default' });
    assert.equal(first.status, 200);
    assert.equal(first.body.sessions, 7, 'S1, S2, S3, S5, S6, S7 and S9 reached a queue or a human on the day');
    const a = await dump();
    assert.equal(a.report_legs.length, 9);
    const second = await rollup({ date: DAY });
    assert.equal(second.status, 200);
    assert.deepEqual(await dump(), a);
    assert.equal((await rollup({ date: '2026-13-01' })).status, 400);
  });

  it('When late events arrive for a finished day, then exactly the figures they touch change', async () => {
    const ask = (report: string) => queryRows(exporter.url, { report, from: DAY, to: DAY });
    const before = {
      group: (await ask('group_daily')).rows,
      agent: (await ask('agent_daily')).rows,
      sessions: (await ask('sessions')).rows,
      slot: (await ask('group_slot')).rows,
    };
    // S6 is rated 4 after midnight (an event of the 21st), and a3's break at 14:45 on the 20th arrives late.
    const late = await postEvents(exporter.url, [
      { id: 'late-1', type: 'session.rate', time: '2026-11-21T00:11:00+08:00', sessionId: 'S6', score: 4 },
      { id: 'late-2', type: 'agent.status', time: '2026-11-20T14:45:00+08:00', agentId: 'a3', status: 'break' },
    ]);
    assert.equal(late.body.accepted, 2);
    const after = {
      group: (await ask('group_daily')).rows,
      agent: (await ask('agent_daily')).rows,
      sessions: (await ask('sessions')).rows,
      slot: (await ask('group_slot')).rows,
    };
    // g1 now has one rated session (S6, credited to g1): rated 1 of answered 2; satisfied 1 of 1; the other levels 0 of 1.
    const g1 = {
      ...before.group[0],
      rated: 1,
      rated_rate: 0.5,
      satisfied: 1,
      satisfied_rate: 1,
      very_satisfied_rate: 0,
      neutral_rate: 0,
      dissatisfied_rate: 0,
      very_dissatisfied_rate: 0,
    };
    assert.deepEqual(after.group, [g1, before.group[1]]);
    // a1 is S6's credited agent: rated 1 of 3 answered. a3: hosted 14:30–14:45 (0.25 h), break 14:45–15:00 (0.25 h), same work time.
    const a1 = {
      ...before.agent[0],
      rated: 1,
      rated_rate: Math.round((1 / 3) * 1e6) / 1e6,
      satisfied: 1,
      satisfied_rate: 1,
      very_satisfied_rate: 0,
      neutral_rate: 0,
      dissatisfied_rate: 0,
      very_dissatisfied_rate: 0,
    };
    const a3 = { ...before.agent[2], hosted_hours: 0.25, break_hours: 0.25 };
    assert.deepEqual(after.agent, [a1, before.agent[1], a3]);
    assert.deepEqual(
      after.sessions,
      before.sessions.map((s) => (s.service_id === 'S6' ? { ...s, satisfaction: '满意' } : s)),
    );
    assert.deepEqual(after.slot, before.slot);
  });

  it('When another tenant sends the same ids, then neither tenant sees the other', async () => {
    const other = dayEvents()
      .filter((e) => (e as any).sessionId === 'S7' || e.type === 'group.upsert')
      .map((e) => ({ ...e, tenant: 'other' }));
    assert.equal((await postEvents(exporter.url, other)).body.accepted, other.length);
    const o = await queryRows(exporter.url, {
      report: 'group_daily',
      from: DAY,
      to: DAY,
      tenant: 'other',
      metrics: ['inflow', 'answered'],
    });
    assert.deepEqual(o.rows, [{ date: DAY, group_id: 'g2', group_name: '售后服务', inflow: 1, answered: 1 }]);
    const d = await queryRows(exporter.url, { report: 'group_daily', from: DAY, to: DAY, metrics: ['inflow'] });
    assert.deepEqual(
      d.rows.map((r) => r.inflow),
      [6, 3],
    );
  });

  it('When today is asked, then it is rolled up on the fly and marked provisional', async () => {
    const now = Date.now();
    const t = (offsetS: number) => now - 600_000 + offsetS * 1000;
    await postEvents(exporter.url, [
      { id: 'today-1', type: 'session.queue', time: t(0), sessionId: 'T-S1', groupId: 'g1', via: 'direct' },
      { id: 'today-2', type: 'session.answer', time: t(12), sessionId: 'T-S1', groupId: 'g1', agentId: 'a1' },
    ]);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date(t(0)));
    const r = await queryRows(exporter.url, {
      report: 'group_daily',
      from: today,
      to: today,
      metrics: ['inflow', 'answered', 'answered_20s'],
    });
    assert.equal(r.meta.provisional, true);
    // One leg queued 10 minutes ago (unless that was before midnight, when there is nothing today).
    if (today === new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date(now)))
      assert.deepEqual(
        r.rows.map((x) => [x.inflow, x.answered, x.answered_20s]),
        [[1, 1, 1]],
      );
  });

  it('When `cs-exporter rollup` backfills a range, then it recomputes each day with events and says how long it took', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'rollup', '--from', '2026-11-19', '--to', '2026-11-22', '--tenant', 'default'],
      { cwd: exporterRoot, env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'warn' } },
    );
    // The 22nd has no events; the 20th counts S1, S2, S3, S5, S6, S7, S9 and the 21st S6 (its end), not S4, which never asked for a human.
    assert.deepEqual(
      stdout
        .trim()
        .split('\n')
        .map((l) => l.replace(/ in [\d.]+ s$/, '')),
      ['default 2026-11-19: 0 sessions', 'default 2026-11-20: 7 sessions', 'default 2026-11-21: 1 sessions'],
    );
  });
});
