import { filterQuery, migrateQuery } from './migrate';
import type { CCQuery } from './types';

const m = (raw: Record<string, unknown>) => migrateQuery(raw as any);

describe('migrateQuery', () => {
  it('an empty query becomes the default report query', () => {
    expect(m({ refId: 'A' })).toEqual({
      refId: 'A',
      queryType: 'report',
      report: 'group_daily',
      metrics: [],
      groups: [],
      agents: [],
      format: 'table',
    });
  });

  it('the older {report, metric} shape keeps its report and metric', () => {
    expect(m({ refId: 'B', report: 'agent_daily', metric: 'answered', groups: '$group' })).toEqual({
      refId: 'B',
      queryType: 'report',
      report: 'agent_daily',
      metrics: ['answered'],
      groups: ['$group'],
      agents: [],
      format: 'table',
    });
  });

  it('without queryType, live_* reports, sessions and a sessionId pick their type', () => {
    expect(m({ refId: 'A', report: 'live_groups', metric: 'queue_length' })).toEqual({
      refId: 'A',
      queryType: 'live',
      report: 'live_groups',
      metrics: ['queue_length'],
      groups: [],
    });
    expect(m({ refId: 'A', report: 'sessions', revisit: true, satisfaction: [5, 4] })).toEqual({
      refId: 'A',
      queryType: 'sessions',
      groups: [],
      agents: [],
      satisfaction: ['5', '4'],
      revisit: 'yes',
    });
    // The 会话记录 dashboard's 24小时内复访 variable: kept for query() to interpolate, not read as "no filter".
    expect(m({ refId: 'A', queryType: 'sessions', revisit: '${revisit}' })).toMatchObject({ revisit: '${revisit}' });
    expect(m({ refId: 'A', queryType: 'sessions', revisit: 'maybe' })).toMatchObject({ revisit: '' });
    expect(m({ refId: 'A', sessionId: '$session' })).toEqual({ refId: 'A', queryType: 'session', sessionId: '$session', part: 'summary' });
  });

  it('keeps tenant, hide and datasource; drops empty filters; checks format and part', () => {
    const ds = { type: 'csdataops-contactcenter-datasource', uid: 'cs-exporter' };
    expect(
      m({
        refId: 'A',
        queryType: 'report',
        report: 'overview',
        tenant: '${tenant}',
        hide: true,
        datasource: ds,
        filters: { a: '', b: 1 },
        format: 'x',
      }),
    ).toEqual({
      refId: 'A',
      queryType: 'report',
      report: 'overview',
      tenant: '${tenant}',
      hide: true,
      datasource: ds,
      metrics: [],
      groups: [],
      agents: [],
      filters: { b: '1' },
      format: 'table',
    });
    expect(m({ refId: 'A', queryType: 'session', sessionId: 's1', part: 'nope' })).toMatchObject({ part: 'summary' });
  });

  it('a live report asked for as a report query is moved to the default report, not sent to the wrong type', () => {
    expect(m({ refId: 'A', queryType: 'report', report: 'live_agents' })).toMatchObject({ queryType: 'report', report: 'group_daily' });
  });

  it('is idempotent on current queries', () => {
    const q: CCQuery = {
      refId: 'A',
      queryType: 'live',
      report: 'live_agents',
      metrics: ['status'],
      groups: ['g1'],
      name: '张',
      tenant: 't',
    };
    expect(migrateQuery(q as any)).toEqual(q);
    expect(migrateQuery(migrateQuery({ refId: 'Z', report: 'x', metric: 'y' } as any) as any)).toEqual(
      migrateQuery({ refId: 'Z', report: 'x', metric: 'y' } as any),
    );
  });
});

describe('filterQuery', () => {
  it('skips hidden queries and a session query with no id', () => {
    expect(filterQuery(m({ refId: 'A', hide: true }))).toBe(false);
    expect(filterQuery(m({ refId: 'A', queryType: 'session', sessionId: ' ' }))).toBe(false);
    expect(filterQuery(m({ refId: 'A', queryType: 'session', sessionId: '$session' }))).toBe(true);
    expect(filterQuery(m({ refId: 'A' }))).toBe(true);
  });
});
