/**
 * Overload: 32 and 128 producers saturating ingest with the default in-flight
 * budget (README "Settings"), while /metrics is scraped; then single-event
 * requests as webhooks send them, at the most the exporter takes, then open
 * loop at half that, at half the target rate and at the target, beside two bare handlers in
 * the same run with the same client: node:http (the most this machine's Node
 * HTTP stack allows) and express.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { exporterRoot, figure, freePort, percentile, round, spawnExporter, type BenchServer, type Figure } from './lib.js';

/** Documented in README "Settings" / docs/robustness.md: the exporter's RSS under saturation with the default budget. */
export const RSS_BOUND_MIB = 1024;
const BATCH_SESSIONS = 100;
const WEBHOOK_TARGET = 10_000;
/**
 * Closed loops of single-event requests: each connection sends its next request when the last is
 * answered, so a loop offers at most connections ÷ latency, and a commit's wait (group commit) is
 * part of every latency. The most over two loops is the figure; webhook senders (a platform's
 * workers, many tenants' platforms) hold many connections at once.
 */
const WEBHOOK_CONNECTIONS = [64, 128];

let seq = 0;

/**
 * One producer's batch: 100 sessions of 5 events (queued, answered, a message, ended, rated), as
 * NDJSON. Built once as a template and stamped per request (a native replace), so the producers'
 * own CPU does not weigh on the exporter's figures on this shared machine.
 */
function template(now: number): string {
  const lines: string[] = [];
  for (let i = 0; i < BATCH_SESSIONS; i++) {
    const sid = `@@-${i}`;
    const g = `g${i % 8}`;
    const t = now - 60_000;
    const ev = (k: number, o: Record<string, unknown>) => lines.push(JSON.stringify({ id: `${sid}-${k}`, sessionId: sid, ...o }));
    ev(0, { type: 'session.queue', time: t, groupId: g, via: 'direct' });
    ev(1, { type: 'session.answer', time: t + 5000, groupId: g, agentId: `a${i % 200}` });
    ev(2, { type: 'session.message', time: t + 6000, from: 'user', text: '您好，我想问一下订单的发货时间。' });
    ev(3, { type: 'session.end', time: t + 30_000, by: 'user' });
    ev(4, { type: 'session.rate', time: t + 31_000, score: 1 + (i % 5) });
  }
  return lines.join('\n');
}
let TEMPLATE = '';
function batch(producer: number): { body: string; events: number } {
  return { body: TEMPLATE.replaceAll('@@', `p${producer}-${seq++}`), events: BATCH_SESSIONS * 5 };
}

/**
 * /metrics timed from a worker thread: its own event loop, so the producers' answers arriving in
 * this process do not delay the clock of the scrape.
 */
function scrapeInWorker(url: string, seconds: number): Promise<number[]> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const lat = [];
      const until = performance.now() + workerData.seconds * 1000;
      while (performance.now() < until) {
        const t0 = performance.now();
        try {
          const r = await fetch(workerData.url + '/metrics');
          await r.text();
          if (r.status !== 200) throw new Error('/metrics answered ' + r.status);
          lat.push(performance.now() - t0);
        } catch (err) {
          // A failed scrape counts as one that never answered (and says why on stderr).
          console.error('bench: /metrics failed:', err.cause?.code ?? err.message);
          lat.push(Infinity);
        }
        await new Promise((res) => setTimeout(res, 250));
      }
      parentPort.postMessage(lat);
    })();`;
  const w = new Worker(code, { eval: true, workerData: { url, seconds } });
  return new Promise((resolve, reject) => {
    w.once('message', (lat: number[]) => {
      resolve(lat);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(agent: Agent, url: URL, method: string, body?: string, contentType = 'application/x-ndjson'): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method,
        headers: body === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `producers` post batches for `seconds`, honouring 429's Retry-After, while /metrics is scraped every 250 ms. */
export async function saturate(url: string, pid: number, producers: number, seconds: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: producers + 4 });
  const events = new URL('/api/v1/events', url);
  const ack: number[] = [];
  TEMPLATE = template(Date.now());
  let acked = 0;
  let refused = 0;
  let maxRss = rssMiB(pid);
  const until = performance.now() + seconds * 1000;
  const rssTimer = setInterval(() => (maxRss = Math.max(maxRss, rssMiB(pid))), 100);
  let unavailable = 0;
  const producer = async (p: number) => {
    while (performance.now() < until) {
      const { body, events: n } = batch(p);
      for (;;) {
        const t0 = performance.now();
        const r = await send(agent, events, 'POST', body);
        if (r.status === 429) {
          // Nothing of it was stored: giving up on it at the end of the run is safe.
          refused++;
          await new Promise((res) => setTimeout(res, Number(r.headers['retry-after'] ?? 1) * 1000));
          if (performance.now() >= until) return;
          continue;
        }
        if (r.status === 503) {
          // The database did not confirm it in time (a loaded machine): it may be stored, so it is
          // sent again until answered, past the end of the run if need be, as a producer must.
          if (++unavailable > 1000) throw new Error(`ingest kept answering 503: ${r.body.slice(0, 300)}`);
          await new Promise((res) => setTimeout(res, Number(r.headers['retry-after'] ?? 1) * 1000));
          continue;
        }
        if (r.status !== 200) throw new Error(`ingest answered ${r.status}: ${r.body.slice(0, 300)}`);
        ack.push(performance.now() - t0);
        acked += n;
        break;
      }
    }
  };
  const t0 = performance.now();
  const scraping = scrapeInWorker(url, seconds);
  await Promise.all(Array.from({ length: producers }, (_, p) => producer(p)));
  const scrape = await scraping;
  const elapsed = (performance.now() - t0) / 1000;
  clearInterval(rssTimer);
  agent.destroy();
  ack.sort((a, b) => a - b);
  scrape.sort((a, b) => a - b);
  return {
    perSecond: acked / elapsed,
    acked,
    refused,
    unavailable,
    ackP99: percentile(ack, 99),
    scrapeP99: percentile(scrape, 99),
    maxRss,
  };
}

const ONE_EVENT = (i: number) =>
  JSON.stringify({
    id: `w-${seq}-${i}`,
    type: 'session.message',
    time: new Date().toISOString(),
    sessionId: `w${i % 1000}`,
    from: 'user',
    text: '你好',
  });

/**
 * Closed loop: `connections` keep-alive connections each sending one event per request, for
 * `seconds`. A 429 (or 503) is honoured as a webhook sender would (wait Retry-After, send again) and counted.
 */
export async function webhookMax(
  url: string,
  connections: number,
  seconds: number,
): Promise<{ perSecond: number; p99: number; refused: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const target = new URL('/api/v1/events', url);
  const lat: number[] = [];
  let n = 0;
  let refused = 0;
  seq++;
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) {
        const s = performance.now();
        const r = await send(agent, target, 'POST', ONE_EVENT(n++), 'application/json');
        if (r.status === 429 || r.status === 503) {
          refused++;
          await new Promise((res) => setTimeout(res, Number(r.headers['retry-after'] ?? 1) * 1000));
          continue;
        }
        if (r.status !== 200) throw new Error(`single event answered ${r.status}: ${r.body.slice(0, 200)}`);
        lat.push(performance.now() - s);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { perSecond: lat.length / elapsed, p99: percentile(lat, 99), refused };
}

/**
 * Open loop: requests started at `rate` per second whatever the answers do, for `seconds`. The p99
 * is of the accepted (200) requests, from the moment each was due; 429s (refused at once, nothing
 * stored) are counted apart with their own p99: how fast a producer learns to back off.
 */
export async function webhookAtRate(
  url: string,
  rate: number,
  seconds: number,
): Promise<{
  p50: number;
  p99: number;
  sent: number;
  accepted: number;
  refused: number;
  refusedP99: number;
  failed: number;
  reasons: string;
}> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const target = new URL('/api/v1/events', url);
  const lat: number[] = [];
  const refusedLat: number[] = [];
  const pending: Promise<void>[] = [];
  let failed = 0;
  // What the failures were (a status, or the socket error's code): a figure without its reason says nothing.
  const reasons = new Map<string, number>();
  const fail = (reason: string) => {
    failed++;
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  };
  let n = 0;
  seq++;
  const t0 = performance.now();
  const total = Math.round(rate * seconds);
  // Started in ticks of 10 ms: as many as the schedule says are due by now.
  while (n < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    for (; n < due; n++) {
      // Timed from when it was due, not from when this loop got to it: a late client is latency too.
      const s = t0 + (n / rate) * 1000;
      pending.push(
        send(agent, target, 'POST', ONE_EVENT(n), 'application/json').then(
          (r) => {
            if (r.status === 200) lat.push(performance.now() - s);
            else if (r.status === 429) refusedLat.push(performance.now() - s);
            else fail(`status ${r.status}`);
          },
          (err: NodeJS.ErrnoException) => fail(err.code ?? err.message),
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(pending);
  agent.destroy();
  lat.sort((a, b) => a - b);
  refusedLat.sort((a, b) => a - b);
  return {
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    sent: total,
    accepted: lat.length,
    refused: refusedLat.length,
    refusedP99: percentile(refusedLat, 99),
    failed,
    reasons: [...reasons].map(([r, k]) => `${k} × ${r}`).join(', '),
  };
}

async function spawnBare(kind: 'express' | 'node'): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(exporterRoot, 'bench', 'bare-server.mjs')], {
    cwd: exporterRoot,
    env: { ...process.env, PORT: String(port), BARE: kind },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/api/v1/health`)).ok) break;
    } catch {
      if (i > 200) throw new Error('the bare baseline server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * BENCH_OVERLOAD_PARTS (comma-separated, default both): `producers` (32 and 128 producers) and/or
 * `webhooks` (single-event requests), e.g. to compare two builds on the webhook figure alone.
 */
function overloadParts(): Set<string> {
  const parts = new Set((process.env.BENCH_OVERLOAD_PARTS ?? 'producers,webhooks').split(',').map((s) => s.trim()));
  for (const p of parts)
    if (p !== 'producers' && p !== 'webhooks') throw new Error(`BENCH_OVERLOAD_PARTS: unknown part "${p}" (producers, webhooks)`);
  return parts;
}

export async function benchOverload(server: BenchServer, scale: number): Promise<Figure[]> {
  const out: Figure[] = [];
  const seconds = Math.max(1, Math.round(20 * scale));
  const parts = overloadParts();
  if (parts.has('producers')) {
    const { url: databaseUrl, pool } = await server.database('bench_overload');
    const exporter = await spawnExporter({ DATABASE_URL: databaseUrl, CS_TIMEZONE: 'Asia/Shanghai' });
    try {
      let total = 0;
      for (const producers of [32, 128]) {
        const r = await saturate(exporter.url, exporter.child.pid!, producers, seconds);
        total += r.acked;
        const note = `${producers} producers, batches of ${BATCH_SESSIONS * 5} events, ${seconds} s, Retry-After honoured`;
        out.push(
          figure('overload', `${producers} producers: acknowledged events/s`, Math.round(r.perSecond), 'ev/s', undefined, note),
          figure('overload', `${producers} producers: ack p99`, round(r.ackP99, 1), 'ms', undefined, 'per acknowledged batch'),
          figure(
            'overload',
            `${producers} producers: 429 answers`,
            r.refused,
            'requests',
            undefined,
            'past the in-flight budget or the queue-age bound',
          ),
          figure(
            'overload',
            `${producers} producers: 503 answers`,
            r.unavailable,
            'requests',
            undefined,
            'the database did not confirm in time; sent again',
          ),
          figure(
            'overload',
            `${producers} producers: /metrics p99`,
            round(r.scrapeP99, 1),
            'ms',
            ['<=', 1000],
            'scraped every 250 ms meanwhile',
          ),
          figure(
            'overload',
            `${producers} producers: peak RSS`,
            Math.round(r.maxRss),
            'MiB',
            ['<=', RSS_BOUND_MIB],
            'the exporter process, sampled every 100 ms',
          ),
        );
      }
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
      out.push(figure('overload', 'stored − acknowledged', rows[0].n - total, 'events', ['<=', 0], 'refused requests stored nothing'));
    } finally {
      await exporter.stop();
    }
  }
  if (parts.has('webhooks')) {
    const webhookSeconds = Math.max(1, Math.round(10 * scale));
    // Discarded first: the first seconds of a fresh process run unoptimised code (and the exporter's
    // first requests create the day's partition), which is not what a server under load does.
    const warmSeconds = Math.max(1, Math.round(3 * scale));
    const baseline: Record<'express' | 'node', Map<number, number>> = { express: new Map(), node: new Map() };
    for (const kind of ['node', 'express'] as const) {
      const bare = await spawnBare(kind);
      try {
        await webhookMax(bare.url, WEBHOOK_CONNECTIONS[0], warmSeconds);
        for (const c of WEBHOOK_CONNECTIONS) baseline[kind].set(c, (await webhookMax(bare.url, c, webhookSeconds)).perSecond);
      } finally {
        await bare.stop();
      }
    }
    const { url: databaseUrl } = await server.database('bench_webhooks');
    const exporter = await spawnExporter({ DATABASE_URL: databaseUrl, CS_TIMEZONE: 'Asia/Shanghai' });
    try {
      await webhookMax(exporter.url, WEBHOOK_CONNECTIONS[0], warmSeconds);
      const runs = new Map<number, Awaited<ReturnType<typeof webhookMax>>>();
      for (const c of WEBHOOK_CONNECTIONS) runs.set(c, await webhookMax(exporter.url, c, webhookSeconds));
      const [connections, max] = [...runs].reduce((a, b) => (b[1].perSecond > a[1].perSecond ? b : a));
      const each = [...runs].map(([c, r]) => `${c}: ${Math.round(r.perSecond)}`).join(', ');
      const n = `one event per request, closed loop over ${WEBHOOK_CONNECTIONS.join(' and ')} keep-alive connections, ${webhookSeconds} s each (${each}); the most is at ${connections}; ${max.refused} answered 429/503 (Retry-After honoured)`;
      const node = baseline.node.get(connections)!;
      const express = baseline.express.get(connections)!;
      out.push(
        figure('overload', 'webhooks: requests/s', Math.round(max.perSecond), 'req/s', ['>=', WEBHOOK_TARGET], n),
        figure('overload', 'webhooks: p99 at the most', round(max.p99, 1), 'ms'),
        figure(
          'overload',
          'bare node:http baseline',
          Math.round(node),
          'req/s',
          undefined,
          `same client and connections (${connections}), a node:http handler that reads the body and answers 200`,
        ),
        figure(
          'overload',
          'bare express baseline',
          Math.round(express),
          'req/s',
          undefined,
          `same client and connections (${connections}), an express.raw route that only answers`,
        ),
        figure('overload', 'webhooks / node:http baseline', round(max.perSecond / node, 3), 'ratio'),
        figure('overload', 'webhooks / express baseline', round(max.perSecond / express, 3), 'ratio'),
      );
      // Open loop, requests started on a schedule whatever the answers do: at half the target (where
      // the issue sets p99 ≤ 50 ms), at half the measured most, and at the target itself (what becomes
      // of 10,000 requests a second: accepted, refused at once, or failed), scaled by --scale.
      const sc = scale < 1 ? ` × scale ${scale}` : '';
      const rates = [
        { rate: (max.perSecond / 2) * scale, what: 'half the measured most', p99: false },
        { rate: (WEBHOOK_TARGET / 2) * scale, what: `half the target${sc}`, p99: true },
        { rate: WEBHOOK_TARGET * scale, what: `the target${sc}`, p99: false },
      ].map((r) => ({ ...r, rate: Math.max(Math.round(r.rate), 50) }));
      for (const { rate, what, p99 } of rates) {
        const r = await webhookAtRate(exporter.url, rate, webhookSeconds);
        out.push(
          figure(
            'overload',
            `webhooks: accepted p99 at ${rate} req/s`,
            round(r.p99, 1),
            'ms',
            p99 ? ['<=', 50] : undefined,
            `open loop (${what}), ${r.sent} requests: ${r.accepted} accepted, ${r.refused} refused (429, p99 ${round(r.refusedP99, 1)} ms), ${r.failed} failed${r.failed ? ` (${r.reasons})` : ''}`,
          ),
          figure(
            'overload',
            `webhooks: refused at ${rate} req/s`,
            r.refused,
            'requests',
            undefined,
            'answered 429 + Retry-After at once; nothing of them stored',
          ),
        );
      }
    } finally {
      await exporter.stop();
    }
  }
  return out;
}
