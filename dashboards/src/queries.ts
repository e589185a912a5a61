import * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';

// The plugin's own query model: a change there that the dashboards' queries no longer fit fails
// the dashboards' typecheck (test/plugin-model.test.ts), instead of shipping panels the plugin misreads.
// Types only, erased at run time: neither tsx nor tsc needs the plugin built.
import type { CCQuery, LiveReport, SessionPart, SessionsQuery } from '../../datasource-plugin/src/types.js';

/** Provisioned datasource uids (provisioning/grafana/datasources), fixed by the shared contract. */
export const CS_DATASOURCE = { type: 'csdataops-contactcenter-datasource', uid: 'cs-exporter' } as const;
export const PROMETHEUS = { type: 'prometheus', uid: 'prometheus' } as const;

// Grafana's DataQuery envelope (refId, datasource, hide, key) is the panel's business, not the model's.
type Envelope = 'refId' | 'datasource' | 'hide' | 'key';
type Model<Q> = Q extends CCQuery ? Omit<Q, Envelope> & { tenant: string } : never;

/** One of the plugin's queries (datasource-plugin/src/types.ts `CCQuery`); dashboards always name the tenant. */
export type CsQueryModel = Model<CCQuery>;

export type CsQuery = CsQueryModel & { refId?: string; datasource: typeof CS_DATASOURCE; hide?: boolean };

// Dashboards always scope to the URL's tenant, and a multi-value variable is interpolated by the plugin.
const TENANT = '${tenant}';
const GROUPS = ['${group}'];
const AGENTS = ['${agent}'];

/**
 * A query of the contact-center datasource plugin, as a foundation-SDK builder so that panels take
 * it like any core query. The SDK's only requirement on a query is the `Dataquery` marker method;
 * it is a function, so it disappears when the dashboard is serialised to JSON.
 */
export class CsQueryBuilder implements cog.Builder<cog.Dataquery> {
  private readonly internal: CsQuery & cog.Dataquery;

  private constructor(model: CsQueryModel) {
    this.internal = { refId: undefined, datasource: CS_DATASOURCE, ...model, _implementsDataqueryVariant: () => {} };
    delete this.internal.refId;
  }

  /** A 报表 query; `groups`/`agents` default to the dashboard's variables when the report honours them. */
  static report(
    report: string,
    metrics: string[],
    opts: { groups?: string[]; agents?: string[]; filters?: Record<string, string>; format?: 'table' | 'timeseries' } = {},
  ): CsQueryBuilder {
    return new CsQueryBuilder({
      queryType: 'report',
      report,
      metrics,
      groups: opts.groups ?? [],
      agents: opts.agents ?? [],
      ...(opts.filters ? { filters: opts.filters } : {}),
      format: opts.format ?? 'table',
      tenant: TENANT,
    });
  }

  static live(report: LiveReport, metrics: string[], opts: { groups?: string[]; name?: string } = {}) {
    return new CsQueryBuilder({
      queryType: 'live',
      report,
      metrics,
      groups: opts.groups ?? [],
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      tenant: TENANT,
    });
  }

  static sessions(filters: Omit<Model<SessionsQuery>, 'queryType' | 'tenant' | 'groups' | 'agents'>) {
    return new CsQueryBuilder({ queryType: 'sessions', groups: GROUPS, agents: AGENTS, ...filters, tenant: TENANT });
  }

  static session(part: SessionPart) {
    return new CsQueryBuilder({ queryType: 'session', sessionId: '${session}', part, tenant: TENANT });
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  build(): cog.Dataquery {
    return this.internal;
  }
}

export const VAR_GROUPS = GROUPS;
export const VAR_AGENTS = AGENTS;

/** A PromQL query on the provisioned Prometheus. */
export function promQuery(expr: string, legend: string, opts: { instant?: boolean } = {}) {
  const q = new prometheus.DataqueryBuilder().datasource(PROMETHEUS).expr(expr).legendFormat(legend);
  return opts.instant ? q.instant().format(prometheus.PromQueryFormat.Table) : q.range();
}

/**
 * The labels that tell the copies of one live series apart. The live series (cs_* but cs_exporter_*,
 * and cs_exporter_last_event_timestamp_seconds, read from the same live state) follow the shared event
 * log and are the same on every exporter replica; Prometheus scrapes each replica
 * (provisioning/prometheus/prometheus.replicas.yml), so each arrives once per replica, differing only in
 * `instance` and `replica`. docs/scale-out-replicas.md, "Prometheus and the dashboards: no double counting".
 */
export const REPLICA_LABELS = 'instance, replica';

/**
 * One copy of a live gauge, to sum or compare: `max without (instance, replica) (metric{matchers})`.
 * A no-op with one exporter. Every PromQL of a live series goes through this or `liveRate`, before any
 * sum, so two replicas never double a figure.
 */
export function live(metric: string, matchers = ''): string {
  return `max without (${REPLICA_LABELS}) (${metric}${matchers ? `{${matchers}}` : ''})`;
}

/**
 * One copy of a live counter's rate (or increase): the function first, per replica, then the copy
 * (`max without` of raw counters would mix two series' resets and scrape times into one).
 */
export function liveRate(metric: string, matchers: string, window: string, fn: 'rate' | 'increase' = 'rate'): string {
  return `max without (${REPLICA_LABELS}) (${fn}(${metric}${matchers ? `{${matchers}}` : ''}[${window}]))`;
}
