import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { agentsRequired, expectedServiceLevel, probabilityWait, serviceLevelOf } from '../src/staffing/erlang.js';
import { parseServiceTargets } from '../src/staffing/targets.js';
import { ConfigError, loadConfig } from '../src/config.js';

const close = (actual: number, expected: number, eps = 1e-6) => assert.ok(Math.abs(actual - expected) < eps, `${actual} ≠ ${expected}`);

describe('Erlang C by hand', () => {
  it('When one server carries 0.5 Erlang (M/M/1), then P(wait) = ρ and SL = 1 − ρ·e^(−(1−ρ)T/AHT)', () => {
    // ρ = 0.5; T = 20 s, AHT = 100 s: SL = 1 − 0.5·e^(−0.5·20/100) = 1 − 0.5·e^(−0.1) = 0.5475813
    close(probabilityWait(1, 0.5), 0.5);
    close(serviceLevelOf(1, 0.5, 100, 20), 1 - 0.5 * Math.exp(-0.1));
  });

  it('When two servers carry 1 Erlang, then P(wait) = (A²/2!·2/(2−A)) / (1 + A + A²/2!·2/(2−A)) = 1/3', () => {
    // A = 1, N = 2: numerator 0.5·2/1 = 1; denominator 1 + 1 + 1 = 3.
    close(probabilityWait(2, 1), 1 / 3);
  });

  it('When servers cannot keep up, then everyone waits and nothing is answered in time', () => {
    assert.equal(probabilityWait(3, 3), 1);
    assert.equal(serviceLevelOf(3, 4, 180, 20), 0);
  });

  it('When agents serve 3 chats at once, then they need a third of the servers, rounded up', () => {
    // 100 requests/h × 180 s = 5 Erlangs; as servers, the fewest meeting 80 %/20 s: 8 (7 gives less).
    const voice = agentsRequired({ arrivalsPerHour: 100, ahtSeconds: 180 });
    assert.equal(voice.servers, 8);
    assert.ok(serviceLevelOf(7, 5, 180, 20) < 0.8 && voice.serviceLevel >= 0.8);
    const chat = agentsRequired({ arrivalsPerHour: 100, ahtSeconds: 180, concurrency: 3 });
    assert.equal(chat.agents, 3);
    close(expectedServiceLevel({ arrivalsPerHour: 100, ahtSeconds: 180, concurrency: 3 }, 3), serviceLevelOf(9, 5, 180, 20));
  });

  it('When nothing arrives, then no agent is needed', () => {
    assert.equal(agentsRequired({ arrivalsPerHour: 0, ahtSeconds: 180 }).agents, 0);
  });
});

describe('service-level targets (CS_SERVICE_LEVEL_TARGETS)', () => {
  it('When a tenant, a group and a default are set, then the most specific one wins', () => {
    const t = parseServiceTargets('85/30, vip=90/10, acme:vip=95/5');
    assert.deepEqual(t.of('other', 'g1'), { level: 0.85, seconds: 30 });
    assert.deepEqual(t.of('other', 'vip'), { level: 0.9, seconds: 10 });
    assert.deepEqual(t.of('acme', 'vip'), { level: 0.95, seconds: 5 });
    assert.deepEqual(parseServiceTargets(undefined).of('x', 'y'), { level: 0.8, seconds: 20 });
  });

  it('When an entry is malformed, then the error names it', () => {
    assert.throws(
      () => loadConfig({ CS_SERVICE_LEVEL_TARGETS: '80/20,vip=120/10' }),
      (e: Error) => e instanceof ConfigError && /"vip=120\/10"/.test(e.message),
    );
    assert.throws(() => parseServiceTargets('eighty'), /"eighty" is not \[\[tenant:\]group=\]percent\/seconds/);
  });
});
