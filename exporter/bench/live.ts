/**
 * Scrape and memory: a large live center fed through the ingest API of a
 * running exporter, then `/metrics` timed against the same series in a plain
 * prom-client registry, and the exporter's RSS measured as the center grows.
 */
import { readFileSync } from 'node:fs';
import { Gauge, Registry } from 'prom-client';
import { validateEvent } from '../src/ingest/validate.js';
import { LiveState } from '../src/live/state.js';
import { figure, percentile, postEvents, round, spawnExporter, type BenchServer, type Figure } from './lib.js';

const STATUSES = ['online', 'online', 'online', 'break', 'busy', 'meal', 'meeting', 'hosted', 'offline'];

let seq = 0;
const id = () => `b${Date.now().toString(36)}-${seq++}`;

/** Agents a0..a(n-1) over `groups` groups, each in one status since a few minutes ago. */
function agentEvents(from: number, to: number, groups: number, now: number): object[] {
  const out: object[] = [];
  for (let a = from; a < to; a++) {
    const g = a % groups;
    out.push({ id: id(), type: 'agent.upsert', time: now - 3600_000, agentId: `a${a}`, name: `客服${a}`, workNo: `${10000 + a}`, groups: [`g${g}`], maxSessions: 5 });
    const status = STATUSES[a % STATUSES.length];
    out.push({ id: id(), type: 'agent.status', time: now - 60_000 * (1 + (a % 50)), agentId: `a${a}`, status, seat: `S${a}` });
  }
  return out;
}

/** Sessions left open: queued ones, and ones in conversation with online agents (a ≡ 0..2 mod 9 are online). */
function openSessions(from: number, to: number, agents: number, groups: number, now: number): object[] {
  const out: object[] = [];
  for (let i = from; i < to; i++) {
    const sid = `open-${i}`;
    const g = i % groups;
    const t = now - 30_000 - (i % 600) * 100;
    out.push({ id: id(), type: 'session.start', time: t, sessionId: sid, userId: `u${i}` });
    out.push({ id: id(), type: 'session.queue', time: t + 100, sessionId: sid, groupId: `g${g}`, via: 'direct' });
    if (i % 4 === 0) continue;
    // An online agent of the group, at most 5 sessions each.
    const slot = Math.floor(i / 4);
    const agent = ((slot % Math.floor(agents / 9)) * 9) % agents;
    out.push({ id: id(), type: 'session.answer', time: t + 5_000, sessionId: sid, groupId: `g${agent % groups}`, agentId: `a${agent}` });
  }
  return out;
}

/** Sessions already over (answered, two messages, ended): what the live state keeps for today's figures. */
function closedSessions(from: number, to: number, agents: number, groups: number, now: number): object[] {
  const out: object[] = [];
  for (let i = from; i < to; i++) {
    const sid = `closed-${i}`;
    const g = i % groups;
    const agent = `a${((i % Math.floor(agents / 9)) * 9) % agents}`;
    const t = now - 3600_000 + (i % 3000) * 1000;
    out.push({ id: id(), type: 'session.start', time: t, sessionId: sid, userId: `u${i}` });
    out.push({ id: id(), type: 'session.queue', time: t + 100, sessionId: sid, groupId: `g${g}`, via: 'direct' });
    out.push({ id: id(), type: 'session.answer', time: t + 5_000, sessionId: sid, groupId: `g${g}`, agentId: agent });
    out.push({ id: id(), type: 'session.message', time: t + 9_000, sessionId: sid, from: 'user', text: '你好' });
    out.push({ id: id(), type: 'session.message', time: t + 20_000, sessionId: sid, from: 'agent', agentId: agent, text: '您好' });
    out.push({ id: id(), type: 'session.end', time: t + 60_000, sessionId: sid, by: 'user' });
  }
  return out;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS once the exporter has settled: a scrape, then a pause for the collector. */
async function settledRss(url: string, pid: number): Promise<number> {
  await (await fetch(`${url}/metrics`)).text();
  await sleep(1500);
  return rssBytes(pid);
}

async function timeScrapes(url: string, n: number): Promise<{ times: number[]; bytes: number; text: string }> {
  const times: number[] = [];
  let text = '';
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    text = await (await fetch(`${url}/metrics`)).text();
    times.push(performance.now() - t0);
  }
  return { times: times.sort((a, b) => a - b), bytes: Buffer.byteLength(text), text };
}

/** The same samples as `text`, as plain gauges in a fresh registry (one gauge per sample name). */
export function plainRegistry(text: string): Registry {
  const registry = new Registry();
  const families = new Map<string, { labels: Set<string>; samples: [Record<string, string>, number][] }>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const fam = families.get(m[1]) ?? { labels: new Set(), samples: [] };
    Object.keys(labels).forEach((k) => fam.labels.add(k));
    fam.samples.push([labels, Number(m[3])]);
    families.set(m[1], fam);
  }
  for (const [name, fam] of families) {
    const g = new Gauge({ name, help: name, labelNames: [...fam.labels], registers: [registry] });
    for (const [labels, value] of fam.samples) g.set(labels, value);
  }
  return registry;
}

export async function benchScrape(server: BenchServer, scale: number): Promise<Figure[]> {
  const agents = Math.round(5000 * scale);
  const groups = Math.max(2, Math.round(200 * scale));
  const { url: databaseUrl } = await server.database('bench_scrape');
  const exporter = await spawnExporter({ DATABASE_URL: databaseUrl });
  try {
    const now = Date.now();
    await postEvents(exporter.url, agentEvents(0, agents, groups, now));
    await postEvents(exporter.url, openSessions(0, agents, agents, groups, now));
    await timeScrapes(exporter.url, 3); // warm-up
    const { times, bytes, text } = await timeScrapes(exporter.url, 30);
    const registry = plainRegistry(text);
    const base: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      await registry.metrics();
      base.push(performance.now() - t0);
    }
    base.sort((a, b) => a - b);
    const series = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
    const p50 = percentile(times, 50);
    const b50 = percentile(base, 50);
    const what = `${agents} agents, ${groups} groups, ${series} series`;
    return [
      figure('scrape', '/metrics p50', round(p50, 1), 'ms', ['<=', 100], what),
      figure('scrape', '/metrics p95', round(percentile(times, 95), 1), 'ms'),
      figure('scrape', '/metrics size', Math.round(bytes / 1024), 'KiB'),
      figure('scrape', 'plain prom-client metrics() p50', round(b50, 1), 'ms', undefined, 'same series as plain gauges'),
      figure('scrape', 'scrape / plain', round(p50 / b50, 2), 'ratio', ['<=', 0.5], 'HTTP included on our side'),
    ];
  } finally {
    await exporter.stop();
  }
}

const gc = (globalThis as { gc?: () => void }).gc;

function heapAfterGc(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

/**
 * Memory: the live state's own heap per agent and per open session, measured
 * in this process with forced collections (RSS of a child is too coarse for
 * bytes per agent), and the RSS of an exporter holding the same center.
 */
export async function benchMemory(server: BenchServer, scale: number): Promise<Figure[]> {
  if (!gc) throw new Error('run the bench with node --expose-gc (npm run bench does)');
  const n = Math.round(20_000 * scale);
  const groups = 50;
  const now = Date.now();
  const stored = (raw: object[]) =>
    raw.map((r) => {
      const v = validateEvent(r, 'Asia/Shanghai', now);
      if (!v.ok) throw new Error(v.error);
      return v.event;
    });
  const agents = stored(agentEvents(0, n, groups, now));
  const sessions = stored(openSessions(0, n, n, groups, now));
  // Built before the first measurement like the others: a temporary passed straight to apply()
  // stays reachable from this frame and was counted as live state (~1.7 KB per session).
  const closed = stored(closedSessions(0, n, n, groups, now));
  const live = new LiveState('Asia/Shanghai', () => now);
  const h0 = heapAfterGc();
  live.apply(agents);
  const h1 = heapAfterGc();
  live.apply(sessions);
  const h2 = heapAfterGc();
  const perAgent = (h1 - h0) / n;
  const perSession = (h2 - h1) / n;
  live.apply(closed);
  const perClosed = (heapAfterGc() - h2) / n;

  const { url: databaseUrl } = await server.database('bench_memory');
  const exporter = await spawnExporter({ DATABASE_URL: databaseUrl });
  try {
    const r0 = await settledRss(exporter.url, exporter.child.pid!);
    await postEvents(exporter.url, agentEvents(0, n, groups, now));
    await postEvents(exporter.url, openSessions(0, n, n, groups, now));
    const r1 = await settledRss(exporter.url, exporter.child.pid!);
    return [
      figure('memory', 'live state per agent', Math.round(perAgent), 'bytes', ['<=', 2048], `heap after GC, ${n} agents (upsert + status)`),
      figure('memory', 'live state per open session', Math.round(perSession), 'bytes', undefined, `heap after GC, ${n} sessions (queued or answered)`),
      figure('memory', 'live state per ended session', Math.round(perClosed), 'bytes', undefined, 'kept 24 h for today\'s figures and late events'),
      figure('memory', 'exporter RSS idle', Math.round(r0 / 2 ** 20), 'MiB'),
      figure('memory', 'exporter RSS with the center', Math.round(r1 / 2 ** 20), 'MiB', undefined, `${n} agents, ${n} open sessions`),
    ];
  } finally {
    await exporter.stop();
  }
}
