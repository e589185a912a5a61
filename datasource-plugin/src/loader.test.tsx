/**
 * dist/ as Grafana loads it: module.js is an AMD module whose dependencies
 * Grafana provides (SystemJS with the AMD extra resolves them to its own
 * copies of @grafana/data, @grafana/ui, @grafana/runtime, react, …).
 * test/globalSetup.ts builds dist/ first when it is missing or stale.
 */
import React from 'react';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { render, screen } from '@testing-library/react';
import { CustomVariableSupport, DataSourceApi, DataSourcePlugin } from '@grafana/data';
import { installBackendSrv, installTemplateSrv, makeSettings } from '../test/testkit';

const dist = path.resolve(__dirname, '../dist');

// What Grafana 13 shares with plugins (the scaffold's webpack externals) plus AMD's own `module`.
const PROVIDED: Record<string, () => unknown> = {
  '@grafana/data': () => require('@grafana/data'),
  '@grafana/ui': () => require('@grafana/ui'),
  '@grafana/runtime': () => require('@grafana/runtime'),
  react: () => require('react'),
  'react-dom': () => require('react-dom'),
  'react/jsx-runtime': () => require('react/jsx-runtime'),
  rxjs: () => require('rxjs'),
  lodash: () => require('lodash'),
  '@emotion/css': () => require('@emotion/css'),
  module: () => ({ uri: 'public/plugins/csdataops-contactcenter-datasource/module.js' }),
};

function loadLikeGrafana(): { deps: string[]; exports: Record<string, any> } {
  const code = readFileSync(path.join(dist, 'module.js'), 'utf8');
  let deps: string[] = [];
  let exports: Record<string, any> = {};
  const define = (d: string[], factory: (...m: unknown[]) => Record<string, any>) => {
    deps = d;
    exports = factory(
      ...d.map((name) => {
        const get = PROVIDED[name];
        if (!get) throw new Error(`dist/module.js needs "${name}", which Grafana does not provide to plugins`);
        return get();
      }),
    );
  };
  (define as any).amd = {};
  new Function('define', code)(define);
  return { deps, exports };
}

describe('dist/module.js', () => {
  beforeAll(() => {
    installBackendSrv();
    installTemplateSrv();
  });

  it('is an AMD module asking only for what Grafana provides', () => {
    const { deps } = loadLikeGrafana();
    expect(deps).toEqual(expect.arrayContaining(['@grafana/data', '@grafana/runtime', '@grafana/ui', 'react']));
    // The catalog is bundled, not an external: Grafana has no such module.
    expect(deps).not.toContain('@cs-data-ops/exporter/catalog');
  });

  it('exposes a DataSourcePlugin with its config and query editors, and a variable editor on its data source', () => {
    const { exports } = loadLikeGrafana();
    const plugin = exports.plugin;
    expect(plugin).toBeInstanceOf(DataSourcePlugin);
    expect(typeof plugin.components.ConfigEditor).toBe('function');
    expect(typeof plugin.components.QueryEditor).toBe('function');
    // Grafana 13 takes the variable editor from the data source's CustomVariableSupport, not setVariableQueryEditor.
    expect(plugin.components.VariableQueryEditor).toBeUndefined();
    const variables = new plugin.DataSourceClass(makeSettings()).variables;
    expect(variables).toBeInstanceOf(CustomVariableSupport);
    expect(variables.getType()).toBe('custom');
    expect(typeof variables.editor).toBe('function');
  });

  it('its data source class works against the exporter, through the route', async () => {
    const { exports } = loadLikeGrafana();
    const ds = new exports.plugin.DataSourceClass(makeSettings());
    expect(ds).toBeInstanceOf(DataSourceApi);
    const r = await ds.testDatasource();
    expect(r.status).toBe('success');
    expect(r.message).toMatch(/^Connected to the exporter at http:\/\/127\.0\.0\.1:\d+: /);
  });

  it('its query editor shows reports by their Chinese names', () => {
    const { exports } = loadLikeGrafana();
    const ds = new exports.plugin.DataSourceClass(makeSettings());
    const QueryEditor = exports.plugin.components.QueryEditor;
    render(<QueryEditor query={{ refId: 'A', report: 'agent_daily' }} onChange={() => {}} onRunQuery={() => {}} datasource={ds} />);
    expect(screen.getByDisplayValue('人工客服日统计')).toBeInTheDocument();
    expect(screen.getByText('时间序列')).toBeInTheDocument();
  });
});

describe('dist/plugin.json', () => {
  const json = () => JSON.parse(readFileSync(path.join(dist, 'plugin.json'), 'utf8'));

  it('is a frontend datasource for the Grafana it is built and tested with', () => {
    const p = json();
    expect(p).toMatchObject({ id: 'csdataops-contactcenter-datasource', type: 'datasource', metrics: true, backend: false });
    // The id Grafana checks: <org>-<name>-<type>.
    expect(p.id).toMatch(/^[a-z0-9]+-[a-z0-9]+-datasource$/);
    // The declaration covers the two Grafanas the build is tested in: the @grafana/* these tests load (13) and
    // the 12.4 that test/grafana12.ts loads dist/module.js into; nothing older is tested, so nothing older is
    // claimed (dashboards/test/versions.test.ts checks compose, the SDK and this declaration agree).
    const tested = [require('@grafana/data/package.json').version, require('../test/grafana12.json')['@grafana/ui']];
    for (const v of tested) expect(semver.satisfies(v, p.dependencies.grafanaDependency)).toBe(true);
    expect(semver.satisfies('12.4.0', p.dependencies.grafanaDependency)).toBe(false);
    expect(p.info.version).toBe(require('../package.json').version);
    expect(p.info.updated).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const logo of Object.values(p.info.logos) as string[]) expect(existsSync(path.join(dist, logo))).toBe(true);
    expect(existsSync(path.join(dist, 'module.js'))).toBe(true);
  });

  it('routes the browser to the exporter through the proxy with the bearer token', () => {
    expect(json().routes).toEqual([
      {
        path: 'api',
        url: '{{ .JsonData.url }}/api',
        headers: [{ name: 'Authorization', content: 'Bearer {{ .SecureJsonData.apiToken }}' }],
      },
    ]);
  });
});
