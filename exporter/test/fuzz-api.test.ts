/**
 * Property-based fuzz of every entry point: ingest bodies, and every parameter of the query API,
 * the export, the session detail and POST /rollups. A seeded generator (FUZZ_SEED, FUZZ_RUNS for
 * more; CI runs the fixed default) builds requests from valid ones by mutation. Each answer must be
 * below 500, within 5 s, and hold no SQL of ours, stack trace, host or port; the exporter must
 * still be healthy at the end. A failure prints the seed and the request, to replay it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startTestExporter, useTestExporter } from './helpers/exporter.js';
import { validExamples } from './helpers/events.js';
import { assertNoLeak } from './helpers/leaks.js';
import { REPORTS } from '../src/catalog.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const MAX_MS = 5000;

/** mulberry32: small, fast, and the same sequence for the same seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof rng>;

const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  "' OR 1=1 --",
  '"; DROP TABLE students; --',
  '%',
  '%00',
  '%E0%A4%A',
  '../../etc/passwd',
  '\\',
  '\n\r\t',
  '0100-01-01',
  '9999-12-31',
  '10000-01-01',
  '2026-02-30',
  '1970-01-01',
  '2026-11-20',
  '2026-11-20T10:00:00+08:00',
  '0999-12-31T23:59:59Z',
  '2026-11-20T24:00:00Z',
  'NaN',
  '-1',
  '1e300',
  '客服',
  '𝕏😀',
  'default',
  '__proto__',
  'constructor',
];
const NASTY_NUMBERS = [
  0,
  -0,
  -1,
  1,
  1.5,
  1e300,
  -1e300,
  8.64e15,
  8.64e15 + 1,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  1_763_700_000,
  1_763_700_000_000,
  946_684_799_999,
];

function randomString(r: Rng): string {
  if (r.chance(0.6)) return r.pick(NASTY_STRINGS);
  const len = r.chance(0.05) ? 300 + r.int(5000) : r.int(20);
  let s = '';
  for (let i = 0; i < len; i++) {
    const roll = r.next();
    s +=
      roll < 0.7
        ? String.fromCharCode(32 + r.int(95))
        : roll < 0.9
          ? String.fromCharCode(0x4e00 + r.int(500))
          : String.fromCharCode(r.int(0x10000));
  }
  return s;
}

function randomValue(r: Rng, depth = 0): unknown {
  const roll = r.int(depth > 3 ? 5 : 8);
  switch (roll) {
    case 0:
      return randomString(r);
    case 1:
      return r.pick(NASTY_NUMBERS);
    case 2:
      return r.chance(0.5);
    case 3:
      return null;
    case 4:
      return r.int(1000);
    case 5:
      return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1));
    case 6:
      return Object.fromEntries(Array.from({ length: r.int(4) }, () => [randomString(r), randomValue(r, depth + 1)]));
    default:
      return undefined;
  }
}

// Valid times stay within a few days, so the fuzz does not create hundreds of partitions.
const BASE = Date.parse('2026-11-20T02:00:00Z');
function randomTime(r: Rng): unknown {
  if (r.chance(0.5)) return BASE + r.int(5) * 86_400_000 + r.int(86_400_000);
  if (r.chance(0.5))
    return r.pick([
      ...NASTY_NUMBERS,
      '0100-06-01T00:00:00Z',
      '0999-01-01T00:00:00+08:00',
      '9999-12-31T23:59:60Z',
      '2026-11-20T10:00:00',
      '2026-11-20 10:00:00+08:00',
    ]);
  return randomValue(r);
}

let counter = 0;
function mutatedEvent(r: Rng): unknown {
  if (r.chance(0.05)) return randomValue(r);
  const e: Record<string, unknown> = { id: `fz-${SEED}-${counter++}`, time: randomTime(r), ...r.pick(Object.values(validExamples())) };
  e.time = randomTime(r);
  if (r.chance(0.3)) e.tenant = r.chance(0.5) ? r.pick(['default', 'acme', 't2']) : randomString(r);
  const keys = Object.keys(e);
  for (let i = r.int(4); i > 0; i--) {
    const k = r.chance(0.8) ? r.pick(keys) : randomString(r);
    const v = randomValue(r);
    if (v === undefined) delete e[k];
    else e[k] = v;
  }
  if (r.chance(0.05)) {
    // Deep nesting, as text: JSON.stringify cannot write it.
    e.deep = '__deep__';
  }
  return e;
}

const deepText = `${'{"d":'.repeat(5000)}1${'}'.repeat(5000)}`;
const toJson = (v: unknown) => (JSON.stringify(v) ?? 'null').replace('"__deep__"', deepText);

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function ingestRequest(r: Rng): FuzzRequest {
  const events = Array.from({ length: 1 + r.int(r.chance(0.1) ? 300 : 8) }, () => mutatedEvent(r));
  const form = r.int(10);
  let body: string;
  let type = 'application/json';
  if (form < 5) body = toJson(events);
  else if (form < 8) {
    type = 'application/x-ndjson';
    body = events.map((e) => (r.chance(0.1) ? randomString(r) : toJson(e))).join(r.chance(0.2) ? '\r\n' : '\n');
  } else if (form < 9) body = toJson(events[0]);
  else {
    body = randomString(r);
    type = r.pick(['application/json', 'application/x-ndjson', 'text/plain', 'application/json; charset=latin1', '']);
  }
  return { method: 'POST', path: '/api/v1/events', headers: type ? { 'content-type': type } : {}, body };
}

const REPORT_IDS = REPORTS.map((x) => x.id);
const PARAMS = ['report', 'from', 'to', 'tenant', 'groups', 'agents', 'metrics', 'filters'];

function queryRequest(r: Rng): FuzzRequest {
  const body: Record<string, unknown> = {
    report: r.chance(0.9) ? r.pick(REPORT_IDS) : randomValue(r),
    from: '2026-11-19',
    to: '2026-11-21',
  };
  if (r.chance(0.3)) body.from = BASE;
  for (let i = 1 + r.int(3); i > 0; i--) {
    const k = r.chance(0.9) ? r.pick(PARAMS) : randomString(r);
    if (k === 'filters' && r.chance(0.7))
      body.filters = Object.fromEntries(
        Array.from({ length: 1 + r.int(3) }, () => [
          r.pick(['userId', 'satisfaction', 'category', 'remark', 'revisit', 'limit', 'name', 'agents']),
          randomValue(r),
        ]),
      );
    else if ((k === 'groups' || k === 'agents' || k === 'metrics') && r.chance(0.7))
      body[k] = Array.from({ length: r.int(4) }, () => randomString(r));
    else body[k] = k === 'from' || k === 'to' ? (r.chance(0.5) ? randomTime(r) : randomString(r)) : randomValue(r);
  }
  return { method: 'POST', path: '/api/v1/query', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

const EXPORT_PARAMS = [
  'report',
  'from',
  'to',
  'format',
  'tenant',
  'userId',
  'category',
  'remark',
  'revisit',
  'group',
  'agent',
  'groups',
  'agents',
  'satisfaction',
  'metrics',
];
/** A query string value: percent-encoded, or raw (malformed escapes included). */
function qv(r: Rng, v: string): string {
  if (r.chance(0.15))
    return v
      .replace(/[ #&]/g, '+')
      .replace(/[^\x21-\x7e]/g, (c) => (c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) < 0xe000 ? '%ED%A0%80' : encodeURIComponent(c)));
  try {
    return encodeURIComponent(v);
  } catch {
    // A lone surrogate has no UTF-8: send the bytes a careless client would (CESU-8), which the exporter must refuse.
    return v
      .replace(/[\ud800-\udfff]/g, '\u0001')
      .split('\u0001')
      .map(encodeURIComponent)
      .join('%ED%A0%80');
  }
}

function exportRequest(r: Rng): FuzzRequest {
  const parts = [`report=${qv(r, r.chance(0.9) ? r.pick(REPORT_IDS) : randomString(r))}`, 'from=2026-11-19', 'to=2026-11-21'];
  for (let i = r.int(4); i > 0; i--) {
    const k = r.chance(0.9) ? r.pick(EXPORT_PARAMS) : randomString(r);
    const v = k === 'from' || k === 'to' ? String(r.chance(0.5) ? randomTime(r) : randomString(r)) : randomString(r);
    parts.push(`${qv(r, k)}=${qv(r, v)}`);
  }
  if (r.chance(0.3)) parts.push(`format=${r.pick(['csv', 'xlsx', 'pdf', ''])}`);
  return { method: r.chance(0.9) ? 'GET' : 'HEAD', path: `/api/v1/export?${parts.join('&')}`, headers: {} };
}

function sessionRequest(r: Rng): FuzzRequest {
  const id = r.chance(0.3) ? 's1' : randomString(r) || 'x';
  const tenant = r.chance(0.5) ? '' : `?tenant=${qv(r, randomString(r))}`;
  return { method: r.chance(0.8) ? 'GET' : 'HEAD', path: `/api/v1/sessions/${qv(r, id).replace(/\//g, '%2F')}${tenant}`, headers: {} };
}

function rollupRequest(r: Rng): FuzzRequest {
  const body: Record<string, unknown> = {
    date: r.chance(0.3) ? r.pick(['2026-11-20', '9999-12-31', '1970-01-01', '0001-01-01', '2999-01-01']) : randomValue(r),
  };
  if (r.chance(0.5)) body.tenant = randomValue(r);
  return {
    method: 'POST',
    path: '/api/v1/rollups',
    headers: { 'content-type': 'application/json' },
    body: r.chance(0.9) ? JSON.stringify(body) : randomString(r),
  };
}

function send(base: string, req: FuzzRequest): Promise<{ status: number; body: string; ms: number }> {
  const u = new URL(base);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = Buffer.byteLength(req.body);
    const r = request({ host: u.hostname, port: u.port, method: req.method, path: req.path, headers, timeout: MAX_MS * 2 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started }));
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error(`no answer within ${MAX_MS * 2} ms`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

/** The request's own strings, which an answer may quote back ("unknown report …"): not a leak. */
function scrub(body: string, req: FuzzRequest): string {
  let out = body;
  const raw = `${decodeSafe(req.path)} ${req.body ?? ''}`;
  const words = new Set<string>();
  for (const w of raw.split(/[&=?,"\n]/)) if (w.length >= 3) words.add(w);
  for (const w of [...words].sort((a, b) => b.length - a.length)) {
    for (const v of [w, JSON.stringify(w).slice(1, -1)])
      for (const cut of [v, v.slice(0, 40), v.slice(0, 64), v.slice(0, 80)]) if (cut.length >= 3) out = out.split(cut).join('');
  }
  return out;
}
function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Every tenant a request names, as a handler could read it; "default" when it names none. Undecodable → none checked. */
function tenantsNamed(q: FuzzRequest): string[] {
  const i = q.path.indexOf('?');
  let out: string[];
  try {
    decodeURIComponent(q.path.replace(/\+/g, ' '));
    out = new URLSearchParams(i < 0 ? '' : q.path.slice(i + 1)).getAll('tenant');
  } catch {
    return ['(undecodable)'];
  }
  try {
    const b = q.body === undefined ? undefined : JSON.parse(q.body);
    if (b && typeof b === 'object' && 'tenant' in b) out.push(typeof b.tenant === 'string' ? b.tenant : JSON.stringify(b.tenant));
  } catch {
    return ['(not json)'];
  }
  const named = out.filter((t) => t !== '');
  return named.length === 0 ? ['default'] : named;
}

describe(`fuzz (FUZZ_SEED=${SEED}, FUZZ_RUNS=${RUNS})`, () => {
  const harness = useTestExporter({ tenantApiTokens: new Map(), tenantIngestTokens: new Map() });

  const targets: [string, (r: Rng) => FuzzRequest, number][] = [
    ['ingest bodies', ingestRequest, 4],
    ['query parameters', queryRequest, 2],
    ['export parameters', exportRequest, 2],
    ['session ids and tenants', sessionRequest, 2],
    ['rollup dates and tenants', rollupRequest, 1],
  ];
  it("When requests are fuzzed with a tenant's token, then none naming another tenant is answered 2xx", async () => {
    const scoped = await startTestExporter(harness.db.url, { tenantApiTokens: new Map([['tok-acme', 'acme']]), apiToken: 'tok-main' });
    try {
      const r = rng(SEED ^ 0x7e7a);
      const makers = [queryRequest, exportRequest, sessionRequest, rollupRequest];
      let named = 0;
      for (let run = 0; run < RUNS; run++) {
        const q = r.pick(makers)(r);
        // Half the requests name acme somewhere, so that the check also meets the tenant's own.
        if (r.chance(0.5)) q.path += `${q.path.includes('?') ? '&' : '?'}tenant=acme`;
        q.headers.authorization = 'Bearer tok-acme';
        const a = await send(scoped.url, q);
        const replay = `FUZZ_SEED=${SEED} tenant token run ${run}: ${q.method} ${q.path.slice(0, 300)} ${String(q.body ?? '').slice(0, 300)}`;
        assert.ok(a.status < 500, `${replay}\n→ ${a.status} ${a.body.slice(0, 300)}`);
        const names = tenantsNamed(q);
        if (names.some((t) => t !== 'acme')) {
          named++;
          assert.ok(a.status >= 400, `${replay}\n→ ${a.status}: served to acme's token, though the request names ${JSON.stringify(names)}`);
        }
      }
      assert.ok(named > RUNS / 4, `only ${named} requests named another tenant`);
    } finally {
      await scoped.close();
    }
  });

  for (const [name, make, parallel] of targets) {
    it(`When ${name} are fuzzed, then no answer is a 500, slow, or holds internals`, async () => {
      const r = rng(SEED ^ (name.length * 7919));
      for (let run = 0; run < RUNS; run += parallel) {
        const reqs = Array.from({ length: Math.min(parallel, RUNS - run) }, () => make(r));
        const answers = await Promise.all(
          reqs.map((q) => send(harness.exporter.url, q).catch((err: Error) => ({ status: -1, body: String(err), ms: -1 }))),
        );
        answers.forEach((a, i) => {
          const q = reqs[i];
          const replay = `FUZZ_SEED=${SEED} ${name} run ${run + i}: ${q.method} ${q.path.slice(0, 300)} ${String(q.body ?? '').slice(0, 300)}`;
          assert.ok(a.status >= 200 && a.status < 500, `${replay}\n→ ${a.status} ${a.body.slice(0, 500)}`);
          assert.ok(a.ms <= MAX_MS, `${replay}\n→ took ${a.ms} ms`);
          if (q.method !== 'HEAD' && !/^(text\/csv|application\/vnd)/.test('')) assertNoLeak(scrub(a.body, q), replay);
        });
      }
      const health = await fetch(`${harness.exporter.url}/api/v1/health`);
      assert.equal(health.status, 200);
    });
  }
});
