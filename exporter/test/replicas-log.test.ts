/**
 * The log follower's cursor (live/follow.ts) against the two ways a log read can
 * go wrong, with transactions held open by hand on the exporter's database:
 * a transaction that began first but commits after a younger one was read (a
 * "read up to the highest seq" cursor skips it for good), and an unrelated long
 * transaction (a "read below the oldest running xid" cursor stalls behind it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { startTestExporter } from './helpers/exporter.js';
import { postEvents, uid } from './helpers/events.js';
import { waitFor } from './helpers/faults.js';
import { scrape } from './helpers/live.js';
import type { Exporter } from '../src/exporter.js';
import { COMPONENTS } from '../src/components.js';
import type { Config } from '../src/config.js';
import { liveComponent } from '../src/live/component.js';
import { listMigrations, migrate } from '../src/db/migrate.js';
import { partitionName } from '../src/ingest/store.js';
import { addDays, localDay } from '../src/time.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

describe('The live state follows the committed log', () => {
  let db: TestDatabase;
  let ex: Exporter;
  let live: ReturnType<typeof liveComponent> | undefined;
  // Another writer of the same log, as another replica would be: rows reach this exporter through the log only.
  let other: pg.Client;
  let template: { day: string; body: Record<string, unknown> };

  const queued = (group: string) => {
    const sid = uid('s');
    return { id: `${sid}-q`, type: 'session.queue', time: Date.now() - 30_000, sessionId: sid, groupId: group, via: 'direct' };
  };
  // Legs that entered the group today (metrics.md), whichever way they entered (the via label).
  const inflow = async (group: string) => {
    let n = 0;
    for (const [k, v] of await scrape(ex.url)) if (k.startsWith('cs_sessions_inflow_total{') && k.includes(`group="${group}"`)) n += v;
    return n;
  };
  /** Inserts a queued session into the log as the exporter stores it (same columns, same body, the NOTIFY of ingest/store.ts), on `client`. */
  const insert = async (client: pg.Client, group: string) => {
    const e = queued(group);
    await client.query(
      `WITH stored AS (INSERT INTO events (tenant, id, type, time, day, session_id, body) VALUES ('default', $1, $2, $3, $4, $5, $6) RETURNING 1) SELECT pg_notify('cs_events', '') FROM stored`,
      [e.id, e.type, new Date(e.time), template.day, e.sessionId, { ...template.body, ...e }],
    );
  };

  before(async () => {
    db = await freshDatabase();
    // A poll far beyond the test: a row that arrives came with the NOTIFY of its commit.
    // The live component kept, to read its follower's figures.
    const factories = COMPONENTS.map((f) => (f === liveComponent ? (c: Config) => (live = liveComponent(c)) : f));
    ex = await startTestExporter(db.url, { liveFollowPollMs: 60_000 }, factories);
    const first = queued('g0');
    assert.equal((await postEvents(ex.url, [first])).status, 200);
    const { rows } = await db.pool.query(`SELECT day::text AS day, body FROM events WHERE id = $1`, [first.id]);
    template = rows[0];
    other = new pg.Client({ connectionString: db.url });
    await other.connect();
  });
  after(async () => {
    await other?.end();
    await ex?.close();
    await db?.drop();
  });

  it('When this exporter stores events itself, then its follower does not read them back from the log, and another writer\'s still come through, once', async () => {
    const follower = live!.follower()!;
    await follower.caughtUp();
    const rowsBefore = follower.stats.rows;
    const mine = [queued('g-mine'), queued('g-mine'), queued('g-mine')];
    assert.equal((await postEvents(ex.url, mine)).status, 200);
    assert.equal((await postEvents(ex.url, [queued('g-mine')])).status, 200);
    await insert(other, 'g-theirs');
    await waitFor('the other writer\'s event in 监控', async () => ((await inflow('g-theirs')) === 1 ? true : undefined), 2_000);
    await follower.caughtUp();
    // Its own four were applied as its writer answered (two transactions of its own, skipped by
    // id in the read); before, every one came back from Postgres with its body to be skipped.
    assert.equal(follower.stats.rows - rowsBefore, 1, 'rows read back: only the other writer\'s');
    assert.equal(await inflow('g-mine'), 4);
    assert.equal(await inflow('g-theirs'), 1);
  });

  it('When a transaction commits after a younger one was already read, then its events still reach 监控, once', async () => {
    const older = new pg.Client({ connectionString: db.url });
    await older.connect();
    try {
      await older.query('BEGIN');
      // Its xid and its seq both come before the younger transaction's.
      await insert(older, 'g-older');
      await insert(other, 'g-younger');
      await waitFor('the younger transaction in 监控', async () => ((await inflow('g-younger')) === 1 ? true : undefined), 2_000);
      assert.equal(await inflow('g-older'), 0, 'not committed yet: not shown');
      await older.query('COMMIT');
      const t0 = Date.now();
      await waitFor('the older transaction in 监控', async () => ((await inflow('g-older')) === 1 ? true : undefined), 2_000);
      assert.ok(Date.now() - t0 < 1_000, `shown ${Date.now() - t0} ms after its commit`);
      // And not again at the next reads.
      await insert(other, 'g-younger');
      await waitFor('the next event', async () => ((await inflow('g-younger')) === 2 ? true : undefined), 2_000);
      assert.equal(await inflow('g-older'), 1);
    } finally {
      await older.end();
    }
  });

  it('When another transaction stays open for long (a rollup, a session left in a transaction), then events committed meanwhile reach 监控 within a second', async () => {
    const idle = new pg.Client({ connectionString: db.url });
    await idle.connect();
    try {
      await idle.query('BEGIN');
      // An xid of its own, held: the oldest running transaction for as long as the test.
      await idle.query('SELECT pg_current_xact_id()');
      for (const n of [1, 2]) {
        await insert(other, 'g-during');
        const t0 = Date.now();
        await waitFor(`event ${n} in 监控`, async () => ((await inflow('g-during')) === n ? true : undefined), 2_000);
        assert.ok(Date.now() - t0 < 1_000, `shown ${Date.now() - t0} ms after its commit`);
      }
      // Events posted to this exporter meanwhile: shown at once, and once (its own, then passed by the log).
      const mine = [queued('g-own'), queued('g-own')];
      assert.equal((await postEvents(ex.url, mine)).status, 200);
      assert.equal(await inflow('g-own'), 2);
      await insert(other, 'g-during');
      await waitFor('the log past the own events', async () => ((await inflow('g-during')) === 3 ? true : undefined), 2_000);
      assert.equal(await inflow('g-own'), 2);
    } finally {
      await idle.query('ROLLBACK');
      await idle.end();
    }
  });
});

describe('An existing database migrating to replicas (migration 008)', () => {
  let db: TestDatabase;
  after(async () => {
    await db?.drop();
  });

  it('When a database with stored events and day partitions takes migration 008, then its events still show, and new ones, from any writer, follow', async () => {
    db = await freshDatabase({ migrate: false });
    // The schema as it was before 008, with a day partition and an event in it.
    const before = listMigrations().filter((m) => m.version < 8);
    for (const m of before) await db.pool.query(m.sql);
    await db.pool.query(
      'CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    for (const m of before) await db.pool.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    const day = localDay(Date.now(), 'Asia/Shanghai');
    await db.pool.query(`CREATE TABLE ${partitionName(day)} PARTITION OF events FOR VALUES FROM ('${day}') TO ('${addDays(day, 1)}')`);
    const old = { id: 'old-q', type: 'session.queue', time: Date.now() - 60_000, sessionId: 'old', groupId: 'g-old', via: 'direct' };
    const insertSql = `WITH stored AS (INSERT INTO events (tenant, id, type, time, day, session_id, body) VALUES ('default', $1, $2, $3, $4, $5, $6) RETURNING 1) SELECT pg_notify('cs_events', '') FROM stored`;
    await db.pool.query(insertSql, [old.id, old.type, new Date(old.time), day, old.sessionId, old]);

    assert.deepEqual(
      (await migrate(db.pool)).filter((n) => n.startsWith('008')),
      ['008_replicas.sql'],
    );
    // The old row keeps no transaction id (no rewrite); the partition made before 008 stamps new rows.
    const { rows } = await db.pool.query(`SELECT xid IS NULL AS none FROM events WHERE id = 'old-q'`);
    assert.deepEqual(rows, [{ none: true }]);

    const ex = await startTestExporter(db.url, { liveFollowPollMs: 60_000 });
    try {
      const inflow = async (group: string) => {
        let n = 0;
        for (const [k, v] of await scrape(ex.url)) if (k.startsWith('cs_sessions_inflow_total{') && k.includes(`group="${group}"`)) n += v;
        return n;
      };
      assert.equal(await inflow('g-old'), 1, 'the event stored before the migration, from the start-up load');
      const other = { id: 'new-q', type: 'session.queue', time: Date.now() - 30_000, sessionId: 'new', groupId: 'g-new', via: 'direct' };
      await db.pool.query(insertSql, [other.id, other.type, new Date(other.time), day, other.sessionId, other]);
      await waitFor(
        'an event written elsewhere after the migration',
        async () => ((await inflow('g-new')) === 1 ? true : undefined),
        2_000,
      );
      assert.equal(await inflow('g-old'), 1);
      const { rows: stamped } = await db.pool.query(`SELECT xid IS NOT NULL AS stamped FROM events WHERE id = 'new-q'`);
      assert.deepEqual(stamped, [{ stamped: true }]);
    } finally {
      await ex.close();
    }
  });
});
