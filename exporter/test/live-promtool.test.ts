import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { formatOpenMetricsFloat, leMatchers, matches, missing, promDir, toPrometheus3Form } from './helpers/prometheus.js';
import { WAIT_BUCKETS } from '../src/live/derive.js';

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
    // Issue 17 (forecast): + the inflow per 30 minutes (recording) and CsInflowAnomaly (alert).
    assert.match(rules.out, /SUCCESS: 11 rules found/);
    // Issue 17 (需要人数): + CsUnderstaffed.
    // Issue 16 (replicas): + CsRollupLeaseUnheld.
    assert.match(rules.out, /SUCCESS: 14 rules found/);
  });

  it('When the rule unit tests run, then every alert and recording rule behaves as written in them', () => {
    const files = readdirSync(path.join(promDir, 'tests')).filter((f) => f.endsWith('.yml'));
    // cs-replicas-test.yml: the same rules with every live series from two exporter replicas (issue 16).
    assert.deepEqual(files.sort(), ['cs-alerts-test.yml', 'cs-recording-test.yml', 'cs-replicas-test.yml']);
    const r = promtool('test', 'rules', ...files.map((f) => `tests/${f}`));
    assert.equal(r.code, 0, r.out);
  });

  it('When the rules are listed, then each one is covered by a unit test', () => {
    const alertTests = readFileSync(path.join(promDir, 'tests/cs-alerts-test.yml'), 'utf8');
    const recordTests = readFileSync(path.join(promDir, 'tests/cs-recording-test.yml'), 'utf8');
    const alerts = names('cs-alerts.yml', 'alert');
    assert.equal(alerts.length, 14);
    for (const a of alerts) {
      // Silent before `for:` (an empty expectation) and firing after (a non-empty one).
      assert.match(alertTests, new RegExp(`alertname: ${a}\\n\\s+exp_alerts: \\[\\]`), `${a}: no "silent" case`);
      assert.match(alertTests, new RegExp(`alertname: ${a}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `${a}: no "firing" case`);
    }
    const records = names('cs-recording.yml', 'record');
    assert.equal(records.length, 11);
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
    assert.equal(urls.length, 14);
    for (const [, anchor] of urls) assert.ok(anchors.has(anchor), `docs/runbook.md has no section #${anchor}`);
  });
});

// Prometheus 3 stores le="20" as le="20.0" (docs/live-monitoring.md, "Prometheus 2 and 3").
describe('Prometheus 2 and 3 label forms in the rules and their tests', () => {
  const bounds = [...WAIT_BUCKETS.map(String), '+Inf'];

  it('When Prometheus 3 normalises a bound, then it is written as Go writes a float, with ".0" on a whole number', () => {
    // Values from Go's strconv.FormatFloat(f, 'g', -1, 64) plus the ".0" rule of formatOpenMetricsFloat.
    const cases: [number, string][] = [
      [20, '20.0'],
      [1, '1.0'],
      [0, '0.0'],
      [0.5, '0.5'],
      [2.5, '2.5'],
      [100000, '100000.0'],
      [1e6, '1e+06'],
      [1234567, '1.234567e+06'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [Infinity, '+Inf'],
    ];
    for (const [f, s] of cases) assert.equal(formatOpenMetricsFloat(f), s, String(f));
    // Only a histogram's le and a summary's quantile change; +Inf stays.
    const text = [
      '# TYPE h histogram',
      'h_bucket{g="20",le="20"} 1',
      'h_bucket{g="20",le="+Inf"} 1',
      '# TYPE s summary',
      's{quantile="1"} 2',
      '# TYPE c counter',
      'c_total{le="20"} 3',
    ].join('\n');
    assert.equal(
      toPrometheus3Form(text),
      [
        '# TYPE h histogram',
        'h_bucket{g="20",le="20.0"} 1',
        'h_bucket{g="20",le="+Inf"} 1',
        '# TYPE s summary',
        's{quantile="1.0"} 2',
        '# TYPE c counter',
        'c_total{le="20"} 3',
      ].join('\n'),
    );
  });

  it('When a rule selects a wait bucket, then it selects the same bound in both forms, inside a rate window', () => {
    let seen = 0;
    for (const file of ['cs-recording.yml', 'cs-alerts.yml']) {
      const text = readFileSync(path.join(promDir, 'rules', file), 'utf8');
      for (const m of leMatchers(text)) {
        seen++;
        const v2 = bounds.filter((b) => matches(m, b));
        const v3 = bounds.filter((b) => matches(m, formatOpenMetricsFloat(Number(b))));
        assert.deepEqual(v3, v2, `${file}: le${m.op}"${m.value}" selects ${v2} in Prometheus 2's form but ${v3} in 3's`);
        assert.equal(v2.length, 1, `${file}: le${m.op}"${m.value}" selects one bound`);
        // Outside a range the old and the new series would both be seen for the lookback after an
        // upgrade, and a sum would count them twice; inside rate() each covers its own samples.
        assert.ok(m.inRange, `${file}: le${m.op}"${m.value}" is used outside a range selector`);
      }
    }
    assert.equal(seen, 2);
  });

  it("When a rule test feeds histogram buckets in Prometheus 2's form, then it has a twin in 3's form with the same expectations", () => {
    for (const file of ['cs-recording-test.yml', 'cs-alerts-test.yml', 'cs-replicas-test.yml']) {
      const text = readFileSync(path.join(promDir, 'tests', file), 'utf8');
      // Test groups, without comments: the twin may explain itself.
      const groups = text
        .split(/^  - interval: /m)
        .slice(1)
        .map((g) => g.replace(/^\s*#.*\n/gm, '').trimEnd());
      for (const g of groups) {
        const les = [...g.matchAll(/\ble="([^"]*)"/g)].map((m) => m[1]);
        const integers = les.filter((v) => /^\d+$/.test(v));
        // The upgrade case holds both forms on purpose.
        if (integers.length === 0 || integers.length < les.length) continue;
        const twin = g.replace(/\ble="(\d+)"/g, (_, v: string) => `le="${formatOpenMetricsFloat(Number(v))}"`);
        assert.ok(groups.includes(twin), `${file}: no test group with the buckets of\n${g}\nin Prometheus 3's form`);
      }
    }
    // The recording rules' bucket tests do exist in both forms, and across an upgrade.
    const rec = readFileSync(path.join(promDir, 'tests/cs-recording-test.yml'), 'utf8');
    assert.match(rec, /le="20"/);
    assert.match(rec, /le="20\.0"/);
  });
});
