import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { missing, promDir } from './helpers/prometheus.js';

const skip = missing('promtool');
if (skip) console.log(`# skipping promtool tests: ${skip}`);

function promtool(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd: promDir, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const names = (file: string, key: 'alert' | 'record') =>
  [...readFileSync(path.join(promDir, 'rules', file), 'utf8').matchAll(new RegExp(`^\\s*- ${key}: (\\S+)`, 'gm'))].map((m) => m[1]);

describe('Prometheus provisioning (promtool)', { skip }, () => {
  it('When promtool checks the config and the rules, then they are valid', () => {
    const config = promtool('check', 'config', 'prometheus.yml');
    assert.equal(config.code, 0, config.out);
    const rules = promtool('check', 'rules', 'rules/cs-recording.yml', 'rules/cs-alerts.yml');
    assert.equal(rules.code, 0, rules.out);
    assert.match(rules.out, /SUCCESS: 10 rules found/);
    assert.match(rules.out, /SUCCESS: 7 rules found/);
  });

  it('When the rule unit tests run, then every alert and recording rule behaves as written in them', () => {
    const files = readdirSync(path.join(promDir, 'tests')).filter((f) => f.endsWith('.yml'));
    assert.deepEqual(files.sort(), ['cs-alerts-test.yml', 'cs-recording-test.yml']);
    const r = promtool('test', 'rules', ...files.map((f) => `tests/${f}`));
    assert.equal(r.code, 0, r.out);
  });

  it('When the rules are listed, then each one is covered by a unit test', () => {
    const alertTests = readFileSync(path.join(promDir, 'tests/cs-alerts-test.yml'), 'utf8');
    const recordTests = readFileSync(path.join(promDir, 'tests/cs-recording-test.yml'), 'utf8');
    const alerts = names('cs-alerts.yml', 'alert');
    assert.equal(alerts.length, 7);
    for (const a of alerts) {
      // Silent before `for:` (an empty expectation) and firing after (a non-empty one).
      assert.match(alertTests, new RegExp(`alertname: ${a}\\n\\s+exp_alerts: \\[\\]`), `${a}: no "silent" case`);
      assert.match(alertTests, new RegExp(`alertname: ${a}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `${a}: no "firing" case`);
    }
    const records = names('cs-recording.yml', 'record');
    assert.equal(records.length, 10);
    for (const r of records) assert.match(recordTests, new RegExp(`- expr: ${r}\\n`), `${r}: no unit test`);
  });

  it('When an alert names a runbook section, then docs/runbook.md has that section', () => {
    const runbook = readFileSync(path.join(promDir, '../../docs/runbook.md'), 'utf8');
    const anchors = new Set(
      [...runbook.matchAll(/^## (.+)$/gm)].map((m) =>
        m[1]
          .trim()
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    const urls = [
      ...readFileSync(path.join(promDir, 'rules/cs-alerts.yml'), 'utf8').matchAll(/runbook_url: 'docs\/runbook\.md#([a-z0-9-]+)'/g),
    ];
    assert.equal(urls.length, 7);
    for (const [, anchor] of urls) assert.ok(anchors.has(anchor), `docs/runbook.md has no section #${anchor}`);
  });
});
