import { timingSafeEqual, createHash } from 'node:crypto';
import type { RequestHandler } from 'express';

function sameSecret(a: string, b: string): boolean {
  // Hashing first gives equal lengths, so the comparison leaks nothing.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * Requires `Authorization: Bearer <token>` when a token is set; `what` names it
 * in the 401. The main token opens every tenant; a token of `tenantTokens`
 * (token → tenant) opens one, which is left in `res.locals.tenantScope`.
 */
export function requireBearer(token: string | undefined, what: string, tenantTokens: Map<string, string> = new Map()): RequestHandler {
  return (req, res, next) => {
    if (!token && tenantTokens.size === 0) return next();
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer')
        .json({ error: `missing bearer token: send "Authorization: Bearer <${what}>"` });
      return;
    }
    const given = m[1].trim();
    if (token && sameSecret(given, token)) return next();
    let tenant: string | undefined;
    // Every candidate is compared, so the time taken says nothing about which one matched.
    for (const [t, name] of tenantTokens) if (sameSecret(given, t)) tenant = name;
    if (tenant === undefined) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer error="invalid_token"')
        .json({ error: `wrong bearer token: it does not match ${what}` });
      return;
    }
    res.locals.tenantScope = tenant;
    next();
  };
}

/**
 * What requireBearer decides, for a handler outside express (the lean ingest path, http/fast-ingest.ts):
 * `{ tenant }` (undefined for the main token or when no token is set) when `authorization` opens the
 * route, undefined when it does not (requireBearer then answers the 401).
 */
export function bearerScope(
  authorization: string | undefined,
  token: string | undefined,
  tenantTokens: Map<string, string> = new Map(),
): { tenant?: string } | undefined {
  if (!token && tenantTokens.size === 0) return {};
  const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (!m) return undefined;
  const given = m[1].trim();
  if (token && sameSecret(given, token)) return {};
  let tenant: string | undefined;
  for (const [t, name] of tenantTokens) if (sameSecret(given, t)) tenant = name;
  return tenant === undefined ? undefined : { tenant };
}

/**
 * With a tenant's own token, a request may only name that tenant. Every place a handler may read a
 * tenant from is checked, whatever the method (HEAD runs the GET handlers, so deciding by method let
 * a HEAD through): each `tenant` of the query string (raw: handlers differ in trimming, so only the exact name
 * passes) and the body's `tenant`. Naming none (or a blank one) means "default". The catalog is no tenant's data.
 */
export const tenantGuard: RequestHandler = (req, res, next) => {
  const scope = res.locals.tenantScope as string | undefined;
  if (scope === undefined || req.path === '/reports') return next();
  const q = req.originalUrl.indexOf('?');
  const named = new URLSearchParams(q < 0 ? '' : req.originalUrl.slice(q + 1)).getAll('tenant');
  const body = (req.body as { tenant?: unknown } | undefined)?.tenant;
  if (body !== undefined) named.push(typeof body === 'string' ? body : JSON.stringify(body));
  const asked = named.filter((t) => t !== '');
  if (asked.length === 0) asked.push('default');
  const other = asked.find((t) => t !== scope);
  if (other === undefined) return next();
  const shown = other.length > 64 ? `${other.slice(0, 64)}…` : other;
  res.status(403).json({
    error: `this token is for tenant "${scope}" only; the request asks for tenant "${shown}" (set tenant to "${scope}")`,
    requestId: res.locals.requestId,
  });
};
