/** Shared pieces of the fault tests: raw downloads, backend termination, bounded waits. */
import http from 'node:http';
import pg from 'pg';
import { postEvents } from './events.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value (not undefined) or `ms` pass. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Rejects after `ms`: a fault test never waits without bound, whatever the code under test does. */
export function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

/**
 * Terminates the exporter's backends (application_name cs-exporter) in `database`
 * that wait for a lock (the test holds it): the connection error then reaches a
 * client the exporter has checked out. Returns how many were terminated.
 */
export async function terminateWaiting(admin: pg.Client, database: string, ms = 15_000): Promise<number> {
  return waitFor(
    'an exporter backend waiting on the test lock',
    async () => {
      const { rows } = await admin.query(
        `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
          WHERE datname = $1 AND application_name = 'cs-exporter' AND wait_event_type = 'Lock'`,
        [database],
      );
      return rows.length > 0 ? rows.length : undefined;
    },
    ms,
  );
}

/** The agent.log events of one day: `n` rows of an agent_log export, `pad` characters each (a large file). */
export async function postAgentLogs(url: string, day: string, n: number, pad = 300, tenant?: string): Promise<void> {
  const base = Date.parse(`${day}T09:00:00+08:00`);
  const text = '操'.repeat(pad);
  for (let i = 0; i < n; i += 5000) {
    const batch = Array.from({ length: Math.min(5000, n - i) }, (_, j) => ({
      id: `log-${day}-${i + j}`,
      type: 'agent.log',
      time: base + (i + j) * 100,
      agentId: `a${(i + j) % 7}`,
      platform: '在线客服',
      operation: `${i + j} ${text}`,
      ...(tenant ? { tenant } : {}),
    }));
    const r = await postEvents(url, batch);
    if (r.status !== 200 || r.body.accepted + r.body.duplicates !== batch.length)
      throw new Error(`agent logs not stored: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

export interface RawDownload {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Bytes received so far. */
  received(): number;
  /** Stops reading: the server's writes back up until it waits for drain. */
  pause(): void;
  /** Reads on; resolves how the transfer ended: `complete` (the whole body), or `broken`. */
  finish(ms: number): Promise<'complete' | 'broken'>;
  /** Closes the connection mid-stream, as a user cancelling the download. */
  abort(): void;
}

/** Starts a GET and resolves once the status and the first bytes arrived. */
export function rawDownload(url: string): Promise<RawDownload> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let bytes = 0;
      let ended: Promise<'complete' | 'broken'>;
      ended = new Promise((done) => {
        res.on('end', () => done(res.complete ? 'complete' : 'broken'));
        res.on('aborted', () => done('broken'));
        res.on('error', () => done('broken'));
        res.on('close', () => done(res.complete ? 'complete' : 'broken'));
      });
      res.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      res.once('data', () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          received: () => bytes,
          pause: () => res.pause(),
          finish: (ms) => within(ms, 'the download to end', (res.resume(), ended)),
          abort: () => req.destroy(),
        }),
      );
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, received: () => bytes, pause() {}, finish: () => ended, abort() {} }),
      );
    });
    req.on('error', reject);
  });
}

/**
 * The live figures of /metrics that follow from the stored events alone: every
 * series but the exporter's own (cs_exporter_*, and prom-client's process_* / nodejs_*)
 * and the longest wait (it grows with the clock). Two exporters on the same database must
 * show the same.
 */
export async function liveFigures(url: string): Promise<Map<string, number>> {
  const r = await within(5_000, '/metrics', fetch(`${url}/metrics`));
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  const out = new Map<string, number>();
  for (const line of (await r.text()).split('\n')) {
    if (!line.startsWith('cs_') || line.startsWith('cs_exporter_') || line.startsWith('cs_queue_longest_wait_seconds'))
      continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Where two sets of live figures differ ('' when they agree; sums may differ by float dust). */
export function figureDiff(a: Map<string, number>, b: Map<string, number>): string {
  const diffs: string[] = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(k) ?? 0;
    const y = b.get(k) ?? 0;
    if (Math.abs(x - y) > 1e-6 * Math.max(1, Math.abs(x), Math.abs(y))) diffs.push(`${k}: ${x} vs ${y}`);
  }
  return diffs.slice(0, 20).join('\n');
}

let sessionNo = 0;

/** Whole conversations of today (queued, answered, ended a few seconds ago) and a queued one: live figures move with each. */
export function conversations(n: number, tenant?: string): Record<string, unknown>[] {
  const now = Date.now() - 60_000;
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const sid = `s-${process.pid}-${Date.now().toString(36)}-${++sessionNo}`;
    const g = `g${sessionNo % 3}`;
    const a = `a${sessionNo % 5}`;
    const t = tenant ? { tenant } : {};
    out.push({ id: `${sid}-q`, type: 'session.queue', time: now, sessionId: sid, groupId: g, via: 'direct', ...t });
    if (sessionNo % 4 === 0) continue;
    out.push({ id: `${sid}-a`, type: 'session.answer', time: now + 5_000, sessionId: sid, groupId: g, agentId: a, ...t });
    out.push({ id: `${sid}-e`, type: 'session.end', time: now + 20_000, sessionId: sid, by: 'user', ...t });
  }
  return out;
}
