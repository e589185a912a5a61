/**
 * Stand-ins for the parts of Grafana a frontend data source talks to — the
 * only things not real in these tests. Requests go over HTTP through
 * test/grafana-proxy.ts (Grafana's data source proxy, following plugin.json's
 * routes) and come back shaped as getBackendSrv().fetch shapes them
 * (test/backend-srv.ts); the template service follows Grafana's rules for
 * multi-value and All.
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DataQueryRequest, DataSourceInstanceSettings, ScopedVars } from '@grafana/data';
import { dateTime } from '@grafana/data';
import { setBackendSrv, setTemplateSrv, type BackendSrvRequest, type TemplateSrv } from '@grafana/runtime';
import { DataSource } from '../src/datasource';
import type { CCOptions, CCQuery } from '../src/types';
import { backendSrvFetch, type RawAnswer } from './backend-srv';
import { startGrafanaProxy, type DataSourceInstance, type GrafanaProxy } from './grafana-proxy';

export const PROXY_URL = '/api/datasources/proxy/uid/cs-exporter';
const pluginJson = JSON.parse(readFileSync(path.resolve(__dirname, '../src/plugin.json'), 'utf8'));

// Data sources made before the proxy is up are registered when it starts.
const instances = new Map<string, DataSourceInstance>();
let proxy: Promise<GrafanaProxy> | undefined;

/** The Grafana proxy emulation of this process, started on first use (closed with closeGrafanaProxy). */
export function grafanaProxy(): Promise<GrafanaProxy> {
  proxy ??= startGrafanaProxy({ routes: pluginJson.routes ?? [] });
  return proxy;
}

export async function closeGrafanaProxy(): Promise<void> {
  const p = proxy;
  proxy = undefined;
  if (p) await (await p).close();
}

/** One HTTP exchange with node:http (jsdom has no fetch). */
function nodeTransport(url: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    // No keep-alive: an idle connection to the proxy would hold the test process open.
    const req = http.request(url, { method: init.method, headers: init.headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        resolve({
          status,
          statusText: res.statusMessage ?? '',
          ok: status >= 200 && status < 300,
          url,
          contentType: (res.headers['content-type'] as string | undefined) ?? null,
          text,
        });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

export function installBackendSrv(): void {
  setBackendSrv({
    fetch: <T>(options: BackendSrvRequest) =>
      backendSrvFetch<T>(options, async (url, init) => {
        const p = await grafanaProxy();
        for (const ds of instances.values()) p.addDataSource(ds);
        return nodeTransport(/^https?:\/\//.test(url) ? url : `${p.url}/${url}`, init);
      }),
  } as any);
}

export interface Variable {
  name: string;
  /** Selected values; ['$__all'] for All. */
  current: string[];
  options: string[];
  multi?: boolean;
}

/** Grafana's TemplateSrv rules that matter here: $v, ${v}, ${v:fmt}, [[v]]; All = every option; format functions get arrays. */
export class FakeTemplateSrv implements Partial<TemplateSrv> {
  constructor(public variables: Variable[] = []) {}

  getVariables(): any[] {
    return this.variables.map((v) => ({
      name: v.name,
      type: 'query',
      multi: !!v.multi,
      current: { value: v.multi ? v.current : v.current[0], text: v.current },
      options: v.options.map((o) => ({ value: o, text: o })),
    }));
  }

  containsTemplate(target?: string): boolean {
    return !!target && /\$\w+|\$\{\w+|\[\[\w+/.test(target);
  }

  updateTimeRange(): void {}

  replace(target?: string, scopedVars?: ScopedVars, format?: string | Function): string {
    if (!target) return target ?? '';
    return target.replace(/\$(\w+)|\$\{(\w+)(?::([^}]+))?\}|\[\[(\w+)\]\]/g, (match, a, b, fmt, c) => {
      const name = a ?? b ?? c;
      const scoped = scopedVars?.[name];
      let value: string | string[];
      if (scoped) value = scoped.value;
      else {
        const v = this.variables.find((x) => x.name === name);
        if (!v) return match;
        value = v.current.includes('$__all') ? v.options : v.multi ? v.current : v.current[0];
      }
      const f = fmt ?? format;
      if (typeof f === 'function') return f(value, {}, (x: unknown) => String(x));
      if (!Array.isArray(value)) return value;
      if (f === 'csv') return value.join(',');
      if (f === 'pipe') return value.join('|');
      if (f === 'json') return JSON.stringify(value);
      return value.length > 1 ? `{${value.join(',')}}` : (value[0] ?? '');
    });
  }
}

export function installTemplateSrv(t: FakeTemplateSrv = new FakeTemplateSrv()): FakeTemplateSrv {
  setTemplateSrv(t as unknown as TemplateSrv);
  return t;
}

export const exporterUrl = () => {
  const u = process.env.CC_EXPORTER_URL;
  if (!u) throw new Error('CC_EXPORTER_URL not set: the jest globalSetup starts the exporter');
  return u;
};
export const apiToken = () => process.env.CC_API_TOKEN ?? '';
/** The tenant that the exporter's second, tenant-scoped token opens, and that token. */
export const scopedTenant = () => process.env.CC_SCOPED_TENANT ?? '';
export const scopedApiToken = () => process.env.CC_SCOPED_API_TOKEN ?? '';

let n = 0;
/** A data source instance as Grafana builds it: url = the proxy path; jsonData/secureJsonData feed the route. */
export function makeSettings(opts: { url?: string; token?: string; timezone?: string } = {}): DataSourceInstanceSettings<CCOptions> {
  const uid = `cs-exporter-${++n}`;
  const dsUrl = `/api/datasources/proxy/uid/${uid}`;
  const jsonData: CCOptions = { url: opts.url ?? exporterUrl(), ...(opts.timezone ? { timezone: opts.timezone } : {}) };
  instances.set(uid, { uid, jsonData: { ...jsonData }, secureJsonData: { apiToken: opts.token ?? apiToken() } });
  return {
    id: n,
    uid,
    type: 'csdataops-contactcenter-datasource',
    name: 'cs-exporter',
    url: dsUrl,
    access: 'proxy',
    jsonData,
    meta: { id: 'csdataops-contactcenter-datasource' },
    readOnly: false,
  } as unknown as DataSourceInstanceSettings<CCOptions>;
}

export function makeDataSource(
  opts: { url?: string; token?: string; timezone?: string } = {},
  templateSrv: FakeTemplateSrv = new FakeTemplateSrv(),
): DataSource {
  return new DataSource(makeSettings(opts), templateSrv as unknown as TemplateSrv);
}

/** A second data source instance, as for one customer: its token is that tenant's own (CS_TENANT_API_TOKENS). */
export function makeScopedDataSource(templateSrv: FakeTemplateSrv = new FakeTemplateSrv()): DataSource {
  const token = scopedApiToken();
  if (!token) throw new Error('CC_SCOPED_API_TOKEN not set: the jest globalSetup starts the exporter with a tenant token');
  return makeDataSource({ token }, templateSrv);
}

/** A dashboard request over [from, to] (ISO instants). */
export function request(targets: CCQuery[], from: string, to: string, scopedVars: ScopedVars = {}): DataQueryRequest<CCQuery> {
  const range = { from: dateTime(from), to: dateTime(to), raw: { from, to } };
  return {
    requestId: 'test',
    interval: '1h',
    intervalMs: 3_600_000,
    range,
    scopedVars,
    targets,
    timezone: 'browser',
    app: 'dashboard',
    startTime: Date.now(),
  } as DataQueryRequest<CCQuery>;
}

export { freePort } from './exporter';
/** A URL where nothing listens (a port just freed). */
export async function freePortUrl(): Promise<string> {
  const { freePort } = await import('./exporter');
  return `http://127.0.0.1:${await freePort()}`;
}

/** POST JSON straight to the exporter (not through Grafana), e.g. to ingest events; jsdom has no fetch. */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; data: any }> {
  return new Promise((resolve, reject) => {
    // agent: false, as in the exchange above: Node 20's global agent keeps sockets alive, and reusing one
    // the exporter is just closing (its keep-alive timeout) fails with "socket hang up" (seen once in CI).
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let data: unknown = text;
        try {
          data = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode ?? 0, data });
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
