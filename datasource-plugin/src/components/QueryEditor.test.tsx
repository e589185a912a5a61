import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { QueryEditor } from './QueryEditor';
import { ConfigEditor } from './ConfigEditor';
import { VariableQueryEditor } from './VariableQueryEditor';
import { FakeTemplateSrv, freePortUrl, installBackendSrv, installTemplateSrv, makeDataSource } from '../../test/testkit';
import type { CCQuery } from '../types';

beforeAll(() => {
  installBackendSrv();
  installTemplateSrv(new FakeTemplateSrv([{ name: 'group', multi: true, current: ['g1'], options: ['g1', 'g2'] }]));
});

/** Opens a react-select by its input and clicks the option with this text. */
async function choose(inputId: string, optionText: string) {
  const input = document.getElementById(inputId)!;
  fireEvent.keyDown(input, { key: 'ArrowDown', keyCode: 40 });
  fireEvent.click(await screen.findByText(optionText));
}

function setup(query: CCQuery) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  const utils = render(<QueryEditor query={query} onChange={onChange} onRunQuery={onRunQuery} datasource={makeDataSource()} />);
  // The last query the editor handed to Grafana; the rerender plays Grafana's part of feeding it back.
  const last = () => {
    const q = onChange.mock.calls[onChange.mock.calls.length - 1][0] as CCQuery;
    utils.rerender(<QueryEditor query={q} onChange={onChange} onRunQuery={onRunQuery} datasource={makeDataSource()} />);
    return q;
  };
  return { onChange, onRunQuery, last };
}

describe('QueryEditor', () => {
  it('choosing a report and metrics by their Chinese names gives the report query', async () => {
    const { last, onRunQuery } = setup({ refId: 'A' } as CCQuery);
    await choose('A-report', '人工客服日统计');
    expect(last()).toMatchObject({ queryType: 'report', report: 'agent_daily', metrics: [] });
    await choose('A-metrics', '应答量');
    expect(last()).toMatchObject({ report: 'agent_daily', metrics: ['answered'] });
    await choose('A-metrics', '平均对话时长_秒');
    expect(last()).toEqual({
      refId: 'A',
      queryType: 'report',
      report: 'agent_daily',
      metrics: ['answered', 'avg_talk_seconds'],
      groups: [],
      agents: [],
      format: 'table',
    });
    expect(onRunQuery).toHaveBeenCalled();
    // Daily reports can be drawn as time series.
    fireEvent.click(screen.getByText('时间序列'));
    expect(last()).toMatchObject({ format: 'timeseries' });
  });

  it('offers dashboard variables as filter values', async () => {
    const { last } = setup({
      refId: 'A',
      queryType: 'report',
      report: 'group_daily',
      metrics: [],
      groups: [],
      agents: [],
      format: 'table',
    });
    await choose('A-groups', '$group');
    expect(last()).toMatchObject({ report: 'group_daily', groups: ['$group'] });
  });

  it('metric definitions are shown with the names', async () => {
    setup({ refId: 'A', queryType: 'report', report: 'group_daily', metrics: [], groups: [], agents: [], format: 'table' });
    fireEvent.keyDown(document.getElementById('A-metrics')!, { key: 'ArrowDown', keyCode: 40 });
    expect(await screen.findByText('answered_20s / answered')).toBeInTheDocument();
  });

  it('switching to 实时监控 and choosing 在线客服列表 gives a live query', async () => {
    const { last } = setup({ refId: 'A' } as CCQuery);
    fireEvent.click(screen.getByText('实时监控'));
    expect(last()).toEqual({ refId: 'A', queryType: 'live', report: 'live_overview', metrics: [], groups: [] });
    await choose('A-live', '在线客服列表');
    expect(last()).toMatchObject({ queryType: 'live', report: 'live_agents' });
    await choose('A-metrics', '当前状态');
    expect(last()).toMatchObject({ report: 'live_agents', metrics: ['status'] });
  });

  it('会话记录 takes satisfaction by label', async () => {
    const { last } = setup({ refId: 'A' } as CCQuery);
    fireEvent.click(screen.getByText('会话记录'));
    expect(last()).toMatchObject({ queryType: 'sessions' });
    await choose('A-satisfaction', '非常满意');
    expect(last()).toMatchObject({ queryType: 'sessions', satisfaction: ['5'] });
  });

  it('会话详情 takes the session id and part', async () => {
    const { last } = setup({ refId: 'A', queryType: 'session', sessionId: '', part: 'summary' });
    const input = document.getElementById('A-session') as HTMLInputElement;
    fireEvent.change(input, { target: { value: '$session' } });
    fireEvent.blur(input);
    expect(last()).toMatchObject({ queryType: 'session', sessionId: '$session' });
    fireEvent.click(screen.getByText('聊天记录'));
    expect(last()).toEqual({ refId: 'A', queryType: 'session', sessionId: '$session', part: 'transcript' });
  });

  it('says why the group list could not be loaded, and still works', async () => {
    const url = await freePortUrl();
    const onChange = jest.fn();
    const q: CCQuery = { refId: 'A', queryType: 'report', report: 'group_daily', metrics: [], groups: [], agents: [], format: 'table' };
    render(<QueryEditor query={q} onChange={onChange} onRunQuery={() => {}} datasource={makeDataSource({ url })} />);
    expect(await screen.findByRole('status')).toHaveTextContent(
      `技能组/客服列表未加载 (lists not loaded; variables and typed ids still work): Cannot reach the exporter at ${url}`,
    );
    await choose('A-groups', '$group');
    expect(onChange.mock.calls[0][0]).toMatchObject({ groups: ['$group'] });
  });
});

describe('ConfigEditor', () => {
  it('puts the URL in jsonData and the token in secureJsonData', () => {
    const onOptionsChange = jest.fn();
    const options = { jsonData: {}, secureJsonFields: {}, secureJsonData: {} } as any;
    render(<ConfigEditor options={options} onOptionsChange={onOptionsChange} />);
    fireEvent.change(document.getElementById('config-exporter-url')!, { target: { value: 'http://cs-exporter:9470' } });
    expect(onOptionsChange.mock.calls[0][0].jsonData).toEqual({ url: 'http://cs-exporter:9470' });
    fireEvent.change(document.getElementById('config-api-token')!, { target: { value: 's3cret' } });
    expect(onOptionsChange.mock.calls[1][0].secureJsonData).toEqual({ apiToken: 's3cret' });
    expect(onOptionsChange.mock.calls[1][0].jsonData).toEqual({});
  });

  it('a configured token is shown as configured and can be reset', () => {
    const onOptionsChange = jest.fn();
    render(
      <ConfigEditor
        options={{ jsonData: { url: 'x' }, secureJsonFields: { apiToken: true }, secureJsonData: {} } as any}
        onOptionsChange={onOptionsChange}
      />,
    );
    fireEvent.click(screen.getByText('Reset'));
    expect(onOptionsChange.mock.calls[0][0]).toMatchObject({ secureJsonFields: { apiToken: false }, secureJsonData: { apiToken: '' } });
  });
});

describe('VariableQueryEditor', () => {
  it('choosing 类目 asks for categories', async () => {
    const onChange = jest.fn();
    render(<VariableQueryEditor query={{ kind: 'groups' }} onChange={onChange} />);
    await choose('cc-variable-kind', '类目');
    expect(onChange).toHaveBeenCalledWith({ kind: 'categories' }, '类目');
  });
});
