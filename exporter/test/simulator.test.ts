import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simulateDay, type SimEvent, type TimedEvent } from '../src/simulator/day.js';
import { DEFAULT_OPTIONS, type SimOptions } from '../src/simulator/roster.js';
import { checkAgentLimits, checkSessionLifecycles, checkTickets } from '../src/simulator/lifecycle.js';
import { DaySource, Poster, Simulation, tenantOptions } from '../src/simulator/runner.js';
import { validateEvent } from '../src/ingest/validate.js';
import { EVENT_TYPES } from '../src/ingest/schema.js';
import { dayStartMs, localDay, localHour } from '../src/time.js';
import { liveRows, startLiveExporter, type Clock } from './helpers/live.js';
import { freshDatabase } from './helpers/db.js';
import { exporterRoot, startTestExporter } from './helpers/exporter.js';
import { loadConfig } from '../src/config.js';

const DAY = '2026-11-20';
const TZ = 'Asia/Shanghai';
// Traffic fixed independently of the staff, so runs with fewer agents face the same visitors.
const BASE: SimOptions = { ...DEFAULT_OPTIONS, agents: 30, peakPerHour: 330 };

function count(events: TimedEvent[], pred: (e: SimEvent) => boolean): number {
  let n = 0;
  for (const { event } of events) if (pred(event)) n++;
  return n;
}

describe('simulator: one seeded day', () => {
  let day: TimedEvent[];
  let events: SimEvent[];
  before(() => {
    day = simulateDay(BASE, DAY).events;
    events = day.map((e) => e.event);
  });

  it('When a day is simulated, then visitors arrive by the daily curve: late-morning and evening peaks far above the night', () => {
    const perHour = new Array(24).fill(0);
    for (const { ms, event } of day)
      if (event.type === 'session.start' && ms < Date.parse(`${DAY}T16:00:00Z`)) perHour[localHour(ms, TZ)]++;
    const night = (perHour[3] + perHour[4]) / 2;
    const morning = (perHour[10] + perHour[11]) / 2;
    const evening = (perHour[20] + perHour[21]) / 2;
    // The curve is 1.2–1.3 at the peaks and 0.06 at 03–05: about 20×; leave room for Poisson noise.
    assert.ok(morning > 8 * night, `morning ${morning} vs night ${night}: ${perHour.join(' ')}`);
    assert.ok(evening > 8 * night, `evening ${evening} vs night ${night}`);
    assert.ok(perHour[11] > perHour[7] && perHour[7] > perHour[4], perHour.join(' '));
  });

  it('When a day is simulated, then every event passes the contract validator and every type of events.md occurs', () => {
    const invalid = events.flatMap((e) => {
      const v = validateEvent(e, TZ, Date.parse('2030-01-01T00:00:00Z'));
      return v.ok ? [] : [`${e.id}: ${v.error}`];
    });
    assert.deepEqual(invalid.slice(0, 5), []);
    const types = new Set(events.map((e) => e.type));
    assert.deepEqual(
      EVENT_TYPES.filter((t) => !types.has(t)),
      [],
    );
  });

  it('When a day is simulated, then every session forms a valid lifecycle, tickets too, and no agent exceeds its 接待上限', () => {
    assert.deepEqual(checkSessionLifecycles(events, { complete: true }).slice(0, 5), []);
    assert.deepEqual(checkTickets(events).slice(0, 5), []);
    assert.deepEqual(checkAgentLimits(events).slice(0, 5), []);
    // The limit is reached at all (not trivially kept): some agent serves as many as its limit at once.
    const limits = new Map(events.filter((e) => e.type === 'agent.upsert').map((e) => [e.agentId, e.maxSessions as number]));
    const load = new Map<unknown, number>();
    const by = new Map<unknown, unknown>();
    let atLimit = 0;
    for (const e of events) {
      if (e.type === 'session.answer') {
        by.set(e.sessionId, e.agentId);
        load.set(e.agentId, (load.get(e.agentId) ?? 0) + 1);
        if (load.get(e.agentId) === limits.get(e.agentId)) atLimit++;
      } else if ((e.type === 'session.transfer' || e.type === 'session.end') && by.has(e.sessionId)) {
        load.set(by.get(e.sessionId), load.get(by.get(e.sessionId))! - 1);
        by.delete(e.sessionId);
      }
    }
    assert.ok(atLimit > 10, `agents reached their limit ${atLimit} times`);
  });

  it('When a day is simulated, then its behaviour is varied and plausible: channels, transfers, manual pick-ups, rejects, ratings', () => {
    const values = (type: string, field: string) => new Set(events.filter((e) => e.type === type).map((e) => String(e[field])));
    assert.deepEqual([...values('session.summary', 'channel')].sort(), ['inbound_call', 'manual_outbound', 'online', 'system_outbound']);
    assert.deepEqual([...values('session.transfer', 'reason')].sort(), ['manual', 'timeout']);
    assert.deepEqual([...values('session.queue', 'via')].sort(), ['direct', 'overflow', 'transfer']);
    assert.ok(values('session.reject', 'reason').has('off_hours'));
    assert.ok(count(day, (e) => e.type === 'session.answer' && e.manual === true) > 0);
    assert.ok(values('agent.status', 'status').size >= 9, [...values('agent.status', 'status')].join());
    assert.ok(events.some((e) => e.type === 'agent.status' && e.status === 'offline' && e.remark === '下班'));
    assert.ok(events.some((e) => e.type === 'session.summary' && Array.isArray(e.category) && e.category.length === 3));
    const scores = [1, 2, 3, 4, 5].map((s) => count(day, (e) => e.type === 'session.rate' && e.score === s));
    // Mostly 非常满意, a tail of unhappy visitors: 5 > 4 > 3 and every score occurs.
    assert.ok(scores[4] > scores[3] && scores[3] > scores[2] && scores.every((n) => n > 0), scores.join(' '));
    const starts = events.filter((e) => e.type === 'session.start');
    const users = starts.map((e) => e.userId).filter(Boolean);
    assert.ok(users.length < starts.length, 'some visitors are anonymous');
    assert.ok(new Set(users).size < users.length, 'some visitors come back');
    assert.ok(starts.every((e) => e.userId === undefined || typeof e.region === 'string'));
  });

  it('When agents are short (same seed, same visitors), then more visitors abandon the queue', () => {
    const rate = (ev: TimedEvent[]) => count(ev, (e) => e.type === 'session.abandon') / count(ev, (e) => e.type === 'session.queue');
    const short = simulateDay({ ...BASE, agents: 12 }, DAY).events;
    const normal = rate(day);
    const fewer = rate(short);
    assert.ok(fewer > 2 * normal && fewer > 0.15, `abandon rate ${normal.toFixed(3)} with 30 agents, ${fewer.toFixed(3)} with 12`);
    // The visitors are the same: arrivals do not depend on the staff.
    assert.equal(
      count(short, (e) => e.type === 'session.start'),
      count(day, (e) => e.type === 'session.start'),
    );
  });

  it('When the same seed runs twice, then the events are identical; another seed gives other events', () => {
    const small: SimOptions = { ...DEFAULT_OPTIONS, agents: 8 };
    const a = simulateDay(small, DAY).events;
    const b = simulateDay(small, DAY).events;
    assert.deepEqual(a, b);
    const c = simulateDay({ ...small, seed: 2 }, DAY).events;
    assert.notDeepEqual(
      c.map((e) => e.event.time),
      a.map((e) => e.event.time),
    );
  });
});

describe('simulator: lifecycle checker and tenants', () => {
  const ev = (sec: number, type: string, fields: Record<string, unknown>) => ({
    id: `x${sec}${type}`,
    type,
    time: 1_763_600_000_000 + sec * 1000,
    ...fields,
  });

  it('When sessions break their lifecycle or an agent goes over its limit, then the checkers name the session and the agent', () => {
    const events = [
      ev(0, 'agent.upsert', { agentId: 'a1', name: '张三', maxSessions: 1 }),
      ev(1, 'session.start', { sessionId: 's1' }),
      ev(2, 'session.answer', { sessionId: 's1', groupId: 'g1', agentId: 'a1' }),
      ev(3, 'session.start', { sessionId: 's2' }),
      ev(4, 'session.queue', { sessionId: 's2', groupId: 'g1', via: 'direct' }),
      ev(5, 'session.answer', { sessionId: 's2', groupId: 'g1', agentId: 'a1' }),
      ev(6, 'session.start', { sessionId: 's3' }),
      ev(7, 'session.queue', { sessionId: 's3', groupId: 'g1', via: 'direct' }),
      ev(8, 'session.end', { sessionId: 's3', by: 'user' }),
      ev(9, 'session.message', { sessionId: 's4', from: 'user' }),
      ev(10, 'ticket.close', { ticketId: 't1' }),
    ];
    const problems = checkSessionLifecycles(events, { complete: true });
    assert.ok(
      problems.some((p) => p.startsWith('s1: session.answer') && /while bot/.test(p)),
      problems.join('\n'),
    );
    assert.ok(problems.some((p) => p.startsWith('s3: session.end') && /while queued/.test(p)));
    assert.ok(problems.some((p) => p.startsWith('s4: session.message') && /never started/.test(p)));
    assert.ok(problems.some((p) => p === 's2: never ended (last state serving)'));
    assert.deepEqual(checkAgentLimits(events), ['a1: 2 sessions at 2025-11-20T00:53:25.000Z, limit 1']);
    assert.deepEqual(checkTickets(events), ['t1: ticket.close while not created']);
  });

  it('When the simulator settings are given, then they are read, defaulted and checked by name', () => {
    const d = loadConfig({});
    assert.deepEqual([d.simulateDays, d.simulateAgents, d.simulateSeed], [2, 40, 1]);
    const c = loadConfig({ CS_SIMULATE_DAYS: '7', CS_SIMULATE_AGENTS: '200', CS_SIMULATE_SEED: '42' });
    assert.deepEqual([c.simulateDays, c.simulateAgents, c.simulateSeed], [7, 200, 42]);
    assert.throws(() => loadConfig({ CS_SIMULATE_AGENTS: 'many' }), /CS_SIMULATE_AGENTS must be a whole number/);
    assert.throws(() => loadConfig({ CS_SIMULATE_DAYS: '-1' }), /CS_SIMULATE_DAYS must be a whole number from 0 to 90/);
  });

  it('When several tenants are simulated, then each has its own events under its own tenant, with default first', () => {
    const size = { seed: 1, tenants: 2, groups: 3, agents: 5, traffic: 1, timezone: TZ };
    assert.deepEqual(
      tenantOptions(size).map((o) => o.tenant),
      ['default', 'tenant2'],
    );
    const events = new DaySource(tenantOptions(size)).day(DAY);
    const tenants = new Set(events.map((e) => e.event.tenant ?? 'default'));
    assert.deepEqual([...tenants].sort(), ['default', 'tenant2']);
    assert.ok(
      events.every((e, i) => i === 0 || events[i - 1].ms <= e.ms),
      'merged in time order',
    );
    const t2 = events.filter((e) => e.event.tenant === 'tenant2').map((e) => e.event);
    assert.deepEqual(checkSessionLifecycles(t2, { complete: true }), []);
  });
});

describe('simulator: against a real exporter', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('When a full simulated day is posted, then the exporter accepts every event and rejects none; a redelivery only counts duplicates', async () => {
    const db = await freshDatabase();
    cleanup.push(() => db.drop());
    const exporter = await startTestExporter(db.url, { ingestToken: 'sim-token' });
    cleanup.push(() => exporter.close());
    const events = simulateDay({ ...DEFAULT_OPTIONS, agents: 10 }, DAY).events;
    const post = new Poster(exporter.url, 'sim-token', 3);
    for (let i = 0; i < events.length; i += 5000) await post.send(events.slice(i, i + 5000));
    await post.drain();
    assert.deepEqual([post.accepted, post.rejected, post.firstRejection], [events.length, 0, undefined]);
    const n = await db.pool.query('SELECT count(*)::int AS n FROM events');
    assert.equal(n.rows[0].n, events.length);
    await post.send(events.slice(0, 1000));
    await post.drain();
    assert.deepEqual([post.accepted, post.duplicates], [events.length, 1000]);
  });

  it('When the simulation runs live, then it sends today up to now at once and each later event once its time has come', async () => {
    const db = await freshDatabase();
    cleanup.push(() => db.drop());
    const exporter = await startTestExporter(db.url);
    cleanup.push(() => exporter.close());
    const size = { seed: 3, tenants: 1, groups: 4, agents: 6, traffic: 1, timezone: TZ };
    const all = simulateDay({ ...DEFAULT_OPTIONS, seed: 3, groups: 4, agents: 6 }, DAY).events;
    // A clock we move by hand: 10:00 local on DAY, then ten minutes later.
    let now = dayStartMs(DAY, TZ) + 10 * 3600_000;
    const stored = async () => (await db.pool.query('SELECT count(*)::int AS n FROM events')).rows[0].n as number;
    const until = async (n: number) => {
      for (let i = 0; i < 60 && (await stored()) < n; i++) await new Promise((r) => setTimeout(r, 100));
      return stored();
    };
    const sim = new Simulation({ size, days: 0, follow: true, post: new Poster(exporter.url, undefined), now: () => now });
    const dueAt = (t: number) => all.filter((e) => e.ms <= t).length;
    assert.equal(await until(dueAt(now)), dueAt(now));
    now += 10 * 60_000;
    assert.equal(await until(dueAt(now)), dueAt(now));
    assert.ok(dueAt(now) > dueAt(now - 10 * 60_000), 'the ten minutes held events');
    await sim.stop();
    now += 3600_000;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await stored(), dueAt(now - 3600_000), 'nothing is sent after stop()');
  });

  it('When the exporter runs with the simulator on, then health answers at once, simulated events arrive, and close() stops it cleanly', async () => {
    const db = await freshDatabase();
    cleanup.push(() => db.drop());
    const t0 = Date.now();
    const exporter = await startTestExporter(db.url, { simulate: true, simulateDays: 1, simulateAgents: 5, ingestToken: 'tok' });
    const health = await fetch(`${exporter.url}/api/v1/health`);
    assert.equal(health.status, 200);
    assert.ok(Date.now() - t0 < 10_000);
    let n = 0;
    for (let i = 0; i < 100 && n === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      n = (await db.pool.query(`SELECT count(*)::int AS n FROM events WHERE id LIKE 'sim-%'`)).rows[0].n;
    }
    assert.ok(n > 0, 'simulated events were stored');
    const closing = Date.now();
    await exporter.close();
    assert.ok(Date.now() - closing < 15_000, 'close() waited for the simulator only as long as its batch in flight');
  });

  it('When `cs-exporter simulate --backfill 1d` runs against an exporter, then it sends yesterday and today so far, all accepted, and exits', async () => {
    const db = await freshDatabase();
    cleanup.push(() => db.drop());
    const exporter = await startTestExporter(db.url, { ingestToken: 'cli-token' });
    cleanup.push(() => exporter.close());
    const args = ['--import', 'tsx', 'src/cli.ts', 'simulate', '--target', exporter.url, '--token', 'cli-token'];
    const child = spawn(process.execPath, [...args, '--agents', '4', '--groups', '2', '--seed', '9', '--backfill', '1d'], {
      cwd: exporterRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (c) => (err += c));
    const code = await new Promise((r) => child.on('exit', r));
    assert.equal(code, 0, err);
    const m = /accepted (\d+), duplicates 0, rejected 0/.exec(err);
    assert.ok(m, err);
    const n = (await db.pool.query('SELECT count(*)::int AS n, count(DISTINCT day)::int AS days FROM events')).rows[0];
    assert.equal(n.n, Number(m[1]));
    assert.ok(n.days >= 2, `events on ${n.days} days`);
    assert.match(err, /backfilled \d+ events in [\d.]+ s \(\d+ events\/s\)/);
  });

  it('When `cs-exporter simulate --out` runs, then it writes valid NDJSON events', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cs-sim-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'events.ndjson');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'simulate', '--out', file, '--agents', '4', '--groups', '3', '--days', '1'],
      {
        cwd: exporterRoot,
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.match(r.stderr, new RegExp(`wrote ${lines.length} events`));
    assert.ok(lines.length > 1000);
    const bad = lines.map((l) => validateEvent(JSON.parse(l), TZ)).filter((v) => !v.ok);
    assert.deepEqual(bad, []);
    assert.ok(
      lines.every((l) => !/"groupId":"g[4-9]"/.test(l)),
      'only the 3 requested groups',
    );
  });
});

describe('simulator: the demo is alive at any hour (夜间热线)', () => {
  const H = 3600_000;
  const cleanup: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('When the default center is simulated from 02:00 to 06:00, then every hour has 夜间热线 agents online and sessions started and answered', () => {
    const events = simulateDay(DEFAULT_OPTIONS, DAY).events;
    const start = dayStartMs(DAY, TZ);
    const night = new Set(
      events.filter((e) => e.event.type === 'agent.upsert' && (e.event.groups as string[]).includes('night')).map((e) => e.event.agentId),
    );
    assert.equal(night.size, DEFAULT_OPTIONS.nightAgents);
    for (let h = 2; h < 6; h++) {
      const from = start + h * H;
      const inHour = events.filter((e) => e.ms >= from && e.ms < from + H).map((e) => e.event);
      const queued = inHour.filter((e) => e.type === 'session.queue' && e.groupId === 'night').length;
      const answered = inHour.filter((e) => e.type === 'session.answer' && e.groupId === 'night').length;
      assert.ok(queued > 0 && answered > 0, `${h}:00–${h + 1}:00: ${queued} queued, ${answered} answered on 夜间热线`);
      // Someone of the line is online (not only logged in) at every minute of the hour.
      const status = new Map<unknown, string>();
      let i = 0;
      for (let t = from; t < from + H; t += 60_000) {
        for (; i < events.length && events[i].ms <= t; i++)
          if (events[i].event.type === 'agent.status') status.set(events[i].event.agentId, events[i].event.status as string);
        const online = [...night].filter((a) => status.get(a) === 'online').length;
        assert.ok(online > 0, `nobody of 夜间热线 online at ${new Date(t).toISOString()}`);
      }
    }
    // The day groups still close at night: their requests are rejected off_hours, and never reach the night line.
    const earlyRejects = events.filter((e) => e.ms < start + 8 * H && e.event.type === 'session.reject');
    assert.ok(earlyRejects.length > 0 && earlyRejects.every((e) => e.event.reason === 'off_hours' && e.event.groupId !== 'night'));
  });

  it('When the simulator starts at 05:00 local, then 监控 shows 夜间热线 agents online and today’s sessions within a minute', async () => {
    const db = await freshDatabase();
    cleanup.push(() => db.drop());
    // Yesterday at 05:00, so the events are in the past whenever the test runs.
    const day = localDay(Date.now() - 24 * H, TZ);
    const clock: Clock = { ms: dayStartMs(day, TZ) + 5 * H };
    const exporter = await startLiveExporter(db.url, clock);
    cleanup.push(() => exporter.close());
    const size = { seed: 1, tenants: 1, groups: 6, agents: 40, traffic: 1, timezone: TZ };
    const sim = new Simulation({ size, days: 0, follow: true, post: new Poster(exporter.url, undefined), now: () => clock.ms });
    cleanup.push(() => sim.stop());
    const t0 = Date.now();
    let night: Record<string, unknown> | undefined;
    for (let i = 0; i < 600 && !(Number(night?.inflow) > 0 && Number(night?.agents_online) > 0); i++) {
      await new Promise((r) => setTimeout(r, 100));
      [night] = await liveRows(exporter.url, { report: 'live_groups', groups: ['night'] });
    }
    assert.ok(Date.now() - t0 < 60_000, `took ${Date.now() - t0} ms`);
    assert.equal(night?.group_name, '夜间热线');
    assert.ok(Number(night?.agents_online) >= 1 && Number(night?.inflow) >= 5 && Number(night?.answered) >= 1, JSON.stringify(night));
    const [overview] = await liveRows(exporter.url, { report: 'live_overview' });
    assert.ok(Number(overview.agents_online) >= 1, 'the 40 day agents are off, the night line is not');
  });
});
