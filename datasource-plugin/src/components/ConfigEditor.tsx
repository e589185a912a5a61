import React, { type ChangeEvent } from 'react';
import { InlineField, Input, SecretInput } from '@grafana/ui';
import type { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { DEFAULT_TIMEZONE, type CCOptions, type CCSecureJsonData } from '../types';

type Props = DataSourcePluginOptionsEditorProps<CCOptions, CCSecureJsonData>;

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields, secureJsonData } = options;
  const setJson = (key: keyof CCOptions) => (e: ChangeEvent<HTMLInputElement>) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, [key]: e.target.value } });

  return (
    <>
      <InlineField
        label="Exporter URL"
        labelWidth={18}
        interactive
        tooltip="Where Grafana's server reaches cs-exporter, e.g. http://127.0.0.1:9470. Browsers never call it directly: requests go through Grafana's data source proxy."
      >
        <Input
          id="config-exporter-url"
          value={jsonData.url ?? ''}
          placeholder="http://127.0.0.1:9470"
          width={40}
          onChange={setJson('url')}
        />
      </InlineField>
      <InlineField
        label="API token"
        labelWidth={18}
        interactive
        tooltip="The exporter's CS_API_TOKEN. Stored encrypted; Grafana adds it as a bearer token to every request."
      >
        <SecretInput
          id="config-api-token"
          isConfigured={!!secureJsonFields?.apiToken}
          value={secureJsonData?.apiToken ?? ''}
          placeholder="CS_API_TOKEN of the exporter"
          width={40}
          onReset={() =>
            onOptionsChange({
              ...options,
              secureJsonFields: { ...secureJsonFields, apiToken: false },
              secureJsonData: { ...secureJsonData, apiToken: '' },
            })
          }
          onChange={(e: ChangeEvent<HTMLInputElement>) =>
            onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, apiToken: e.target.value } })
          }
        />
      </InlineField>
      <InlineField
        label="Time zone"
        labelWidth={18}
        interactive
        tooltip="The tenants' day boundaries (the exporter's CS_TIMEZONE): the dashboard range becomes these local days."
      >
        <Input
          id="config-timezone"
          value={jsonData.timezone ?? ''}
          placeholder={DEFAULT_TIMEZONE}
          width={40}
          onChange={setJson('timezone')}
        />
      </InlineField>
    </>
  );
}
