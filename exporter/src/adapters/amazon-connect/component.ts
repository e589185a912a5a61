/**
 * The Amazon Connect adapter: POST /api/v1/adapters/amazon-connect takes contact events (EventBridge,
 * through an API destination or a forwarder) and agent event stream records (a forwarder, or a
 * Kinesis Data Firehose HTTP endpoint delivery), maps them (./map.ts) and hands the events to the one
 * ingest. Idle unless CS_CONNECT_TOKENS is set. See docs/adapters/amazon-connect.md.
 */
import { AGENT_STATUSES } from '../../ingest/schema.js';
import { readFileSync } from 'node:fs';
import express, { type Request, type Response } from 'express';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Component } from '../../component.js';
import { ConfigError, type Config } from '../../config.js';
import type { AppContext } from '../../http/app.js';
import { RequestError } from '../../http/errors.js';
import { DatabaseUnavailableError } from '../../db/errors.js';
import { unavailable } from '../../db/pool.js';
import { OverloadedError, type IngestAnswer } from '../../ingest/submit.js';
import type { BudgetTicket } from '../../ingest/writer.js';
import type { AdapterOutcome } from '../stats.js';
import { ADAPTER, classify, deriveContact, emptyMap, type ConnectMap, type ContactItem, type ContactRow, type Ev } from './map.js';

export const CONNECT_PATH = '/api/v1/adapters/amazon-connect';
/**
 * Firehose's HTTP endpoint buffer is up to 64 MiB (awsdocs/amazon-kinesis-data-firehose-developer-guide
 * doc_source/httpdeliveryrequestresponse.md, "Body - Max Size"); the docs page tells to set it at most
 * 10 MiB, which base64 makes ~13.4 MiB.
 */
export const CONNECT_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Problems listed one by one in an answer. */
const MAX_LISTED = 100;

function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Reads CS_CONNECT_MAP: `{"queues": {"<queue ARN, id or name>": "<group id>"}, "statuses": {"<status name>": "<status>"}, "agentQueueGroup": "<group id>"}`. */
export function loadConnectMap(file: string | undefined): ConnectMap {
  const map = emptyMap();
  if (file === undefined) return map;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`CS_CONNECT_MAP: cannot read ${file} as JSON: ${(err as Error).message}`);
  }
  const obj = (v: unknown, what: string): Record<string, unknown> => {
    if (v === undefined) return {};
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`CS_CONNECT_MAP: "${what}" must be an object`);
    return v as Record<string, unknown>;
  };
  const top = obj(raw, '(the file)');
  for (const [k, v] of Object.entries(obj(top.queues, 'queues'))) {
    if (typeof v !== 'string' || v === '' || v.length > 128)
      throw new ConfigError(`CS_CONNECT_MAP: queues["${k}"] must be a group id (1–128 chars)`);
    map.queues.set(k, v);
  }
  const statuses = new Set<string>(AGENT_STATUSES);
  for (const [k, v] of Object.entries(obj(top.statuses, 'statuses'))) {
    if (typeof v !== 'string' || !statuses.has(v))
      throw new ConfigError(`CS_CONNECT_MAP: statuses["${k}"] must be one of ${[...statuses].join(', ')}`);
    map.statuses.set(k, v);
  }
  if (top.agentQueueGroup !== undefined) {
    if (typeof top.agentQueueGroup !== 'string' || top.agentQueueGroup === '')
      throw new ConfigError('CS_CONNECT_MAP: "agentQueueGroup" must be a group id');
    map.agentQueueGroup = top.agentQueueGroup;
  }
  return map;
}

interface Item {
  /** Index in the body (or in the Firehose delivery's records). */
  index: number;
  raw: unknown;
  outcome: AdapterOutcome;
  why?: string;
  contact?: ContactItem;
  events: Ev[];
}

export function amazonConnectComponent(config: Config): Component {
  const tokens = config.connectTokens;
  const enabled = tokens.size > 0;
  let map: ConnectMap = emptyMap();
  let ctx: AppContext | undefined;
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;
  const grace = config.connectEndGraceSeconds;

  const tenantOf = (req: Request): string | undefined => {
    // Firehose sends its configured access key verbatim in X-Amz-Firehose-Access-Key
    // (httpdeliveryrequestresponse.md); EventBridge API destinations and forwarders send a bearer token.
    const given = req.get('x-amz-firehose-access-key') ?? /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1]?.trim();
    if (!given) return undefined;
    let tenant: string | undefined;
    // Every token is compared, so the time taken says nothing about which one matched.
    for (const [t, name] of tokens) if (sameSecret(given, t)) tenant = name;
    return tenant;
  };

  /** Stores what the contact events say, in one statement; returns the sessions touched (as stored: a contact keeps the chain it was first seen in). */
  async function storeFacts(c: AppContext, tenant: string, contacts: ContactItem[]): Promise<string[]> {
    // One row per contact (a statement may not update a row twice); within the batch, as in the
    // table, the first event to carry a fact gives it.
    const byId = new Map<string, { sessionId: string; previous?: string; facts: ContactItem['facts']; disconnected: boolean }>();
    for (const k of contacts) {
      const disconnected = k.facts.disconnectedAt !== undefined || k.facts.disconnectedEv !== undefined;
      const had = byId.get(k.contactId);
      if (!had) byId.set(k.contactId, { sessionId: k.sessionId, previous: k.previousContactId, facts: { ...k.facts }, disconnected });
      else {
        had.facts = { ...k.facts, ...had.facts };
        if (had.sessionId === k.contactId) had.sessionId = k.sessionId;
        had.previous ??= k.previousContactId;
        had.disconnected ||= disconnected;
      }
    }
    const rows = [...byId];
    // The facts already stored win (`new || old`): each fact has one value, whichever event carried it first.
    const r = await c.pool.query<{ session_id: string }>(
      `INSERT INTO connect_contacts (tenant, contact_id, session_id, previous_contact_id, facts, disconnect_seen_at)
       SELECT $1, u.c, u.s, u.p, u.f::jsonb, CASE WHEN u.d THEN now() END
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[]) AS u(c, s, p, f, d)
       ON CONFLICT (tenant, contact_id) DO UPDATE SET
         facts = EXCLUDED.facts || connect_contacts.facts,
         session_id = CASE WHEN connect_contacts.session_id = connect_contacts.contact_id THEN EXCLUDED.session_id ELSE connect_contacts.session_id END,
         previous_contact_id = COALESCE(connect_contacts.previous_contact_id, EXCLUDED.previous_contact_id),
         disconnect_seen_at = COALESCE(connect_contacts.disconnect_seen_at, EXCLUDED.disconnect_seen_at)
       RETURNING session_id`,
      [
        tenant,
        rows.map(([id]) => id),
        rows.map(([, v]) => v.sessionId),
        rows.map(([, v]) => v.previous ?? null),
        rows.map(([, v]) => JSON.stringify(v.facts)),
        rows.map(([, v]) => v.disconnected),
      ],
    );
    return [...new Set(r.rows.map((x) => x.session_id))];
  }

  async function loadRows(
    c: AppContext,
    tenant: string,
    sessions: string[],
  ): Promise<Map<string, Map<string, ContactRow & { due: boolean }>>> {
    const r = await c.pool.query<{
      contact_id: string;
      session_id: string;
      previous_contact_id: string | null;
      facts: ContactRow['facts'];
      due: boolean;
    }>(
      `SELECT contact_id, session_id, previous_contact_id, facts,
              (NOT finals_done AND disconnect_seen_at <= now() - make_interval(secs => $3)) AS due
         FROM connect_contacts WHERE tenant = $1 AND session_id = ANY($2)`,
      [tenant, sessions, grace],
    );
    const out = new Map<string, Map<string, ContactRow & { due: boolean }>>();
    for (const row of r.rows) {
      let m = out.get(row.session_id);
      if (!m) out.set(row.session_id, (m = new Map()));
      m.set(row.contact_id, {
        contactId: row.contact_id,
        sessionId: row.session_id,
        previousContactId: row.previous_contact_id ?? undefined,
        facts: row.facts,
        due: row.due,
      });
    }
    return out;
  }

  /** The events of the sessions' contacts; with `finals`, the abandons and ends now due too (and which contacts they settle). */
  function derive(sessions: Map<string, Map<string, ContactRow & { due: boolean }>>, finals: boolean): { events: Ev[]; settled: string[] } {
    const events: Ev[] = [];
    const settled: string[] = [];
    for (const rows of sessions.values()) {
      for (const row of rows.values()) {
        const continued = [...rows.values()].some((r) => r.previousContactId === row.contactId);
        const final = finals && row.due && !continued;
        events.push(...deriveContact(row, rows, map, final));
        if (finals && row.due) settled.push(row.contactId);
      }
    }
    return { events, settled };
  }

  /**
   * Ends the sessions whose last contact disconnected more than the grace ago: a transfer's next
   * contact may be delivered after the previous contact's DISCONNECTED, and must not find its
   * session already ended (and its queue counted abandoned).
   */
  async function sweepOnce(c: AppContext): Promise<void> {
    const due = await c.pool.query<{ tenant: string; session_id: string }>(
      `SELECT DISTINCT tenant, session_id FROM connect_contacts
        WHERE NOT finals_done AND disconnect_seen_at <= now() - make_interval(secs => $1) LIMIT 2000`,
      [grace],
    );
    const byTenant = new Map<string, string[]>();
    for (const r of due.rows) byTenant.set(r.tenant, [...(byTenant.get(r.tenant) ?? []), r.session_id]);
    for (const [tenant, sessions] of byTenant) {
      const { events, settled } = derive(await loadRows(c, tenant, sessions), true);
      if (events.length > 0) {
        const answer = await c.ingest.submit(
          events.map((value) => ({ value })),
          { tenant },
        );
        for (const rj of answer.rejected)
          c.log.warn({ adapter: ADAPTER, event: events[rj.index], error: rj.error }, `adapter ${ADAPTER}: a derived event was rejected`);
      }
      await c.pool.query('UPDATE connect_contacts SET finals_done = true WHERE tenant = $1 AND contact_id = ANY($2)', [tenant, settled]);
    }
    // Tasks may stay open 7 days (contact-events.md); a chain's facts are kept a day longer.
    await c.pool.query(`DELETE FROM connect_contacts WHERE finals_done AND disconnect_seen_at < now() - interval '8 days'`);
  }

  const sweep = (): Promise<void> => {
    const c = ctx;
    if (!c) return Promise.resolve();
    sweeping ??= sweepOnce(c)
      .catch((err) => c.log.warn({ err, adapter: ADAPTER }, `adapter ${ADAPTER}: ending sessions failed; retrying at the next sweep`))
      .finally(() => (sweeping = undefined));
    return sweeping;
  };

  /** Splits a body into records: a Firehose delivery's base64 records, an array, or one object. */
  function records(body: unknown, firehose: boolean): Item[] {
    if (firehose) {
      const recs = (body as { records: unknown[] }).records;
      return recs.map((r, index) => {
        const data = (r as { data?: unknown } | null)?.data;
        if (typeof data !== 'string')
          return { index, raw: r, outcome: 'invalid', why: 'Firehose record without a base64 "data" string', events: [] } as Item;
        const text = Buffer.from(data, 'base64').toString('utf8');
        try {
          return { index, raw: JSON.parse(text), outcome: 'mapped', events: [] } as Item;
        } catch {
          return { index, raw: text, outcome: 'invalid', why: "Firehose record's data is not base64 of a JSON object", events: [] } as Item;
        }
      });
    }
    return (Array.isArray(body) ? body : [body]).map((raw, index) => ({ index, raw, outcome: 'mapped', events: [] }) as Item);
  }

  /** A Firehose delivery (httpdeliveryrequestresponse.md): it names itself in X-Amz-Firehose-Request-Id and authenticates with X-Amz-Firehose-Access-Key. */
  const firehoseId = (req: Request): string | undefined =>
    req.get('x-amz-firehose-request-id') ?? (req.get('x-amz-firehose-access-key') !== undefined ? '' : undefined);

  /** An error answer: Firehose's documented shape to Firehose (it reads nothing else), ours to the others. */
  const refuse = (req: Request, res: Response, status: number, error: string, headers: Record<string, string> = {}) => {
    const fh = firehoseId(req);
    res
      .status(status)
      .set(headers)
      .json(fh !== undefined ? { requestId: fh, timestamp: Date.now(), errorMessage: error } : { error, requestId: res.locals.requestId });
  };

  /** Token first, then the body's bytes from ingest's budget (as POST /api/v1/events does): nothing is read for a stranger or past the budget. */
  const admit = (c: AppContext) => (req: Request, res: Response, next: (err?: unknown) => void) => {
    if (!enabled)
      return next(new RequestError(404, 'the Amazon Connect adapter is off: set CS_CONNECT_TOKENS (tenant=token,...) to turn it on'));
    const tenant = tenantOf(req);
    if (tenant === undefined) {
      res.set('WWW-Authenticate', 'Bearer');
      return refuse(
        req,
        res,
        401,
        'missing or wrong token: send "Authorization: Bearer <token>" or "X-Amz-Firehose-Access-Key: <token>" with a token of CS_CONNECT_TOKENS',
      );
    }
    const ticket = c.ingest.writer.ticket();
    res.on('close', () => ticket.release());
    const declared = Number(req.get('content-length'));
    const bytes = Number.isInteger(declared) && declared >= 0 ? Math.min(declared, CONNECT_MAX_BODY_BYTES) : CONNECT_MAX_BODY_BYTES;
    if (!ticket.take('bytes', bytes)) {
      const err = c.ingest.overloaded('bytes');
      return refuse(req, res, 429, err.message, err.headers);
    }
    res.locals.connectTenant = tenant;
    res.locals.budget = ticket;
    next();
  };

  async function handle(c: AppContext, req: Request, res: Response): Promise<void> {
    const tenant = res.locals.connectTenant as string;
    const ticket = res.locals.budget as BudgetTicket;
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    ticket.shrinkTo('bytes', raw.length);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      c.adapters.bad(c.log, ADAPTER, 'invalid', 'body is not JSON', raw.toString('utf8'));
      throw new RequestError(400, `body is not valid JSON: ${String((err as Error).message).slice(0, 200)}`);
    }
    const firehose =
      body !== null &&
      typeof body === 'object' &&
      !Array.isArray(body) &&
      Array.isArray((body as { records?: unknown }).records) &&
      'requestId' in body;

    const items = records(body, firehose);
    const contacts: ContactItem[] = [];
    for (const it of items) {
      if (it.outcome === 'invalid') continue;
      const k = classify(it.raw, map);
      if (k.kind === 'contact') {
        it.contact = k;
        contacts.push(k);
      } else if (k.kind === 'agent') it.events = k.events;
      else {
        it.outcome = k.kind;
        it.why = k.why;
      }
    }
    // Facts first: a retry after a failure below finds them stored and derives the same events again.
    const sessions = contacts.length > 0 ? await storeFacts(c, tenant, contacts) : [];
    const derived = sessions.length > 0 ? derive(await loadRows(c, tenant, sessions), false).events : [];
    const agentEvents = items.flatMap((it) => it.events);
    const all = [...agentEvents, ...derived];
    let answer: IngestAnswer = { accepted: 0, duplicates: 0, rejected: [] };
    if (all.length > 0)
      answer = await c.ingest.submit(
        all.map((value) => ({ value })),
        { tenant, ticket, requestId: res.locals.requestId as string },
      );
    // A rejected event of an agent record makes that record invalid; derived session events are logged alone.
    const owner: number[] = items.flatMap((it) => it.events.map(() => it.index));
    for (const rj of answer.rejected) {
      if (rj.index < owner.length) {
        const it = items[owner[rj.index]];
        it.outcome = 'invalid';
        it.why = `its event ${all[rj.index].type} was rejected: ${rj.error}`;
      } else c.log.warn({ adapter: ADAPTER, event: all[rj.index], error: rj.error }, `adapter ${ADAPTER}: a derived event was rejected`);
    }
    const counts: Record<AdapterOutcome, number> = { mapped: 0, ignored: 0, unknown: 0, invalid: 0 };
    const problems: { index: number; outcome: AdapterOutcome; error: string }[] = [];
    for (const it of items) {
      counts[it.outcome]++;
      if (it.outcome === 'unknown' || it.outcome === 'invalid') {
        c.adapters.bad(c.log, ADAPTER, it.outcome, it.why ?? it.outcome, it.raw);
        if (problems.length < MAX_LISTED) problems.push({ index: it.index, outcome: it.outcome, error: it.why ?? it.outcome });
      } else c.adapters.count(ADAPTER, it.outcome);
    }
    if (grace === 0 && sessions.length > 0) {
      // A sweep already under way may have looked before these facts were stored: one more after it.
      await sweeping;
      await sweep();
    }
    // Firehose wants exactly {requestId, timestamp} on success (httpdeliveryrequestresponse.md, "Response Format").
    if (firehose) {
      res.json({ requestId: String((body as { requestId: unknown }).requestId), timestamp: Date.now() });
      return;
    }
    // Records that could not be taken are counted and logged, never refused: a forwarder retrying them would only send them again.
    res.json({ accepted: answer.accepted, duplicates: answer.duplicates, records: counts, problems });
  }

  return {
    name: ADAPTER,
    async start(c) {
      ctx = c;
      if (!enabled) return;
      map = loadConnectMap(config.connectMapFile);
      // A grace of 0 ends sessions as the DISCONNECTED arrives; otherwise a sweep every quarter grace (1 s at least).
      timer = setInterval(() => void sweep(), Math.max(1_000, (grace * 1000) / 4));
      timer.unref();
      void sweep();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await sweeping;
    },
    open(app, c) {
      app.post(CONNECT_PATH, admit(c), express.raw({ type: () => true, limit: CONNECT_MAX_BODY_BYTES }), async (req, res, next) => {
        try {
          await handle(c, req, res);
        } catch (e) {
          const err = unavailable(c.pool, e, 'the Amazon Connect adapter');
          // 429 and 503 are what make a forwarder, an API destination or Firehose retry later.
          if (err instanceof OverloadedError) return refuse(req, res, 429, err.message, err.headers);
          if (err instanceof DatabaseUnavailableError) {
            c.log.warn({ err, adapter: ADAPTER }, `adapter ${ADAPTER}: delivery refused, the database is unavailable`);
            return refuse(req, res, 503, `${err.message} (retry in ${err.retryAfterSeconds} s)`, {
              'Retry-After': String(err.retryAfterSeconds),
            });
          }
          if (err instanceof RequestError) return refuse(req, res, err.status, err.message, err.headers);
          next(err);
        }
      });
    },
  };
}
