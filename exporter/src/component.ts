/** The parts the exporter is made of beyond ingest (live state, rollups, simulator...). */
import type { Config } from './config.js';
import type { ApiExtension, AppContext, OpenExtension } from './http/app.js';
import type { ReportHandlers } from './query/registry.js';

/**
 * One part of the exporter. Life cycle: `start` before the HTTP server listens,
 * `afterListen` once its URL is known, `stop` (in reverse order) when the
 * exporter stops, before the server closes and the pool ends.
 */
export interface Component {
  name: string;
  start?(ctx: AppContext): Promise<void> | void;
  afterListen?(url: string, ctx: AppContext): Promise<void> | void;
  stop?(): Promise<void> | void;
  /** Routes behind the query API token (`/api/v1/...`). */
  api?: ApiExtension;
  /** Open routes at the top level (such as `/metrics`). */
  open?: OpenExtension;
  /** Reports of the catalog this component answers on POST /api/v1/query. */
  reports?: ReportHandlers;
}

export type ComponentFactory = (config: Config) => Component;
