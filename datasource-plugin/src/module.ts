import { DataSourcePlugin, type DataSourceInstanceSettings } from '@grafana/data';
import { DataSource } from './datasource';
import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { VariableQueryEditor } from './components/VariableQueryEditor';
import { CCVariableSupport } from './variables';
import type { CCOptions, CCQuery } from './types';

/** The data source as Grafana loads it: with the variable editor, which needs React (see variables.ts). */
class PluginDataSource extends DataSource {
  constructor(instanceSettings: DataSourceInstanceSettings<CCOptions>) {
    super(instanceSettings);
    this.variables = new CCVariableSupport(this, VariableQueryEditor);
  }
}

export const plugin = new DataSourcePlugin<DataSource, CCQuery, CCOptions>(PluginDataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
