/**
 * The plugin in a real browser: headless Chromium (playwright-core, /usr/bin/chromium) loads the
 * BUILT dist/module.js into a host page that shares the real @grafana/* packages with it
 * (browser/host.tsx), as Grafana does. Every request goes through the data source proxy
 * emulation (test/grafana-proxy.ts, following dist/plugin.json's route) to a real exporter on an
 * embedded Postgres fed with a small scenario. For the config editor, the query editor of each
 * query type and the variable editor: no console error, the lists fill from the exporter,
 * choosing an option changes the query, and the query returns frames with rows. Screenshots of
 * each editor are taken on every run; with CC_SCREENSHOTS=docs they replace docs/screenshots/ (shown
 * in the README), otherwise they go to a temporary directory so that a test run leaves the tree clean.
 *
 * Run: `npm test -w datasource-plugin` (after jest), or `node --import tsx --test browser/editors.browser.test.ts`.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { API_TOKEN, startExporterProcess, stopExporterProcess, type RunningExporter } from '../test/exporter';
import { ensureDist } from '../test/globalSetup';
import { startGrafanaProxy, type GrafanaProxy } from '../test/grafana-proxy';

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const shots =
  process.env.CC_SCREENSHOTS === 'docs' ? path.join(root, 'docs', 'screenshots') : mkdtempSync(path.join(tmpdir(), 'cs-plugin-shots-'));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PLUGIN_ID = 'csdataops-contactcenter-datasource';
// The exporter is fresh for this run, so a fixed tenant is safe (and reads well in the screenshots).
const TENANT = 'demo-shop';
const GOOD = 'cs-exporter';
const WRONG = 'cs-wrong-token';

// Two days ago, local: a day that is final after the rollup. Local midnight in UTC+8 (no DST in Asia/Shanghai).
const DAY = new Date(Date.now() + 8 * 3_600_000 - 2 * 86_400_000).toISOString().slice(0, 10);
const at = (h: number, m = 0, s = 0) => Date.parse(`${DAY}T00:00:00+08:00`) + ((h * 60 + m) * 60 + s) * 1000;
const RANGE = { from: new Date(at(0)).toISOString(), to: new Date(at(24) - 1).toISOString() };

let seq = 0;
const ev = (type: string, time: number, body: Record<string, unknown>) => ({ id: `br-${++seq}`, type, time, tenant: TENANT, ...body });
const EVENTS = [
  ev('group.upsert', at(8), { groupId: 'g1', name: '售前' }),
  ev('group.upsert', at(8), { groupId: 'g2', name: '售后' }),
  ev('agent.upsert', at(8), { agentId: 'a1', name: '张三', workNo: '1001', groups: ['g1'], maxSessions: 5 }),
  ev('agent.upsert', at(8), { agentId: 'a2', name: '李四', workNo: '1002', groups: ['g2'], maxSessions: 5 }),
  ev('agent.status', at(9), { agentId: 'a1', status: 'online', seat: 'A-01' }),
  ev('agent.status', at(9), { agentId: 'a2', status: 'online', seat: 'A-02' }),
  ev('session.start', at(10), { sessionId: 's1', userId: 'u1', region: '上海' }),
  ev('session.queue', at(10), { sessionId: 's1', groupId: 'g1', via: 'direct' }),
  ev('session.answer', at(10, 0, 15), { sessionId: 's1', groupId: 'g1', agentId: 'a1' }),
  ev('session.message', at(10, 0, 20), { sessionId: 's1', from: 'user', text: '我要退款' }),
  ev('session.message', at(10, 0, 40), { sessionId: 's1', from: 'agent', agentId: 'a1', text: '好的，马上处理' }),
  ev('session.rate', at(10, 9), { sessionId: 's1', score: 5 }),
  ev('session.end', at(10, 10), { sessionId: 's1', by: 'user' }),
  ev('session.start', at(11), { sessionId: 's2', userId: 'u2' }),
  ev('session.queue', at(11), { sessionId: 's2', groupId: 'g1', via: 'direct' }),
  ev('session.abandon', at(11, 1), { sessionId: 's2', groupId: 'g1' }),
  ev('session.start', at(12), { sessionId: 's3', userId: 'u3' }),
  ev('session.queue', at(12), { sessionId: 's3', groupId: 'g2', via: 'direct' }),
  ev('session.answer', at(12, 0, 30), { sessionId: 's3', groupId: 'g2', agentId: 'a2' }),
  ev('session.end', at(12, 5), { sessionId: 's3', by: 'agent' }),
];

let exporter: RunningExporter | undefined;
let proxy: GrafanaProxy | undefined;
let context: BrowserContext | undefined;
let page: Page;
let userDataDir: string | undefined;
const consoleErrors: string[] = [];

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, data: await res.json().catch(() => null) };
}

/** The host page, bundled from browser/host.tsx with the repo's own @grafana/* and React. */
async function bundleHost(): Promise<string> {
  const out = await build({
    entryPoints: [path.join(__dirname, 'host.tsx')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'chrome110',
    minify: true,
    // Grafana ships production React; so does the host.
    define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
    // @grafana/ui imports a few stylesheets and fonts the editors do not need.
    loader: { '.css': 'empty', '.svg': 'text', '.woff': 'empty', '.woff2': 'empty', '.png': 'empty' },
    jsx: 'automatic',
    logLevel: 'error',
  });
  return out.outputFiles[0].text;
}

/**
 * Grafana serves Inter from public/fonts/inter/ (GlobalStyles/fonts.ts getFontStyles). Its files are not on npm;
 * @fontsource/inter's latin subsets stand in (CJK text falls back to the system's fonts, as in Grafana).
 */
function interFonts(): Record<string, { contentType: string; body: Buffer }> {
  const files = path.join(path.dirname(require.resolve('@fontsource/inter/package.json')), 'files');
  const font = (f: string) => ({ contentType: 'font/woff2', body: readFileSync(path.join(files, f)) });
  return {
    '/public/fonts/inter/Inter-Regular.woff2': font('inter-latin-400-normal.woff2'),
    '/public/fonts/inter/Inter-Italic.woff2': font('inter-latin-400-italic.woff2'),
    '/public/fonts/inter/Inter-Medium.woff2': font('inter-latin-500-normal.woff2'),
    '/public/fonts/inter/Inter-MediumItalic.woff2': font('inter-latin-500-italic.woff2'),
  };
}

type Harness = any;
const h = <T>(fn: (harness: Harness, arg: any) => T | Promise<T>, arg?: unknown): Promise<T> =>
  page.evaluate(([src, a]) => new Function('h', 'a', `return (${src})(h, a)`)((window as any).harness, a), [fn.toString(), arg] as const);

const lastChange = (editor: string) => h((x, e) => [...x.changes].reverse().find((c: any) => c.editor === e)?.value, editor);
const changeCount = () => h((x) => x.changes.length);

/** No console error, except Chromium's own note of the failed requests listed in `expected` (HTTP status + path). */
function assertNoConsoleErrors(what: string, expected: string[] = []): void {
  const errors = consoleErrors.splice(0);
  const failed = errors.filter((e) => e.startsWith('HTTP '));
  const notes = errors.filter((e) => e.startsWith('Failed to load resource: the server responded with a status of'));
  const rest = errors.filter((e) => !failed.includes(e) && !notes.includes(e));
  assert.deepEqual(rest, [], `console errors while ${what}`);
  assert.deepEqual(failed, expected, `failed requests while ${what}`);
  assert.equal(notes.length, failed.length, `Chromium's notes of failed requests while ${what}: ${notes.join('; ')}`);
}

/** Opens the combobox labelled `label`, waits for an option to appear, and returns the options shown. */
async function openCombobox(label: string, expect: string | RegExp): Promise<string[]> {
  const box = page.getByRole('combobox', { name: label, exact: true });
  await box.click();
  const option = page.getByRole('option').filter({ hasText: expect }).first();
  await option.waitFor({ state: 'visible', timeout: 20_000 });
  return page.getByRole('option').allInnerTexts();
}

async function choose(text: string | RegExp): Promise<void> {
  await page.getByRole('option').filter({ hasText: text }).first().click();
}

async function closeMenus(): Promise<void> {
  await page.keyboard.press('Escape');
  await page.mouse.click(1030, 5);
}

async function screenshot(name: string): Promise<void> {
  mkdirSync(shots, { recursive: true });
  // The editor plus any open menu (menus render in a portal outside #editor).
  const box = await page.evaluate(() => {
    const els = [document.getElementById('editor'), ...document.querySelectorAll('[role="listbox"], [role="dialog"]')];
    let bottom = 0;
    for (const el of els) if (el) bottom = Math.max(bottom, el.getBoundingClientRect().bottom);
    return { bottom };
  });
  await page.screenshot({ path: path.join(shots, `${name}.png`), clip: { x: 0, y: 0, width: 1000, height: Math.ceil(box.bottom) + 8 } });
}

async function waitForChange(before: number): Promise<void> {
  await page.waitForFunction((n) => (window as any).harness.changes.length > n, before, { timeout: 10_000 });
}

// Bounded: the exporter's start (embedded Postgres) is allowed 180 s by its helper, Chromium 60 s.
before(
  async () => {
    assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
    ensureDist();
    const hostJs = await bundleHost();

    exporter = await startExporterProcess();
    const ingest = await postJson(`${exporter.url}/api/v1/events`, EVENTS);
    assert.deepEqual(ingest.data, { accepted: EVENTS.length, duplicates: 0, rejected: [] });
    const rollup = await postJson(
      `${exporter.url}/api/v1/rollups`,
      { date: DAY, tenant: TENANT },
      { authorization: `Bearer ${API_TOKEN}` },
    );
    assert.ok([200, 204].includes(rollup.status), `rollup: ${rollup.status}`);

    // What ships: the routes of dist/plugin.json, the files of dist/.
    const pluginJson = JSON.parse(readFileSync(path.join(dist, 'plugin.json'), 'utf8'));
    proxy = await startGrafanaProxy({
      routes: pluginJson.routes,
      staticDirs: {
        [`/public/plugins/${PLUGIN_ID}/`]: dist,
        // Grafana serves @grafana/ui's icons under public/build/img/icons/ (Icon/utils.ts getIconRoot).
        '/public/build/img/icons/': path.join(path.dirname(require.resolve('@grafana/ui/package.json')), 'dist/public/img/icons'),
      },
      pages: {
        ...interFonts(),
        '/': {
          contentType: 'text/html; charset=utf-8',
          // Grafana's index.html sets grafanaBootData before any script runs; @grafana/runtime's config reads it.
          body:
            '<!doctype html><html><head><meta charset="utf-8"><title>host</title><link rel="icon" href="data:,">' +
            '<script>window.grafanaBootData = { settings: { featureToggles: {} }, user: { theme: "dark", lightTheme: false }, navTree: [] };</script>' +
            '</head><body><div id="root"></div><div id="grafana-portal-container"></div><script src="/host.js"></script></body></html>',
        },
        '/host.js': { contentType: 'application/javascript; charset=utf-8', body: hostJs },
      },
    });
    proxy.addDataSource({ uid: GOOD, jsonData: { url: exporter.url }, secureJsonData: { apiToken: API_TOKEN } });
    proxy.addDataSource({ uid: WRONG, jsonData: { url: exporter.url }, secureJsonData: { apiToken: 'not-the-token' } });

    userDataDir = mkdtempSync(path.join(tmpdir(), 'cs-plugin-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1000, height: 700 },
      timeout: 60_000,
    });
    context.setDefaultTimeout(20_000);
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
    // Chromium logs every failed response as a console error of its own ("Failed to load resource"): name the URL.
    page.on('response', (r) => {
      if (r.status() >= 400) consoleErrors.push(`HTTP ${r.status()} ${new URL(r.url()).pathname}`);
    });
    await page.goto(`${proxy.url}/`);
    await page
      .waitForFunction(() => (window as any).harnessReady === true, undefined, { timeout: 30_000 })
      .catch((e: Error) => {
        throw new Error(`the host page did not start: ${e.message}\n${consoleErrors.join('\n')}`);
      });
    const components = await h((x) => x.load());
    assert.ok(components.includes('ConfigEditor') && components.includes('QueryEditor'), `components: ${components}`);
    await h((x, a) => (x.addDataSource(a.good, { url: a.url }), x.addDataSource(a.wrong, { url: a.url })), {
      good: GOOD,
      wrong: WRONG,
      url: exporter.url,
    });
    assertNoConsoleErrors('loading dist/module.js');
  },
  { timeout: 420_000 },
);

after(
  async () => {
    await context?.close().catch(() => {});
    await proxy?.close().catch(() => {});
    if (exporter) await stopExporterProcess({ pid: exporter.child.pid!, dataDir: exporter.dataDir });
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    if (process.env.CC_SCREENSHOTS !== 'docs') rmSync(shots, { recursive: true, force: true });
  },
  { timeout: 60_000 },
);

const T = { timeout: 90_000 };

// A test that failed half-way must not hand its console errors to the next one.
beforeEach(() => {
  consoleErrors.splice(0);
});

describe('the plugin in Chromium, loaded from dist/module.js', () => {
  test('config editor: edits reach the settings; Save & test succeeds with the right token', T, async () => {
    await h((x, a) => x.renderConfig(a.uid, { url: a.url, timezone: 'Asia/Shanghai' }), { uid: GOOD, url: exporter!.url });
    const url = page.locator('#config-exporter-url');
    await url.waitFor();
    assert.equal(await url.inputValue(), exporter!.url);
    const n = await changeCount();
    await url.fill('http://cs-exporter:9470');
    await waitForChange(n);
    assert.equal((await lastChange('config')).jsonData.url, 'http://cs-exporter:9470');
    const result = await h((x, uid) => x.testDatasource(uid), GOOD);
    assert.equal(result.status, 'success', result.message);
    assert.match(result.message, /^Connected to the exporter at http:\/\/127\.0\.0\.1:\d+: \d+ reports, \d+ available now\.$/);
    await h((x, a) => x.renderConfig(a.uid, { url: a.url, timezone: 'Asia/Shanghai' }, a.result), {
      uid: GOOD,
      url: exporter!.url,
      result,
    });
    await page.getByTestId('test-result').waitFor();
    assert.match(await page.getByTestId('test-result').innerText(), /Connected to the exporter/);
    assertNoConsoleErrors('using the config editor');
    await screenshot('config-editor');
  });

  test('config editor: Save & test with a wrong token shows the token explanation', T, async () => {
    const result = await h((x, uid) => x.testDatasource(uid), WRONG);
    assert.equal(result.status, 'error');
    assert.equal(
      result.message,
      'The exporter refused the API token (Grafana\'s proxy: "Authentication to data source failed"): ' +
        "set the API token in the data source settings to the exporter's CS_API_TOKEN, or to a tenant's token of CS_TENANT_API_TOKENS.",
    );
    await h((x, a) => x.renderConfig(a.uid, { url: a.url }, a.result), { uid: WRONG, url: exporter!.url, result });
    await page.getByTestId('test-result').waitFor();
    assert.match(await page.getByTestId('test-result').innerText(), /refused the API token/);
    // Only the plugin's explanation: the failed request itself must not log errors in the page.
    assertNoConsoleErrors('Save & test with a wrong token', [`HTTP 400 /api/datasources/proxy/uid/${WRONG}/api/v1/reports`]);
    await screenshot('config-editor-wrong-token');
  });

  test('query editor, 报表: groups from the exporter, choosing a report and a group, frames with rows', T, async () => {
    const query = {
      refId: 'A',
      queryType: 'report',
      report: 'group_daily',
      metrics: [],
      groups: [],
      agents: [],
      format: 'table',
      tenant: TENANT,
    };
    await h((x, a) => x.renderQuery(a.uid, a.query, a.range), { uid: GOOD, query, range: RANGE });
    let n = await changeCount();
    const reports = await openCombobox('报表', '人工客服日统计');
    assert.ok(
      reports.some((o) => o.includes('人工技能组日统计')),
      reports.join(' | '),
    );
    await choose('人工客服日统计');
    await waitForChange(n);
    assert.equal((await lastChange('query')).report, 'agent_daily');
    n = await changeCount();
    await openCombobox('报表', '人工技能组日统计');
    await choose(/^人工技能组日统计/);
    await waitForChange(n);
    n = await changeCount();
    const groups = await openCombobox('技能组', '售前');
    assert.ok(
      groups.some((o) => o.includes('售后')),
      `groups listed: ${groups.join(' | ')}`,
    );
    await screenshot('query-editor-report');
    await choose('售前');
    await waitForChange(n);
    await closeMenus();
    const q = await lastChange('query');
    assert.equal(q.report, 'group_daily');
    assert.deepEqual(q.groups, ['g1']);
    const res = await h((x, a) => x.runQuery(a.uid, a.q, a.range), { uid: GOOD, q, range: RANGE });
    assert.deepEqual(res.errors, []);
    assert.equal(res.frames.length, 1);
    assert.equal(res.frames[0].length, 1, 'one row: 售前 on the scenario day');
    assert.ok(res.frames[0].fields.includes('inflow'));
    assertNoConsoleErrors('using the report editor');
  });

  test('query editor, 实时监控: live groups filter from the exporter, frames with rows', T, async () => {
    const query = { refId: 'A', queryType: 'live', report: 'live_groups', metrics: [], groups: [], tenant: TENANT };
    await h((x, a) => x.renderQuery(a.uid, a.query, a.range), { uid: GOOD, query, range: RANGE });
    let n = await changeCount();
    await openCombobox('监控', '在线客服列表');
    await choose('在线客服列表');
    await waitForChange(n);
    assert.equal((await lastChange('query')).report, 'live_agents');
    n = await changeCount();
    const groups = await openCombobox('技能组', '售后');
    assert.ok(
      groups.some((o) => o.includes('售前')),
      groups.join(' | '),
    );
    await screenshot('query-editor-live');
    await choose('售后');
    await waitForChange(n);
    await closeMenus();
    const q = await lastChange('query');
    assert.deepEqual([q.report, q.groups], ['live_agents', ['g2']]);
    const res = await h((x, a) => x.runQuery(a.uid, a.q, a.range), { uid: GOOD, q, range: RANGE });
    assert.deepEqual(res.errors, []);
    assert.ok(res.frames.length >= 1 && res.frames[0].length >= 1, JSON.stringify(res.frames));
    assertNoConsoleErrors('using the live editor');
  });

  test('query editor, 会话记录: agents from the exporter, frames with rows', T, async () => {
    const query = { refId: 'A', queryType: 'sessions', groups: [], agents: [], tenant: TENANT };
    await h((x, a) => x.renderQuery(a.uid, a.query, a.range), { uid: GOOD, query, range: RANGE });
    const n = await changeCount();
    const agents = await openCombobox('客服', '张三 (1001)');
    assert.ok(
      agents.some((o) => o.includes('李四 (1002)')),
      agents.join(' | '),
    );
    await screenshot('query-editor-sessions');
    await choose('张三 (1001)');
    await waitForChange(n);
    await closeMenus();
    const q = await lastChange('query');
    assert.deepEqual(q.agents, ['a1']);
    const res = await h((x, a) => x.runQuery(a.uid, a.q, a.range), { uid: GOOD, q, range: RANGE });
    assert.deepEqual(res.errors, []);
    assert.equal(res.frames[0].length, 1, 'one session answered by 张三: s1');
    assertNoConsoleErrors('using the sessions editor');
  });

  test('query editor, 会话详情: session id and part change the query; the transcript has rows', T, async () => {
    const query = { refId: 'A', queryType: 'session', sessionId: '', part: 'summary', tenant: TENANT };
    await h((x, a) => x.renderQuery(a.uid, a.query, a.range), { uid: GOOD, query, range: RANGE });
    let n = await changeCount();
    const id = page.getByLabel('会话ID', { exact: true });
    await id.fill('s1');
    await id.blur();
    await waitForChange(n);
    assert.equal((await lastChange('query')).sessionId, 's1');
    n = await changeCount();
    await page.getByRole('radio', { name: '聊天记录', exact: true }).click();
    await waitForChange(n);
    const q = await lastChange('query');
    assert.deepEqual([q.sessionId, q.part], ['s1', 'transcript']);
    await screenshot('query-editor-session');
    const res = await h((x, a) => x.runQuery(a.uid, a.q, a.range), { uid: GOOD, q, range: RANGE });
    assert.deepEqual(res.errors, []);
    assert.equal(res.frames[0].length, 2, 'two messages in s1');
    assertNoConsoleErrors('using the session editor');
  });

  test('a query with a wrong token shows the token explanation as the panel error', T, async () => {
    const q = {
      refId: 'A',
      queryType: 'report',
      report: 'group_daily',
      metrics: [],
      groups: [],
      agents: [],
      format: 'table',
      tenant: TENANT,
    };
    const res = await h((x, a) => x.runQuery(a.uid, a.q, a.range), { uid: WRONG, q, range: RANGE });
    assert.deepEqual(res.frames, []);
    assert.match(res.errors[0], /^The exporter refused the API token \(Grafana's proxy: "Authentication to data source failed"\)/);
    assertNoConsoleErrors('querying with a wrong token', [`HTTP 400 /api/datasources/proxy/uid/${WRONG}/api/v1/query`]);
  });

  test('variable editor: choosing a list changes the variable query; the variable lists values from the exporter', T, async () => {
    await h((x, a) => x.renderVariable(a.uid, a.query), { uid: GOOD, query: { refId: 'A', kind: 'groups', tenant: TENANT } });
    const n = await changeCount();
    const kinds = await openCombobox('列表', '客服');
    assert.ok(
      kinds.some((o) => o.includes('工单类型')),
      kinds.join(' | '),
    );
    await screenshot('variable-editor');
    await choose(/^客服/);
    await waitForChange(n);
    await closeMenus();
    const v = await lastChange('variable');
    assert.deepEqual(v, { refId: 'A', kind: 'agents', tenant: TENANT });
    const values = await h((x, a) => x.runVariable(a.uid, a.v), { uid: GOOD, v });
    assert.deepEqual(values, [
      { text: '张三 (1001)', value: 'a1' },
      { text: '李四 (1002)', value: 'a2' },
    ]);
    assertNoConsoleErrors('using the variable editor');
  });
});
