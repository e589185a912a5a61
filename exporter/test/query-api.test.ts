import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import type { Exporter } from '../src/exporter.js';
import type { ReportQuery } from '../src/query/registry.js';
import { createLogger } from '../src/log.js';
import { startExporter } from '../src/exporter.js';
import { loadConfig } from '../src/config.js';

const API = 'query-token';

describe('POST /api/v1/query: request checks and data frames', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  let seen: ReportQuery | undefined;
  before(async () => {
    db = await freshDatabase();
    // A report component whose rows echo the query, so what the route hands it can be checked.
    const echo = () => ({
      name: 'echo',
      reports: {
        group_daily: (q: ReportQuery) => {
          seen = q;
          return { rows: [{ date: q.from, group_id: 'g1', group_name: '售前咨询', inflow: 3, answer_rate: null }], provisional: true };
        },
      },
    });
    exporter = await startExporter({ ...loadConfig({}), port: 0, databaseUrl: db.url, apiToken: API }, createLogger('silent'), [echo]);
  });
  after(async () => {
    await exporter.close();
    await db.drop();
  });

  const query = async (body: unknown, token = API) => {
    const r = await fetch(`${exporter.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as any };
  };

  it('When a report is queried, then the answer is one frame with dimensions, then the asked metrics with Chinese names and units', async () => {
    const r = await query({
      report: 'group_daily',
      from: '2026-11-01',
      to: '2026-11-07',
      metrics: ['inflow', 'answer_rate'],
      groups: ['g1'],
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.meta.provisional, true);
    const [frame] = r.body.frames;
    assert.equal(frame.name, '人工技能组日统计');
    assert.deepEqual(
      frame.fields.map((f: any) => [f.name, f.type, f.config.displayName, f.config.unit ?? null, f.values]),
      [
        ['date', 'string', '日期', null, ['2026-11-01']],
        ['group_id', 'string', '技能组ID', null, ['g1']],
        ['group_name', 'string', '技能组', null, ['售前咨询']],
        ['inflow', 'number', '流入量', 'none', [3]],
        ['answer_rate', 'number', '接通率', 'percentunit', [null]],
      ],
    );
    assert.deepEqual([seen!.tenant, seen!.groups, seen!.agents], ['default', ['g1'], []]);
  });

  it('When from/to are epoch milliseconds, then they become local days', async () => {
    // 2026-11-01T16:30Z is 2026-11-02 00:30 in Shanghai.
    const r = await query({ report: 'group_daily', from: Date.parse('2026-11-01T16:30:00Z'), to: Date.parse('2026-11-03T01:00:00Z') });
    assert.equal(r.status, 200);
    assert.deepEqual([seen!.from, seen!.to], ['2026-11-02', '2026-11-03']);
    assert.equal(
      seen!.metrics.length,
      24,
      'all 24 metrics of group_daily (8 flow + 2 rated + 10 levels + 2 invited + 2 20s) when none are named',
    );
  });

  const BAD: [string, unknown, RegExp][] = [
    ['an unknown report', { report: 'nope', from: '2026-11-01', to: '2026-11-02' }, /report: unknown report "nope"; one of group_daily/],
    [
      'an unknown metric',
      { report: 'group_daily', from: '2026-11-01', to: '2026-11-02', metrics: ['inflow', 'bogus'] },
      /metrics: "bogus" is not a metric of group_daily/,
    ],
    ['a malformed day', { report: 'group_daily', from: '2026-11-31', to: '2026-12-02' }, /from: must be a day YYYY-MM-DD/],
    ['no range', { report: 'group_daily' }, /from and to: are required for group_daily/],
    [
      'a reversed range',
      { report: 'group_daily', from: '2026-11-05', to: '2026-11-01' },
      /to \(2026-11-01\) is before from \(2026-11-05\)/,
    ],
    ['a range over 400 days', { report: 'group_daily', from: '2025-01-01', to: '2026-03-01' }, /spans 425 days; at most 400/],
    [
      'groups that are not strings',
      { report: 'group_daily', from: '2026-11-01', to: '2026-11-01', groups: [1] },
      /groups: must be an array of strings/,
    ],
    ['an empty tenant', { report: 'group_daily', from: '2026-11-01', to: '2026-11-01', tenant: '' }, /tenant: must be a non-empty string/],
    // Older plugins sent the 会话记录 row cap beside filters, where it was silently ignored.
    [
      'a row limit outside filters',
      { report: 'sessions', from: '2026-11-01', to: '2026-11-01', limit: 50 },
      /limit: goes in filters \(filters\.limit, sessions only\)/,
    ],
  ];
  for (const [what, body, message] of BAD) {
    it(`When a query has ${what}, then 400 names the problem`, async () => {
      const r = await query(body);
      assert.equal(r.status, 400);
      assert.match(r.body.error, message);
    });
  }

  it('When the body is not JSON, then 400 says so', async () => {
    const r = await fetch(`${exporter.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API}` },
      body: '{"report":',
    });
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, /body is not valid JSON/);
  });

  it('When a catalog report has no handler in this exporter, then 501 says it is not available', async () => {
    const r = await query({ report: 'agent_daily', from: '2026-11-01', to: '2026-11-01' });
    assert.equal(r.status, 501);
    assert.match(r.body.error, /agent_daily is not available/);
  });

  it('When the token is wrong, then 401 and the handler is not reached', async () => {
    seen = undefined;
    const r = await query({ report: 'group_daily', from: '2026-11-01', to: '2026-11-01' }, 'guess');
    assert.equal(r.status, 401);
    assert.equal(seen, undefined);
  });
});
