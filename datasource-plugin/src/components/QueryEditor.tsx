import React, { useEffect, useMemo, useState } from 'react';
import type { QueryEditorProps, SelectableValue } from '@grafana/data';
import { Combobox, InlineField, InlineFieldRow, Input, MultiCombobox, RadioButtonGroup, type ComboboxOption } from '@grafana/ui';

import { LIVE_REPORTS, SATISFACTION_LABELS, T1_REPORTS, canBeTimeSeries, findReport } from '../catalog';
import type { DataSource } from '../datasource';
import { migrateQuery } from '../migrate';
import type { CCOptions, CCQuery, CCVariableQuery, LiveQuery, QueryType, ReportQuery, SessionQuery, SessionsQuery } from '../types';
import { metricOptions, reportOptions, variableOptions, withSelected } from './options';

type Props = QueryEditorProps<DataSource, CCQuery, CCOptions>;

const TYPES: Array<SelectableValue<QueryType>> = [
  { label: '报表', value: 'report', description: 'T+1 reports by day, hour or range' },
  { label: '实时监控', value: 'live', description: 'live figures: 指标总览, 技能组列表, 在线客服列表' },
  { label: '会话记录', value: 'sessions', description: 'one row per session, linked to its detail' },
  { label: '会话详情', value: 'session', description: "one session's summary, legs, parts or transcript" },
];

const LW = 14;
/** What the menu says of a typed entry: ids and variables that are not listed are still valid. */
const CUSTOM_VALUE = 'use as typed (an id or a $variable)';

/** Options of a kind (groups, agents, …) from the exporter, plus the dashboard's variables. */
function useOptions(ds: DataSource, kind: CCVariableQuery['kind'], tenant?: string) {
  const [loaded, setLoaded] = useState<Array<ComboboxOption<string>>>([]);
  const [error, setError] = useState<string>();
  useEffect(() => {
    let live = true;
    ds.metricFindQuery({ kind, tenant }).then(
      (values) =>
        live && (setLoaded(values.map((v) => ({ label: String(v.text), value: String(v.value ?? v.text) }))), setError(undefined)),
      (err: Error) => live && setError(err.message),
    );
    return () => {
      live = false;
    };
  }, [ds, kind, tenant]);
  return { options: [...variableOptions(), ...loaded], error };
}

function FilterSelect(props: {
  label: string;
  id: string;
  values: string[];
  options: Array<ComboboxOption<string>>;
  error?: string;
  onChange: (v: string[]) => void;
}) {
  return (
    <InlineField
      label={props.label}
      labelWidth={LW}
      htmlFor={props.id}
      tooltip={props.error ? `list not loaded: ${props.error}` : 'empty means all; variables ($group) and typed ids work too'}
    >
      <MultiCombobox
        id={props.id}
        width={40}
        isClearable
        createCustomValue
        customValueDescription={CUSTOM_VALUE}
        placeholder="全部"
        options={withSelected(props.options, props.values)}
        value={props.values}
        onChange={(v) => props.onChange(v.map((x) => x.value).filter(Boolean))}
      />
    </InlineField>
  );
}

function TextField(props: {
  label: string;
  id: string;
  value?: string;
  placeholder?: string;
  tooltip?: string;
  onChange: (v: string) => void;
}) {
  // Uncontrolled, committed on blur; a new value from outside remounts it (key).
  return (
    <InlineField label={props.label} labelWidth={LW} htmlFor={props.id} tooltip={props.tooltip}>
      <Input
        key={props.value ?? ''}
        id={props.id}
        width={40}
        defaultValue={props.value ?? ''}
        placeholder={props.placeholder}
        onBlur={(e) => e.currentTarget.value !== (props.value ?? '') && props.onChange(e.currentTarget.value)}
      />
    </InlineField>
  );
}

export function QueryEditor({ query: raw, onChange, onRunQuery, datasource }: Props) {
  const query = useMemo(() => migrateQuery(raw as any), [raw]);
  const change = (q: CCQuery) => {
    onChange(q);
    onRunQuery();
  };
  const groups = useOptions(datasource, 'groups', query.tenant);
  const agents = useOptions(datasource, 'agents', query.tenant);

  const setType = (t: QueryType) =>
    change(migrateQuery({ refId: query.refId, queryType: t, ...(query.tenant ? { tenant: query.tenant } : {}) } as any));

  return (
    <div>
      <InlineFieldRow>
        <InlineField label="查询类型" labelWidth={LW}>
          <RadioButtonGroup<QueryType> options={TYPES} value={query.queryType} onChange={setType} />
        </InlineField>
        <TextField
          label="租户"
          id={`${query.refId}-tenant`}
          value={query.tenant}
          placeholder="default"
          tooltip="tenant id; ${tenant} in dashboards"
          onChange={(tenant) => change({ ...query, tenant: tenant || undefined })}
        />
      </InlineFieldRow>
      {(groups.error || agents.error) && (
        <div role="status" style={{ fontSize: 12, opacity: 0.8, marginBottom: 4 }}>
          技能组/客服列表未加载 (lists not loaded; variables and typed ids still work): {groups.error ?? agents.error}
        </div>
      )}
      {query.queryType === 'report' && <ReportFields query={query} change={change} groups={groups} agents={agents} />}
      {query.queryType === 'live' && <LiveFields query={query} change={change} groups={groups} />}
      {query.queryType === 'sessions' && <SessionsFields query={query} change={change} groups={groups} agents={agents} />}
      {query.queryType === 'session' && <SessionFields query={query} change={change} />}
    </div>
  );
}

type Opts = ReturnType<typeof useOptions>;

function MetricsSelect({
  id,
  reportId,
  metrics,
  onChange,
}: {
  id: string;
  reportId: string;
  metrics: string[];
  onChange: (m: string[]) => void;
}) {
  const def = findReport(reportId);
  return (
    <InlineField
      label="指标"
      labelWidth={LW}
      htmlFor={id}
      tooltip="empty means all metrics of the report; hover a metric for its definition"
      grow
    >
      <MultiCombobox
        id={id}
        isClearable
        createCustomValue
        customValueDescription={CUSTOM_VALUE}
        placeholder="全部指标"
        options={withSelected(metricOptions(def), metrics)}
        value={metrics}
        onChange={(v) => onChange(v.map((x) => x.value))}
      />
    </InlineField>
  );
}

function ReportFields({ query, change, groups, agents }: { query: ReportQuery; change: (q: CCQuery) => void; groups: Opts; agents: Opts }) {
  const def = findReport(query.report);
  const filters = def?.filters ?? ['groups', 'agents'];
  return (
    <>
      <InlineFieldRow>
        <InlineField label="报表" labelWidth={LW} htmlFor={`${query.refId}-report`}>
          <Combobox
            id={`${query.refId}-report`}
            width={40}
            // No typed values here: Enter on a typed report name would pick the typed text over the report.
            options={withSelected([...reportOptions(T1_REPORTS), ...variableOptions()], [query.report])}
            value={query.report}
            // Metrics belong to a report: switching reports starts from "all metrics".
            onChange={(v) => change({ ...query, report: v.value, metrics: [] })}
          />
        </InlineField>
        {def && canBeTimeSeries(def) && (
          <InlineField label="格式" labelWidth={8}>
            <RadioButtonGroup<'table' | 'timeseries'>
              options={[
                { label: '表格', value: 'table' },
                { label: '时间序列', value: 'timeseries' },
              ]}
              value={query.format}
              onChange={(format) => change({ ...query, format })}
            />
          </InlineField>
        )}
      </InlineFieldRow>
      <MetricsSelect
        id={`${query.refId}-metrics`}
        reportId={query.report}
        metrics={query.metrics}
        onChange={(metrics) => change({ ...query, metrics })}
      />
      <InlineFieldRow>
        {filters.includes('groups') && (
          <FilterSelect
            label="技能组"
            id={`${query.refId}-groups`}
            values={query.groups}
            {...groups}
            onChange={(g) => change({ ...query, groups: g })}
          />
        )}
        {filters.includes('agents') && (
          <FilterSelect
            label="客服"
            id={`${query.refId}-agents`}
            values={query.agents}
            {...agents}
            onChange={(a) => change({ ...query, agents: a })}
          />
        )}
      </InlineFieldRow>
    </>
  );
}

function LiveFields({ query, change, groups }: { query: LiveQuery; change: (q: CCQuery) => void; groups: Opts }) {
  return (
    <>
      <InlineFieldRow>
        <InlineField label="监控" labelWidth={LW} htmlFor={`${query.refId}-live`}>
          <Combobox
            id={`${query.refId}-live`}
            width={40}
            options={reportOptions(LIVE_REPORTS)}
            value={query.report}
            onChange={(v) => change({ ...query, report: v.value as LiveQuery['report'], metrics: [] })}
          />
        </InlineField>
      </InlineFieldRow>
      <MetricsSelect
        id={`${query.refId}-metrics`}
        reportId={query.report}
        metrics={query.metrics}
        onChange={(metrics) => change({ ...query, metrics })}
      />
      {query.report !== 'live_overview' && (
        <InlineFieldRow>
          <FilterSelect
            label="技能组"
            id={`${query.refId}-groups`}
            values={query.groups}
            {...groups}
            onChange={(g) => change({ ...query, groups: g })}
          />
          {query.report === 'live_agents' && (
            <TextField
              label="姓名/工号"
              id={`${query.refId}-name`}
              value={query.name}
              onChange={(name) => change({ ...query, name: name || undefined })}
            />
          )}
        </InlineFieldRow>
      )}
    </>
  );
}

const SCORES: Array<ComboboxOption<string>> = [5, 4, 3, 2, 1].map((s) => ({ label: SATISFACTION_LABELS[s], value: String(s) }));

function SessionsFields({
  query,
  change,
  groups,
  agents,
}: {
  query: SessionsQuery;
  change: (q: CCQuery) => void;
  groups: Opts;
  agents: Opts;
}) {
  const id = (s: string) => `${query.refId}-${s}`;
  return (
    <>
      <InlineFieldRow>
        <FilterSelect
          label="技能组"
          id={id('groups')}
          values={query.groups}
          {...groups}
          onChange={(g) => change({ ...query, groups: g })}
        />
        <FilterSelect label="客服" id={id('agents')} values={query.agents} {...agents} onChange={(a) => change({ ...query, agents: a })} />
      </InlineFieldRow>
      <InlineFieldRow>
        <FilterSelect
          label="满意度"
          id={id('satisfaction')}
          values={query.satisfaction ?? []}
          options={[...variableOptions(), ...SCORES]}
          onChange={(s) => change({ ...query, satisfaction: s })}
        />
        <InlineField label="24小时内复访" labelWidth={LW}>
          <RadioButtonGroup<NonNullable<SessionsQuery['revisit']>>
            options={[
              { label: '全部', value: '' },
              { label: '是', value: 'yes' },
              { label: '否', value: 'no' },
            ]}
            value={query.revisit ?? ''}
            onChange={(revisit) => change({ ...query, revisit })}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <TextField
          label="用户ID"
          id={id('user')}
          value={query.userId}
          onChange={(userId) => change({ ...query, userId: userId || undefined })}
        />
        <TextField
          label="类目"
          id={id('category')}
          value={query.category}
          tooltip="a category path prefix or any level"
          onChange={(category) => change({ ...query, category: category || undefined })}
        />
      </InlineFieldRow>
      <InlineFieldRow>
        <TextField
          label="备注"
          id={id('remark')}
          value={query.remark}
          onChange={(remark) => change({ ...query, remark: remark || undefined })}
        />
        <TextField
          label="最多条数"
          id={id('limit')}
          value={query.limit ? String(query.limit) : ''}
          placeholder="1000"
          onChange={(v) => change({ ...query, limit: Number(v) > 0 ? Math.floor(Number(v)) : undefined })}
        />
      </InlineFieldRow>
    </>
  );
}

function SessionFields({ query, change }: { query: SessionQuery; change: (q: CCQuery) => void }) {
  return (
    <InlineFieldRow>
      <TextField
        label="会话ID"
        id={`${query.refId}-session`}
        value={query.sessionId}
        placeholder="$session"
        onChange={(sessionId) => change({ ...query, sessionId })}
      />
      <InlineField label="内容" labelWidth={8}>
        <RadioButtonGroup<SessionQuery['part']>
          options={[
            { label: '概要', value: 'summary' },
            { label: '进线记录', value: 'legs' },
            { label: '接待记录', value: 'parts' },
            { label: '聊天记录', value: 'transcript' },
          ]}
          value={query.part}
          onChange={(part) => change({ ...query, part })}
        />
      </InlineField>
    </InlineFieldRow>
  );
}
