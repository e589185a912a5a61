import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useTestExporter } from './helpers/exporter.js';
import { postEvents, validExamples, withCommon } from './helpers/events.js';

describe('dedupe by id per tenant', () => {
  const harness = useTestExporter();

  const count = async (ids: unknown[]) =>
    (await harness.db.pool.query('SELECT count(*)::int AS n FROM events WHERE id = ANY($1)', [ids])).rows[0].n as number;

  it('When a batch is redelivered, then every event is a duplicate and nothing is stored twice', async () => {
    const ex = validExamples();
    const batch = Object.values(ex).map((e, i) => withCommon(e, `2026-11-${String(18 + (i % 3)).padStart(2, '0')}T12:00:00+08:00`));
    const first = await postEvents(harness.exporter.url, batch);
    assert.deepEqual(first.body, { accepted: batch.length, duplicates: 0, rejected: [] });
    const again = await postEvents(harness.exporter.url, batch);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, { accepted: 0, duplicates: batch.length, rejected: [] });
    assert.equal(await count(batch.map((e) => e.id)), batch.length);
  });

  it('When a redelivered event changed its time, then it is still a duplicate (the id is the key)', async () => {
    const e = withCommon(validExamples()['session.end'], '2026-11-18T09:00:00+08:00');
    await postEvents(harness.exporter.url, e);
    const moved = { ...e, time: '2026-11-19T09:00:00+08:00' };
    const r = await postEvents(harness.exporter.url, moved);
    assert.deepEqual(r.body, { accepted: 0, duplicates: 1, rejected: [] });
    const rows = await harness.db.pool.query('SELECT day FROM events WHERE id = $1', [e.id]);
    assert.deepEqual(rows.rows, [{ day: '2026-11-18' }]);
  });

  it('When the same id comes from another tenant, then it is another event', async () => {
    const e = withCommon(validExamples()['session.start']);
    const other = { ...e, tenant: 'acme' };
    assert.equal((await postEvents(harness.exporter.url, e)).body.accepted, 1);
    assert.equal((await postEvents(harness.exporter.url, other)).body.accepted, 1);
    const rows = await harness.db.pool.query('SELECT tenant FROM events WHERE id = $1 ORDER BY tenant', [e.id]);
    assert.deepEqual(
      rows.rows.map((r) => r.tenant),
      ['acme', 'default'],
    );
  });

  it('When one batch holds the same id twice, then the first is stored and the second is a duplicate', async () => {
    const e = withCommon(validExamples()['agent.log']);
    const r = await postEvents(harness.exporter.url, [e, { ...e, operation: '登出' }]);
    assert.deepEqual(r.body, { accepted: 1, duplicates: 1, rejected: [] });
    const rows = await harness.db.pool.query(`SELECT body->>'operation' AS op FROM events WHERE id = $1`, [e.id]);
    assert.deepEqual(rows.rows, [{ op: '登录' }]);
  });

  it('When concurrent requests carry overlapping ids, then each id is stored once and counted once as accepted', async () => {
    const events = Array.from({ length: 300 }, () => withCommon(validExamples()['session.message']));
    // Five producers send overlapping windows of the same 300 events at once.
    const windows = [0, 50, 100, 150, 200].map((start) => events.slice(start, start + 100));
    const answers = await Promise.all(windows.map((w) => postEvents(harness.exporter.url, w)));
    const accepted = answers.reduce((n, a) => n + a.body.accepted, 0);
    const duplicates = answers.reduce((n, a) => n + a.body.duplicates, 0);
    assert.equal(accepted, 300);
    assert.equal(duplicates, 200);
    assert.equal(await count(events.map((e) => e.id)), 300);
  });

  it('When the days of a batch are new, then each gets its own partition and the day counters move', async () => {
    const a = withCommon(validExamples()['session.end'], '2025-01-01T23:59:59+08:00');
    const b = withCommon(validExamples()['session.end'], '2025-01-02T00:00:00+08:00');
    await postEvents(harness.exporter.url, [a, b]);
    const parts = await harness.db.pool.query(`SELECT id, tableoid::regclass::text AS part FROM events WHERE id = ANY($1) ORDER BY part`, [
      [a.id, b.id],
    ]);
    assert.deepEqual(parts.rows, [
      { id: a.id, part: 'events_p20250101' },
      { id: b.id, part: 'events_p20250102' },
    ]);
    const days = await harness.db.pool.query(
      `SELECT day, sum(events)::bigint AS events FROM event_days WHERE tenant = 'default' AND day IN ('2025-01-01', '2025-01-02') GROUP BY day ORDER BY day`,
    );
    assert.deepEqual(days.rows, [
      { day: '2025-01-01', events: 1 },
      { day: '2025-01-02', events: 1 },
    ]);
  });

  it('When a text holds a NUL character, which Postgres cannot store, then only that event is refused, by validation', async () => {
    const good = withCommon(validExamples()['session.message']);
    const bad = withCommon({ ...validExamples()['session.message'], text: 'a\u0000b' });
    const r = await postEvents(harness.exporter.url, [good, bad]);
    assert.equal(r.body.accepted, 1);
    assert.equal(r.body.rejected.length, 1);
    assert.equal(r.body.rejected[0].index, 1);
    assert.match(r.body.rejected[0].error, /^text: holds NUL/);
    assert.equal(await count([good.id, bad.id]), 1);
  });
});
