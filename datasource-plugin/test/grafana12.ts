/**
 * Does the dist/module.js built with @grafana/* 13 load in Grafana 12.4? Grafana hands a plugin its own
 * @grafana/data, @grafana/ui, @grafana/runtime and React (SystemJS with the AMD extra), so the question is
 * answered by loading the very same file against Grafana 12.4's packages and React 18, installed
 * outside the repository, and rendering every editor against a real exporter.
 *
 * Run: npm run test:grafana12 -w datasource-plugin (needs the npm registry once; the install is reused).
 * Exit 0 and "OK" when it loads and renders with no console error; otherwise the problems, exit 1.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { API_TOKEN, startExporterProcess, stopExporterProcess } from './exporter';
import { ensureDist } from './globalSetup';

/**
 * Grafana 12.4's packages, and the React and rxjs it is built with (@grafana/ui 12.4.10's devDependencies).
 * In a JSON file because dashboards/test/versions.ts reads it too: it is the older end of grafanaDependency.
 */
export const GRAFANA_12: Record<string, string> = JSON.parse(readFileSync(path.join(__dirname, 'grafana12.json'), 'utf8'));

// CC_PLUGIN_DIST: check another build (a deliberately broken copy must fail).
const dist = process.env.CC_PLUGIN_DIST ? path.resolve(process.env.CC_PLUGIN_DIST) : path.resolve(__dirname, '../dist');

function install(): string {
  const dir = path.join(tmpdir(), `cs-data-ops-grafana-${GRAFANA_12['@grafana/ui']}`);
  const current = Object.entries(GRAFANA_12).every(([name, v]) => {
    const file = path.join(dir, 'node_modules', name, 'package.json');
    return existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).version === v;
  });
  if (!current) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ private: true, dependencies: GRAFANA_12 }, null, 2));
    process.stderr.write(`installing Grafana 12.4's packages into ${dir}…\n`);
    execFileSync('npm', ['install', '--no-fund', '--no-audit', '--ignore-scripts'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return dir;
}

/** A browser for @grafana/ui: jsdom, plus what jsdom lacks and Grafana's components touch when they render. */
function browserGlobals(req: NodeRequire): void {
  const { JSDOM } = req('jsdom');
  const dom = new JSDOM('<!doctype html><html><body></body></html>', { url: 'http://localhost:3000/', pretendToBeVisual: true });
  const w = dom.window;
  w.matchMedia = (query: string) =>
    ({ matches: false, media: query, addListener() {}, removeListener() {}, addEventListener() {}, removeEventListener() {} }) as any;
  class Observer {
    observe() {}
    unobserve() {}
    disconnect() {}
    takeRecords() {
      return [];
    }
  }
  w.ResizeObserver ??= Observer;
  w.IntersectionObserver ??= Observer;
  w.HTMLCanvasElement.prototype.getContext = (() => ({
    font: '',
    measureText: (t: string) => ({ width: String(t).length * 7, actualBoundingBoxAscent: 10, actualBoundingBoxDescent: 3 }),
  })) as any;
  for (const key of Object.getOwnPropertyNames(w)) {
    if (key in globalThis) continue;
    Object.defineProperty(globalThis, key, { configurable: true, get: () => w[key] });
  }
  // Node has its own Event classes; the DOM's dispatchEvent accepts only jsdom's.
  for (const key of ['window', 'document', 'navigator', 'self', 'Event', 'CustomEvent', 'EventTarget'])
    Object.defineProperty(globalThis, key, { configurable: true, writable: true, value: key === 'window' || key === 'self' ? w : w[key] });
  // Grafana's index.html sets this before any plugin loads; @grafana/runtime's config reads it.
  w.grafanaBootData = { settings: { buildInfo: { version: '12.4.0' }, featureToggles: {} }, user: {}, navTree: [] };
  (globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;
  // Stylesheets come through webpack in Grafana; here they are nothing.
  for (const ext of ['.css', '.scss']) (Module as any)._extensions[ext] = () => {};
}

/** Grafana's data source proxy for this plugin's route: `<proxy>/api/...` → the exporter, with the token. */
function backendSrv(exporterUrl: string, Observable: any) {
  const route = JSON.parse(readFileSync(path.join(dist, 'plugin.json'), 'utf8')).routes[0];
  return {
    fetch: (options: { url: string; method?: string; data?: unknown }) =>
      new Observable((sub: any) => {
        const rest = options.url.replace(/^\/api\/datasources\/proxy\/uid\/[^/]+\//, '');
        const target = route.url.replace('{{ .JsonData.url }}', exporterUrl) + rest.slice(route.path.length);
        const headers: Record<string, string> = { authorization: `Bearer ${API_TOKEN}`, accept: 'application/json' };
        if (options.data !== undefined) headers['content-type'] = 'application/json';
        fetch(target, { method: options.method ?? 'GET', headers, body: options.data === undefined ? undefined : JSON.stringify(options.data) })
          .then(async (r) => {
            const text = await r.text();
            let data: unknown = text;
            try {
              data = JSON.parse(text);
            } catch {}
            const out = { data, status: r.status, statusText: r.statusText, ok: r.ok, url: options.url, config: options };
            if (r.ok) {
              sub.next(out);
              sub.complete();
            } else sub.error(out);
          })
          .catch(() => sub.error({ status: 502, statusText: 'Bad Gateway', data: { message: 'Bad Gateway' } }));
      }),
  };
}

async function main(): Promise<string[]> {
  if (!process.env.CC_PLUGIN_DIST) ensureDist();
  const dir = install();
  const req = createRequire(path.join(dir, 'package.json'));
  browserGlobals(req);
  const problems: string[] = [];
  const consoleErrors: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => consoleErrors.push(args.map(String).join(' '));

  const React = req('react');
  const { createRoot } = req('react-dom/client');
  const { act } = React;
  const runtime = req('@grafana/runtime');
  const data = req('@grafana/data');
  const { Observable, lastValueFrom } = req('rxjs');

  const exporter = await startExporterProcess();
  try {
    runtime.setBackendSrv(backendSrv(exporter.url, Observable));
    runtime.setTemplateSrv({ replace: (s: string) => s ?? '', getVariables: () => [], containsTemplate: () => false, updateTimeRange() {} });

    // Load the built file as Grafana does: an AMD module whose dependencies Grafana provides.
    const provided: Record<string, () => unknown> = {
      '@grafana/data': () => data,
      '@grafana/ui': () => req('@grafana/ui'),
      '@grafana/runtime': () => runtime,
      react: () => React,
      'react-dom': () => req('react-dom'),
      rxjs: () => req('rxjs'),
      module: () => ({ uri: 'public/plugins/csdataops-contactcenter-datasource/module.js' }),
    };
    let exports: any;
    const define = (deps: string[], factory: (...m: unknown[]) => unknown) => {
      exports = factory(
        ...deps.map((d) => {
          if (!provided[d]) throw new Error(`module.js needs "${d}", which Grafana does not provide`);
          return provided[d]();
        }),
      );
    };
    (define as any).amd = {};
    new Function('define', readFileSync(path.join(dist, 'module.js'), 'utf8'))(define);
    const plugin = exports.plugin;
    if (!(plugin instanceof data.DataSourcePlugin)) problems.push('module.js does not export a DataSourcePlugin of @grafana/data 12.4');

    const settings = {
      id: 1,
      uid: 'cs-exporter',
      type: 'csdataops-contactcenter-datasource',
      name: 'cs-exporter',
      url: '/api/datasources/proxy/uid/cs-exporter',
      access: 'proxy',
      jsonData: { url: exporter.url },
      meta: {},
      readOnly: false,
    };
    const ds = new plugin.DataSourceClass(settings);
    const test = await ds.testDatasource();
    if (test.status !== 'success') problems.push(`Save & test: ${test.status}: ${test.message}`);

    const root = document.createElement('div');
    document.body.appendChild(root);
    const show = async (name: string, element: unknown, expected: string[]) => {
      const r = createRoot(root);
      await act(async () => r.render(element));
      // Lists load from the exporter after the first render.
      await act(() => new Promise((res) => setTimeout(res, 500)));
      const text = root.textContent ?? '';
      const values = [...root.querySelectorAll('input')].map((i) => (i as HTMLInputElement).value).join(' ');
      for (const e of expected) if (!text.includes(e) && !values.includes(e)) problems.push(`${name}: "${e}" not shown`);
      if (text.includes('未加载')) problems.push(`${name}: lists did not load from the exporter: ${text}`);
      await act(async () => r.unmount());
    };
    const noop = () => {};
    const options = { ...settings, jsonData: { url: exporter.url }, secureJsonFields: { apiToken: true }, secureJsonData: {} };
    await show('config editor', React.createElement(plugin.components.ConfigEditor, { options, onOptionsChange: noop }), [
      'Exporter URL',
      'API token',
      exporter.url,
    ]);
    const QE = plugin.components.QueryEditor;
    const queries: Array<[string, object, string[]]> = [
      ['report', { queryType: 'report', report: 'agent_daily', metrics: ['answered'], groups: [], agents: [], format: 'table' }, ['人工客服日统计', '应答量', '时间序列']],
      ['live', { queryType: 'live', report: 'live_agents', metrics: [], groups: [] }, ['在线客服列表', '姓名/工号']],
      ['sessions', { queryType: 'sessions', groups: [], agents: [] }, ['满意度', '24小时内复访', '备注']],
      ['session', { queryType: 'session', sessionId: 's-1', part: 'legs' }, ['会话ID', '进线记录', 's-1']],
    ];
    for (const [type, q, expected] of queries)
      await show(`query editor (${type})`, React.createElement(QE, { query: { refId: 'A', ...q }, onChange: noop, onRunQuery: noop, datasource: ds }), expected);
    const VE = ds.variables.editor;
    await show('variable editor', React.createElement(VE, { query: { kind: 'groups' }, onChange: noop, onRunQuery: noop, datasource: ds }), [
      '列表',
      '技能组',
    ]);

    // A query returns frames made with Grafana 12.4's @grafana/data.
    const range = { from: data.dateTime('2026-01-01T00:00:00Z'), to: data.dateTime('2026-01-02T00:00:00Z'), raw: { from: 'now-1d', to: 'now' } };
    const answer = ds.query({
        requestId: 'g12',
        interval: '1m',
        intervalMs: 60000,
        range,
        scopedVars: {},
        timezone: 'utc',
        app: 'dashboard',
        startTime: Date.now(),
        targets: [{ refId: 'A', queryType: 'live', report: 'live_overview', metrics: [], groups: [] }],
      });
    // DataSourceApi.query may answer with a Promise or an Observable; Grafana takes either.
    const res = typeof answer?.subscribe === 'function' ? await lastValueFrom(answer) : await answer;
    if (!Array.isArray((res as any).data) || (res as any).data.length === 0) problems.push('a live_overview query returned no frames');
  } finally {
    console.error = original;
    await stopExporterProcess({ pid: exporter.child.pid!, dataDir: exporter.dataDir });
  }
  for (const e of consoleErrors) problems.push(`console error: ${e.slice(0, 400)}`);
  return problems;
}

main().then(
  (problems) => {
    if (problems.length) {
      console.log(`dist/module.js in Grafana ${GRAFANA_12['@grafana/ui']} (React ${GRAFANA_12.react}): FAILED\n- ${problems.join('\n- ')}`);
      process.exit(1);
    }
    console.log(`dist/module.js in Grafana ${GRAFANA_12['@grafana/ui']} (React ${GRAFANA_12.react}): OK (loads, every editor renders, lists and a query come from the exporter)`);
    process.exit(0);
  },
  (err) => {
    console.log(`dist/module.js in Grafana ${GRAFANA_12['@grafana/ui']}: FAILED\n${err?.stack ?? err}`);
    process.exit(1);
  },
);
