/**
 * Ingest: the events posted as NDJSON batches to a running exporter, against
 * a plain COPY of the same rows into the same table on the same server: the
 * most this machine's Postgres can take, without validation, dedupe or HTTP.
 */
import { EventStore } from '../src/ingest/store.js';
import { parseRfc3339 } from '../src/ingest/validate.js';
import { localDay } from '../src/time.js';
import { copyEvents, type GenEvent } from './gen.js';
import { figure, percentile, round, spawnExporter, type BenchServer, type Figure } from './lib.js';

const BATCH = 5000;
const IN_FLIGHT = 4;

function toRow(line: string, tz: string): GenEvent {
  const body = JSON.parse(line) as Record<string, unknown>;
  const timeMs = typeof body.time === 'number' ? body.time : parseRfc3339(String(body.time));
  return {
    tenant: (body.tenant as string | undefined) ?? 'default',
    id: String(body.id),
    type: String(body.type),
    timeMs,
    day: localDay(timeMs, tz),
    sessionId: (body.sessionId as string | undefined) ?? null,
    body,
  };
}

async function copyBaseline(server: BenchServer, lines: string[], tz: string): Promise<number> {
  const { pool } = await server.database('bench_copy');
  const rows = lines.map((l) => toRow(l, tz));
  // Partitions exist before the clock starts: the exporter's are made once per day too.
  await new EventStore(pool).ensurePartitions(rows.map((r) => r.day));
  const t0 = performance.now();
  await copyEvents(pool, rows);
  const seconds = (performance.now() - t0) / 1000;
  const { rows: n } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM events');
  if (Number(n[0].n) !== rows.length) throw new Error(`COPY stored ${n[0].n} of ${rows.length} rows`);
  return rows.length / seconds;
}

async function postAll(url: string, lines: string[]): Promise<{ perSecond: number; latencies: number[] }> {
  const batches: string[] = [];
  for (let i = 0; i < lines.length; i += BATCH) batches.push(lines.slice(i, i + BATCH).join('\n'));
  const latencies: number[] = [];
  let next = 0;
  let accepted = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < batches.length) {
      const body = batches[next++];
      const s = performance.now();
      const res = await fetch(`${url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
      const answer = (await res.json()) as { accepted: number; rejected: unknown[] };
      latencies.push(performance.now() - s);
      if (!res.ok || answer.rejected.length > 0) throw new Error(`ingest answered ${res.status}: ${JSON.stringify(answer).slice(0, 300)}`);
      accepted += answer.accepted;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = (performance.now() - t0) / 1000;
  if (accepted !== lines.length) throw new Error(`exporter accepted ${accepted} of ${lines.length} events`);
  return { perSecond: accepted / seconds, latencies: latencies.sort((a, b) => a - b) };
}

export async function benchIngest(server: BenchServer, lines: string[], tz: string): Promise<Figure[]> {
  const copyRate = await copyBaseline(server, lines, tz);
  const { url: databaseUrl } = await server.database('bench_ingest');
  const exporter = await spawnExporter({ DATABASE_URL: databaseUrl, CS_TIMEZONE: tz });
  try {
    const { perSecond, latencies } = await postAll(exporter.url, lines);
    const n = `${lines.length.toLocaleString('en-US')} events, NDJSON batches of ${BATCH}, ${IN_FLIGHT} in flight`;
    return [
      figure('ingest', 'acknowledged events/s', Math.round(perSecond), 'ev/s', ['>=', 50_000], n),
      figure('ingest', 'p99 acknowledgment latency', round(percentile(latencies, 99), 1), 'ms', undefined, `per batch of ${BATCH}`),
      figure('ingest', 'COPY baseline', Math.round(copyRate), 'rows/s', undefined, 'same rows, same table, one COPY'),
      figure('ingest', 'ingest / COPY', round(perSecond / copyRate, 3), 'ratio', ['>=', 0.35]),
    ];
  } finally {
    await exporter.stop();
  }
}
