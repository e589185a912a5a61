import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { useTestExporter } from './helpers/exporter.js';
import { postEvents, validExamples, withCommon } from './helpers/events.js';
import { EVENT_TYPES } from '../src/ingest/schema.js';
import { parseRfc3339 } from '../src/ingest/validate.js';

// Each malformed form: the event type, what is wrong with it, and the field the
// error message has to name.
const MALFORMED: [string, (e: Record<string, unknown>) => void, string][] = [
  ['group.upsert', (e) => delete e.groupId, 'groupId'],
  ['group.upsert', (e) => (e.name = ''), 'name'],
  ['agent.upsert', (e) => (e.maxSessions = 'three'), 'maxSessions'],
  ['agent.upsert', (e) => (e.groups = 'g1'), 'groups'],
  ['agent.upsert', (e) => (e.groups = ['g1', 7]), 'groups.1'],
  ['agent.status', (e) => (e.status = 'sleeping'), 'status'],
  ['agent.status', (e) => delete e.agentId, 'agentId'],
  ['agent.log', (e) => delete e.operation, 'operation'],
  ['session.start', (e) => (e.userId = 42), 'userId'],
  ['session.start', (e) => delete e.sessionId, 'sessionId'],
  ['session.queue', (e) => (e.via = 'teleport'), 'via'],
  ['session.queue', (e) => delete e.groupId, 'groupId'],
  ['session.answer', (e) => delete e.agentId, 'agentId'],
  ['session.answer', (e) => (e.manual = 'yes'), 'manual'],
  ['session.abandon', (e) => delete e.groupId, 'groupId'],
  ['session.reject', (e) => (e.reason = 'tired'), 'reason'],
  ['session.transfer', (e) => (e.reason = 'bored'), 'reason'],
  ['session.transfer', (e) => delete e.agentId, 'agentId'],
  ['session.message', (e) => (e.from = 'cat'), 'from'],
  ['session.message', (e) => (e.text = 12), 'text'],
  ['session.invite', (e) => delete e.agentId, 'agentId'],
  ['session.rate', (e) => (e.score = 6), 'score'],
  ['session.rate', (e) => (e.score = 4.5), 'score'],
  ['session.end', (e) => (e.by = 'robot'), 'by'],
  ['session.summary', (e) => (e.channel = 'fax'), 'channel'],
  ['session.summary', (e) => (e.category = []), 'category'],
  ['ticket.create', (e) => delete e.deadline, 'deadline'],
  ['ticket.create', (e) => (e.deadline = 'tomorrow'), 'deadline'],
  ['ticket.create', (e) => delete e.ticketType, 'ticketType'],
  ['ticket.update', (e) => (e.deadline = '2026-13-01T00:00:00Z'), 'deadline'],
  ['ticket.close', (e) => delete e.ticketId, 'ticketId'],
  // Common fields, on any type.
  ['session.end', (e) => delete e.id, 'id'],
  ['session.end', (e) => (e.id = 'x'.repeat(129)), 'id'],
  ['session.end', (e) => (e.time = '2026-11-20 10:00:00'), 'time'],
  ['session.end', (e) => (e.time = '2026-02-30T10:00:00+08:00'), 'time'],
  ['session.end', (e) => (e.time = -5), 'time'],
  ['session.end', (e) => (e.time = Date.now() + 3 * 86400_000), 'time'],
  ['session.end', (e) => (e.tenant = ''), 'tenant'],
  ['session.end', (e) => (e.type = 'session.teleport'), 'type'],
  ['session.end', (e) => delete e.type, 'type'],
];

describe('POST /api/v1/events: the contract', () => {
  const harness = useTestExporter();

  for (const type of EVENT_TYPES) {
    it(`When a valid ${type} is posted, then it is accepted and stored`, async () => {
      const event = withCommon(validExamples()[type]);
      const r = await postEvents(harness.exporter.url, event);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, { accepted: 1, duplicates: 0, rejected: [] });
      const row = await harness.db.pool.query('SELECT type, body FROM events WHERE id = $1', [event.id]);
      assert.equal(row.rows[0].type, type);
      assert.deepEqual(row.rows[0].body, event);
    });
  }

  for (const [type, breakIt, field] of MALFORMED) {
    it(`When a ${type} has a bad or missing ${field}, then it is rejected naming ${field}`, async () => {
      const event = withCommon(validExamples()[type]);
      breakIt(event);
      const r = await postEvents(harness.exporter.url, [event]);
      assert.equal(r.status, 400);
      assert.equal(r.body.accepted, 0);
      assert.equal(r.body.rejected.length, 1);
      assert.equal(r.body.rejected[0].index, 0);
      assert.match(r.body.rejected[0].error, new RegExp(`(^|; )${field.replace('.', '\\.')}: `), r.body.rejected[0].error);
    });
  }

  it('When a batch mixes valid and malformed events, then the valid part is stored and the rest reported by index', async () => {
    const ex = validExamples();
    const good1 = withCommon(ex['session.start']);
    const bad1 = withCommon({ ...ex['session.rate'], score: 0 });
    const good2 = withCommon(ex['session.end']);
    const bad2 = 'not an event';
    const r = await postEvents(harness.exporter.url, [good1, bad1, good2, bad2]);
    assert.equal(r.status, 200);
    assert.equal(r.body.accepted, 2);
    assert.deepEqual(
      r.body.rejected.map((x) => x.index),
      [1, 3],
    );
    assert.match(r.body.rejected[0].error, /^score: /);
    assert.match(r.body.rejected[1].error, /must be a JSON object/);
    const n = await harness.db.pool.query('SELECT count(*)::int AS n FROM events WHERE id = ANY($1)', [[good1.id, good2.id, bad1.id]]);
    assert.equal(n.rows[0].n, 2);
  });

  it('When events come as NDJSON, then each line is an event and a broken line is rejected alone', async () => {
    const ex = validExamples();
    const a = withCommon(ex['agent.log']);
    const b = withCommon(ex['group.upsert']);
    const raw = `${JSON.stringify(a)}\n\n{"id": oops}\n${JSON.stringify(b)}\n`;
    const r = await postEvents(harness.exporter.url, null, { raw, contentType: 'application/x-ndjson' });
    assert.equal(r.status, 200);
    assert.equal(r.body.accepted, 2);
    assert.equal(r.body.rejected.length, 1);
    assert.equal(r.body.rejected[0].index, 1);
    assert.match(r.body.rejected[0].error, /line 3 is not valid JSON/);
  });

  it('When an event omits tenant, then it belongs to "default", and its day is the local day of its time', async () => {
    // 2026-11-20T17:30:00Z is 2026-11-21 01:30 in Asia/Shanghai.
    const e = withCommon(validExamples()['session.end'], '2026-11-20T17:30:00Z');
    await postEvents(harness.exporter.url, e);
    const row = await harness.db.pool.query(`SELECT tenant, day, tableoid::regclass::text AS part FROM events WHERE id = $1`, [e.id]);
    assert.deepEqual(row.rows[0], { tenant: 'default', day: '2026-11-21', part: 'events_p20261121' });
  });
});

describe('the published JSON Schema', () => {
  const schema = JSON.parse(readFileSync(new URL('../schema/events.schema.json', import.meta.url), 'utf8'));
  const ajv = new Ajv2020({ strict: false });
  ajv.addFormat('rfc3339', (s: string) => !Number.isNaN(parseRfc3339(s)));
  const validate = ajv.compile(schema);

  it('When the schema source changes, then the committed file must be regenerated', () => {
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/gen-schema.ts', '--check'], { cwd: new URL('..', import.meta.url) });
  });

  it('When an outside producer validates with the file, then it agrees with the exporter', () => {
    for (const [type, e] of Object.entries(validExamples()))
      assert.ok(validate(withCommon(e)), `${type}: ${JSON.stringify(validate.errors)}`);
    for (const [type, breakIt, field] of MALFORMED) {
      if (field === 'time' && type === 'session.end') continue; // the 24 h future bound is the exporter's, not the contract's
      const e = withCommon(validExamples()[type]);
      breakIt(e);
      if (field === 'time') continue;
      assert.equal(validate(e), false, `${type} with a broken ${field} passed the schema`);
    }
  });
});
