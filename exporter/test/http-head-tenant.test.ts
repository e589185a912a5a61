/**
 * HEAD gets the tenant check GET gets. express answers HEAD with the GET handler (express 5,
 * router/lib/route.js `_handlesMethod`: "head" falls back to "get"), so a check that decided by
 * `req.method === 'GET'` let every HEAD read the body's (absent) tenant, i.e. "default".
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config.js';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { startTestExporter } from './helpers/exporter.js';
import { postEvents } from './helpers/events.js';
import type { Exporter } from '../src/exporter.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

const env = {
  CS_INGEST_TOKEN: 'ingest-main',
  CS_API_TOKEN: 'api-main',
  CS_TENANT_API_TOKENS: 'default=api-default,acme=api-acme',
};
const DAY = '2026-11-20';

describe('HEAD requests get the tenant check of GET, and HEAD on the export does no work', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  const head = (token: string, path: string) => fetch(`${exporter.url}${path}`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    db = await freshDatabase();
    const c = loadConfig(env);
    exporter = await startTestExporter(db.url, { ...c, port: 0, databaseUrl: db.url, simulate: false });
    const events = ['acme', 'default'].flatMap((tenant) => [
      { id: `${tenant}-q`, tenant, type: 'session.queue', time: `${DAY}T10:00:00+08:00`, sessionId: `s-${tenant}`, groupId: 'g1', via: 'direct' },
      { id: `${tenant}-e`, tenant, type: 'session.end', time: `${DAY}T10:05:00+08:00`, sessionId: `s-${tenant}` },
    ]);
    const r = await postEvents(exporter.url, events, { token: 'ingest-main' });
    assert.equal(r.body.accepted, 4);
  });
  after(async () => {
    await exporter.close();
    await db.drop();
  });

  it("When a tenant's token sends HEAD for another tenant's session, then 403 as for GET", async () => {
    for (const method of ['GET', 'HEAD']) {
      const other = await fetch(`${exporter.url}/api/v1/sessions/s-acme?tenant=acme`, { method, headers: { authorization: 'Bearer api-default' } });
      assert.equal(other.status, 403, `${method} of acme's session with default's token`);
      // Absent or present, the other tenant's answer is the same 403: no existence oracle.
      const absent = await fetch(`${exporter.url}/api/v1/sessions/nope?tenant=acme`, { method, headers: { authorization: 'Bearer api-default' } });
      assert.equal(absent.status, 403, `${method} of an absent session of acme`);
    }
  });

  it("When a tenant's token sends HEAD for its own session, then it answers as GET does", async () => {
    assert.equal((await head('api-acme', '/api/v1/sessions/s-acme?tenant=acme')).status, 200);
    assert.equal((await head('api-acme', '/api/v1/sessions/nope?tenant=acme')).status, 404);
    assert.equal((await head('api-default', '/api/v1/sessions/s-default')).status, 200);
  });

  it('When a tenant is named twice, once as another, then 403', async () => {
    assert.equal((await head('api-acme', '/api/v1/sessions/s-acme?tenant=acme&tenant=default')).status, 403);
    const r = await fetch(`${exporter.url}/api/v1/query?tenant=default`, {
      method: 'POST',
      headers: { authorization: 'Bearer api-acme', 'content-type': 'application/json' },
      body: JSON.stringify({ report: 'live_overview', tenant: 'acme' }),
    });
    assert.equal(r.status, 403);
  });

  it('When HEAD asks for an export, then the tenant is checked and no rollup runs', async () => {
    const path = `/api/v1/export?report=group_daily&tenant=acme&from=${DAY}&to=${DAY}`;
    assert.equal((await head('api-default', path)).status, 403);
    const own = await head('api-acme', path);
    assert.equal(own.status, 405);
    assert.equal(own.headers.get('allow'), 'GET');
    const rolled = await db.pool.query(`SELECT tenant, day FROM report_rollups`);
    assert.deepEqual(rolled.rows, [], 'a HEAD started a rollup');
    // GET still works, and does roll the day up.
    const get = await fetch(`${exporter.url}${path}`, { headers: { authorization: 'Bearer api-acme' } });
    assert.equal(get.status, 200);
    await get.arrayBuffer();
    assert.equal((await db.pool.query(`SELECT 1 FROM report_rollups WHERE tenant = 'acme' AND day = $1`, [DAY])).rowCount, 1);
  });
});
