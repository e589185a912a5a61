/**
 * 排班建议: forecast and staffing (Erlang C per slot) for 200 skill groups from 8 weeks of history
 * (plus the 14 back-tested days), read from the rolled-up table as the report reads it. The history
 * is written straight into report_group_halfhour (one row per group and day) (rolling up ten weeks of events is the rollup
 * section's business); each figure is the time of one whole answer: today and tomorrow, 48 slots,
 * every group.
 */
import { loadHistory, staffingForecastRows } from '../src/reports/forecast.js';
import { findReport } from '../src/catalog.js';
import { parseServiceTargets } from '../src/staffing/targets.js';
import { addDays, localDay } from '../src/time.js';
import { figure, percentile, round, spawnExporter, timed, type BenchServer, type Figure } from './lib.js';

const TZ = 'Asia/Shanghai';
/** Days of history: 8 weeks before the first back-tested day, the 14 back-tested days, today. */
const HISTORY_DAYS = 8 * 7 + 14;

export async function benchForecast(server: BenchServer, scale: number): Promise<Figure[]> {
  const groups = Math.max(2, Math.round(200 * scale));
  const today = localDay(Date.now(), TZ);
  const first = addDays(today, -HISTORY_DAYS);
  const { url: databaseUrl, pool } = await server.database('bench_forecast');
  // A day's shape: busy 08:00–22:00, quiet at night, group sizes from 5 to 40 a slot, and a
  // deterministic scatter (hashtext) so the weeks differ; 90 % of the inflow answered, 5 minutes a part.
  await pool.query(
    `INSERT INTO report_group_halfhour (tenant, day, group_id, inflow, parts_ended, part_seconds)
     SELECT 'default', d, 'g' || g, array_agg(x.inflow ORDER BY s), array_agg(x.inflow * 9 / 10 ORDER BY s), array_agg((x.inflow * 9 / 10) * 300.0 ORDER BY s)
     FROM generate_series($1::date, $2::date, interval '1 day') d, generate_series(0, 47) s, generate_series(1, $3::int) g,
       LATERAL (SELECT (CASE WHEN s BETWEEN 16 AND 43 THEN 5 + g % 36 ELSE 1 END + abs(hashtext(g || ' ' || d::date || ' ' || s)) % 7) AS inflow) x
     GROUP BY d, g`,
    [first, today, groups],
  );
  await pool.query(
    `INSERT INTO report_rollups (tenant, day, rolled_at, sessions, duration_ms)
     SELECT 'default', d::date, now(), 0, 0 FROM generate_series($1::date, $2::date, interval '1 day') d`,
    [first, today],
  );
  await pool.query('ANALYZE report_group_halfhour');
  const what = `${groups} groups × ${HISTORY_DAYS + 1} days of 48 slots`;

  // In this process: read the history and compute, as the report handler does.
  const report = findReport('staffing_forecast')!;
  const q = { report, tenant: 'default', from: today, to: addDays(today, 1), metrics: report.metrics, groups: [], agents: [], filters: {} };
  const targets = parseServiceTargets('80/20');
  let rows = 0;
  const inProcess: number[] = [];
  // CPU time of this process (reading the answer and computing), apart from the wall time: on a
  // shared, loaded machine the wall time is mostly waiting for a core.
  const cpu: number[] = [];
  for (let i = 0; i < 6; i++) {
    const c0 = process.cpuUsage();
    const ms = await timed(async () => (rows = (await staffingForecastRows(pool, q, { tz: TZ, nowMs: Date.now(), targets })).length));
    const c = process.cpuUsage(c0);
    if (i > 0) inProcess.push(ms); // the first warms the plan and the JIT
    if (i > 0) cpu.push((c.user + c.system) / 1000);
  }
  cpu.sort((a, b) => a - b);
  const readMs = await timed(() => loadHistory(pool, { tenant: 'default', from: first, to: today, targets }));

  // Through the query API of a running exporter, as Grafana asks for it.
  const exporter = await spawnExporter({ DATABASE_URL: databaseUrl, CS_TIMEZONE: TZ, CS_ROLLUP_INTERVAL_SECONDS: '86400' });
  const api: number[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const ms = await timed(async () => {
        const res = await fetch(`${exporter.url}/api/v1/query`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ report: 'staffing_forecast', from: q.from, to: q.to }),
        });
        if (!res.ok) throw new Error(`staffing_forecast answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
        await res.arrayBuffer();
      });
      if (i > 0) api.push(ms);
    }
  } finally {
    await exporter.stop();
  }
  inProcess.sort((a, b) => a - b);
  api.sort((a, b) => a - b);
  return [
    figure('forecast', 'forecast + staffing, 2 days (in process) p50', round(percentile(inProcess, 50), 1), 'ms', ['<=', 1000], `${what}; ${rows} rows`),
    figure('forecast', 'of which CPU in this process p50', round(percentile(cpu, 50), 1), 'ms', undefined, 'parse + forecast + Erlang C'),
    figure('forecast', 'baseline: read the history', round(readMs, 1), 'ms'),
    figure('forecast', 'staffing_forecast query API p50', round(percentile(api, 50), 1), 'ms', ['<=', 1000], 'today and tomorrow, all groups'),
  ];
}
