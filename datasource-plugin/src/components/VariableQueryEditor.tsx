import React from 'react';
import type { SelectableValue } from '@grafana/data';
import { InlineField, Input, Select } from '@grafana/ui';
import type { CCVariableQuery } from '../types';

const KINDS: Array<SelectableValue<CCVariableQuery['kind']>> = [
  { label: '技能组', value: 'groups', description: 'skill groups (live_groups)' },
  { label: '客服', value: 'agents', description: 'agents (live_agents)' },
  { label: '类目', value: 'categories', description: 'categories used in the last 30 days (category_top)' },
  { label: '工单类型', value: 'ticket_types', description: 'ticket types of the last 30 days (ticket_type)' },
];

interface Props {
  query: CCVariableQuery | string;
  onChange: (query: CCVariableQuery, definition: string) => void;
}

export function VariableQueryEditor({ query, onChange }: Props) {
  const q: CCVariableQuery =
    typeof query === 'string' || !query ? { kind: ((query as string) || 'groups') as CCVariableQuery['kind'] } : query;
  const label = (x: CCVariableQuery) => `${KINDS.find((k) => k.value === x.kind)?.label ?? x.kind}${x.tenant ? ` (${x.tenant})` : ''}`;
  return (
    <>
      <InlineField label="列表" labelWidth={14} htmlFor="cc-variable-kind">
        <Select
          inputId="cc-variable-kind"
          width={30}
          options={KINDS}
          value={q.kind}
          onChange={(v: SelectableValue<CCVariableQuery['kind']>) => onChange({ ...q, kind: v.value! }, label({ ...q, kind: v.value! }))}
        />
      </InlineField>
      <InlineField label="租户" labelWidth={14} htmlFor="cc-variable-tenant">
        <Input
          id="cc-variable-tenant"
          width={30}
          defaultValue={q.tenant ?? ''}
          placeholder="default"
          onBlur={(e) => {
            const tenant = e.currentTarget.value || undefined;
            onChange({ ...q, tenant }, label({ ...q, tenant }));
          }}
        />
      </InlineField>
    </>
  );
}
