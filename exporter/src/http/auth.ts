import { timingSafeEqual, createHash } from 'node:crypto';
import type { RequestHandler } from 'express';

function sameSecret(a: string, b: string): boolean {
  // Hashing first gives equal lengths, so the comparison leaks nothing.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Requires `Authorization: Bearer <token>` when `token` is set; `what` names it in the 401. */
export function requireBearer(token: string | undefined, what: string): RequestHandler {
  return (req, res, next) => {
    if (!token) return next();
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer')
        .json({ error: `missing bearer token: send "Authorization: Bearer <${what}>"` });
      return;
    }
    if (!sameSecret(m[1].trim(), token)) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer error="invalid_token"')
        .json({ error: `wrong bearer token: it does not match ${what}` });
      return;
    }
    next();
  };
}
