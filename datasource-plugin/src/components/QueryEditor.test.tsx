import React from 'react';
import { fireEvent, render, screen, within } from '@testing-library/react';
import { QueryEditor } from './QueryEditor';
import { ConfigEditor } from './ConfigEditor';
import { VariableQueryEditor } from './VariableQueryEditor';
import { FakeTemplateSrv, freePortUrl, installBackendSrv, installTemplateSrv, makeDataSource } from '../../test/testkit';
import type { CCQuery, CCVariableTarget } from '../types';

beforeAll(() => {
  // jsdom lays nothing out; the comboboxes' virtual lists render only the rows that fit their measured height.
  jest.spyOn(HTMLElement.prototype, 'clientHeight', 'get').mockReturnValue(400);
  jest.spyOn(HTMLElement.prototype, 'clientWidth', 'get').mockReturnValue(400);
  installBackendSrv();
  installTemplateSrv(new FakeTemplateSrv([{ name: 'group', multi: true, current: ['g1'], options: ['g1', 'g2'] }]));
});

/** Types into a combobox as a user would, then clicks the option labelled with this text (the typed text by default). */
async function choose(inputId: string, typed: string, optionText = typed) {
  fireEvent.change(document.getElementById(inputId)!, { target: { value: typed } });
  const hits = (await screen.findAllByRole('option')).filter((o) => within(o).queryByText(optionText) !== null);
  expect(hits).toHaveLength(1);
  fireEvent.click(hits[0]);
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
    await choose('A-report', '客服日', '人工客服日统计');
    expect(last()).toMatchObject({ queryType: 'report', report: 'agent_daily', metrics: [] });
    await choose('A-metrics', '应答', '应答量');
    expect(last()).toMatchObject({ report: 'agent_daily', metrics: ['answered'] });
    await choose('A-metrics', '对话时长', '平均对话时长_秒');
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

  it('takes ids typed in that the lists do not know', async () => {
    const { last } = setup({
      refId: 'A',
      queryType: 'report',
      report: 'group_daily',
      metrics: [],
      groups: ['g1'],
      agents: [],
      format: 'table',
    });
    await choose('A-groups', 'g-new');
    expect(last()).toMatchObject({ groups: ['g1', 'g-new'] });
  });

  it('metric definitions are shown with the names', async () => {
    setup({ refId: 'A', queryType: 'report', report: 'group_daily', metrics: [], groups: [], agents: [], format: 'table' });
    fireEvent.change(document.getElementById('A-metrics')!, { target: { value: '20秒接通' } });
    const option = await screen.findByRole('option', { name: /^20秒接通率/ });
    expect(option).toHaveTextContent('answered_20s / answered');
  });

  it('shows the chosen report and metrics by their Chinese names', () => {
    setup({
      refId: 'A',
      queryType: 'report',
      report: 'agent_daily',
      metrics: ['answered'],
      groups: ['$group'],
      agents: [],
      format: 'table',
    });
    expect(screen.getByDisplayValue('人工客服日统计')).toBeInTheDocument();
    expect(screen.getByText('应答量')).toBeInTheDocument();
    expect(screen.getByText('$group')).toBeInTheDocument();
  });

  it('switching to 实时监控 and choosing 在线客服列表 gives a live query', async () => {
    const { last } = setup({ refId: 'A' } as CCQuery);
    fireEvent.click(screen.getByText('实时监控'));
    expect(last()).toEqual({ refId: 'A', queryType: 'live', report: 'live_overview', metrics: [], groups: [] });
    await choose('A-live', '客服列表', '在线客服列表');
    expect(last()).toMatchObject({ queryType: 'live', report: 'live_agents' });
    await choose('A-metrics', '状态', '当前状态');
    expect(last()).toMatchObject({ report: 'live_agents', metrics: ['status'] });
  });

  it('会话记录 takes satisfaction by label', async () => {
    const { last } = setup({ refId: 'A' } as CCQuery);
    fireEvent.click(screen.getByText('会话记录'));
    expect(last()).toMatchObject({ queryType: 'sessions' });
    await choose('A-satisfaction', '非常', '非常满意');
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
    // findBy* gives up after 1 s by default: a refused connection on a loaded machine can take longer.
    expect(await screen.findByRole('status', {}, { timeout: 10_000 })).toHaveTextContent(
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
  const renderEditor = (query: unknown) => {
    const onChange = jest.fn();
    const onRunQuery = jest.fn();
    render(
      <VariableQueryEditor query={query as CCVariableTarget} onChange={onChange} onRunQuery={onRunQuery} datasource={makeDataSource()} />,
    );
    return { onChange, onRunQuery };
  };

  it('choosing 类目 asks for categories', async () => {
    const { onChange, onRunQuery } = renderEditor({ refId: 'A', kind: 'groups' });
    expect(screen.getByDisplayValue('技能组')).toBeInTheDocument();
    await choose('cc-variable-kind', '类目');
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', kind: 'categories' });
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('a tenant typed in is kept with the kind', () => {
    const { onChange } = renderEditor({ kind: 'agents' });
    const input = document.getElementById('cc-variable-tenant') as HTMLInputElement;
    fireEvent.change(input, { target: { value: 'acme' } });
    fireEvent.blur(input);
    expect(onChange).toHaveBeenCalledWith({ kind: 'agents', tenant: 'acme' });
  });

  it('a new variable (empty query) lists groups; an older string query keeps its kind', () => {
    renderEditor('');
    expect(screen.getByDisplayValue('技能组')).toBeInTheDocument();
    renderEditor('ticket_types');
    expect(screen.getByDisplayValue('工单类型')).toBeInTheDocument();
  });
});
