/**
 * Under exporter replicas Prometheus holds each live series once per replica (docs/scale-out-replicas.md,
 * "Prometheus and the dashboards: no double counting"), so every PromQL that reads one must take a
 * single copy first: `max without (instance, replica) (x)`, or for a counter
 * `max without (instance, replica) (rate(x[w]))`. Static guard over the three places that hold PromQL
 * (the generated dashboards, the Prometheus rules, Grafana's alert rules), so a new query cannot skip
 * it; what the wrapper does is tested for real by promtool (provisioning/prometheus/tests/cs-replicas-test.yml)
 * and by the dashboards e2e (a Prometheus scraping two replicas).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { allDashboards } from '../src/index.js';
import { live, liveRate, REPLICA_LABELS } from '../src/queries.js';
import { isProm, targets } from './walk.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const yaml = (path: string) => parse(readFileSync(join(repo, path), 'utf8'));

/**
 * Live series read without taking one copy first. Live = cs_* but the exporter's own cs_exporter_*
 * (per replica by nature); recorded series (level:metric:op) are built from one copy already.
 */
export function uncopiedLiveSeries(expr: string): string[] {
  const out: string[] = [];
  for (const m of expr.matchAll(/(?<![\w:])cs_[a-z0-9_]+(?![\w:])/g)) {
    if (m[0].startsWith('cs_exporter_')) continue;
    const before = expr.slice(0, m.index);
    if (!/max without \(instance, replica\) \((?:(?:rate|increase)\()?$/.test(before)) out.push(m[0]);
  }
  return out;
}

test('the helpers build the one-copy wrapper', () => {
  assert.equal(REPLICA_LABELS, 'instance, replica');
  assert.equal(live('cs_queue_length', 'tenant="t"'), 'max without (instance, replica) (cs_queue_length{tenant="t"})');
  assert.equal(live('cs_queue_length'), 'max without (instance, replica) (cs_queue_length)');
  assert.equal(liveRate('cs_sessions_inflow_total', '', '5m'), 'max without (instance, replica) (rate(cs_sessions_inflow_total[5m]))');
  assert.equal(
    liveRate('cs_ratings_total', 'group="g"', '1h', 'increase'),
    'max without (instance, replica) (increase(cs_ratings_total{group="g"}[1h]))',
  );
  // The guard itself: a bare or summed copy is caught, a wrapped one, a recorded series and a self-metric are not.
  assert.deepEqual(uncopiedLiveSeries('sum(cs_queue_length{tenant="t"})'), ['cs_queue_length']);
  assert.deepEqual(uncopiedLiveSeries('sum by (le) (rate(cs_queue_wait_seconds_bucket[5m]))'), ['cs_queue_wait_seconds_bucket']);
  assert.deepEqual(uncopiedLiveSeries(`sum(${liveRate('cs_sessions_inflow_total', '', '5m')}) / sum(${live('cs_agents')})`), []);
  assert.deepEqual(uncopiedLiveSeries('tenant_group:cs_answer_rate:ratio_rate5m > 0 and cs_exporter_database_up == 0'), []);
});

test('every live series in the dashboards, the Prometheus rules and the Grafana alert rules is read as one copy', () => {
  const found: { where: string; expr: string }[] = [];
  for (const t of targets(allDashboards()).filter(isProm))
    found.push({ where: `${t.dashboard} / ${t.panel}`, expr: String(t.target.expr) });
  for (const file of ['provisioning/prometheus/rules/cs-recording.yml', 'provisioning/prometheus/rules/cs-alerts.yml'])
    for (const g of yaml(file).groups as { rules: { record?: string; alert?: string; expr: string }[] }[])
      for (const r of g.rules) found.push({ where: `${file} ${r.record ?? r.alert}`, expr: r.expr });
  for (const g of yaml('provisioning/grafana/alerting/cs-alert-rules.yml').groups as {
    rules: { uid: string; data: { datasourceUid: string; model: { expr?: string } }[] }[];
  }[])
    for (const r of g.rules)
      for (const q of r.data.filter((d) => d.datasourceUid === 'prometheus'))
        found.push({ where: `cs-alert-rules.yml ${r.uid}`, expr: q.model.expr! });
  const live = found.filter((f) => /(?<![\w:])cs_(?!exporter_)[a-z0-9_]+/.test(f.expr));
  assert.ok(live.length >= 40, `${live.length} expressions read live series`);
  const bad = found.flatMap((f) => uncopiedLiveSeries(f.expr).map((s) => `${f.where}: ${s} in ${f.expr}`));
  assert.deepEqual(bad, []);
});
