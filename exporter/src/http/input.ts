/**
 * Input every route would otherwise have to re-check: a URL that cannot be percent-decoded, and
 * NUL characters, which no Postgres text or jsonb value can hold (so they would only surface as a
 * database error in the middle of a query). Refused here, for every route, with a 400 naming them.
 */
import type { RequestHandler } from 'express';
import { RequestError } from './errors.js';
import { UNSTORABLE } from '../ingest/validate.js';

/**
 * Where in a JSON value the first string or key holding NUL or a lone UTF-16 surrogate is, or
 * undefined. Neither survives Postgres (text refuses NUL, jsonb a lone surrogate). Iterative:
 * bodies may nest deeply.
 */
export function findNul(value: unknown, root = 'body'): string | undefined {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) return path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (UNSTORABLE.test(k)) return `${path} (a key)`;
        stack.push([x, `${path}.${k}`]);
      }
    }
  }
  return undefined;
}

const shorten = (s: string) => (s.length > 80 ? `${s.slice(0, 80)}…` : s);

export const inputGuard: { url: RequestHandler; body: RequestHandler } = {
  url(req, _res, next) {
    const url = req.originalUrl;
    let decoded: string;
    try {
      decoded = decodeURIComponent(url.replace(/\+/g, ' '));
    } catch {
      next(new RequestError(400, 'the URL holds malformed percent-encoding (a % must start %XX, and the bytes must be UTF-8)'));
      return;
    }
    if (decoded.includes('\u0000')) {
      const q = url.indexOf('?');
      const where = q >= 0 && decoded.indexOf('\u0000') >= decodeURIComponent(url.slice(0, q)).length ? 'a query parameter' : 'the path';
      next(new RequestError(400, `${where} holds a NUL character (%00), which no id, day or filter may contain`));
      return;
    }
    next();
  },
  body(req, _res, next) {
    const at = findNul(req.body);
    if (at !== undefined) {
      next(new RequestError(400, `${shorten(at)}: holds a NUL character (\\u0000) or a lone UTF-16 surrogate, which no id, day or filter may contain`));
      return;
    }
    next();
  },
};
