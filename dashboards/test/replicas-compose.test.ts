/**
 * docker-compose.replicas.yml (issue 16): two exporters behind a load balancer on the one Postgres of
 * docker-compose.yml, Prometheus scraping each replica. Static: the override parses and is valid
 * compose, the second replica is the first one's twin, and the load balancer and Prometheus point
 * at every replica and at nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { composeValidator, type ComposeService } from './compose-schema.js';
import { parse, parseDocument, isNode } from 'yaml';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const text = (path: string) => readFileSync(join(repo, path), 'utf8');

type Service = ComposeService;
type Compose = { services: Record<string, Service> };

// Merge keys (<<) as docker compose reads them; `!reset` is compose's own tag (read as its value, checked below).
const base = parse(text('docker-compose.yml'), { merge: true }) as Compose;
const overrideDoc = parseDocument(text('docker-compose.replicas.yml'), { merge: true, logLevel: 'error' });
const override = overrideDoc.toJS() as Compose;

/** The exporter replicas: services built from the Dockerfile's exporter target, in the base file or the override. */
function replicas(): Map<string, Service> {
  const out = new Map<string, Service>();
  for (const c of [base, override])
    for (const [name, s] of Object.entries(c.services)) if (s.build?.target === 'exporter') out.set(name, s);
  return out;
}

test('replicas override: it parses, is valid compose, and adds a second exporter, a load balancer and Prometheus on both', () => {
  assert.deepEqual(overrideDoc.errors, []);
  // grafana: only its datasource's address, the load balancer (dashboards/test/provisioning.test.ts).
  assert.deepEqual(Object.keys(override.services).sort(), ['exporter', 'exporter-2', 'grafana', 'lb', 'prometheus']);
  assert.deepEqual(override.services.grafana.environment, { CS_EXPORTER_URL: 'http://lb:9470' });
  const spec = composeValidator();
  assert.ok(spec.validate(override), JSON.stringify(spec.errors(), null, 1));
  assert.deepEqual([...replicas().keys()].sort(), ['exporter', 'exporter-2']);
});

test('replicas override: the second replica is the first one twin (image, settings, database, health check)', () => {
  const one = base.services.exporter;
  const two = override.services['exporter-2'];
  assert.deepEqual(two.build, one.build);
  assert.deepEqual(two.environment, one.environment, 'the same settings, so the same Postgres and the same tokens');
  assert.deepEqual(two.healthcheck, one.healthcheck);
  assert.deepEqual(two.depends_on, one.depends_on);
  assert.equal(two.restart, one.restart);
  assert.equal(two.ports, undefined, 'a replica is reached through the load balancer');
});

test('replicas override: only the load balancer publishes the exporter port, and its config sends every request to both replicas', () => {
  // compose appends port lists of an override (docs.docker.com/reference/compose-file/merge/): without
  // `!reset` the first replica would still publish :9470, and clash with the load balancer.
  const ports = overrideDoc.getIn(['services', 'exporter', 'ports'], true);
  assert.ok(isNode(ports) && ports.tag === '!reset', 'exporter ports are reset');
  assert.deepEqual(override.services.exporter.ports, []);
  const lb = override.services.lb;
  assert.match(lb.image!, /^haproxy:\d+\.\d+$/, 'a pinned HAProxy');
  assert.deepEqual(lb.ports, ['9470:9470']);
  assert.deepEqual(Object.keys(lb.depends_on as object).sort(), ['exporter', 'exporter-2']);
  const mount = lb.volumes!.map((v) => v.split(':')).find(([, target]) => target === '/usr/local/etc/haproxy/haproxy.cfg');
  assert.ok(mount, 'the config is mounted where the haproxy image reads it');
  const cfg = text(mount[0]);

  // The frontend listens where the port is published; its default backend lists one server per replica.
  const lines = cfg.split('\n').map((l) => l.replace(/#.*/, '').trim());
  const section = (kind: string, name: string) => {
    const start = lines.findIndex((l) => l === `${kind} ${name}`);
    assert.ok(start >= 0, `${kind} ${name} in haproxy.cfg`);
    const end = lines.findIndex((l, i) => i > start && /^(frontend|backend|defaults|global|resolvers|listen) /.test(l));
    return lines.slice(start + 1, end < 0 ? undefined : end);
  };
  const fe = section('frontend', 'cs');
  assert.ok(fe.includes('bind :9470'));
  const backend = fe.find((l) => l.startsWith('default_backend '))!.split(' ')[1];
  const be = section('backend', backend);
  const servers = be.filter((l) => l.startsWith('server ')).map((l) => l.split(/\s+/)[2]);
  const want = [...replicas()].map(([name, s]) => `${name}:${s.environment!.PORT}`);
  assert.deepEqual(servers.sort(), want.sort());
  // Health-checked, so a dead replica leaves the rotation.
  assert.ok(be.includes('option httpchk GET /api/v1/health'));
  assert.ok(be.some((l) => l.startsWith('default-server ') && /\bcheck\b/.test(l)));
});

test('replicas override: Prometheus scrapes every replica, each as its own target, with the rules of the single-exporter config', () => {
  const p = override.services.prometheus;
  const file = p.command!.find((a) => a.startsWith('--config.file='))!.split('=')[1];
  // Mounted by docker-compose.yml: ./provisioning/prometheus at /etc/prometheus.
  assert.ok(base.services.prometheus.volumes!.includes('./provisioning/prometheus:/etc/prometheus:ro'));
  const path = join('provisioning/prometheus', file.replace('/etc/prometheus/', ''));
  assert.ok(existsSync(join(repo, path)), `${path} exists`);
  execFileSync('promtool', ['check', 'config', join(repo, path)], { stdio: 'pipe' });
  const cfg = parse(text(path)) as {
    rule_files: string[];
    scrape_configs: { job_name: string; static_configs: { targets: string[]; labels?: Record<string, string> }[] }[];
  };
  const single = parse(text('provisioning/prometheus/prometheus.compose.yml')) as typeof cfg;
  assert.deepEqual(cfg.rule_files, single.rule_files);
  // The job name the rules and dashboards know.
  assert.deepEqual(
    cfg.scrape_configs.map((s) => s.job_name),
    single.scrape_configs.map((s) => s.job_name),
  );
  const statics = cfg.scrape_configs[0].static_configs;
  const targets = statics.flatMap((s) => s.targets);
  const want = [...replicas()].map(([name, s]) => `${name}:${s.environment!.PORT}`);
  assert.deepEqual(targets.sort(), want.sort(), 'every replica, directly (not the load balancer)');
  const labels = statics.map((s) => s.labels?.replica);
  assert.equal(new Set(labels).size, want.length, 'a replica label per target');
  assert.ok(!targets.some((t) => t.startsWith('lb:')));
  assert.ok((p.depends_on as string[]).includes('exporter-2'));
});
