/**
 * The data source against a real cs-exporter (started by test/globalSetup.ts):
 * what a user sees on "Save & test" and on a panel when things go wrong, and
 * what the exporter receives after template variables are applied.
 */
import { FieldType, createDataFrame } from '@grafana/data';
import {
  FakeTemplateSrv,
  freePortUrl,
  installBackendSrv,
  makeDataSource,
  makeScopedDataSource,
  request,
  scopedTenant,
} from '../test/testkit';
import { toTimeSeries, type DataSource } from './datasource';
import { REPORTS, findReport } from './catalog';
import type { CCQuery, ReportQuery, SessionsQuery } from './types';

beforeAll(() => installBackendSrv());

const report = (over: Partial<ReportQuery> = {}): ReportQuery => ({
  refId: 'A',
  queryType: 'report',
  report: 'group_daily',
  metrics: [],
  groups: [],
  agents: [],
  format: 'table',
  ...over,
});

// 2026-11-02 00:00 … 2026-11-03 23:59:59.999 in Asia/Shanghai (UTC+8).
const FROM = '2026-11-01T16:00:00.000Z';
const TO = '2026-11-03T15:59:59.999Z';

describe('Save & test', () => {
  it('reports success with the catalog size when URL and token are right', async () => {
    const r = await makeDataSource().testDatasource();
    expect(r.status).toBe('success');
    // Every report of the catalog (the exporter answers from the same module); whether handlers exist varies by build.
    expect(r.message).toMatch(
      new RegExp(`^Connected to the exporter at http://127\\.0\\.0\\.1:\\d+: ${REPORTS.length} reports, \\d+ available now\\.$`),
    );
  });

  // The exporter answers 401; Grafana's proxy turns that into 400 "Authentication to data source failed"
  // (pkg/api/pluginproxy/ds_proxy.go, HandleRequest's modifyResponse), which is all the plugin gets.
  it("says the token is wrong when the exporter refuses it (400 from Grafana's proxy)", async () => {
    const r = await makeDataSource({ token: 'not-the-token' }).testDatasource();
    expect(r).toEqual({
      status: 'error',
      message:
        'The exporter refused the API token (Grafana\'s proxy: "Authentication to data source failed"): ' +
        "set the API token in the data source settings to the exporter's CS_API_TOKEN, or to a tenant's token of CS_TENANT_API_TOKENS.",
    });
  });

  it('says the token is wrong when none is set', async () => {
    const r = await makeDataSource({ token: '' }).testDatasource();
    expect(r.message).toMatch(/^The exporter refused the API token \(Grafana's proxy: "Authentication to data source failed"\)/);
  });

  it('says the exporter cannot be reached when nothing listens', async () => {
    const url = await freePortUrl();
    const r = await makeDataSource({ url }).testDatasource();
    expect(r.status).toBe('error');
    expect(r.message).toBe(
      `Cannot reach the exporter at ${url} (HTTP 502 from Grafana's proxy): is it running, and is the URL in the data source settings right?`,
    );
  });

  it('asks for the URL before trying anything', async () => {
    const r = await makeDataSource({ url: '' }).testDatasource();
    expect(r).toEqual({ status: 'error', message: 'Set the exporter URL (e.g. http://127.0.0.1:9470) first.' });
  });
});

describe('query errors are shown on the panel, per query', () => {
  it('names an unknown metric (400 from the exporter)', async () => {
    const res = await makeDataSource().query(request([report({ metrics: ['inflow', 'no_such_metric'] })], FROM, TO));
    expect(res.data).toEqual([]);
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0].refId).toBe('A');
    expect(res.errors![0].message).toMatch(
      /^The exporter rejected the query of 人工技能组日统计 \(group_daily\): metrics: "no_such_metric" is not a metric of group_daily; its metrics are inflow, answered,/,
    );
  });

  it('names an unknown report (400)', async () => {
    const res = await makeDataSource().query(request([report({ report: 'no_such_report' })], FROM, TO));
    expect(res.errors![0].message).toMatch(
      /^The exporter rejected the query of no_such_report: report: unknown report "no_such_report"; one of group_daily,/,
    );
  });

  it('refuses a range over 400 days (400)', async () => {
    // 2025-01-01 … 2026-11-03 local: 365 + 307 = 672 days.
    const res = await makeDataSource().query(request([report()], '2024-12-31T16:00:00.000Z', TO));
    expect(res.errors![0].message).toBe(
      'The exporter rejected the query of 人工技能组日统计 (group_daily): the range 2025-01-01 … 2026-11-03 spans 672 days; at most 400 are allowed',
    );
  });

  it("says the token is wrong (the exporter's 401, a 400 through Grafana's proxy)", async () => {
    const res = await makeDataSource({ token: 'wrong' }).query(request([report(), report({ refId: 'B', report: 'overview' })], FROM, TO));
    expect(res.data).toEqual([]);
    expect(res.errors!.map((e) => [e.refId, e.status])).toEqual([
      ['A', 400],
      ['B', 400],
    ]);
    for (const e of res.errors!)
      expect(e.message).toBe(
        'The exporter refused the API token (Grafana\'s proxy: "Authentication to data source failed"): ' +
          "set the API token in the data source settings to the exporter's CS_API_TOKEN, or to a tenant's token of CS_TENANT_API_TOKENS.",
      );
  });

  it('a variable list with a refused token says so too', async () => {
    await expect(makeDataSource({ token: 'wrong' }).metricFindQuery({ kind: 'groups' })).rejects.toThrow(
      /^The exporter refused the API token \(Grafana's proxy: "Authentication to data source failed"\)/,
    );
  });

  it('says the exporter is down, and keeps the other queries apart', async () => {
    const url = await freePortUrl();
    const res = await makeDataSource({ url }).query(request([report(), report({ refId: 'B', report: 'overview' })], FROM, TO));
    expect(res.errors!.map((e) => e.refId)).toEqual(['A', 'B']);
    expect(res.errors![0].message).toMatch(new RegExp(`^Cannot reach the exporter at ${url.replace(/\./g, '\\.')} \\(HTTP 502`));
  });

  it('shows a report the exporter does not serve yet (501) as such', async () => {
    const ds = makeDataSource();
    const catalog = await ds.request<{ reports: Array<{ id: string; name: string; available: boolean; grain: string }> }>(
      'GET',
      '/reports',
    );
    const missing = catalog.reports.find((r) => !r.available && r.grain !== 'live' && r.id !== 'sessions');
    if (missing) {
      const res = await ds.query(request([report({ report: missing.id })], FROM, TO));
      expect(res.errors![0].message).toBe(
        `${missing.name} (${missing.id}) is not available in this exporter yet (501): report ${missing.id} is not available in this exporter yet`,
      );
    } else {
      // Every report is served (after the handlers were merged): the wording still has to hold for a 501.
      expect(ds.explain({ status: 501, data: { error: 'x' } }, '服务总量 (overview)').message).toBe(
        '服务总量 (overview) is not available in this exporter yet (501): x',
      );
    }
  });

  it('says an unknown session was not found (404)', async () => {
    const res = await makeDataSource().query(
      request([{ refId: 'S', queryType: 'session', sessionId: 'no-such-session', part: 'summary' }], FROM, TO),
    );
    expect(res.errors![0].message).toMatch(/^会话 no-such-session: not found \(404\)/);
  });

  it('skips queries that are not complete instead of failing', async () => {
    const res = await makeDataSource().query(request([{ refId: 'S', queryType: 'session', sessionId: ' ', part: 'legs' }], FROM, TO));
    expect(res).toEqual({ data: [] });
  });
});

describe("a tenant's own API token (CS_TENANT_API_TOKENS)", () => {
  it("passes Save & test: the catalog is no tenant's data", async () => {
    expect((await makeScopedDataSource().testDatasource()).status).toBe('success');
  });

  it('reads its own tenant', async () => {
    const res = await makeScopedDataSource().query(request([report({ tenant: scopedTenant() })], FROM, TO));
    expect(res.errors).toBeUndefined();
    expect(res.data).toHaveLength(1);
  });

  it('shows a query for another tenant as a query error naming both tenants (403), and keeps the other queries', async () => {
    const res = await makeScopedDataSource().query(
      request([report({ tenant: 'default' }), report({ refId: 'B', tenant: scopedTenant() })], FROM, TO),
    );
    expect(res.errors).toEqual([
      {
        refId: 'A',
        status: 403,
        message:
          'This data source\'s API token is for tenant "acme" only, and 人工技能组日统计 (group_daily) asks for tenant "default" (403): ' +
          'set the query\'s tenant (or the dashboard\'s tenant variable) to "acme", or use a data source whose token opens "default".',
      },
    ]);
    expect(res.data).toHaveLength(1);
    expect(res.data[0].refId).toBe('B');
  });

  it('the tenant of the dashboard variable is the one named', async () => {
    const vars = new FakeTemplateSrv([{ name: 'tenant', current: ['other'], options: ['acme', 'other'] }]);
    const res = await makeScopedDataSource(vars).query(
      request([{ refId: 'S', queryType: 'session', sessionId: 's1', part: 'summary' }], FROM, TO),
    );
    expect(res.errors![0].message).toMatch(
      /^This data source's API token is for tenant "acme" only, and 会话 s1 asks for tenant "other" \(403\)/,
    );
  });

  it('a variable query for another tenant fails with the same explanation', async () => {
    await expect(makeScopedDataSource().metricFindQuery({ kind: 'groups', tenant: 'default' })).rejects.toThrow(
      /^This data source's API token is for tenant "acme" only, and 技能组列表 \(live_groups\) asks for tenant "default" \(403\)/,
    );
  });
});

describe('template variables reach the exporter', () => {
  const vars = () =>
    new FakeTemplateSrv([
      { name: 'group', multi: true, current: ['g1', 'g2'], options: ['g1', 'g2', 'g3'] },
      { name: 'agent', multi: true, current: ['$__all'], options: ['a1', 'a2'] },
      { name: 'tenant', current: ['acme'], options: ['acme', 'default'] },
      { name: 'metric', current: ['bogus_metric'], options: ['bogus_metric'] },
      { name: 'rep', current: ['agent_daily'], options: ['agent_daily'] },
      { name: 'sat', multi: true, current: ['5', '4'], options: ['1', '2', '3', '4', '5'] },
      { name: 'session', current: ['s-42'], options: ['s-42'] },
    ]);

  it('a metric chosen by variable is what the exporter checks', async () => {
    const ds = makeDataSource({}, vars());
    const res = await ds.query(request([report({ report: '$rep', metrics: ['answered', '$metric'] })], FROM, TO));
    expect(res.errors![0].message).toMatch(
      /^The exporter rejected the query of 人工客服日统计 \(agent_daily\): metrics: "bogus_metric" is not a metric of agent_daily/,
    );
  });

  it('multi-value expands, All drops the filter, tenant and days follow the dashboard', () => {
    const ds = makeDataSource({}, vars());
    const body = ds.reportBody(
      report({ groups: ['$group', 'g9'], agents: ['$agent'], tenant: '${tenant}', filters: { x: '$session' } }),
      request([], FROM, TO),
    );
    expect(body).toEqual({
      report: 'group_daily',
      from: '2026-11-02',
      to: '2026-11-03',
      metrics: [],
      groups: ['g1', 'g2', 'g9'],
      agents: [],
      tenant: 'acme',
      filters: { x: 's-42' },
    });
  });

  it('a query without a tenant follows the dashboard tenant variable', () => {
    const ds = makeDataSource({}, vars());
    expect(ds.reportBody(report(), request([], FROM, TO)).tenant).toBe('acme');
    expect(ds.reportBody(report({ tenant: 'other' }), request([], FROM, TO)).tenant).toBe('other');
  });

  it('repeated panels (scopedVars) win over the dashboard value', () => {
    const ds = makeDataSource({}, vars());
    const body = ds.reportBody(report({ groups: ['$group'] }), request([], FROM, TO, { group: { text: 'G3', value: 'g3' } }));
    expect(body.groups).toEqual(['g3']);
  });

  it("'${tenant}' without such a variable means the default tenant", () => {
    const ds = makeDataSource();
    expect(ds.reportBody(report({ tenant: '${tenant}' }), request([], FROM, TO)).tenant).toBe('default');
    expect(ds.reportBody(report(), request([], FROM, TO)).tenant).toBe('default');
  });

  it('days are the tenant time zone, not the browser one', () => {
    // 2026-11-01T16:00Z is Nov 2 in Shanghai but Nov 1 in UTC; the end 15:59:59.999Z is Nov 3 in both.
    const utc = makeDataSource({ timezone: 'UTC' });
    expect(utc.reportBody(report(), request([], FROM, TO))).toMatchObject({ from: '2026-11-01', to: '2026-11-03' });
    // A range ending exactly at local midnight does not pull in the next day.
    const sh = makeDataSource();
    expect(sh.reportBody(report(), request([], FROM, '2026-11-03T16:00:00.000Z'))).toMatchObject({ from: '2026-11-02', to: '2026-11-03' });
  });

  it('live queries leave out the days and pass the name filter', () => {
    const ds = makeDataSource({}, vars());
    expect(
      ds.liveBody({ refId: 'L', queryType: 'live', report: 'live_agents', metrics: ['status'], groups: ['$group'], name: '张' }),
    ).toEqual({
      report: 'live_agents',
      metrics: ['status'],
      groups: ['g1', 'g2'],
      tenant: 'acme',
      filters: { name: '张' },
    });
  });

  it('sessions filters become the exporter types', () => {
    const ds = makeDataSource({}, vars());
    const q: SessionsQuery = {
      refId: 'S',
      queryType: 'sessions',
      groups: ['$group'],
      agents: ['$agent'],
      satisfaction: ['$sat'],
      revisit: 'no',
      userId: 'u1',
      category: '售后/退款',
      remark: '',
    };
    expect(ds.sessionsBody(q, request([], FROM, TO))).toEqual({
      report: 'sessions',
      from: '2026-11-02',
      to: '2026-11-03',
      groups: ['g1', 'g2'],
      agents: [],
      tenant: 'acme',
      filters: { userId: 'u1', satisfaction: [5, 4], category: '售后/退款', revisit: false },
    });
  });

  it('old saved queries are migrated before they are sent', async () => {
    const ds = makeDataSource();
    // {report, metric} from an older version, with a metric the exporter does not know.
    const res = await ds.query(request([{ refId: 'A', report: 'overview', metric: 'bogus' } as unknown as CCQuery], FROM, TO));
    expect(res.errors![0].message).toMatch(
      /^The exporter rejected the query of 服务总量 \(overview\): metrics: "bogus" is not a metric of overview/,
    );
  });
});

describe('daily rows as time series', () => {
  it('one frame per group, time at local midnight, names from the exporter', () => {
    const ds: DataSource = makeDataSource();
    const frame = createDataFrame({
      name: '人工技能组日统计',
      fields: [
        { name: 'date', type: FieldType.string, values: ['2026-11-02', '2026-11-02', '2026-11-01'], config: { displayName: '日期' } },
        { name: 'group_id', type: FieldType.string, values: ['g1', 'g2', 'g1'], config: { displayName: '技能组ID' } },
        { name: 'group_name', type: FieldType.string, values: ['售前', '售后', '售前'], config: { displayName: '技能组' } },
        { name: 'inflow', type: FieldType.number, values: [10, 7, 4], config: { displayName: '流入量', unit: 'none' } },
        { name: 'answer_rate', type: FieldType.number, values: [0.9, 1, 0.5], config: { displayName: '接通率', unit: 'percentunit' } },
      ],
    });
    const series = toTimeSeries(frame, findReport('group_daily')!, ds.timezone, 'A');
    expect(series.map((f) => f.name)).toEqual(['售前', '售后']);
    const [g1, g2] = series;
    // Shanghai midnight of Nov 1 = Oct 31 16:00 UTC; sorted by time although the rows were not.
    expect(g1.fields[0]).toMatchObject({ name: 'time', type: FieldType.time });
    expect(g1.fields[0].values).toEqual([Date.UTC(2026, 9, 31, 16), Date.UTC(2026, 10, 1, 16)]);
    expect(g1.fields.map((f) => f.name)).toEqual(['time', 'inflow', 'answer_rate']);
    expect(g1.fields[1].values).toEqual([4, 10]);
    expect(g1.fields[1].config).toMatchObject({ displayNameFromDS: '售前 流入量', unit: 'none' });
    expect(g1.fields[2].config).toMatchObject({ displayNameFromDS: '售前 接通率', unit: 'percentunit' });
    expect(g1.fields[1].labels).toEqual({ group_id: 'g1' });
    expect(g2.fields[1].values).toEqual([7]);
  });
});
