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
 * With a tenant's own token, a query may only name that tenant: the tenant a
 * handler will read (body `tenant` for POST, `?tenant=` for GET, "default"
 * when absent) must be the token's. The catalog is no tenant's data.
 */
export const tenantGuard: RequestHandler = (req, res, next) => {
  const scope = res.locals.tenantScope as string | undefined;
  if (scope === undefined || req.path === '/reports') return next();
  const asked = req.method === 'GET' ? req.query.tenant : (req.body as { tenant?: unknown } | undefined)?.tenant;
  const tenant = typeof asked === 'string' && asked !== '' ? asked : 'default';
  if (tenant === scope) return next();
  res.status(403).json({ error: `this token is for tenant "${scope}" only; the request asks for tenant "${tenant}" (set tenant to "${scope}")` });
};
