/**
 * What getBackendSrv().fetch does with a request and its answer, reduced to the
 * parts a data source sees (grafana/grafana public/app/core/services/backend_srv.ts
 * and public/app/core/utils/fetch.ts). Shared by the jest testkit (over node:http)
 * and the browser harness (over window.fetch), so that both surface an answer
 * exactly as Grafana does:
 *
 * - fetch.ts parseInitFromOptions/parseHeaders: Accept 'application/json, text/plain, *\/*';
 *   POST/PUT/PATCH get Content-Type application/json and a JSON body.
 * - backend_srv.ts parseRequestOptions: a local URL loses its leading '/', and a
 *   plugin's own Authorization header travels as X-DS-Authorization.
 * - backend_srv.ts getFromFetchStream + fetch.ts parseResponseBody: a JSON content
 *   type is parsed as JSON; anything else is tried as JSON and kept as text otherwise.
 * - backend_srv.ts handleStreamResponse: a non-ok answer becomes a FetchError
 *   {status, statusText, data, config}.
 * - backend_srv.ts processRequestError: data is made an object — no body gives
 *   {message: 'Unexpected error'}; a text body gives {message: text, error: statusText,
 *   response: text}; an `error` string without `message` is copied to `message`.
 */
import { Observable } from 'rxjs';
import type { BackendSrvRequest, FetchError, FetchResponse } from '@grafana/runtime';

export interface RawAnswer {
  status: number;
  statusText: string;
  ok: boolean;
  url: string;
  contentType: string | null;
  text: string;
}

/** Sends one HTTP request (the environment's own way) and gives back the raw answer; a relative URL is Grafana's own. */
export type Transport = (url: string, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<RawAnswer>;

function requestInit(options: BackendSrvRequest): { method: string; headers: Record<string, string>; body?: string } {
  const method = (options.method ?? 'GET').toUpperCase();
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (headers.authorization) {
    headers['x-ds-authorization'] = headers.authorization;
    delete headers.authorization;
  }
  if (!headers.accept) headers.accept = 'application/json, text/plain, */*';
  if (['POST', 'PUT', 'PATCH'].includes(method) && !headers['content-type']) headers['content-type'] = 'application/json';
  let body: string | undefined;
  if (options.data !== undefined && options.data !== null && options.data !== '')
    body =
      typeof options.data === 'string'
        ? options.data
        : headers['content-type'] === 'application/json'
          ? JSON.stringify(options.data)
          : new URLSearchParams(options.data).toString();
  return { method, headers, body };
}

function parseBody(answer: RawAnswer): unknown {
  const isJson = (answer.contentType ?? '').toLowerCase() === 'application/json';
  if (isJson) return answer.text === '' ? {} : JSON.parse(answer.text);
  try {
    return JSON.parse(answer.text);
  } catch {
    return answer.text;
  }
}

function processRequestError(err: FetchError): FetchError {
  err.data = err.data ?? { message: 'Unexpected error' };
  if (typeof err.data === 'string') err.data = { message: err.data, error: err.statusText, response: err.data };
  if (err.data && !err.data.message && typeof err.data.error === 'string') err.data.message = err.data.error;
  return err;
}

/**
 * getBackendSrv().fetch over a transport. A local URL reaches the transport as Grafana's
 * fetch sends it: relative ('api/datasources/proxy/…'), resolved against Grafana's base URL.
 */
export function backendSrvFetch<T>(options: BackendSrvRequest, transport: Transport): Observable<FetchResponse<T>> {
  return new Observable<FetchResponse<T>>((sub) => {
    const local = !/^https?:\/\//.test(options.url);
    const url = local ? options.url.replace(/^\//, '') : options.url;
    let params = '';
    if (options.params) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(options.params)) {
        if (v === undefined || (v && (v as { length?: number }).length === 0)) continue;
        for (const x of Array.isArray(v) ? v : [v]) p.append(k, String(x));
      }
      if (p.toString()) params = `?${p}`;
    }
    transport(url + params, requestInit(options)).then(
      (answer) => {
        let data: unknown;
        try {
          data = parseBody(answer);
        } catch (e) {
          sub.error(
            processRequestError({ status: answer.status, statusText: answer.statusText, data: undefined, config: options } as FetchError),
          );
          return;
        }
        if (!answer.ok) {
          sub.error(processRequestError({ status: answer.status, statusText: answer.statusText, data, config: options } as FetchError));
          return;
        }
        sub.next({
          status: answer.status,
          statusText: answer.statusText,
          ok: true,
          data: data as T,
          url: answer.url,
          config: options,
          type: 'basic',
          redirected: false,
        } as FetchResponse<T>);
        sub.complete();
      },
      // window.fetch rejects when nothing answers at all; Grafana's own server always answers, so this is rare.
      (e: Error) => sub.error(processRequestError({ status: 0, statusText: e.message, data: undefined, config: options } as FetchError)),
    );
  });
}
