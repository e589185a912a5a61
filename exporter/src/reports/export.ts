/**
 * GET /api/v1/export: a report as CSV (UTF-8 with BOM, so Excel reads the
 * Chinese headers) or XLSX, streamed from a Postgres cursor: a month of
 * sessions passes through in pages and never sits in memory whole.
 */
import type { Request, Response } from 'express';
import Cursor from 'pg-cursor';
import ExcelJS from 'exceljs';
import { checkout } from '../db/pool.js';
import type { AppContext } from '../http/app.js';
import { parseQuery, QueryError, type ReportHandlers, type ReportQuery, type Row } from '../query/registry.js';
import { isDay, localDay, rangeDays, tzOffsetMs } from '../time.js';
import { BUILDERS, ROLLED_UP } from './queries.js';
import type { RollupService } from './service.js';

const PAGE = 2_000;

/** A column of the file: dimensions first, then the asked metrics (as the query API's frame). */
interface Column {
  id: string;
  name: string;
  type: string;
}

export function columns(q: ReportQuery): Column[] {
  const metricIds = new Set(q.metrics.map((m) => m.id));
  return [...q.report.dimensions.filter((d) => !metricIds.has(d.id)), ...q.metrics].map((c) => ({ id: c.id, name: c.name, type: c.type }));
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A time as the tenant's local wall clock, as people read it in a spreadsheet. */
export function localTime(ms: number, tz: string): string {
  const d = new Date(ms + tzOffsetMs(ms, tz));
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function cell(c: Column, v: unknown, tz: string): string | number | null {
  if (v === null || v === undefined) return null;
  if (c.type === 'time') return localTime(v as number, tz);
  if (c.type === 'boolean') return v ? '是' : '否';
  if (typeof v === 'number') return v;
  return String(v);
}

function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The parameters GET /export takes; any other name is refused, since a misspelt filter would silently widen a download. */
const SINGLE = ['report', 'from', 'to', 'format', 'tenant', 'userId', 'category', 'remark', 'revisit'] as const;
const REPEATABLE = ['group', 'agent', 'groups', 'agents', 'satisfaction', 'metrics'] as const;
const KNOWN = new Set<string>([...SINGLE, ...REPEATABLE]);

/** Epoch milliseconds as Grafana's `${__from}` / `${__to}` write them; years past 9999 would break day strings. */
const EPOCH_MS = /^\d{1,15}$/;
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const shown = (v: string) => JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);

function one(p: URLSearchParams, key: (typeof SINGLE)[number]): string | undefined {
  const all = p.getAll(key);
  if (all.length > 1) throw new QueryError(`${key}: given ${all.length} times; give it once`);
  return all[0];
}

/** `groups=g1,g2`: comma-separated, for hand-written URLs (an id holding a comma cannot be written this way). */
function commaList(p: URLSearchParams, key: (typeof REPEATABLE)[number]): string[] {
  return p
    .getAll(key)
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * `group=a&group=b`: one value per parameter, taken whole (commas, `&`, `#`, `+`, `%`, spaces and all,
 * once percent-decoded). This is what the dashboards' links send (Grafana's `customqueryparam`
 * format). A blank one is how such a link spells All, and names nothing.
 */
function eachList(p: URLSearchParams, key: (typeof REPEATABLE)[number]): string[] {
  return p.getAll(key).filter((v) => v !== '');
}

function bound(v: string | undefined, field: 'from' | 'to'): { day?: string; ms?: number } | undefined {
  if (v === undefined || v === '') return undefined;
  if (isDay(v)) return { day: v };
  if (EPOCH_MS.test(v) && Number(v) <= MAX_MS) return { ms: Number(v) };
  throw new QueryError(`${field}: must be a day YYYY-MM-DD or epoch milliseconds (Grafana's \${__${field}}), got ${shown(v)}`);
}

/**
 * The range as inclusive local days of the tenants' zone. Epoch milliseconds (what the dashboards
 * send) are cut into days with `rangeDays`, the rule the datasource plugin applies to the same
 * dashboard range, so the file holds the days the panel shows whatever zone the viewer's browser is in.
 */
function range(p: URLSearchParams, tz: string): { from?: string; to?: string } {
  const f = bound(one(p, 'from'), 'from');
  const t = bound(one(p, 'to'), 'to');
  if (f?.ms !== undefined && t?.ms !== undefined) {
    if (t.ms < f.ms) throw new QueryError(`to (${new Date(t.ms).toISOString()}) is before from (${new Date(f.ms).toISOString()})`);
    return rangeDays(f.ms, t.ms, tz);
  }
  return {
    from: f && (f.day ?? localDay(f.ms!, tz)),
    to: t && (t.day ?? localDay(t.ms! - 1, tz)),
  };
}

const unique = (xs: string[]) => [...new Set(xs)];

/**
 * The query API body an export's query string stands for. Filters read the way the datasource
 * plugin reads the same dashboard variables (datasource-plugin/src/datasource.ts, reportBody and
 * sessionsBody), so a download and its panel select the same rows: free text is taken as typed
 * (not trimmed), a blank value is no filter.
 */
export function exportBody(p: URLSearchParams, tz: string): Record<string, unknown> {
  for (const key of new Set(p.keys()))
    if (!KNOWN.has(key)) throw new QueryError(`unknown parameter ${shown(key)}; the export takes ${[...KNOWN].join(', ')}`);
  const filters: Record<string, unknown> = {};
  for (const key of ['userId', 'category', 'remark'] as const) {
    const v = one(p, key);
    if (v !== undefined && v !== '') filters[key] = v;
  }
  const scores = commaList(p, 'satisfaction');
  if (scores.length) {
    filters.satisfaction = scores.map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1 || n > 5) throw new QueryError(`satisfaction: ${shown(s)} is not a score 1–5`);
      return n;
    });
  }
  const revisit = one(p, 'revisit')?.trim();
  if (revisit) {
    if (!['yes', 'no', 'true', 'false'].includes(revisit))
      throw new QueryError(`revisit: must be yes or no (or blank for both), got ${shown(revisit)}`);
    filters.revisit = revisit === 'yes' || revisit === 'true';
  }
  const tenant = one(p, 'tenant')?.trim();
  return {
    report: one(p, 'report'),
    ...range(p, tz),
    tenant: tenant ? tenant : undefined,
    groups: unique([...commaList(p, 'groups'), ...eachList(p, 'group')]),
    agents: unique([...commaList(p, 'agents'), ...eachList(p, 'agent')]),
    metrics: commaList(p, 'metrics'),
    filters,
  };
}

/** The raw query string: parsed here rather than by express, so that repeated parameters and `+` read as in a browser's URLSearchParams. */
function searchParams(req: Request): URLSearchParams {
  const i = req.originalUrl.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : req.originalUrl.slice(i + 1));
}

export async function exportReport(
  req: Request,
  res: Response,
  ctx: AppContext,
  service: RollupService,
  computed: ReportHandlers = {},
): Promise<void> {
  const params = searchParams(req);
  const format = one(params, 'format') || 'csv';
  if (format !== 'csv' && format !== 'xlsx') throw new QueryError('format: must be csv or xlsx');
  const q = parseQuery(exportBody(params, ctx.config.timezone), ctx.config.timezone);
  const compute = computed[q.report.id];
  if (compute) {
    const result = await compute(q, ctx);
    if (!('rows' in result)) throw new Error(`report ${q.report.id}: a computed report answers rows`);
    return exportComputed(req, res, ctx, q, format, result);
  }
  const build = BUILDERS[q.report.id];
  if (!build) throw new QueryError(`report ${q.report.id} cannot be exported; live reports are not files`);
  const tz = ctx.config.timezone;
  const provisional = ROLLED_UP.has(q.report.id) ? await service.ensureRange(q.tenant, q.from!, q.to!) : false;
  const spec = build(q, { tz, nowMs: Date.now(), limit: null });
  // The client may be gone already (it gave up while the days were rolled up): no connection for nobody.
  if (res.destroyed || req.destroyed) return;
  const client = await checkout(ctx.pool, { discardOnError: true });
  const cursor = client.query(new Cursor(spec.sql, spec.params, { rowMode: spec.rowMode }));
  const signal = closeSignal(res);
  const read = () =>
    Promise.race([
      new Promise<Record<string, any>[]>((resolve, reject) => cursor.read(PAGE, (err, rows) => (err ? reject(err) : resolve(rows)))),
      signal.closed,
    ]).then((rows) => rows.map(spec.map));
  let failure: unknown;
  try {
    // The first page is read before any header goes out, so a bad query still answers with an error status.
    await writeFile(res, q, format, provisional, tz, await read(), read, signal.closed);
  } catch (err) {
    failure = err;
    if (settleFailure(res, err)) return;
    throw err;
  } finally {
    signal.dispose();
    // On failure the connection is destroyed (a page may be in flight): closing the cursor would wait for it.
    if (failure === undefined) await new Promise<void>((resolve) => cursor.close(() => resolve()));
    client.done(failure);
  }
}

/**
 * Rejects `closed` with DownloadAborted when the client closes the download before its end (the
 * user cancelled, a proxy timed out): every wait of a download (a page, the socket's drain) gives up on it.
 */
function closeSignal(res: Response): { closed: Promise<never>; dispose(): void } {
  let abort: (err: Error) => void = () => undefined;
  const closed = new Promise<never>((_, reject) => (abort = reject));
  closed.catch(() => undefined);
  const onClose = () => {
    if (!res.writableFinished) abort(new DownloadAborted());
  };
  res.once('close', onClose);
  return { closed, dispose: () => res.off('close', onClose) };
}

/** True when a download's failure needs no answer (the client left); destroys a half-sent file. */
function settleFailure(res: Response, err: unknown): boolean {
  // Nobody is listening any more: nothing to answer, nothing to log as a failure.
  if (err instanceof DownloadAborted) return true;
  // Part of the file went out with a 200: only a broken transfer tells the client it is not whole.
  if (res.headersSent) res.destroy();
  return false;
}

/** Writes the file of `q`: its headers, then `first` and the pages `next` gives until an empty one. */
async function writeFile(
  res: Response,
  q: ReportQuery,
  format: 'csv' | 'xlsx',
  provisional: boolean,
  tz: string,
  first: Row[],
  next: () => Promise<Row[]>,
  closed: Promise<never>,
): Promise<void> {
  const cols = columns(q);
  const base = `${q.report.name}_${q.from}_${q.to}${provisional ? '_未完结' : ''}`;
  res.setHeader(
    'Content-Disposition',
    `attachment; filename="${q.report.id}.${format}"; filename*=UTF-8''${encodeURIComponent(`${base}.${format}`)}`,
  );
  res.setHeader('X-Provisional', String(provisional));
  const toCells = (r: Row) => cols.map((c) => cell(c, r[c.id], tz));
  let rows = first;
  if (format === 'csv') {
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.write('\uFEFF' + cols.map((c) => csvField(c.name)).join(',') + '\r\n');
    while (rows.length > 0) {
      const text = rows.map((r) => toCells(r).map(csvField).join(',') + '\r\n').join('');
      if (!res.write(text)) await Promise.race([new Promise((r) => res.once('drain', r)), closed]);
      rows = await next();
    }
    res.end();
  } else {
    res.setHeader('Content-Type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: res, useStyles: false, useSharedStrings: false });
    const sheet = wb.addWorksheet(q.report.name.slice(0, 31));
    sheet.addRow(cols.map((c) => c.name)).commit();
    while (rows.length > 0) {
      for (const r of rows) sheet.addRow(toCells(r)).commit();
      rows = await next();
    }
    sheet.commit();
    await Promise.race([wb.commit(), closed]);
  }
}

/** The client closed the download before its end. */
class DownloadAborted extends Error {
  constructor() {
    super('the download was closed by the client');
  }
}

/**
 * A report computed in TS (排班建议): its rows are already in memory (a month of 200 groups is
 * under 300,000 small rows), so the file is written from them with the cells of the streamed path.
 */
async function exportComputed(
  req: Request,
  res: Response,
  ctx: AppContext,
  q: ReportQuery,
  format: 'csv' | 'xlsx',
  result: { rows: Row[]; provisional?: boolean },
): Promise<void> {
  if (res.destroyed || req.destroyed) return;
  const signal = closeSignal(res);
  let at = 0;
  const page = () => result.rows.slice(at, (at += PAGE));
  try {
    await writeFile(res, q, format, result.provisional ?? false, ctx.config.timezone, page(), async () => page(), signal.closed);
  } catch (err) {
    if (settleFailure(res, err)) return;
    throw err;
  } finally {
    signal.dispose();
  }
}
