import {
  DataSourceApi,
  FieldType,
  createDataFrame,
  type DataFrame,
  type DataQueryError,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceInstanceSettings,
  type Field,
  type FieldConfig,
  type MetricFindValue,
  type ScopedVars,
  type TestDataSourceResponse,
} from '@grafana/data';
import { getBackendSrv, getTemplateSrv, type TemplateSrv } from '@grafana/runtime';
import { lastValueFrom } from 'rxjs';

import { REPORTS, canBeTimeSeries, findReport, type ReportDef } from './catalog';
import { filterQuery, migrateQuery, migrateVariableQuery } from './migrate';
import { addDays, localDay, localTimeMs, rangeDays } from './time';
import {
  DEFAULT_QUERY,
  DEFAULT_TIMEZONE,
  type CCOptions,
  type CCQuery,
  type CCVariableQuery,
  type LiveQuery,
  type ReportQuery,
  type SessionQuery,
  type SessionsQuery,
} from './types';

/** An exporter frame as JSON (api.md). */
export interface WireField {
  name: string;
  type: string;
  values: unknown[];
  config?: { displayName?: string; unit?: string };
}
export interface WireFrame {
  name: string;
  fields: WireField[];
}
interface QueryAnswer {
  frames: WireFrame[];
  meta?: { provisional?: boolean };
}

/** What the user sees when a call fails: says which side is wrong and what to do. */
export class ExporterError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** What Grafana's data source proxy answers (400) in place of the exporter's 401. */
export const PROXY_AUTH_FAILED = 'Authentication to data source failed';

export const SESSION_DETAIL_URL = '/d/cs-session-detail?var-session=${__value.raw}';

const SEP = '\u001f';
const VAR_RE = /^\s*(?:\$(\w+)|\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::\w+)?\]\])\s*$/;

const TYPES: Record<string, FieldType> = {
  string: FieldType.string,
  number: FieldType.number,
  time: FieldType.time,
  boolean: FieldType.boolean,
};

function toTime(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number') return v;
  const ms = Date.parse(String(v));
  return Number.isNaN(ms) ? null : ms;
}

function wireToFrame(w: WireFrame, refId: string): DataFrame {
  return createDataFrame({
    name: w.name,
    refId,
    fields: w.fields.map((f) => {
      const type = TYPES[f.type] ?? FieldType.other;
      const config: FieldConfig = {};
      if (f.config?.displayName) config.displayName = f.config.displayName;
      // 'string' is the catalog's word for "no unit"; Grafana has no such unit.
      if (f.config?.unit && f.config.unit !== 'string') config.unit = f.config.unit;
      return { name: f.name, type, values: type === FieldType.time ? f.values.map(toTime) : f.values, config };
    }),
  });
}

/**
 * Daily/hourly rows as time series: a `time` field from date (+ hour) and one
 * frame per group (or agent), so a graph shows one line per group.
 */
export function toTimeSeries(frame: DataFrame, report: ReportDef, tz: string, refId: string): DataFrame[] {
  const byName = new Map(frame.fields.map((f) => [f.name, f]));
  const date = byName.get('date');
  if (!date) return [frame];
  const hour = byName.get('hour');
  const keyField = byName.get('group_id') ?? byName.get('agent_id') ?? byName.get('category');
  const labelField = byName.get('group_name') ?? byName.get('agent_name') ?? keyField;
  const dims = new Set(report.dimensions.map((d) => d.id));
  const valueFields = frame.fields.filter((f) => !dims.has(f.name));
  const series = new Map<string, { label: string; rows: number[] }>();
  for (let i = 0; i < frame.length; i++) {
    const key = keyField ? String(keyField.values[i]) : '';
    let s = series.get(key);
    if (!s) series.set(key, (s = { label: labelField ? String(labelField.values[i] ?? key) : '', rows: [] }));
    s.rows.push(i);
  }
  const times = date.values.map((d: string, i: number) => localTimeMs(d, tz, hour ? Number(hour.values[i]) : 0));
  const out: DataFrame[] = [];
  for (const [key, s] of series) {
    const rows = [...s.rows].sort((a, b) => times[a] - times[b]);
    const fields: Array<Partial<Field> & { name: string }> = [
      { name: 'time', type: FieldType.time, values: rows.map((i) => times[i]), config: {} },
      ...valueFields.map((f) => ({
        name: f.name,
        type: f.type,
        values: rows.map((i) => f.values[i]),
        labels: keyField ? { [keyField.name]: key } : undefined,
        config: {
          ...f.config,
          // displayName would give every series the same legend; the DS name keeps them apart and stays overridable.
          displayName: undefined,
          displayNameFromDS: keyField ? `${s.label} ${f.config.displayName ?? f.name}` : f.config.displayName,
        },
      })),
    ];
    out.push(createDataFrame({ name: keyField ? s.label : frame.name, refId, fields }));
  }
  return out;
}

const LEG_FIELDS: Array<[string, string, FieldType, string?]> = [
  ['group_id', '技能组ID', FieldType.string],
  ['group_name', '技能组', FieldType.string],
  ['via', '进入方式', FieldType.string],
  ['queued_at', '排队时间', FieldType.time],
  ['answered_at', '接通时间', FieldType.time],
  ['ended_at', '结束时间', FieldType.time],
  ['outcome', '结果', FieldType.string],
  ['wait_seconds', '等待时长', FieldType.number, 's'],
  ['agent_id', '客服ID', FieldType.string],
];
const PART_FIELDS: Array<[string, string, FieldType, string?]> = [
  ['agent_id', '客服ID', FieldType.string],
  ['agent_name', '客服姓名', FieldType.string],
  ['group_id', '技能组ID', FieldType.string],
  ['started_at', '开始时间', FieldType.time],
  ['ended_at', '结束时间', FieldType.time],
  ['ended_by', '结束方式', FieldType.string],
];
const TRANSCRIPT_FIELDS: Array<[string, string, FieldType, string?]> = [
  ['time', '时间', FieldType.time],
  ['from', '发送方', FieldType.string],
  ['agent_id', '客服ID', FieldType.string],
  ['text', '内容', FieldType.string],
];

function rowsFrame(name: string, refId: string, rows: Array<Record<string, unknown>>, cols: typeof LEG_FIELDS): DataFrame {
  return createDataFrame({
    name,
    refId,
    fields: cols.map(([id, displayName, type, unit]) => ({
      name: id,
      type,
      values: rows.map((r) => (type === FieldType.time ? toTime(r[id]) : (r[id] ?? null))),
      config: { displayName, ...(unit ? { unit } : {}) },
    })),
  });
}

export class DataSource extends DataSourceApi<CCQuery, CCOptions> {
  readonly baseUrl: string;
  readonly timezone: string;
  readonly exporterUrl: string;

  constructor(
    instanceSettings: DataSourceInstanceSettings<CCOptions>,
    private readonly templateSrv: TemplateSrv = getTemplateSrv(),
  ) {
    super(instanceSettings);
    this.baseUrl = instanceSettings.url ?? '';
    this.timezone = instanceSettings.jsonData?.timezone || DEFAULT_TIMEZONE;
    this.exporterUrl = instanceSettings.jsonData?.url ?? '';
  }

  getDefaultQuery(): Partial<CCQuery> {
    return DEFAULT_QUERY;
  }

  filterQuery(q: CCQuery): boolean {
    return filterQuery(migrateQuery(q as any));
  }

  // ---- template variables ----

  /** A variable reference whose current value is All: the filter is dropped rather than listing everything. */
  private isAll(v: string, scoped?: ScopedVars): boolean {
    const m = VAR_RE.exec(v);
    if (!m) return false;
    const name = m[1] ?? m[2] ?? m[3];
    const s = scoped?.[name];
    if (s) return s.value === '$__all' || (Array.isArray(s.value) && s.value.includes('$__all'));
    const variable = this.templateSrv.getVariables().find((x) => x.name === name) as { current?: { value?: unknown } } | undefined;
    const cur = variable?.current?.value;
    return cur === '$__all' || (Array.isArray(cur) && cur.includes('$__all'));
  }

  /** Expands each entry; a multi-value variable becomes several entries, All (or nothing) means no filter. */
  interpolateList(values: string[] | undefined, scoped?: ScopedVars): string[] {
    const out: string[] = [];
    for (const v of values ?? []) {
      if (this.isAll(v, scoped)) return [];
      const r = this.templateSrv.replace(v, scoped, (value: unknown) => (Array.isArray(value) ? value.join(SEP) : String(value)));
      for (const x of r.split(SEP)) if (x !== '' && x !== '$__all') out.push(x);
    }
    return [...new Set(out)];
  }

  interpolate(v: string | undefined, scoped?: ScopedVars): string {
    if (v === undefined || v === '') return '';
    if (this.isAll(v, scoped)) return '';
    return this.templateSrv.replace(v, scoped, (value: unknown) => (Array.isArray(value) ? value.join(',') : String(value)));
  }

  /** A query without a tenant follows the dashboard's `tenant` variable where there is one. */
  tenant(v: string | undefined, scoped?: ScopedVars): string {
    const t = this.interpolate(v || '${tenant}', scoped).trim();
    // '${tenant}' outside a dashboard that defines it stays literal: fall back to the default tenant.
    return t === '' || t.includes('$') ? 'default' : t;
  }

  // ---- HTTP through Grafana's proxy route `api` ----

  async request<T>(method: 'GET' | 'POST', path: string, data?: unknown, what = 'the exporter'): Promise<T> {
    try {
      const res = await lastValueFrom(
        getBackendSrv().fetch<T>({ method, url: `${this.baseUrl}/api/v1${path}`, data, showErrorAlert: false, showSuccessAlert: false }),
      );
      return res.data;
    } catch (err) {
      throw this.explain(err, what);
    }
  }

  explain(err: unknown, what: string): ExporterError {
    const e = err as {
      status?: number;
      data?: { error?: string; message?: string; reason?: string; response?: unknown } | string;
      message?: string;
      statusText?: string;
    };
    const status = e?.status;
    const data = typeof e?.data === 'object' && e.data !== null ? e.data : undefined;
    // A text body reaches us wrapped by getBackendSrv().fetch as {message: text, error: statusText, response: text}
    // (backend_srv.ts processRequestError): the text is the detail, not the status line.
    const text = typeof e?.data === 'string' ? e.data : typeof data?.response === 'string' ? data.response : undefined;
    const detail = text ?? data?.error ?? data?.reason ?? data?.message ?? e?.statusText ?? e?.message ?? '';
    const where = this.exporterUrl ? ` at ${this.exporterUrl}` : '';
    if (status === undefined || status === 0 || status === 502 || status === 504)
      return new ExporterError(
        `Cannot reach the exporter${where} (${status ? `HTTP ${status} from Grafana's proxy` : 'no answer'}): is it running, and is the URL in the data source settings right?`,
        status,
      );
    // Grafana's data source proxy never passes an upstream 401 on: it answers 400 with this text instead
    // (grafana/grafana pkg/api/pluginproxy/ds_proxy.go, HandleRequest's modifyResponse).
    if (status === 400 && (text ?? data?.message)?.trim() === PROXY_AUTH_FAILED)
      return new ExporterError(
        `The exporter refused the API token (Grafana's proxy: "${PROXY_AUTH_FAILED}"): set the API token in the data source settings to the exporter's CS_API_TOKEN, or to a tenant's token of CS_TENANT_API_TOKENS.`,
        status,
      );
    // A tenant's own token (CS_TENANT_API_TOKENS) is valid but reads that tenant only; the proxy passes 403 on as it is.
    const scoped = status === 403 ? /this token is for tenant "([^"]*)" only; the request asks for tenant "([^"]*)"/.exec(detail) : null;
    if (scoped)
      return new ExporterError(
        `This data source's API token is for tenant "${scoped[1]}" only, and ${what} asks for tenant "${scoped[2]}" (403): set the query's tenant (or the dashboard's tenant variable) to "${scoped[1]}", or use a data source whose token opens "${scoped[2]}".`,
        status,
      );
    if (status === 401 || status === 403)
      return new ExporterError(
        `The exporter refused the API token (${status}): set the API token in the data source settings to the exporter's CS_API_TOKEN. ${detail}`.trim(),
        status,
      );
    if (status === 400) return new ExporterError(`The exporter rejected the query of ${what}: ${detail}`, status);
    if (status === 404) return new ExporterError(`${what}: not found (404). ${detail}`.trim(), status);
    if (status === 501) return new ExporterError(`${what} is not available in this exporter yet (501): ${detail}`, status);
    return new ExporterError(`The exporter failed on ${what} (HTTP ${status}): ${detail || 'see the exporter log'}`, status);
  }

  // ---- queries ----

  async query(request: DataQueryRequest<CCQuery>): Promise<DataQueryResponse> {
    const targets = request.targets.map((t) => migrateQuery(t as any)).filter((t) => filterQuery(t));
    // One failing query must not blank the others; frames keep the order of the queries.
    const results = await Promise.all(
      targets.map(async (q): Promise<DataFrame[] | DataQueryError> => {
        try {
          return await this.runQuery(q, request);
        } catch (err) {
          const e = err instanceof ExporterError ? err : this.explain(err, 'the query');
          return { refId: q.refId, message: e.message, status: e.status };
        }
      }),
    );
    const data = results.filter((r): r is DataFrame[] => Array.isArray(r)).flat();
    const errors = results.filter((r): r is DataQueryError => !Array.isArray(r));
    return errors.length ? { data, errors } : { data };
  }

  private range(request: Pick<DataQueryRequest, 'range'>): { from: string; to: string } {
    return rangeDays(request.range.from.valueOf(), request.range.to.valueOf(), this.timezone);
  }

  async runQuery(q: CCQuery, request: DataQueryRequest<CCQuery>): Promise<DataFrame[]> {
    const sv = request.scopedVars;
    switch (q.queryType) {
      case 'report':
        return this.runReport(q, request);
      case 'live':
        return this.runLive(q, sv);
      case 'sessions':
        return this.runSessions(q, request);
      case 'session':
        return this.runSession(q, sv);
    }
  }

  /** The POST /query body of a report query, interpolated (exported for tests and the integrator). */
  reportBody(q: ReportQuery, request: Pick<DataQueryRequest, 'range' | 'scopedVars'>): Record<string, unknown> {
    const sv = request.scopedVars;
    const report = this.interpolate(q.report, sv);
    const def = findReport(report);
    const filters: Record<string, string> = {};
    for (const [k, v] of Object.entries(q.filters ?? {})) {
      const x = this.interpolate(v, sv);
      if (x !== '') filters[k] = x;
    }
    return {
      report,
      ...(def?.grain === 'live' ? {} : this.range(request)),
      metrics: this.interpolateList(q.metrics, sv),
      groups: this.interpolateList(q.groups, sv),
      agents: this.interpolateList(q.agents, sv),
      tenant: this.tenant(q.tenant, sv),
      ...(Object.keys(filters).length ? { filters } : {}),
    };
  }

  private async post(body: Record<string, unknown>, refId: string): Promise<DataFrame[]> {
    const def = findReport(String(body.report));
    const answer = await this.request<QueryAnswer>('POST', '/query', body, def ? `${def.name} (${def.id})` : String(body.report));
    return answer.frames.map((w) => {
      const f = wireToFrame(w, refId);
      if (answer.meta?.provisional)
        f.meta = { notices: [{ severity: 'info', text: '含未定稿数据：今天或尚未汇总的日期，数字还会变化 (provisional)' }] };
      return f;
    });
  }

  async runReport(q: ReportQuery, request: DataQueryRequest<CCQuery>): Promise<DataFrame[]> {
    const body = this.reportBody(q, request);
    const frames = await this.post(body, q.refId);
    const def = findReport(String(body.report));
    if (q.format !== 'timeseries' || !def || !canBeTimeSeries(def)) return frames;
    return frames.flatMap((f) => toTimeSeries(f, def, this.timezone, q.refId));
  }

  liveBody(q: LiveQuery, sv?: ScopedVars): Record<string, unknown> {
    const name = this.interpolate(q.name, sv);
    return {
      report: q.report,
      metrics: this.interpolateList(q.metrics, sv),
      groups: this.interpolateList(q.groups, sv),
      tenant: this.tenant(q.tenant, sv),
      ...(q.report === 'live_agents' && name ? { filters: { name } } : {}),
    };
  }

  async runLive(q: LiveQuery, sv?: ScopedVars): Promise<DataFrame[]> {
    return this.post(this.liveBody(q, sv), q.refId);
  }

  sessionsBody(q: SessionsQuery, request: Pick<DataQueryRequest, 'range' | 'scopedVars'>): Record<string, unknown> {
    const sv = request.scopedVars;
    const filters: Record<string, unknown> = {};
    const userId = this.interpolate(q.userId, sv);
    if (userId) filters.userId = userId;
    const scores = this.interpolateList(q.satisfaction, sv)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n >= 1 && n <= 5);
    if (scores.length) filters.satisfaction = scores;
    const category = this.interpolate(q.category, sv);
    if (category) filters.category = category;
    const revisit = this.interpolate(q.revisit, sv);
    if (revisit === 'yes' || revisit === 'true') filters.revisit = true;
    if (revisit === 'no' || revisit === 'false') filters.revisit = false;
    const remark = this.interpolate(q.remark, sv);
    if (remark) filters.remark = remark;
    // The exporter reads the row cap of the sessions report from filters (docs/reports.md).
    if (q.limit) filters.limit = q.limit;
    return {
      report: 'sessions',
      ...this.range(request),
      groups: this.interpolateList(q.groups, sv),
      agents: this.interpolateList(q.agents, sv),
      tenant: this.tenant(q.tenant, sv),
      filters,
    };
  }

  async runSessions(q: SessionsQuery, request: DataQueryRequest<CCQuery>): Promise<DataFrame[]> {
    const body = this.sessionsBody(q, request);
    const frames = await this.post(body, q.refId);
    const tenant = String(body.tenant);
    for (const f of frames) {
      const id = f.fields.find((x) => x.name === 'service_id');
      if (id)
        id.config.links = [
          { title: '会话详情', url: `${SESSION_DETAIL_URL}&var-tenant=${encodeURIComponent(tenant)}`, targetBlank: false },
        ];
    }
    return frames;
  }

  async runSession(q: SessionQuery, sv?: ScopedVars): Promise<DataFrame[]> {
    const id = this.interpolate(q.sessionId, sv).trim();
    if (!id) return [];
    const tenant = this.tenant(q.tenant, sv);
    const detail = await this.request<{
      session: Record<string, unknown>;
      legs?: Array<Record<string, unknown>>;
      parts?: Array<Record<string, unknown>>;
      transcript?: Array<Record<string, unknown>>;
    }>('GET', `/sessions/${encodeURIComponent(id)}?tenant=${encodeURIComponent(tenant)}`, undefined, `会话 ${id}`);
    switch (q.part) {
      case 'legs':
        return [rowsFrame('进线记录', q.refId, detail.legs ?? [], LEG_FIELDS)];
      case 'parts':
        return [rowsFrame('接待记录', q.refId, detail.parts ?? [], PART_FIELDS)];
      case 'transcript':
        return [rowsFrame('聊天记录', q.refId, detail.transcript ?? [], TRANSCRIPT_FIELDS)];
      default: {
        const sessions = findReport('sessions')!;
        return [
          createDataFrame({
            name: '会话',
            refId: q.refId,
            fields: sessions.metrics.map((m) => ({
              name: m.id,
              type: TYPES[m.type] ?? FieldType.other,
              values: [m.type === 'time' ? toTime(detail.session?.[m.id]) : (detail.session?.[m.id] ?? null)],
              config: { displayName: m.name, ...(m.unit !== 'string' && m.type !== 'time' ? { unit: m.unit } : {}) },
            })),
          }),
        ];
      }
    }
  }

  // ---- variables ----

  async metricFindQuery(query: CCVariableQuery | string, options?: { scopedVars?: ScopedVars }): Promise<MetricFindValue[]> {
    const q = migrateVariableQuery(query);
    const tenant = this.tenant(q.tenant, options?.scopedVars);
    const today = localDay(Date.now(), this.timezone);
    const last30 = { from: addDays(today, -29), to: today };
    const col = (frames: WireFrame[], name: string) => frames[0]?.fields.find((f) => f.name === name)?.values ?? [];
    const ask = async (body: Record<string, unknown>) => {
      const def = findReport(String(body.report));
      return (await this.request<QueryAnswer>('POST', '/query', { ...body, tenant }, def ? `${def.name} (${def.id})` : '')).frames;
    };
    switch (q.kind) {
      case 'groups': {
        const f = await ask({ report: 'live_groups', metrics: ['queue_length'] });
        const names = col(f, 'group_name');
        return col(f, 'group_id').map((id, i) => ({ text: String(names[i] ?? id), value: String(id) }));
      }
      case 'agents': {
        const f = await ask({ report: 'live_agents', metrics: ['name', 'work_no'] });
        const names = col(f, 'name');
        const nos = col(f, 'work_no');
        return col(f, 'agent_id').map((id, i) => ({
          text: `${names[i] ?? id}${nos[i] ? ` (${nos[i]})` : ''}`,
          value: String(id),
        }));
      }
      case 'categories': {
        const f = await ask({ report: 'category_top', ...last30 });
        return col(f, 'category').map((c) => ({ text: String(c), value: String(c) }));
      }
      case 'ticket_types': {
        const f = await ask({ report: 'ticket_type', metrics: ['total'], ...last30 });
        return col(f, 'ticket_type').map((c) => ({ text: String(c), value: String(c) }));
      }
      default:
        throw new ExporterError(`unknown variable query "${(q as { kind: string }).kind}"; use groups, agents, categories or ticket_types`);
    }
  }

  // ---- health ----

  async testDatasource(): Promise<TestDataSourceResponse> {
    if (!this.exporterUrl) return { status: 'error', message: 'Set the exporter URL (e.g. http://127.0.0.1:9470) first.' };
    try {
      await this.request('GET', '/health', undefined, 'the health check');
    } catch (err) {
      const e = err as ExporterError;
      if (e.status === 503)
        return { status: 'error', message: `The exporter at ${this.exporterUrl} answers but its database does not: ${e.message}` };
      return { status: 'error', message: e.message };
    }
    try {
      const catalog = await this.request<{ reports: Array<{ id: string; available?: boolean }> }>(
        'GET',
        '/reports',
        undefined,
        'the report catalog',
      );
      const available = catalog.reports.filter((r) => r.available).length;
      return {
        status: 'success',
        message: `Connected to the exporter at ${this.exporterUrl}: ${catalog.reports.length} reports, ${available} available now.`,
      };
    } catch (err) {
      return { status: 'error', message: (err as Error).message };
    }
  }

  /** The bundled catalog (same module the exporter answers from). */
  getReports(): ReportDef[] {
    return REPORTS;
  }
}
