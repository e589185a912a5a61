/**
 * Every query type against the exporter's real live and report handlers
 * (the globalSetup starts a real exporter with an embedded Postgres).
 *
 * One small scenario is ingested into its own tenant, two days ago (local,
 * Asia/Shanghai) so that the day is final:
 *   售前 (g1): s1 queued 10:00:00, answered by 张三 (a1) at 10:00:15, rated 5, ended 10:10:00;
 *              s2 queued 11:00:00, abandoned 11:01:00.
 *   售后 (g2): s3 queued 12:00:00, answered by 李四 (a2) at 12:00:30, rated 4, ended 12:05:00.
 *   a1 writes a summary for s1 (category 售后/退款) and creates ticket t1 of type 退款.
 */
import { FieldType, type DataFrame, type DataQueryRequest } from '@grafana/data';
import { firstValueFrom } from 'rxjs';
import { FakeTemplateSrv, apiToken, exporterUrl, installBackendSrv, makeDataSource, postJson, request } from '../test/testkit';
import { findReport, REPORTS } from './catalog';
import { addDays, localDay, localTimeMs } from './time';
import type { CCQuery, CCVariableTarget, ReportQuery } from './types';
import { CCVariableSupport } from './variables';

const TZ = 'Asia/Shanghai';
const TENANT = `plugin-it-${Date.now()}`;
const DAY = addDays(localDay(Date.now(), TZ), -2);
const at = (h: number, m = 0, s = 0) => localTimeMs(DAY, TZ, h) + (m * 60 + s) * 1000;
// The dashboard range: the whole local day.
const FROM = new Date(localTimeMs(DAY, TZ)).toISOString();
const TO = new Date(localTimeMs(addDays(DAY, 1), TZ) - 1).toISOString();

let seq = 0;
const ev = (type: string, time: number, body: Record<string, unknown>) => ({ id: `it-${++seq}`, type, time, tenant: TENANT, ...body });

const EVENTS = [
  ev('group.upsert', at(8), { groupId: 'g1', name: '售前' }),
  ev('group.upsert', at(8), { groupId: 'g2', name: '售后' }),
  ev('agent.upsert', at(8), { agentId: 'a1', name: '张三', workNo: '1001', groups: ['g1'], maxSessions: 5 }),
  ev('agent.upsert', at(8), { agentId: 'a2', name: '李四', workNo: '1002', groups: ['g2'], maxSessions: 5 }),
  ev('agent.status', at(9), { agentId: 'a1', status: 'online', seat: 'A-01' }),
  ev('agent.status', at(9), { agentId: 'a2', status: 'online', seat: 'A-02' }),
  ev('session.start', at(10), { sessionId: 's1', userId: 'u1', region: '上海' }),
  ev('session.queue', at(10), { sessionId: 's1', groupId: 'g1', via: 'direct' }),
  ev('session.answer', at(10, 0, 15), { sessionId: 's1', groupId: 'g1', agentId: 'a1' }),
  ev('session.message', at(10, 0, 20), { sessionId: 's1', from: 'user', text: '我要退款' }),
  ev('session.message', at(10, 0, 40), { sessionId: 's1', from: 'agent', agentId: 'a1', text: '好的，马上处理' }),
  ev('session.rate', at(10, 9), { sessionId: 's1', score: 5 }),
  ev('session.end', at(10, 10), { sessionId: 's1', by: 'user' }),
  ev('session.summary', at(10, 12), { sessionId: 's1', agentId: 'a1', channel: 'online', state: '已解决', category: ['售后', '退款'] }),
  ev('session.start', at(11), { sessionId: 's2', userId: 'u2' }),
  ev('session.queue', at(11), { sessionId: 's2', groupId: 'g1', via: 'direct' }),
  ev('session.abandon', at(11, 1), { sessionId: 's2', groupId: 'g1' }),
  ev('session.start', at(12), { sessionId: 's3', userId: 'u3' }),
  ev('session.queue', at(12), { sessionId: 's3', groupId: 'g2', via: 'direct' }),
  ev('session.answer', at(12, 0, 30), { sessionId: 's3', groupId: 'g2', agentId: 'a2' }),
  ev('session.rate', at(12, 4), { sessionId: 's3', score: 4 }),
  ev('session.end', at(12, 5), { sessionId: 's3', by: 'agent' }),
  ev('ticket.create', at(13), { ticketId: 't1', ticketType: '退款', agentId: 'a1', node: '一级处理', deadline: at(13) + 7 * 86_400_000 }),
];

beforeAll(async () => {
  installBackendSrv();
  const res = await postJson(`${exporterUrl()}/api/v1/events`, EVENTS);
  expect(res.data).toMatchObject({ accepted: EVENTS.length, rejected: [] });
  // Make the day final where the exporter rolls days up (api.md: POST /api/v1/rollups).
  const rollup = await postJson(
    `${exporterUrl()}/api/v1/rollups`,
    { date: DAY, tenant: TENANT },
    { authorization: `Bearer ${apiToken()}` },
  );
  expect([200, 204]).toContain(rollup.status);
});

const ds = () => makeDataSource();
const run = async (q: CCQuery): Promise<DataFrame[]> => {
  const res = await ds().query(request([{ ...q, tenant: TENANT }], FROM, TO));
  if (res.errors?.length) throw new Error(res.errors.map((e) => e.message).join('; '));
  return res.data as DataFrame[];
};
const field = (f: DataFrame, name: string) => {
  const x = f.fields.find((y) => y.name === name);
  if (!x) throw new Error(`no field ${name} in ${f.fields.map((y) => y.name).join(', ')}`);
  return x;
};
const row = (f: DataFrame, key: string, value: unknown) => {
  const i = field(f, key).values.indexOf(value);
  if (i < 0) throw new Error(`no row with ${key} = ${value}`);
  return (name: string) => field(f, name).values[i];
};
const report = (id: string, over: Partial<ReportQuery> = {}): ReportQuery => ({
  refId: 'A',
  queryType: 'report',
  report: id,
  metrics: [],
  groups: [],
  agents: [],
  format: 'table',
  ...over,
});

describe('every T+1 report answers frames with the catalog fields and Chinese names', () => {
  for (const def of REPORTS.filter((r) => r.grain !== 'live' && r.id !== 'sessions')) {
    it(`${def.name} (${def.id})`, async () => {
      const frames = await run(report(def.id));
      expect(frames).toHaveLength(1);
      const names = frames[0].fields.map((f) => f.name);
      for (const m of def.metrics) expect(names).toContain(m.id);
      for (const m of def.metrics) {
        const f = field(frames[0], m.id);
        expect(f.config.displayName).toBe(m.name);
        expect(f.type).toBe(m.type === 'time' ? FieldType.time : m.type);
        expect(f.config.unit).toBe(m.unit === 'string' ? undefined : m.unit);
      }
    });
  }
});

describe('figures of the scenario', () => {
  it('人工技能组日统计: 售前 inflow 2, answered 1 (50%); 售后 1 of 1', async () => {
    const [f] = await run(report('group_daily', { metrics: ['inflow', 'answered', 'answer_rate'] }));
    expect(f.fields.map((x) => x.name)).toEqual(['date', 'group_id', 'group_name', 'inflow', 'answered', 'answer_rate']);
    expect(field(f, 'answer_rate').config).toMatchObject({ displayName: '接通率', unit: 'percentunit' });
    const g1 = row(f, 'group_id', 'g1');
    expect([g1('date'), g1('group_name'), g1('inflow'), g1('answered'), g1('answer_rate')]).toEqual([DAY, '售前', 2, 1, 0.5]);
    const g2 = row(f, 'group_id', 'g2');
    expect([g2('inflow'), g2('answered'), g2('answer_rate')]).toEqual([1, 1, 1]);
  });

  it('groups filter by multi-value variable', async () => {
    const t = new FakeTemplateSrv([{ name: 'group', multi: true, current: ['g2'], options: ['g1', 'g2'] }]);
    const res = await makeDataSource({}, t).query(
      request([{ ...report('group_daily', { groups: ['$group'] }), tenant: TENANT }], FROM, TO),
    );
    expect((res.data[0] as DataFrame).fields.find((x) => x.name === 'group_id')!.values).toEqual(['g2']);
  });

  it('as time series: one frame per group with a time field at local midnight', async () => {
    const frames = await run(report('group_daily', { metrics: ['inflow'], format: 'timeseries' }));
    expect(frames.map((f) => f.name).sort()).toEqual(['售前', '售后']);
    const g1 = frames.find((f) => f.name === '售前')!;
    expect(g1.fields[0]).toMatchObject({ name: 'time', type: FieldType.time });
    expect(g1.fields[0].values).toEqual([localTimeMs(DAY, TZ)]);
    expect(g1.fields[1].values).toEqual([2]);
    expect(g1.fields[1].config.displayNameFromDS).toBe('售前 流入量');
  });

  it('人工技能组时段统计 as time series puts the hour on the time axis', async () => {
    const frames = await run(report('group_slot', { metrics: ['inflow'], format: 'timeseries', groups: ['g1'] }));
    const g1 = frames.find((f) => f.name === '售前')!;
    const t = g1.fields[0].values as number[];
    const v = g1.fields[1].values as number[];
    // s1 at 10:00 and s2 at 11:00: one each (hours without inflow may be absent or 0).
    expect(v[t.indexOf(localTimeMs(DAY, TZ, 10))]).toBe(1);
    expect(v[t.indexOf(localTimeMs(DAY, TZ, 11))]).toBe(1);
  });

  it('人工客服日统计: 张三 answered 1 with a 5 rating', async () => {
    const [f] = await run(report('agent_daily', { metrics: ['answered', 'rated', 'very_satisfied'] }));
    const a1 = row(f, 'agent_id', 'a1');
    expect([a1('agent_name'), a1('work_no'), a1('answered'), a1('rated'), a1('very_satisfied')]).toEqual(['张三', '1001', 1, 1, 1]);
  });
});

describe('live', () => {
  for (const def of REPORTS.filter((r) => r.grain === 'live')) {
    it(`${def.name} (${def.id}) answers every metric with its Chinese name`, async () => {
      const frames = await run({ refId: 'L', queryType: 'live', report: def.id as any, metrics: [], groups: [] });
      for (const m of def.metrics) expect(field(frames[0], m.id).config.displayName).toBe(m.name);
    });
  }

  it('在线客服列表 filtered by name', async () => {
    const [f] = await run({ refId: 'L', queryType: 'live', report: 'live_agents', metrics: ['name', 'work_no'], groups: [], name: '李' });
    expect(field(f, 'agent_id').values).toEqual(['a2']);
    expect(field(f, 'name').values).toEqual(['李四']);
  });
});

describe('sessions and the session detail', () => {
  it('会话记录 rows link to the detail dashboard on service_id', async () => {
    const [f] = await run({ refId: 'S', queryType: 'sessions', groups: [], agents: [] });
    const ids = field(f, 'service_id');
    // s1 and s3 were answered; whether the abandoned s2 is listed is the sessions report's call.
    expect(ids.values).toEqual(expect.arrayContaining(['s1', 's3']));
    expect(ids.config.links?.[0].url).toBe(`/d/cs-session-detail?var-session=\${__value.raw}&var-tenant=${TENANT}`);
    for (const m of findReport('sessions')!.metrics) expect(field(f, m.id).config.displayName).toBe(m.name);
  });

  it('会话记录 filters: satisfaction 5 leaves s1 only', async () => {
    const [f] = await run({ refId: 'S', queryType: 'sessions', groups: [], agents: [], satisfaction: ['5'] });
    expect(field(f, 'service_id').values).toEqual(['s1']);
  });

  it('会话记录 最多条数: the panel gets at most that many rows, the earliest started first', async () => {
    const sessions = { refId: 'S', queryType: 'sessions', groups: [], agents: [] } as const;
    // The scenario lists two sessions (s1 at 10:00, s3 at 12:00), so a limit of 1 has to cut.
    const [all] = await run(sessions);
    expect(field(all, 'service_id').values).toEqual(['s1', 's3']);
    const [one] = await run({ ...sessions, limit: 1 });
    expect(field(one, 'service_id').values).toEqual(['s1']);
    expect(field(one, 'started_at').values).toEqual([at(10)]);
    const [two] = await run({ ...sessions, limit: 2 });
    expect(field(two, 'service_id').values).toEqual(['s1', 's3']);
  });

  it('会话记录 最多条数 beyond what the exporter allows is an error that says so, not a silently shorter list', async () => {
    await expect(run({ refId: 'S', queryType: 'sessions', groups: [], agents: [], limit: 100_001 })).rejects.toThrow(
      /filters\.limit: must be an integer 1–100000/,
    );
  });

  it('会话详情: summary, legs, parts and transcript of s1', async () => {
    const get = (part: 'summary' | 'legs' | 'parts' | 'transcript') => run({ refId: 'D', queryType: 'session', sessionId: 's1', part });
    const [summary] = await get('summary');
    expect(field(summary, 'service_id').values).toEqual(['s1']);
    expect(field(summary, 'user_id').values).toEqual(['u1']);
    const [legs] = await get('legs');
    expect(field(legs, 'group_id').values).toEqual(['g1']);
    expect(field(legs, 'wait_seconds').values).toEqual([15]);
    expect(field(legs, 'queued_at').values).toEqual([at(10)]);
    const [parts] = await get('parts');
    expect(field(parts, 'agent_id').values).toEqual(['a1']);
    const [transcript] = await get('transcript');
    expect(field(transcript, 'text').values).toEqual(expect.arrayContaining(['我要退款', '好的，马上处理']));
  });
});

describe('variable queries', () => {
  const find = (kind: 'groups' | 'agents' | 'categories' | 'ticket_types') => ds().metricFindQuery({ kind, tenant: TENANT });
  it('groups and agents by name, categories and ticket types of 30 days', async () => {
    expect(await find('groups')).toEqual(
      expect.arrayContaining([
        { text: '售前', value: 'g1' },
        { text: '售后', value: 'g2' },
      ]),
    );
    expect(await find('agents')).toEqual(
      expect.arrayContaining([
        { text: '张三 (1001)', value: 'a1' },
        { text: '李四 (1002)', value: 'a2' },
      ]),
    );
    expect((await find('categories')).map((c) => c.value)).toContain('退款');
    expect(await find('ticket_types')).toEqual([{ text: '退款', value: '退款' }]);
  });

  it("Grafana's variable runner gets them through the custom variable support, older string queries included", async () => {
    const support = new CCVariableSupport(ds(), () => null);
    expect(support.getType()).toBe('custom');
    // A repeated row or a dashboard sets ${tenant}; a query without a tenant follows it.
    const run = async (target: unknown) =>
      (
        await firstValueFrom(
          support.query({
            targets: [target],
            scopedVars: { tenant: { text: TENANT, value: TENANT } },
          } as unknown as DataQueryRequest<CCVariableTarget>),
        )
      ).data;
    expect(await run({ refId: 'A', kind: 'groups' })).toEqual(
      expect.arrayContaining([
        { text: '售前', value: 'g1' },
        { text: '售后', value: 'g2' },
      ]),
    );
    expect(await run('ticket_types')).toEqual([{ text: '退款', value: '退款' }]);
    // A new variable's empty query lists the groups.
    expect(await run('')).toHaveLength(2);
  });
});
