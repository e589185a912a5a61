/**
 * A thin emulation of Grafana's data source proxy for a frontend plugin's
 * routes: `/api/datasources/proxy/uid/<uid>/<proxyPath>` → the matched
 * plugin.json route's URL, with the route's headers rendered from the data
 * source's jsonData and secureJsonData. It exists because no Grafana server
 * runs here; every rule below is Grafana's, cited by file and function
 * (grafana/grafana, main as of Grafana 12/13):
 *
 * - pkg/services/datasourceproxy/datasourceproxy.go: ProxyDatasourceRequestWithUID,
 *   toAPIError, extractProxyPath (proxyPathRegexp).
 * - pkg/api/pluginproxy/ds_proxy.go: DataSourceProxy.HandleRequest (modifyResponse:
 *   upstream 401 → 400 "Authentication to data source failed"), validateRequest
 *   (route match), director.
 * - pkg/api/pluginproxy/ds_auth_provider.go: ApplyRoute, interpolateString, addHeaders.
 * - pkg/util/proxyutil/reverse_proxy.go: NewReverseProxy, errorHandler (upstream
 *   unreachable → 502, timeout → 504, empty bodies), modifyResponse; proxyutil.go:
 *   PrepareProxyRequest, SetProxyResponseHeaders.
 * - pkg/util/url.go: JoinURLFragments.
 *
 * It can also serve static files (the built plugin under /public/plugins/<id>/ and
 * a host page), so that a browser talks to "Grafana" on one origin as it does for real.
 */
import http from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';

export interface PluginRoute {
  path: string;
  method?: string;
  url?: string;
  headers?: Array<{ name: string; content: string }>;
}

export interface DataSourceInstance {
  uid: string;
  /** The data source's own URL field (used when no route matches); a frontend plugin with routes leaves it empty. */
  url?: string;
  jsonData: Record<string, unknown>;
  secureJsonData: Record<string, string>;
}

export interface GrafanaProxyOptions {
  /** The plugin's `routes` from its plugin.json. */
  routes: PluginRoute[];
  /** Static content: URL prefix → directory (e.g. '/public/plugins/<id>/' → dist). */
  staticDirs?: Record<string, string>;
  /** Fixed pages: URL path → body and content type. */
  pages?: Record<string, { contentType: string; body: string | Buffer }>;
  /** Grafana's [dataproxy] timeout (default 30 s); past it the proxy answers 504. */
  timeoutMs?: number;
}

export interface GrafanaProxy {
  url: string;
  /** Registers a data source (as provisioning or the data source page would); returns its proxy URL path. */
  addDataSource(ds: DataSourceInstance): string;
  close(): Promise<void>;
}

/** ds_auth_provider.go interpolateString: Go text/template with `.JsonData.x` / `.SecureJsonData.x`. */
export function interpolate(template: string, ds: DataSourceInstance): string {
  return template.replace(/\{\{\s*\.(JsonData|SecureJsonData)\.(\w+)\s*\}\}/g, (_, where: string, key: string) => {
    const src: Record<string, unknown> = where === 'JsonData' ? ds.jsonData : ds.secureJsonData;
    // text/template renders a missing map key as "<no value>"; Grafana does not special-case it.
    return key in src ? String(src[key] ?? '') : '<no value>';
  });
}

/** pkg/util/url.go JoinURLFragments. */
export function joinURLFragments(a: string, b: string): string {
  if (b.length === 0) return a;
  const aslash = a.endsWith('/');
  const bslash = b.startsWith('/');
  if (aslash && bslash) return a + b.slice(1);
  if (!aslash && !bslash) return a + '/' + b;
  return a + b;
}

/** pkg/util/path.go CleanRelativePath as validateRequest uses it: path.Clean of "/"+p, leading "/" dropped; "" stays "". */
function cleanRelativePath(p: string): string {
  if (p === '') return '';
  const cleaned = path.posix.normalize('/' + p).replace(/\/+$/, '');
  return cleaned.replace(/^\/+/, '');
}

/** validateRequest: the first route whose method matches and whose cleaned path prefixes the cleaned proxy path. */
export function matchRoute(routes: PluginRoute[], method: string, proxyPath: string): PluginRoute | undefined {
  for (const r of routes) {
    if (r.method && r.method !== '*' && r.method !== method) continue;
    if (cleanRelativePath(proxyPath).startsWith(cleanRelativePath(r.path))) return r;
  }
  return undefined;
}

// httputil.ReverseProxy drops hop-by-hop headers both ways (Go net/http/httputil reverseproxy.go, hopHeaders).
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const MIME: Record<string, string> = {
  '.js': 'application/javascript',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.css': 'text/css',
  '.html': 'text/html; charset=utf-8',
  '.map': 'application/json',
};

/** JsonApiErr as Grafana's handlers answer errors of their own: JSON `{message}`. */
function jsonApiErr(res: http.ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ message });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function serveStatic(req: http.IncomingMessage, res: http.ServerResponse, opts: GrafanaProxyOptions): boolean {
  const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  const page = opts.pages?.[pathname];
  if (page) {
    res.writeHead(200, { 'content-type': page.contentType, 'cache-control': 'no-store' });
    res.end(page.body);
    return true;
  }
  for (const [prefix, dir] of Object.entries(opts.staticDirs ?? {})) {
    if (!pathname.startsWith(prefix)) continue;
    const file = path.resolve(dir, '.' + pathname.slice(prefix.length - 1));
    if (!file.startsWith(path.resolve(dir) + path.sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return true;
    }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
    return true;
  }
  return false;
}

// datasourceproxy.go proxyPathRegexp (uid form; numeric ids are a deprecated API this plugin never uses).
const PROXY_PATH = /^\/api\/datasources\/proxy\/uid\/([\w-]+)\/?/;

export async function startGrafanaProxy(opts: GrafanaProxyOptions): Promise<GrafanaProxy> {
  const instances = new Map<string, DataSourceInstance>();
  const timeoutMs = opts.timeoutMs ?? 30_000;

  const server = http.createServer((req, res) => {
    const rawUrl = req.url ?? '/';
    const [rawPath, rawQuery] = [rawUrl.split('?')[0], rawUrl.includes('?') ? rawUrl.slice(rawUrl.indexOf('?')) : ''];
    const m = PROXY_PATH.exec(rawPath);
    if (!m) {
      if (serveStatic(req, res, opts)) return;
      return jsonApiErr(res, 404, 'Not found');
    }
    const ds = instances.get(m[1]);
    // toAPIError: an unknown uid.
    if (!ds) return jsonApiErr(res, 404, 'Unable to find datasource');
    const proxyPath = rawPath.replace(PROXY_PATH, '');
    const method = req.method ?? 'GET';
    const route = matchRoute(opts.routes, method, proxyPath);

    // director + ApplyRoute: the route's URL (interpolated) joined with the rest of the path, query kept.
    let target: URL;
    try {
      if (route) {
        const base = new URL(interpolate(route.url ?? '', ds));
        const rest = proxyPath.startsWith(route.path) ? proxyPath.slice(route.path.length) : proxyPath;
        base.pathname = joinURLFragments(base.pathname, decodeURIComponent(rest));
        target = new URL(base.origin + base.pathname + rawQuery);
      } else {
        const base = new URL(ds.url ?? '');
        target = new URL(base.origin + joinURLFragments(base.pathname, decodeURIComponent(proxyPath)) + rawQuery);
      }
    } catch {
      // An unparsable target leaves the request without a host: the transport fails, errorHandler answers 502.
      res.writeHead(502);
      res.end();
      return;
    }

    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
    // director: X-DS-Authorization (backend_srv moves a plugin's own Authorization there) becomes Authorization.
    if (headers['x-ds-authorization']) {
      headers.authorization = String(headers['x-ds-authorization']);
      delete headers['x-ds-authorization'];
    }
    // ClearCookieHeader (no keepCookies), User-Agent, PrepareProxyRequest (X-Grafana-Referer, no Origin/Referer, X-Forwarded-For).
    delete headers.cookie;
    headers['user-agent'] = 'Grafana';
    headers['x-grafana-referer'] = String(req.headers.referer ?? '');
    delete headers.origin;
    delete headers.referer;
    delete headers['x-forwarded-host'];
    delete headers['x-forwarded-port'];
    delete headers['x-forwarded-proto'];
    const remote = req.socket.remoteAddress ?? '';
    headers['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${req.headers['x-forwarded-for']}, ${remote}` : remote;
    headers.host = target.host;
    // addHeaders: each route header, rendered from the data source's (decrypted) data.
    for (const h of route?.headers ?? []) headers[h.name.toLowerCase()] = interpolate(h.content, ds);

    // A fresh connection per request: Go's transport (Grafana's) retries a request whose reused idle
    // connection the server just closed; Node's keep-alive global agent would fail it ("socket hang up").
    const upstream = http.request(target, { method, headers, timeout: timeoutMs, agent: false }, (up) => {
      const status = up.statusCode ?? 502;
      if (status === 401) {
        // ds_proxy.go HandleRequest modifyResponse: the body is read and logged, then replaced; the new
        // response has empty headers. Go's ResponseWriter then sniffs the text (text/plain; charset=utf-8),
        // and proxyutil's modifyResponse adds Content-Security-Policy: sandbox.
        up.resume();
        const msg = 'Authentication to data source failed';
        res.writeHead(400, 'Bad Request', {
          'content-type': 'text/plain; charset=utf-8',
          'content-length': Buffer.byteLength(msg),
          'content-security-policy': 'sandbox',
        });
        res.end(msg);
        return;
      }
      const out: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(up.headers)) if (!HOP_BY_HOP.has(k) && k !== 'set-cookie' && v !== undefined) out[k] = v;
      // proxyutil modifyResponse: Set-Cookie dropped (above), SetProxyResponseHeaders.
      out['content-security-policy'] = 'sandbox';
      res.writeHead(status, up.statusMessage, out);
      up.pipe(res);
    });
    upstream.on('timeout', () => upstream.destroy(Object.assign(new Error('timeout'), { timeout: true })));
    upstream.on('error', (err: Error & { timeout?: boolean }) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // errorHandler: a timeout is 504, any other failure 502; both with no body.
      res.writeHead(err.timeout ? 504 : 502);
      res.end();
    });
    req.pipe(upstream);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  // The emulation must never be what keeps a test process alive.
  server.unref();
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    addDataSource(ds) {
      instances.set(ds.uid, ds);
      return `/api/datasources/proxy/uid/${ds.uid}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
