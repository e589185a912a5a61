/**
 * One bad event cannot fail other producers' requests. Validation refuses, per event, everything
 * that would throw inside the merged transaction; and should something still slip through, the
 * writer bisects the merged batch so that only the culprit's request fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { useTestExporter } from './helpers/exporter.js';
import { postEvents, uid, validExamples, withCommon } from './helpers/events.js';
import { EventStore } from '../src/ingest/store.js';
import { EventWriter, type WriteOutcome } from '../src/ingest/writer.js';
import { validateEvent, type StoredEvent } from '../src/ingest/validate.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

const TZ = 'Asia/Shanghai';
const TIME = '2026-11-20T10:00:00+08:00';

function nested(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = { down: v };
  return v;
}

// JSON.stringify cannot write 10,000 levels (call stack): the text is spliced in by hand.
const DEEP = '__deep__';
const deepText = `${'{"down":'.repeat(10_000)}"bottom"${'}'.repeat(10_000)}`;
const toJson = (v: unknown) => JSON.stringify(v).replace(`"${DEEP}"`, deepText);

const good = (n: number, producer: string) =>
  Array.from({ length: n }, (_, i) => withCommon({ ...validExamples()['session.message'], sessionId: `${producer}-${i % 50}` }, TIME));

/** Each bad event and the start of the error it must get. */
const BAD: [string, () => Record<string, unknown>, RegExp][] = [
  [
    'a time in the year 0100',
    () => withCommon(validExamples()['session.end'], '0100-06-01T00:00:00Z'),
    /^time: .* is before 2000-01-01T00:00:00.000Z, the earliest time accepted/,
  ],
  [
    'a time in the year 0999',
    () => withCommon(validExamples()['session.end'], '0999-12-31T23:59:59+08:00'),
    /^time: .* is before 2000-01-01/,
  ],
  [
    'seconds sent as milliseconds (1970)',
    () => withCommon(validExamples()['session.end'], 1_763_700_000),
    /^time: 1970-01-21T.* is before 2000-01-01.*not seconds/,
  ],
  [
    'a deadline past year 9999',
    () => withCommon({ ...validExamples()['ticket.update'], deadline: 8.64e15 }, TIME),
    /^deadline: .* is outside/,
  ],
  [
    'an unknown field nested 10,000 deep',
    () => ({ ...withCommon(validExamples()['session.end'], TIME), extra: DEEP }),
    /^extra(\.down)+…?: nests deeper than 16 levels/,
  ],
  [
    'unknown fields over 64 KiB',
    () => ({ ...withCommon(validExamples()['session.end'], TIME), blob: 'x'.repeat(70_000) }),
    /^\(event\): unknown extra fields take \d+ bytes; at most 65536/,
  ],
  ['NUL in a text', () => withCommon({ ...validExamples()['session.message'], text: 'a\u0000b' }, TIME), /^text: holds NUL/],
  ['NUL in an unknown key', () => ({ ...withCommon(validExamples()['session.end'], TIME), 'k\u0000': 1 }), /a field name holds NUL/],
  [
    'a lone surrogate',
    () => withCommon({ ...validExamples()['session.message'], text: 'a\ud800b' }, TIME),
    /^text: holds .*lone UTF-16 surrogate/,
  ],
];

describe('validation refuses, per event, what would fail a merged transaction', () => {
  const harness = useTestExporter();

  for (const [what, make, error] of BAD) {
    it(`When an event carries ${what}, then that event alone is rejected, naming the field`, async () => {
      const ok = withCommon(validExamples()['session.end'], TIME);
      const r = await postEvents(harness.exporter.url, null, { raw: toJson([ok, make()]) });
      assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
      assert.equal(r.body.accepted, 1);
      assert.equal(r.body.rejected.length, 1);
      assert.equal(r.body.rejected[0].index, 1);
      assert.match(r.body.rejected[0].error, error);
    });
  }

  it('When one request of bad events races 20 producers of 1,000 good ones, then every good request is acknowledged and stored', async () => {
    const producers = Array.from({ length: 20 }, (_, p) => good(1000, `p${p}`));
    const badBody = toJson(BAD.map(([, make]) => make()));
    const answers = await Promise.all([
      ...producers.map((events) => postEvents(harness.exporter.url, events)),
      postEvents(harness.exporter.url, null, { raw: badBody }),
    ]);
    for (const a of answers.slice(0, 20))
      assert.deepEqual({ status: a.status, accepted: a.body.accepted }, { status: 200, accepted: 1000 });
    const bad = answers[20];
    assert.equal(bad.status, 400);
    assert.equal(bad.body.rejected.length, BAD.length);
    const ids = producers.flat().map((e) => e.id as string);
    const stored = await harness.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM event_ids WHERE id = ANY($1)', [ids]);
    assert.equal(stored.rows[0].n, 20_000);
  });
});

describe('the writer isolates a merged batch that fails anyway', () => {
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase();
  });
  after(async () => {
    await db.drop();
  });

  const stored = (e: Record<string, unknown>): StoredEvent => {
    const v = validateEvent(e, TZ);
    assert.ok(v.ok, JSON.stringify(v));
    return v.event;
  };

  it('When an event that passed validation fails inside a transaction merged with 20,000 good ones, then only its request fails', async () => {
    const writer = new EventWriter(new EventStore(db.pool), { maxInFlight: 1, maxBatch: 25_000 });
    // The first write holds the only transaction slot, so the rest queue and merge into one batch.
    const first = writer.write(good(10, 'warm').map(stored));
    const producers = Array.from({ length: 20 }, (_, p) => good(1000, `w${p}`).map(stored));
    // As if validation had missed it: nesting that makes storing the batch throw (JSON.stringify's call stack).
    const culprit = stored(withCommon(validExamples()['session.end'], TIME));
    culprit.event = { ...culprit.event, extra: nested(10_000) } as unknown as typeof culprit.event;
    const writes = [...producers.slice(0, 10), [culprit], ...producers.slice(10)].map((events) =>
      writer.write(events).then(
        (o): WriteOutcome[] | Error => o,
        (err: Error) => err,
      ),
    );
    await first;
    const results = await Promise.all(writes);
    const culpritResult = results[10];
    assert.ok(culpritResult instanceof Error, 'the culprit request was acknowledged');
    for (const [i, r] of results.entries()) {
      if (i === 10) continue;
      assert.ok(Array.isArray(r), `innocent request ${i} failed: ${String(r)}`);
      assert.deepEqual(new Set(r), new Set(['accepted']));
    }
    const ids = producers.flat().map((e) => e.id);
    const n = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM event_ids WHERE id = ANY($1)', [ids]);
    assert.equal(n.rows[0].n, 20_000);
    assert.equal((await db.pool.query('SELECT 1 FROM event_ids WHERE id = $1', [culprit.id])).rowCount, 0);
  });
});
