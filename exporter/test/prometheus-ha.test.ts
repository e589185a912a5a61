/**
 * The HA pair of Prometheus (provisioning/prometheus/ha/, docs/scale-out.md "Prometheus at scale"):
 * both configs valid for the real promtool, the same but for the replica label, with the project's
 * rules, the replica label kept off alerts, and a remote write to Mimir.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { missing, promDir } from './helpers/prometheus.js';

const skip = missing('promtool');
if (skip) console.log(`# skipping the HA Prometheus checks: ${skip}`);

const haDir = path.join(promDir, 'ha');
const read = (f: string) => readFileSync(path.join(haDir, f), 'utf8');

describe('HA pair of Prometheus', () => {
  it('When promtool checks each replica\'s config, then it is valid and loads the project\'s rules', { skip }, () => {
    for (const f of ['prometheus-a.yml', 'prometheus-b.yml']) {
      const r = spawnSync('promtool', ['check', 'config', f], { cwd: haDir, encoding: 'utf8' });
      const out = `${r.stdout}${r.stderr}`;
      assert.equal(r.status, 0, out);
      // The rule files are found from ha/ (a wrong relative path fails promtool above too).
      // Issue 17 (forecast): + the inflow per 30 minutes (recording) and CsInflowAnomaly (alert).
      assert.match(out, /SUCCESS: 11 rules found/);
      // Issue 16 (replicas): + CsRollupLeaseUnheld.
      assert.match(out, /SUCCESS: 14 rules found/);
    }
  });

  it('When the two configs are compared, then they differ only in the replica label (and the comment naming the file)', () => {
    const a = read('prometheus-a.yml').split('\n');
    const b = read('prometheus-b.yml').split('\n');
    assert.equal(a.length, b.length);
    const diff = a.map((l, i) => [l, b[i]]).filter(([x, y]) => x !== y);
    const labels = diff.filter(([x]) => !x.startsWith('#'));
    assert.deepEqual(labels, [['    replica: a', '    replica: b']]);
    // Under global.external_labels, beside the cluster both replicas share.
    const text = read('prometheus-a.yml');
    assert.match(text, /^global:\n(?: {2}.*\n)*? {2}external_labels:\n {4}cluster: cs-data-ops\n {4}replica: a\n/m);
    for (const [x] of diff.filter(([l]) => l.startsWith('#'))) assert.match(x, /prometheus-a\.yml/);
  });

  it('When the configs are read, then alerts lose the replica label, the rules are the main config\'s and samples go to Mimir', () => {
    const text = read('prometheus-a.yml');
    // Alert relabeling runs after external labels; dropping replica makes the pair's alerts identical.
    assert.match(text, /alert_relabel_configs:\n\s+- action: labeldrop\n\s+regex: replica\n/);
    const rules = (t: string) => [...t.matchAll(/^ {2}- (\S+\.yml)$/gm)].map((m) => path.basename(m[1]));
    assert.deepEqual(rules(text), rules(readFileSync(path.join(promDir, 'prometheus.yml'), 'utf8')));
    assert.match(text, /remote_write:\n(?:\s*#.*\n)*\s+- name: mimir\n\s+url: http:\/\/mimir:8080\/api\/v1\/push\n\s+headers:\n\s+X-Scope-OrgID: \S+/);
  });
});
