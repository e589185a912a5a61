/**
 * The Grafana data source proxy emulation (test/grafana-proxy.ts) against the real
 * exporter: every rule the plugin's tests rely on, each from Grafana's source. If the
 * emulation drifted from Grafana, the plugin's tests would prove nothing.
 */
import http from 'node:http';
import { apiToken, exporterUrl, freePortUrl, scopedApiToken, scopedTenant } from '../test/testkit';
import { startGrafanaProxy, type GrafanaProxy } from '../test/grafana-proxy';
import pluginJson from './plugin.json';

interface Answer {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(url: string, method = 'GET', body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

let proxy: GrafanaProxy;
let echo: http.Server;
let echoUrl: string;
let seen: http.IncomingHttpHeaders[] = [];

beforeAll(async () => {
  proxy = await startGrafanaProxy({ routes: pluginJson.routes });
  // An upstream that answers with what it received, to see the request as Grafana forwards it.
  echo = http.createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'a=b' });
    res.end(JSON.stringify({ url: req.url, method: req.method }));
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  echoUrl = `http://127.0.0.1:${(echo.address() as { port: number }).port}`;
});

afterAll(async () => {
  await proxy.close();
  await new Promise((r) => echo.close(r));
});

const ds = (uid: string, url: string, apiToken?: string) =>
  proxy.url + proxy.addDataSource({ uid, jsonData: { url }, secureJsonData: apiToken === undefined ? {} : { apiToken } });

describe("Grafana's data source proxy, as emulated", () => {
  it("follows the plugin's route: path after the route, query kept, bearer token from secureJsonData, cookies and Origin dropped", async () => {
    seen = [];
    const base = ds('echo', echoUrl, 'sekrit');
    const a = await send(`${base}/api/v1/sessions/s%201?tenant=t1`, 'GET', undefined, {
      cookie: 'grafana_session=x',
      origin: 'http://grafana',
      authorization: 'Bearer from-the-browser',
    });
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toEqual({ url: '/api/v1/sessions/s%201?tenant=t1', method: 'GET' });
    // ds_auth_provider.go addHeaders: the route's Authorization wins over anything the browser sent.
    expect(seen[0].authorization).toBe('Bearer sekrit');
    expect(seen[0].cookie).toBeUndefined();
    expect(seen[0].origin).toBeUndefined();
    // proxyutil modifyResponse: Set-Cookie never reaches the browser; SetProxyResponseHeaders adds the CSP.
    expect(a.headers['set-cookie']).toBeUndefined();
    expect(a.headers['content-security-policy']).toBe('sandbox');
  });

  it('turns the exporter\'s 401 into 400 "Authentication to data source failed", as text (ds_proxy.go modifyResponse)', async () => {
    const direct = await send(`${exporterUrl()}/api/v1/reports`, 'GET', undefined, { authorization: 'Bearer wrong' });
    expect(direct.status).toBe(401);
    const a = await send(`${ds('wrong', exporterUrl(), 'wrong')}/api/v1/reports`);
    expect([a.status, a.statusText, a.body]).toEqual([400, 'Bad Request', 'Authentication to data source failed']);
    // The replaced response has empty headers: Go's ResponseWriter sniffs the text; no JSON type.
    expect(a.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it("passes the exporter's 403 on unchanged (only 401 is rewritten)", async () => {
    const a = await send(
      `${ds('scoped', exporterUrl(), scopedApiToken())}/api/v1/query`,
      'POST',
      JSON.stringify({ report: 'live_overview', tenant: 'default' }),
      { 'content-type': 'application/json' },
    );
    expect(a.status).toBe(403);
    expect(JSON.parse(a.body).error).toContain(`this token is for tenant "${scopedTenant()}" only`);
  });

  it('answers 502 with no body when the exporter cannot be reached (proxyutil errorHandler)', async () => {
    const a = await send(`${ds('down', await freePortUrl(), apiToken())}/api/v1/health`);
    expect([a.status, a.body]).toEqual([502, '']);
  });

  it('answers 404 {"message":"Unable to find datasource"} for an unknown uid (datasourceproxy.go toAPIError)', async () => {
    const a = await send(`${proxy.url}/api/datasources/proxy/uid/nope/api/v1/health`);
    expect(a.status).toBe(404);
    expect(JSON.parse(a.body)).toEqual({ message: 'Unable to find datasource' });
  });

  it('reaches the real exporter with the right token', async () => {
    const a = await send(`${ds('good', exporterUrl(), apiToken())}/api/v1/reports`);
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body).reports.length).toBeGreaterThan(0);
  });
});
