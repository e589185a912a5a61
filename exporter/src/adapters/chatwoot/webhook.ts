/**
 * POST /api/v1/adapters/chatwoot/<token> (or the token as `Authorization: Bearer <token>`): the
 * endpoint of a Chatwoot account webhook. Chatwoot's webhook settings take a URL and nothing
 * else, so the token sits in the path; the token names the tenant (CS_CHATWOOT_WEBHOOK_TOKENS).
 *
 * Answers, chosen for how Chatwoot delivers (chatwoot/chatwoot lib/webhooks/trigger.rb and
 * app/jobs/webhook_job.rb): a delivery is retried only on a timeout or 429/5xx, a 4xx never.
 * - 200: stored (`mapped`), or understood and nothing to count (`ignored`), or an event we do
 *   not know (`unknown`: an admin ticked more events than we use; retrying cannot change it);
 * - 400: the body cannot be read or breaks the contract (`invalid`): counted, logged with the
 *   body, and not retried by Chatwoot, which could only send the same body again;
 * - 401: wrong token, or a bad, missing or stale signature when a secret is set;
 * - 429 / 503 (from ingest): nothing was stored; Chatwoot's retry, or the next body, is welcome.
 */
import { createHmac, timingSafeEqual, createHash } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import type { AppContext } from '../../http/app.js';
import { secretPathPrefix } from '../../http/errors.js';
import { mapChatwootBody } from './map.js';

export const ADAPTER = 'chatwoot';
export const WEBHOOK_PATH = '/api/v1/adapters/chatwoot';
/** Chatwoot bodies are one conversation or message: far below this. */
const MAX_BODY = '1mb';
/**
 * A signed delivery older or newer than this is refused as a replay. Chatwoot signs each attempt
 * afresh (lib/webhooks/trigger.rb `request_headers`: the timestamp is taken per request), so its
 * retries pass; PR chatwoot/chatwoot#13573 advises receivers to reject past ~5 minutes.
 */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export interface WebhookSettings {
  /** token → tenant */
  tokens: Map<string, string>;
  /** tenant → signing secrets of its Chatwoot webhooks (any one may match). */
  secrets: Map<string, string[]>;
  defaultGroup: string;
  now?: () => number;
}

const digest = (s: string | Buffer) => createHash('sha256').update(s).digest();
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Chatwoot (since PR chatwoot/chatwoot#13573, 2026-02) signs account webhooks when the webhook
 * has a secret: `X-Chatwoot-Timestamp: <unix s>` and
 * `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`
 * (lib/webhooks/trigger.rb `request_headers`). Returns why a delivery fails, or undefined.
 */
export function signatureProblem(secrets: string[], raw: Buffer, ts: string | undefined, sig: string | undefined, nowMs: number): string | undefined {
  if (!ts || !sig) return 'missing X-Chatwoot-Signature or X-Chatwoot-Timestamp: this tenant requires signed webhooks (CS_CHATWOOT_WEBHOOK_SECRETS)';
  if (!/^\d{1,12}$/.test(ts)) return 'X-Chatwoot-Timestamp is not unix seconds';
  if (Math.abs(nowMs / 1000 - Number(ts)) > SIGNATURE_TOLERANCE_SECONDS)
    return `X-Chatwoot-Timestamp is more than ${SIGNATURE_TOLERANCE_SECONDS} s away from now (a replay, or a clock off)`;
  let ok = false;
  // Every secret is compared, so the time taken says nothing about which one matched.
  for (const secret of secrets) {
    const want = `sha256=${createHmac('sha256', secret).update(`${ts}.`).update(raw).digest('hex')}`;
    if (sameSecret(want, sig.trim())) ok = true;
  }
  return ok ? undefined : 'X-Chatwoot-Signature does not match the body signed with any secret of this tenant';
}

function unauthorized(res: express.Response, error: string) {
  res.status(401).json({ error, requestId: res.locals.requestId });
}

export function chatwootWebhookRoutes(s: WebhookSettings): (app: Express, ctx: AppContext) => void {
  const now = s.now ?? Date.now;
  // The token is checked before the body is read: a stranger's body costs nothing.
  const authenticate: RequestHandler = (req, res, next) => {
    const fromPath = typeof req.params.token === 'string' ? req.params.token : undefined;
    const m = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '');
    const given = fromPath ?? m?.[1].trim();
    if (!given) return unauthorized(res, `no token: post to ${WEBHOOK_PATH}/<token> (or send "Authorization: Bearer <token>"), a token of CS_CHATWOOT_WEBHOOK_TOKENS`);
    let tenant: string | undefined;
    for (const [token, t] of s.tokens) if (sameSecret(given, token)) tenant = t;
    if (tenant === undefined) return unauthorized(res, 'wrong token: it is not one of CS_CHATWOOT_WEBHOOK_TOKENS');
    res.locals.chatwootTenant = tenant;
    next();
  };

  return (app, ctx) => {
    const log = ctx.log.child({ adapter: ADAPTER });
    const handler: RequestHandler = async (req, res) => {
      const tenant = res.locals.chatwootTenant as string;
      const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const secrets = s.secrets.get(tenant);
      if (secrets && secrets.length > 0) {
        const problem = signatureProblem(secrets, raw, req.get('x-chatwoot-timestamp'), req.get('x-chatwoot-signature'), now());
        if (problem) {
          log.warn({ tenant, requestId: res.locals.requestId, delivery: req.get('x-chatwoot-delivery') }, `chatwoot webhook refused: ${problem}`);
          return unauthorized(res, problem);
        }
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        const why = `body is not JSON: ${(err as Error).message.slice(0, 200)}`;
        ctx.adapters.bad(log, ADAPTER, 'invalid', why, raw.toString('utf8'));
        res.status(400).json({ error: why, outcome: 'invalid', requestId: res.locals.requestId });
        return;
      }
      const m = mapChatwootBody(body, { defaultGroup: s.defaultGroup });
      if (m.outcome === 'ignored') {
        ctx.adapters.count(ADAPTER, 'ignored');
        log.debug({ tenant, why: m.why }, 'chatwoot webhook ignored');
        res.json({ outcome: 'ignored', reason: m.why });
        return;
      }
      if (m.outcome === 'unknown' || m.outcome === 'invalid') {
        ctx.adapters.bad(log, ADAPTER, m.outcome, m.why ?? m.outcome, body);
        res.status(m.outcome === 'invalid' ? 400 : 200).json({ outcome: m.outcome, ...(m.outcome === 'invalid' ? { error: m.why } : { reason: m.why }), requestId: res.locals.requestId });
        return;
      }
      // OverloadedError (429) and DatabaseUnavailableError (503) go to the one error boundary: nothing was stored, Chatwoot may retry.
      const answer = await ctx.ingest.submit(
        m.events.map((value) => ({ value })),
        { tenant, requestId: res.locals.requestId as string },
      );
      if (answer.accepted + answer.duplicates === 0) {
        const why = `no event of this body was taken: ${answer.rejected.map((r) => r.error).join('; ')}`;
        ctx.adapters.bad(log, ADAPTER, 'invalid', why, body);
        res.status(400).json({ error: why, outcome: 'invalid', ...answer, requestId: res.locals.requestId });
        return;
      }
      ctx.adapters.count(ADAPTER, 'mapped');
      if (answer.rejected.length > 0) log.warn({ tenant, rejected: answer.rejected, input: JSON.stringify(body).slice(0, 2000) }, 'chatwoot webhook: some events were rejected');
      res.json({ outcome: 'mapped', ...answer });
    };
    const raw = express.raw({ type: () => true, limit: MAX_BODY });
    // The token in the path is the tenant's credential: error logs show the path without it.
    secretPathPrefix(`${WEBHOOK_PATH}/`);
    app.post(`${WEBHOOK_PATH}/:token`, authenticate, raw, handler);
    app.post(WEBHOOK_PATH, authenticate, raw, handler);
  };
}
