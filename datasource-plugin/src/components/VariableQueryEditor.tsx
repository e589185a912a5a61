import React from 'react';
import { Combobox, InlineField, Input, type ComboboxOption } from '@grafana/ui';
import { migrateVariableQuery } from '../migrate';
import type { CCVariableQuery, CCVariableTarget } from '../types';
import type { VariableEditor } from '../variables';

const KINDS: Array<ComboboxOption<CCVariableQuery['kind']>> = [
  { label: '技能组', value: 'groups', description: 'skill groups (live_groups)' },
  { label: '客服', value: 'agents', description: 'agents (live_agents)' },
  { label: '类目', value: 'categories', description: 'categories used in the last 30 days (category_top)' },
  { label: '工单类型', value: 'ticket_types', description: 'ticket types of the last 30 days (ticket_type)' },
];

export const VariableQueryEditor: VariableEditor = ({ query, onChange, onRunQuery }) => {
  // A new variable starts as '' and older dashboards hold the kind as a string.
  const q = migrateVariableQuery(query);
  const set = (next: CCVariableQuery) => {
    // Grafana's refId, where it added one, stays with the query.
    const refId = typeof query === 'object' && query?.refId ? { refId: query.refId } : {};
    onChange({ ...refId, ...next } as CCVariableTarget);
    onRunQuery();
  };
  return (
    <>
      <InlineField label="列表" labelWidth={14} htmlFor="cc-variable-kind">
        <Combobox id="cc-variable-kind" width={30} options={KINDS} value={q.kind} onChange={(v) => set({ ...q, kind: v.value })} />
      </InlineField>
      <InlineField label="租户" labelWidth={14} htmlFor="cc-variable-tenant">
        <Input
          id="cc-variable-tenant"
          width={30}
          defaultValue={q.tenant ?? ''}
          placeholder="default"
          onBlur={(e) => {
            const tenant = e.currentTarget.value || undefined;
            if (tenant !== q.tenant) set({ kind: q.kind, ...(tenant ? { tenant } : {}) });
          }}
        />
      </InlineField>
    </>
  );
};
