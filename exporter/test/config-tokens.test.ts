/**
 * Issue 13 item 12: one token may not open two doors (tenant A's query token
 * and tenant B's ingest token, or an operator's token and a tenant's). On
 * main's code `loadConfig` accepted a token shared between
 * CS_TENANT_API_TOKENS and CS_TENANT_INGEST_TOKENS, and the exporter started.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ConfigError, loadConfig } from '../src/config.js';
import { exporterRoot, exited } from './helpers/exporter.js';

describe('Tokens: every tenant token opens one door', () => {
  it("When tenant A's query token is tenant B's ingest token, then the settings are refused, naming both roles but not the token", () => {
    assert.throws(
      () => loadConfig({ CS_TENANT_API_TOKENS: 'acme=shared-secret', CS_TENANT_INGEST_TOKENS: 'globex=shared-secret' }),
      (e: Error) =>
        e instanceof ConfigError &&
        e.message.includes('CS_TENANT_INGEST_TOKENS (ingest of tenant "globex")') &&
        e.message.includes('CS_TENANT_API_TOKENS (query of tenant "acme")') &&
        !e.message.includes('shared-secret'),
    );
  });

  it("When a tenant's query token is also its own ingest token, or the operator's ingest token is a tenant's query token, then the settings are refused", () => {
    assert.throws(() => loadConfig({ CS_TENANT_API_TOKENS: 'acme=t1', CS_TENANT_INGEST_TOKENS: 'acme=t1' }), ConfigError);
    assert.throws(() => loadConfig({ CS_INGEST_TOKEN: 'op', CS_TENANT_API_TOKENS: 'acme=op' }), ConfigError);
  });

  it('When every token is its own, then the settings load; the operator may use one token for both of its roles', () => {
    const c = loadConfig({
      CS_INGEST_TOKEN: 'op',
      CS_API_TOKEN: 'op',
      CS_TENANT_API_TOKENS: 'acme=a1',
      CS_TENANT_INGEST_TOKENS: 'acme=i1,globex=i2',
    });
    assert.equal(c.tenantApiTokens.get('a1'), 'acme');
    assert.equal(c.tenantIngestTokens.get('i2'), 'globex');
  });

  it('When `cs-exporter serve` is started with a shared token, then it exits 1 with the configuration error before touching a database', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
      cwd: exporterRoot,
      env: {
        ...process.env,
        PORT: '0',
        DATABASE_URL: 'postgres://127.0.0.1:1/none',
        CS_TENANT_API_TOKENS: 'acme=k',
        CS_TENANT_INGEST_TOKENS: 'globex=k',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c) => (out += c));
    child.stderr!.on('data', (c) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await exited(child);
    clearTimeout(timer);
    assert.equal(code, 1, out);
    assert.match(out, /^configuration error: one token is used for .*every tenant token must be its own/m);
  });
});
