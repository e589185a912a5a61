/**
 * Replicas (issue 16): how long after an acknowledgment on one replica the other one's /metrics
 * shows the event. The design figure is a second (docs/scale-out-replicas.md); the replicas test
 * only asserts agreement within 5 s, because CI machines are loaded, so the figure lives here.
 *
 * Two exporters (the built dist) on one database. A probe is one `session.queue` of a new session in
 * a group of its own, posted to one replica; the other replica's /metrics is polled until its
 * `cs_sessions_inflow_total` for that group counts it. Probes alternate between the replicas, once
 * with nothing else going on and once while producers keep both replicas' ingest busy.
 */
import { figure, percentile, postEvents, round, spawnExporter, type BenchServer, type Figure } from './lib.js';

const PROBE_GROUP = 'bench-probe';

/** The probe group's inflow on one replica, read from its exposition. */
async function probeInflow(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cs_sessions_inflow_total{') && line.includes(`group="${PROBE_GROUP}"`)) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

let seq = 0;
function conversation(group: string): Record<string, unknown>[] {
  const sid = `bench-r-${process.pid}-${++seq}`;
  const t = Date.now() - 60_000;
  return [
    { id: `${sid}-q`, type: 'session.queue', time: t, sessionId: sid, groupId: group, via: 'direct' },
    { id: `${sid}-a`, type: 'session.answer', time: t + 5_000, sessionId: sid, groupId: group, agentId: `a${seq % 50}` },
    { id: `${sid}-e`, type: 'session.end', time: t + 20_000, sessionId: sid, by: 'user' },
  ];
}

/** Milliseconds from each probe's acknowledgment to the other replica showing it. */
async function probe(urls: [string, string], count: number, expectedBefore: { n: number }): Promise<number[]> {
  const delays: number[] = [];
  for (let i = 0; i < count; i++) {
    const [to, other] = i % 2 === 0 ? urls : [urls[1], urls[0]];
    const sid = `bench-probe-${process.pid}-${++seq}`;
    await postEvents(to, [{ id: sid, type: 'session.queue', time: Date.now(), sessionId: sid, groupId: PROBE_GROUP, via: 'direct' }]);
    const acked = performance.now();
    expectedBefore.n++;
    for (;;) {
      if ((await probeInflow(other)) >= expectedBefore.n) break;
      if (performance.now() - acked > 30_000) throw new Error(`the other replica did not show probe ${i} within 30 s`);
      await new Promise((r) => setTimeout(r, 2));
    }
    delays.push(performance.now() - acked);
    await new Promise((r) => setTimeout(r, 20));
  }
  return delays.sort((a, b) => a - b);
}

export async function benchReplicas(server: BenchServer, scale: number): Promise<Figure[]> {
  const { url: databaseUrl } = await server.database('bench_replicas');
  // The simulator off and the scheduler idle: only the probes and the producers write.
  const env = { DATABASE_URL: databaseUrl, CS_ROLLUP_INTERVAL_SECONDS: '86400' };
  const a = await spawnExporter(env);
  const b = await spawnExporter(env);
  const figures: Figure[] = [];
  try {
    const count = Math.max(10, Math.round(200 * scale));
    const seen = { n: 0 };
    const quiet = await probe([a.url, b.url], count, seen);

    // Producers: batches of 100 conversations (300 events), alternating replicas, as fast as acknowledged.
    let running = true;
    let batches = 0;
    const producers = Array.from({ length: 4 }, async (_, p) => {
      for (let i = p; running; i++) {
        const batch = Array.from({ length: 100 }, () => conversation(`g${i % 20}`)).flat();
        await postEvents(i % 2 === 0 ? a.url : b.url, batch);
        batches++;
      }
    });
    const t0 = performance.now();
    const busy = await probe([a.url, b.url], count, seen);
    running = false;
    await Promise.all(producers);
    const eventsPerSecond = (batches * 300) / ((performance.now() - t0) / 1000);

    const add = (label: string, d: number[], note: string) => {
      figures.push(figure('replicas', `${label}: follow delay p50`, round(percentile(d, 50), 1), 'ms', undefined, note));
      figures.push(figure('replicas', `${label}: follow delay p99`, round(percentile(d, 99), 1), 'ms', ['<=', 1000], note));
    };
    add('idle', quiet, `${count} probes: acknowledged on one replica until the other's /metrics counts it`);
    add('under ingest', busy, `${count} probes while 4 producers post 300-event batches to both (${Math.round(eventsPerSecond).toLocaleString('en-US')} events/s)`);
  } finally {
    await a.stop();
    await b.stop();
  }
  return figures;
}
