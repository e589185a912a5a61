import type { DataSourceJsonData } from '@grafana/data';
import type { DataQuery } from '@grafana/schema';

/** A T+1 report of the catalog (everything but live_* and sessions). */
export interface ReportQuery extends DataQuery {
  queryType: 'report';
  report: string;
  metrics: string[];
  groups: string[];
  agents: string[];
  filters?: Record<string, string>;
  format: 'table' | 'timeseries';
  tenant?: string;
}

export type LiveReport = 'live_overview' | 'live_groups' | 'live_agents';

export interface LiveQuery extends DataQuery {
  queryType: 'live';
  report: LiveReport;
  metrics: string[];
  groups: string[];
  /** live_agents only: substring of the agent's name or 工号. */
  name?: string;
  tenant?: string;
}

export interface SessionsQuery extends DataQuery {
  queryType: 'sessions';
  groups: string[];
  agents: string[];
  userId?: string;
  /** Scores "1".."5" (strings so that a variable can stand for them). */
  satisfaction?: string[];
  category?: string;
  /** yes/no, blank for both, or a dashboard variable that interpolates to one of them. */
  revisit?: '' | 'yes' | 'no' | `${string}$${string}`;
  remark?: string;
  limit?: number;
  tenant?: string;
}

export type SessionPart = 'summary' | 'legs' | 'parts' | 'transcript';

export interface SessionQuery extends DataQuery {
  queryType: 'session';
  sessionId: string;
  part: SessionPart;
  tenant?: string;
}

export type CCQuery = ReportQuery | LiveQuery | SessionsQuery | SessionQuery;
export type QueryType = CCQuery['queryType'];

export const DEFAULT_QUERY: Omit<ReportQuery, 'refId'> = {
  queryType: 'report',
  report: 'group_daily',
  metrics: [],
  groups: [],
  agents: [],
  format: 'table',
};

/** Variable query: which list to offer (api: live_groups, live_agents, category_top of 30 days, ticket_type). */
export interface CCVariableQuery {
  kind: 'groups' | 'agents' | 'categories' | 'ticket_types';
  tenant?: string;
}

/** The variable query as Grafana's variable editor and runner carry it (they may add a refId). */
export type CCVariableTarget = CCVariableQuery & DataQuery;

export interface CCOptions extends DataSourceJsonData {
  /** Exporter base URL as Grafana's server reaches it, e.g. http://cs-exporter:9470 */
  url?: string;
  /** IANA time zone of the tenants' days (the exporter's CS_TIMEZONE). */
  timezone?: string;
}

export interface CCSecureJsonData {
  apiToken?: string;
}

export const DEFAULT_TIMEZONE = 'Asia/Shanghai';
