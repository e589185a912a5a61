/**
 * GET /api/v1/export: a report as CSV (UTF-8 with BOM, so Excel reads the
 * Chinese headers) or XLSX, streamed from a Postgres cursor: a month of
 * sessions passes through in pages and never sits in memory whole.
 */
import type { Request, Response } from 'express';
import Cursor from 'pg-cursor';
import ExcelJS from 'exceljs';
import type { AppContext } from '../http/app.js';
import { parseQuery, QueryError, type ReportQuery, type Row } from '../query/registry.js';
import { tzOffsetMs } from '../time.js';
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

const list = (v: unknown) =>
  typeof v === 'string' && v !== ''
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];

/**
 * A filter value from the query string; blank means no filter, since that is
 * how a Grafana link spells a variable at "All" (see dashboards/src/common.ts).
 */
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** The query API body an export's query string stands for. */
export function exportBody(query: Record<string, unknown>): Record<string, unknown> {
  const filters: Record<string, unknown> = {};
  for (const key of ['userId', 'category', 'remark'] as const) {
    const v = text(query[key]);
    if (v !== undefined) filters[key] = v;
  }
  const satisfaction = text(query.satisfaction);
  if (satisfaction !== undefined) {
    filters.satisfaction = list(satisfaction).map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n)) throw new QueryError(`satisfaction: "${s}" is not a score 1–5`);
      return n;
    });
  }
  const revisit = text(query.revisit);
  if (revisit !== undefined) {
    if (!['yes', 'no', 'true', 'false'].includes(revisit)) throw new QueryError(`revisit: must be yes or no (or blank for both), got "${revisit}"`);
    filters.revisit = revisit === 'yes' || revisit === 'true';
  }
  return {
    report: query.report,
    from: query.from,
    to: query.to,
    tenant: query.tenant,
    groups: list(query.groups),
    agents: list(query.agents),
    metrics: list(query.metrics),
    filters,
  };
}

export async function exportReport(req: Request, res: Response, ctx: AppContext, service: RollupService): Promise<void> {
  const format = (req.query.format as string | undefined) ?? 'csv';
  if (format !== 'csv' && format !== 'xlsx') throw new QueryError('format: must be csv or xlsx');
  const q = parseQuery(exportBody(req.query as Record<string, unknown>), ctx.config.timezone);
  const build = BUILDERS[q.report.id];
  if (!build) throw new QueryError(`report ${q.report.id} cannot be exported; live reports are not files`);
  const tz = ctx.config.timezone;
  const provisional = ROLLED_UP.has(q.report.id) ? await service.ensureRange(q.tenant, q.from!, q.to!) : false;
  const spec = build(q, { tz, nowMs: Date.now(), limit: null });
  const cols = columns(q);
  const base = `${q.report.name}_${q.from}_${q.to}${provisional ? '_未完结' : ''}`;
  const client = await ctx.pool.connect();
  const cursor = client.query(new Cursor(spec.sql, spec.params, { rowMode: spec.rowMode }));
  const read = () =>
    new Promise<Record<string, any>[]>((resolve, reject) => cursor.read(PAGE, (err, rows) => (err ? reject(err) : resolve(rows))));
  try {
    // The first page is read before any header goes out, so a bad query still answers with an error status.
    let rows = await read();
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="${q.report.id}.${format}"; filename*=UTF-8''${encodeURIComponent(`${base}.${format}`)}`,
    );
    res.setHeader('X-Provisional', String(provisional));
    const toCells = (r: Row) => cols.map((c) => cell(c, r[c.id], tz));
    if (format === 'csv') {
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.write('\uFEFF' + cols.map((c) => csvField(c.name)).join(',') + '\r\n');
      while (rows.length > 0) {
        const text = rows.map((r) => toCells(spec.map(r)).map(csvField).join(',') + '\r\n').join('');
        if (!res.write(text)) await new Promise((r) => res.once('drain', r));
        rows = await read();
      }
      res.end();
    } else {
      res.setHeader('Content-Type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
      const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: res, useStyles: false, useSharedStrings: false });
      const sheet = wb.addWorksheet(q.report.name.slice(0, 31));
      sheet.addRow(cols.map((c) => c.name)).commit();
      while (rows.length > 0) {
        for (const r of rows) sheet.addRow(toCells(spec.map(r))).commit();
        rows = await read();
      }
      sheet.commit();
      await wb.commit();
    }
  } finally {
    await new Promise<void>((resolve) => cursor.close(() => resolve()));
    client.release();
  }
}
