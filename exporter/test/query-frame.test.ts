/**
 * The frame of a report answer is built the same way from rows and from a statement's rows with
 * their mapping (which the rolled-up reports hand over, so their mapped rows are never all held):
 * same columns, same values, absent values as null, in the asked order of metrics.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findReport, type ReportDef } from '../src/catalog.js';
import { parseQuery, toFrame, type ReportQuery, type Row } from '../src/query/registry.js';

const TZ = 'Asia/Shanghai';

describe('data frames from rows and from mapped statement rows', () => {
  // Two agent days as a statement returns them (arrays), and the mapping to report rows.
  const source = [
    ['2026-11-20', 'a1', 3, 10],
    ['2026-11-20', 'a2', 0, 0],
  ];
  const map = (s: any[]): Row => ({
    date: s[0],
    agent_id: s[1],
    agent_name: `名${s[1]}`,
    answered: s[2],
    rated_rate: s[3] ? s[2] / s[3] : null,
  });

  it('When a report answers with its statement rows and their mapping, then the frame equals the one from the mapped rows', () => {
    // The metrics in an order of the request's choosing, one of them never set by the mapping (null).
    const q = parseQuery(
      { report: 'agent_daily', from: '2026-11-20', to: '2026-11-20', metrics: ['rated_rate', 'answered', 'work_hours'] },
      TZ,
    );
    const fromMapped = toFrame(q, { source, map });
    assert.deepEqual(fromMapped, toFrame(q, { rows: source.map(map) }));
    const values = Object.fromEntries(fromMapped.fields.map((f) => [f.name, f.values]));
    assert.deepEqual(values, {
      date: ['2026-11-20', '2026-11-20'],
      agent_id: ['a1', 'a2'],
      agent_name: ['名a1', '名a2'],
      work_no: [null, null],
      // a1: 3 answered of 10 → 0.3; a2: no denominator → null.
      rated_rate: [0.3, null],
      answered: [3, 0],
      work_hours: [null, null],
    });
    assert.deepEqual(
      fromMapped.fields.map((f) => f.name),
      ['date', 'agent_id', 'agent_name', 'work_no', 'rated_rate', 'answered', 'work_hours'],
    );
  });

  it('When requests ask the metrics in many orders, then every frame still holds each metric under its own name', () => {
    const ids = findReport('agent_daily')!.metrics.map((m) => m.id);
    // More orders than the compiled writers kept at once (256): the cache lets old ones go, answers stay right.
    for (let n = 0; n < 300; n++) {
      const order = [ids[n % ids.length], ids[(n * 7 + 3) % ids.length], ids[(n * 13 + 5) % ids.length]].filter(
        (v, i, a) => a.indexOf(v) === i,
      );
      const q = parseQuery({ report: 'agent_daily', from: '2026-11-20', to: '2026-11-20', metrics: order }, TZ);
      const frame = toFrame(q, { source, map: (s) => Object.fromEntries(ids.map((id) => [id, `${id}:${s[1]}`])) });
      for (const f of frame.fields.filter((f) => order.includes(f.name))) assert.deepEqual(f.values, [`${f.name}:a1`, `${f.name}:a2`]);
    }
  });

  it('When a column id is not an identifier, then building the frame fails instead of compiling it into code', () => {
    const report: ReportDef = {
      ...findReport('agent_daily')!,
      dimensions: [{ id: 'a-1; process.exit(1)', name: 'x', type: 'string' } as never],
    };
    const q: ReportQuery = { report, tenant: 'default', metrics: [], groups: [], agents: [], filters: {} };
    assert.throws(() => toFrame(q, { rows: [{}] }), /not an identifier/);
  });
});
