/**
 * 报表 and 会话记录: the rollup scheduler, the report handlers of the query
 * API, POST /rollups, the session detail and the export.
 */
import type { Component } from '../component.js';
import type { Config } from '../config.js';
import type { AppContext } from '../http/app.js';
import { QueryError, type ReportHandlers } from '../query/registry.js';
import { isDay, localDay } from '../time.js';
import { sessionDetail } from './detail.js';
import { exportReport } from './export.js';
import { BUILDERS, ROLLED_UP } from './queries.js';
import { RollupScheduler } from './scheduler.js';
import { RollupService } from './service.js';
import { checkForecastRange, forecastRollupRange, staffingForecastRows } from './forecast.js';

const DEFAULT_LIST_LIMIT = 1000;

/** CS_ROLLUP_INTERVAL_SECONDS: today's refresh period; 0 turns the scheduler off (rollups then run on demand). */
export function rollupIntervalSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.CS_ROLLUP_INTERVAL_SECONDS;
  if (raw === undefined || raw === '') return 300;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`CS_ROLLUP_INTERVAL_SECONDS must be a number of seconds ≥ 0, got "${raw}"`);
  return n;
}

export function reportsComponent(config: Config): Component {
  const intervalSeconds = rollupIntervalSeconds();
  let service: RollupService | undefined;
  let scheduler: RollupScheduler | undefined;
  const svc = () => {
    if (!service) throw new Error('reports component not started');
    return service;
  };

  const reports: ReportHandlers = {};
  for (const [id, build] of Object.entries(BUILDERS)) {
    reports[id] = async (q, ctx) => {
      const tz = ctx.config.timezone;
      const provisional = ROLLED_UP.has(id) ? await svc().ensureRange(q.tenant, q.from!, q.to!) : q.to! >= localDay(Date.now(), tz);
      const spec = build(q, { tz, nowMs: Date.now(), limit: DEFAULT_LIST_LIMIT });
      const { rows } = spec.rowMode
        ? await ctx.pool.query({ text: spec.sql, values: spec.params, rowMode: 'array' })
        : await ctx.pool.query(spec.sql, spec.params);
      return { source: rows, map: spec.map, provisional };
    };
  }

  // Reports computed in TS from the rolled-up tables rather than read by one statement.
  const computed: ReportHandlers = {};
  // 排班建议: computed from the rolled-up history (reports/forecast.ts) rather than read by one statement.
  computed.staffing_forecast = reports.staffing_forecast = async (q, ctx) => {
    const tz = ctx.config.timezone;
    const nowMs = Date.now();
    checkForecastRange(q, localDay(nowMs, tz));
    const range = forecastRollupRange(q, localDay(nowMs, tz));
    const provisional = (await svc().ensureRange(q.tenant, range.from, range.to)) || q.to! >= localDay(nowMs, tz);
    return { rows: await staffingForecastRows(ctx.pool, q, { tz, nowMs, targets: ctx.config.serviceTargets }), provisional };
  };

  return {
    name: 'reports',
    start(ctx: AppContext) {
      // Today's rollup is reused by queries for as long as the scheduler would keep it.
      service = new RollupService(ctx.pool, config.timezone, ctx.log, (intervalSeconds || 300) * 1000);
      if (ctx.self) service.onDone = ctx.self.rollupDone.bind(ctx.self);
      if (intervalSeconds > 0) {
        scheduler = new RollupScheduler(service, config.timezone, intervalSeconds * 1000, ctx.log, { pool: ctx.pool, checkMs: config.leaseCheckMs });
        scheduler.start();
      }
    },
    async stop() {
      await scheduler?.stop();
    },
    reports,
    api(api, ctx) {
      api.post('/rollups', async (req, res, next) => {
        try {
          const b = (req.body ?? {}) as Record<string, unknown>;
          const tenant = b.tenant ?? 'default';
          if (typeof b.date !== 'string' || !isDay(b.date)) throw new QueryError('date: must be a day YYYY-MM-DD');
          if (typeof tenant !== 'string' || tenant === '') throw new QueryError('tenant: must be a non-empty string');
          const r = await svc().rollup(tenant, b.date);
          res.json({
            tenant,
            date: b.date,
            sessions: r.sessions,
            durationMs: r.durationMs,
            provisional: b.date >= localDay(Date.now(), ctx.config.timezone),
          });
        } catch (err) {
          if (err instanceof QueryError) res.status(400).json({ error: err.message });
          else next(err);
        }
      });
      api.get('/sessions/:id', async (req, res, next) => {
        try {
          const tenant = typeof req.query.tenant === 'string' && req.query.tenant !== '' ? req.query.tenant : 'default';
          const detail = await sessionDetail(ctx.pool, tenant, req.params.id);
          if (!detail) res.status(404).json({ error: `no session "${req.params.id}" in tenant "${tenant}"` });
          else res.json(detail);
        } catch (err) {
          next(err);
        }
      });
      api.get('/export', async (req, res, next) => {
        try {
          await exportReport(req, res, ctx, svc(), computed);
        } catch (err) {
          if (err instanceof QueryError && !res.headersSent) res.status(400).json({ error: err.message });
          else next(err);
        }
      });
    },
  };
}
