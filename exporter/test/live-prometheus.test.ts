import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { freePort } from './helpers/exporter.js';
import { post, startLiveExporter, type Clock } from './helpers/live.js';
import { missing, promDir } from './helpers/prometheus.js';
import type { Exporter } from '../src/exporter.js';

const skip = missing('prometheus');
if (skip) console.log(`# skipping the Prometheus end-to-end test: ${skip}`);

const S = 1000;

describe('A real Prometheus scraping the exporter', { skip }, () => {
  let db: TestDatabase;
  let exporter: Exporter;
  let prom: ChildProcess | undefined;
  let promUrl = '';
  let dir = '';
  let log = '';
  // The exporter's clock stands still, so the longest wait it reports is exact.
  const NOW = Date.now();
  const clock: Clock = { ms: NOW };

  before(async () => {
    db = await freshDatabase();
    exporter = await startLiveExporter(db.url, clock);
    await post(exporter.url, [
      [NOW - 600 * S, { type: 'agent.upsert', agentId: 'a1', name: '张三', groups: ['g1'] }],
      [NOW - 600 * S, { type: 'agent.status', agentId: 'a1', status: 'online' }],
      // s1 answered after 20 s; s2 and s3 still wait (90 s and 30 s).
      [NOW - 300 * S, { type: 'session.queue', sessionId: 's1', groupId: 'g1', via: 'direct' }],
      [NOW - 280 * S, { type: 'session.answer', sessionId: 's1', groupId: 'g1', agentId: 'a1' }],
      [NOW - 90 * S, { type: 'session.queue', sessionId: 's2', groupId: 'g1', via: 'direct' }],
      [NOW - 30 * S, { type: 'session.queue', sessionId: 's3', groupId: 'g1', via: 'direct' }],
    ]);
    dir = mkdtempSync(path.join(tmpdir(), 'cs-prom-'));
    const port = await freePort();
    const target = new URL(exporter.url).host;
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${path.join(promDir, 'rules/cs-recording.yml')}`,
        `  - ${path.join(promDir, 'rules/cs-alerts.yml')}`,
        'scrape_configs:',
        '  - job_name: cs-exporter',
        '    static_configs:',
        `      - targets: ['${target}']`,
        '',
      ].join('\n'),
    );
    prom = spawn(
      'prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prom.stdout!.on('data', (c) => (log += c));
    prom.stderr!.on('data', (c) => (log += c));
    promUrl = `http://127.0.0.1:${port}`;
    const until = Date.now() + 60_000;
    for (;;) {
      if (prom.exitCode !== null) throw new Error(`prometheus exited (${prom.exitCode}):\n${log}`);
      try {
        if ((await fetch(`${promUrl}/-/ready`)).status === 200) break;
      } catch {}
      if (Date.now() > until) throw new Error(`prometheus not ready after 60 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  after(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom!.once('exit', r));
      prom.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    await exporter?.close();
    await db?.drop();
  });

  /** The value of a one-series instant query, or undefined while there is none. */
  async function instant(query: string): Promise<number | undefined> {
    const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await r.json()) as { status: string; data: { result: { value: [number, string] }[] }; error?: string };
    if (body.status !== 'success') throw new Error(`${query}: ${body.error}`);
    if (body.data.result.length > 1) throw new Error(`${query}: ${body.data.result.length} series`);
    return body.data.result.length === 0 ? undefined : Number(body.data.result[0].value[1]);
  }

  /** Polls `query` until `ok` holds (scrapes and rule evaluations are 1 s apart). */
  async function until(query: string, ok: (v: number | undefined) => boolean, ms = 30_000): Promise<number | undefined> {
    const end = Date.now() + ms;
    let v: number | undefined;
    while (Date.now() < end) {
      v = await instant(query);
      if (ok(v)) return v;
      await new Promise((r) => setTimeout(r, 250));
    }
    return v;
  }

  it('When Prometheus scrapes the exporter, then queue length and longest wait are the live figures', async () => {
    assert.equal(await until('up{job="cs-exporter"}', (v) => v === 1), 1, log);
    // s2 and s3 wait; the longest since NOW − 90 s.
    assert.equal(await until('cs_queue_length{tenant="default",group="g1"}', (v) => v === 2), 2);
    assert.equal(await until('cs_queue_longest_wait_seconds{tenant="default",group="g1"}', (v) => v === 90), 90);
    assert.equal(await until('cs_agents{tenant="default",group="g1",status="online"}', (v) => v === 1), 1);
  });

  it('When Prometheus 3 scrapes /metrics, then the content type is one it parses without a fallback protocol', async () => {
    // Prometheus 3 fails a scrape whose Content-Type is missing, unparsable or not one of these three
    // unless fallback_scrape_protocol is set (a key Prometheus 2 rejects, so the shipped config cannot
    // carry it): prometheus/prometheus model/textparse/interface.go, New and extractMediaType;
    // docs/migration.md, "Scrape protocols".
    const r = await fetch(`${exporter.url}/metrics`);
    await r.text();
    const type = r.headers.get('content-type') ?? '';
    const media = type.split(';')[0].trim().toLowerCase();
    assert.ok(['application/openmetrics-text', 'application/vnd.google.protobuf', 'text/plain'].includes(media), `Content-Type: ${type}`);
    // mime.ParseMediaType: parameters are key=value pairs.
    for (const p of type.split(';').slice(1)) assert.match(p.trim(), /^[a-z0-9-]+=[^;\s]+$/i, `Content-Type: ${type}`);
  });

  it('When more sessions come in, then the answer-rate recording rule is answered / entered over the window', async () => {
    // Let Prometheus hold a few samples of the counters before they move.
    assert.ok((await until('count_over_time(cs_sessions_answered_total{group="g1"}[1m])', (v) => (v ?? 0) >= 3))! >= 3);
    // 4 more legs enter g1 (s4–s7) and 2 of them are answered: the increase is 2 answered / 4 entered.
    await post(exporter.url, [
      [NOW - 20 * S, { type: 'session.queue', sessionId: 's4', groupId: 'g1', via: 'direct' }],
      [NOW - 19 * S, { type: 'session.queue', sessionId: 's5', groupId: 'g1', via: 'direct' }],
      [NOW - 18 * S, { type: 'session.queue', sessionId: 's6', groupId: 'g1', via: 'direct' }],
      [NOW - 17 * S, { type: 'session.queue', sessionId: 's7', groupId: 'g1', via: 'direct' }],
      [NOW - 10 * S, { type: 'session.answer', sessionId: 's4', groupId: 'g1', agentId: 'a1' }],
      [NOW - 10 * S, { type: 'session.answer', sessionId: 's5', groupId: 'g1', agentId: 'a1' }],
    ]);
    // Queued now: s2, s3, s6, s7; the longest is still s2.
    assert.equal(await until('cs_queue_length{tenant="default",group="g1"}', (v) => v === 4), 4);
    assert.equal(await instant('cs_queue_longest_wait_seconds{tenant="default",group="g1"}'), 90);
    const rate = await until(
      'tenant_group:cs_answer_rate:ratio_rate5m{tenant="default",group="g1"}',
      (v) => v !== undefined && Math.abs(v - 0.5) < 1e-9,
    );
    assert.ok(rate !== undefined && Math.abs(rate - 0.5) < 1e-9, `answer rate ${rate}, expected 0.5`);
    // No agent-less queue: a1 is online, so this alert stays silent.
    assert.equal(await instant('ALERTS{alertname="CsQueuedWithNoAgentOnline"}'), undefined);
  });
});
