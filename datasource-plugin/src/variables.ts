import { CustomVariableSupport, type DataQueryRequest, type DataQueryResponse, type QueryEditorProps } from '@grafana/data';
import type { ComponentType } from 'react';
import { from, map, type Observable } from 'rxjs';

import type { DataSource } from './datasource';
import { migrateVariableQuery } from './migrate';
import type { CCOptions, CCQuery, CCVariableTarget } from './types';

export type VariableEditor = ComponentType<QueryEditorProps<DataSource, CCQuery, CCOptions, CCVariableTarget>>;

/**
 * Query variables (groups, agents, categories, ticket types) with this plugin's own editor.
 * The editor is handed in rather than imported so that datasource.ts stays free of React and
 * @grafana/ui: the dashboards' end-to-end test runs the data source in plain Node.
 */
export class CCVariableSupport extends CustomVariableSupport<DataSource, CCVariableTarget> {
  constructor(
    private readonly datasource: DataSource,
    readonly editor: VariableEditor,
  ) {
    super();
  }

  query(request: DataQueryRequest<CCVariableTarget>): Observable<DataQueryResponse> {
    // Grafana runs one target: the variable's saved query, which older dashboards hold as a plain string.
    const q = migrateVariableQuery(request.targets[0]);
    return from(this.datasource.metricFindQuery(q, { scopedVars: request.scopedVars })).pipe(map((data) => ({ data })));
  }
}
