/**
 * Tenant tokens: a tenant's ingest token writes only that tenant's events, and
 * its API token reads only that tenant, while the main tokens see every tenant.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../src/config.js';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { startTestExporter } from './helpers/exporter.js';
import { postEvents } from './helpers/events.js';
import type { Exporter } from '../src/exporter.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

const env = {
  CS_INGEST_TOKEN: 'ingest-main',
  CS_API_TOKEN: 'api-main',
  CS_TENANT_INGEST_TOKENS: 'acme=ingest-acme, globex=ingest-globex',
  CS_TENANT_API_TOKENS: 'acme=api-acme,globex=api-globex',
};

const now = Date.now();
const queue = (id: string, sessionId: string, tenant?: string) => ({
  id,
  type: 'session.queue',
  time: now - 60_000,
  sessionId,
  groupId: 'g1',
  via: 'direct',
  ...(tenant ? { tenant } : {}),
});

describe('Tenant tokens keep each tenant to its own data', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  const query = (token: string, body: Record<string, unknown>) =>
    fetch(`${exporter.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
  const get = (token: string, path: string) => fetch(`${exporter.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const queueLength = async (token: string, tenant: string) => {
    const res = await query(token, { report: 'live_overview', tenant, metrics: ['queue_length'] });
    assert.equal(res.status, 200);
    return ((await res.json()) as any).frames[0].fields[0].values[0] ?? 0;
  };

  before(async () => {
    db = await freshDatabase();
    const c = loadConfig(env);
    exporter = await startTestExporter(db.url, { ...c, port: 0, databaseUrl: db.url, simulate: false });
  });
  after(async () => {
    await exporter.close();
    await db.drop();
  });

  it('When a tenant token sends events, then unnamed ones become its own and ones naming another tenant are refused', async () => {
    const r = await postEvents(exporter.url, [queue('a1', 's-a1'), queue('a2', 's-a2', 'acme'), queue('a3', 's-a3', 'globex')], {
      token: 'ingest-acme',
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.accepted, 2);
    assert.deepEqual(r.body.rejected, [{ index: 2, error: 'tenant: this ingest token is for tenant "acme" only, the event names "globex"' }]);
    // The main token writes any tenant; globex gets one queued session, "default" none.
    assert.equal((await postEvents(exporter.url, [queue('g1', 's-g1', 'globex')], { token: 'ingest-main' })).body.accepted, 1);
    // Same event id in another tenant is another event (dedupe is per tenant).
    assert.equal((await postEvents(exporter.url, [queue('a1', 's-g2')], { token: 'ingest-globex' })).body.accepted, 1);
    assert.equal((await postEvents(exporter.url, [queue('x', 's-x')], { token: 'nope' })).status, 401);
  });

  it('When a tenant API token reads, then it sees its tenant and is refused any other, naming the problem', async () => {
    // acme: s-a1, s-a2 queued → 2; globex: s-g1, s-g2 → 2.
    assert.equal(await queueLength('api-acme', 'acme'), 2);
    assert.equal(await queueLength('api-globex', 'globex'), 2);
    const other = await query('api-acme', { report: 'live_overview', tenant: 'globex' });
    assert.equal(other.status, 403);
    assert.equal(
      ((await other.json()) as any).error,
      'this token is for tenant "acme" only; the request asks for tenant "globex" (set tenant to "acme")',
    );
    // No tenant means "default", which is not acme's either.
    assert.equal((await query('api-acme', { report: 'live_overview' })).status, 403);
    assert.equal((await get('api-acme', '/api/v1/sessions/s-g1?tenant=globex')).status, 403);
    assert.equal((await get('api-acme', '/api/v1/export?report=sessions&from=2026-11-01&to=2026-11-02&tenant=globex')).status, 403);
    const rollup = await fetch(`${exporter.url}/api/v1/rollups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer api-acme' },
      body: JSON.stringify({ date: '2026-11-01', tenant: 'globex' }),
    });
    assert.equal(rollup.status, 403);
  });

  it('When a tenant API token asks for its own tenant, then detail, export and the catalog answer', async () => {
    assert.equal((await get('api-acme', '/api/v1/reports')).status, 200);
    assert.equal((await get('api-acme', '/api/v1/sessions/s-a1?tenant=acme')).status, 200);
    assert.equal((await get('api-acme', '/api/v1/sessions/s-g1?tenant=acme')).status, 404);
    const day = new Date(now).toISOString().slice(0, 10);
    assert.equal((await get('api-acme', `/api/v1/export?report=sessions&from=${day}&to=${day}&tenant=acme`)).status, 200);
  });

  it('When the main API token reads, then every tenant is open to it', async () => {
    assert.equal(await queueLength('api-main', 'acme'), 2);
    assert.equal(await queueLength('api-main', 'globex'), 2);
    assert.equal(await queueLength('api-main', 'default'), 0);
  });
});

describe('Tenant token settings', () => {
  it('When a pair is malformed or a token is reused, then the exporter refuses to start and says which', () => {
    assert.throws(() => loadConfig({ CS_TENANT_API_TOKENS: 'acme' }), (e: Error) => e instanceof ConfigError && /tenant=token pairs.*"acme"/.test(e.message));
    assert.throws(
      () => loadConfig({ CS_TENANT_API_TOKENS: 'acme=t1,globex=t1' }),
      (e: Error) => e instanceof ConfigError && /token of tenant "globex" is used twice/.test(e.message),
    );
    assert.throws(
      () => loadConfig({ CS_API_TOKEN: 'same', CS_TENANT_INGEST_TOKENS: 'acme=same' }),
      (e: Error) => e instanceof ConfigError && /used twice/.test(e.message),
    );
    assert.deepEqual([...loadConfig({ CS_TENANT_INGEST_TOKENS: ' acme = k1 ,globex=k2' }).tenantIngestTokens], [
      ['k1', 'acme'],
      ['k2', 'globex'],
    ]);
  });
});
