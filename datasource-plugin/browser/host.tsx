/**
 * The host page: the part of Grafana's frontend that a data source plugin meets, and no more.
 * It provides the shared modules Grafana gives plugins (the real react, react-dom, @grafana/data,
 * @grafana/ui, @grafana/runtime, rxjs, … of this repo's node_modules), loads the BUILT
 * dist/module.js as an AMD module (Grafana 12/13 load it with SystemJS's AMD extra), implements
 * getBackendSrv().fetch over window.fetch to the data source proxy emulation (test/backend-srv.ts),
 * and renders the plugin's editors inside Grafana's theme as Grafana's pages hand them their props.
 * The browser test (editors.browser.test.ts) drives it through window.harness.
 */
import * as React from 'react';
import * as ReactDOM from 'react-dom';
import * as ReactDOMClient from 'react-dom/client';
import { createRoot, type Root } from 'react-dom/client';
import * as jsxRuntime from 'react/jsx-runtime';
import * as jsxDevRuntime from 'react/jsx-dev-runtime';
import * as grafanaData from '@grafana/data';
import * as grafanaUi from '@grafana/ui';
import * as grafanaRuntime from '@grafana/runtime';
import * as rxjs from 'rxjs';
import * as rxjsOperators from 'rxjs/operators';
import * as emotionCss from '@emotion/css';
import * as emotionReact from '@emotion/react';
import * as lodash from 'lodash';
import { lastValueFrom } from 'rxjs';
import type {
  DataFrame,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceApi,
  DataSourceInstanceSettings,
  DataSourcePlugin,
  DataSourceSettings,
} from '@grafana/data';
import { backendSrvFetch, type RawAnswer } from '../test/backend-srv';

const PLUGIN_ID = 'csdataops-contactcenter-datasource';
const MODULE_URL = `public/plugins/${PLUGIN_ID}/module.js`;

// What Grafana shares with plugins (grafana/grafana public/app/features/plugins/loader/sharedDependencies.ts,
// sharedDependenciesMap), as far as a data source's editors can need it, plus AMD's own `module`.
// Anything else module.js asks for fails loudly rather than being stubbed.
const SHARED: Record<string, unknown> = {
  react: React,
  'react-dom': ReactDOM,
  'react-dom/client': ReactDOMClient,
  'react/jsx-runtime': jsxRuntime,
  'react/jsx-dev-runtime': jsxDevRuntime,
  '@grafana/data': grafanaData,
  '@grafana/ui': grafanaUi,
  '@grafana/runtime': grafanaRuntime,
  rxjs,
  'rxjs/operators': rxjsOperators,
  '@emotion/css': emotionCss,
  '@emotion/react': emotionReact,
  lodash,
  module: { uri: `/${MODULE_URL}` },
};

async function transport(url: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<RawAnswer> {
  const res = await window.fetch(url, { ...init, credentials: 'same-origin' });
  return {
    status: res.status,
    statusText: res.statusText,
    ok: res.ok,
    url: res.url,
    contentType: res.headers.get('content-type'),
    text: await res.text(),
  };
}

grafanaRuntime.setBackendSrv({ fetch: (options: any) => backendSrvFetch(options, transport) } as any);

// The dashboard's variables the editors offer ($group, …); none of the exporter's data.
const VARIABLES = [
  { name: 'group', type: 'query', multi: true, current: { value: ['$__all'], text: ['All'] }, options: [] },
  { name: 'tenant', type: 'custom', multi: false, current: { value: 'default', text: 'default' }, options: [] },
];
grafanaRuntime.setTemplateSrv({
  getVariables: () => VARIABLES as any,
  replace: (target?: string) => target ?? '',
  containsTemplate: (t?: string) => !!t && t.includes('$'),
  updateTimeRange: () => {},
} as any);

function loadAmd(url: string): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const w = window as any;
    w.define = (deps: string[], factory: (...mods: unknown[]) => Record<string, any>) => {
      const missing = deps.filter((d) => !(d in SHARED));
      if (missing.length) return reject(new Error(`module.js needs ${missing.join(', ')}, which the host does not share`));
      try {
        resolve(factory(...deps.map((d) => SHARED[d])));
      } catch (e) {
        reject(e);
      }
    };
    w.define.amd = {};
    const s = document.createElement('script');
    s.src = `/${url}`;
    s.onerror = () => reject(new Error(`cannot load /${url}`));
    document.head.appendChild(s);
  });
}

const theme = grafanaData.createTheme({ colors: { mode: 'dark' } });
let plugin: DataSourcePlugin<any, any, any> | undefined;
const datasources = new Map<string, DataSourceApi>();
let root: Root | undefined;

interface Change {
  editor: string;
  value: any;
}
const changes: Change[] = [];
let runs = 0;

function settings(uid: string, jsonData: Record<string, unknown>): DataSourceInstanceSettings<any> {
  return {
    id: datasources.size + 1,
    uid,
    type: PLUGIN_ID,
    name: uid,
    url: `/api/datasources/proxy/uid/${uid}`,
    access: 'proxy',
    jsonData,
    meta: { id: PLUGIN_ID, type: 'datasource', name: PLUGIN_ID, info: {}, module: MODULE_URL, baseUrl: `public/plugins/${PLUGIN_ID}` },
    readOnly: false,
  } as unknown as DataSourceInstanceSettings<any>;
}

function Frame({ children }: { children: React.ReactNode }) {
  const GlobalStyles = (grafanaUi as any).GlobalStyles as React.ComponentType | undefined;
  return (
    <grafanaData.ThemeContext.Provider value={theme}>
      {GlobalStyles ? <GlobalStyles /> : null}
      <div id="editor" style={{ padding: 16, width: 1000, background: theme.colors.background.primary }}>
        {children}
      </div>
    </grafanaData.ThemeContext.Provider>
  );
}

/** Grafana keeps the edited model in its own state and hands it back: so does this. */
function Stateful<T>({ initial, editor, render }: { initial: T; editor: string; render: (v: T, set: (v: T) => void) => React.ReactNode }) {
  const [value, setValue] = React.useState(initial);
  const set = (v: T) => {
    changes.push({ editor, value: JSON.parse(JSON.stringify(v)) });
    setValue(v);
  };
  return <>{render(value, set)}</>;
}

function show(node: React.ReactNode): void {
  root?.unmount();
  const el = document.getElementById('root')!;
  root = createRoot(el);
  root.render(<Frame>{node}</Frame>);
}

function frameSummary(f: DataFrame) {
  return { name: f.name, refId: f.refId, length: f.length, fields: f.fields.map((x) => x.name) };
}

const harness = {
  changes,
  runs: () => runs,
  async load(): Promise<string[]> {
    const mod = await loadAmd(MODULE_URL);
    plugin = mod.plugin;
    if (!(plugin instanceof grafanaData.DataSourcePlugin)) throw new Error('module.js exports no DataSourcePlugin named plugin');
    return Object.keys(plugin.components).filter((k) => (plugin!.components as any)[k]);
  },
  addDataSource(uid: string, jsonData: Record<string, unknown>): void {
    datasources.set(uid, new plugin!.DataSourceClass(settings(uid, jsonData)));
  },
  /** The data source settings page: ConfigEditor with Grafana's model, and "Save & test" below it. */
  renderConfig(uid: string, jsonData: Record<string, unknown>, test?: { status: string; message: string }): void {
    const ConfigEditor = plugin!.components.ConfigEditor!;
    const options = {
      id: 1,
      uid,
      orgId: 1,
      name: uid,
      type: PLUGIN_ID,
      typeName: '客服数据运营 (cs-exporter)',
      typeLogoUrl: '',
      access: 'proxy',
      url: '',
      user: '',
      database: '',
      basicAuth: false,
      basicAuthUser: '',
      isDefault: false,
      jsonData,
      secureJsonFields: { apiToken: true },
      readOnly: false,
      withCredentials: false,
    } as unknown as DataSourceSettings<any, any>;
    const { Alert } = grafanaUi as any;
    show(
      <>
        <Stateful initial={options} editor="config" render={(v, set) => <ConfigEditor options={v} onOptionsChange={set} />} />
        {test ? (
          <div style={{ marginTop: 16, maxWidth: 800 }} data-testid="test-result">
            <Alert severity={test.status === 'success' ? 'success' : 'error'} title={test.message} />
          </div>
        ) : null}
      </>,
    );
  },
  renderQuery(uid: string, query: Record<string, unknown>, range: { from: string; to: string }): void {
    const QueryEditor = plugin!.components.QueryEditor!;
    const ds = datasources.get(uid)!;
    const timeRange = {
      from: grafanaData.dateTime(range.from),
      to: grafanaData.dateTime(range.to),
      raw: { from: range.from, to: range.to },
    };
    show(
      <Stateful
        initial={query}
        editor="query"
        render={(q, set) => (
          <QueryEditor
            query={q}
            datasource={ds}
            onChange={set}
            onRunQuery={() => runs++}
            range={timeRange}
            app={grafanaData.CoreApp.PanelEditor}
          />
        )}
      />,
    );
  },
  /** The variable editor as Grafana 12/13 find it: on the data source's CustomVariableSupport. */
  renderVariable(uid: string, query: unknown): void {
    const ds = datasources.get(uid)! as any;
    const Editor = ds.variables?.editor;
    if (!Editor) throw new Error('the data source has no variable editor (variables.editor)');
    show(
      <Stateful
        initial={query}
        editor="variable"
        render={(q, set) => <Editor query={q} datasource={ds} onChange={set} onRunQuery={() => runs++} />}
      />,
    );
  },
  async runQuery(uid: string, query: Record<string, unknown>, range: { from: string; to: string }) {
    const ds = datasources.get(uid)!;
    const from = grafanaData.dateTime(range.from);
    const to = grafanaData.dateTime(range.to);
    const request = {
      requestId: 'browser',
      interval: '1h',
      intervalMs: 3_600_000,
      range: { from, to, raw: range },
      scopedVars: {},
      targets: [query],
      timezone: 'browser',
      app: 'dashboard',
      startTime: Date.now(),
    } as unknown as DataQueryRequest<any>;
    const out = ds.query(request);
    const res: DataQueryResponse = rxjs.isObservable(out) ? await lastValueFrom(out) : await out;
    return { frames: (res.data as DataFrame[]).map(frameSummary), errors: (res.errors ?? []).map((e) => e.message) };
  },
  /** Grafana runs a query variable through CustomVariableSupport.query with the saved variable query. */
  async runVariable(uid: string, query: unknown) {
    const ds = datasources.get(uid)! as any;
    const res = await lastValueFrom(ds.variables.query({ targets: [query], scopedVars: {}, range: undefined }) as rxjs.Observable<any>);
    return (res.data as Array<{ text: string; value?: string }>).map((v) => ({ text: String(v.text), value: String(v.value ?? v.text) }));
  },
  async testDatasource(uid: string) {
    return datasources.get(uid)!.testDatasource();
  },
};

(window as any).harness = harness;
(window as any).harnessReady = true;
