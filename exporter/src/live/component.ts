/** The live monitoring component (监控): live state, /metrics and the live_* reports. */
import type { Component } from '../component.js';
import type { Config } from '../config.js';
import type { AppContext } from '../http/app.js';
import type { StoredEvent } from '../ingest/validate.js';
import { QueryError, type ReportQuery } from '../query/registry.js';
import { loadLiveState } from './load.js';
import { createMetricsRegistry } from './metrics.js';
import { LiveState } from './state.js';
import { agentRows, groupRows, overviewRow } from './views.js';

export interface LiveOptions {
  /** The clock (epoch ms); tests move it across midnight. */
  now?: () => number;
}

/** The live component; `live` is exposed for tests and other components. */
export function liveComponent(config: Config, opts: LiveOptions = {}): Component & { live: LiveState } {
  const live = new LiveState(config.timezone, opts.now ?? Date.now);
  let ctxRef: AppContext | undefined;
  const onAccepted = (events: StoredEvent[]) => live.apply(events, live.now());

  const read = (q: ReportQuery) => {
    live.tick();
    return { t: live.find(q.tenant), from: live.window.fromMs, now: live.now() };
  };

  return {
    name: 'live',
    live,
    async start(ctx) {
      ctxRef = ctx;
      const started = Date.now();
      const n = await loadLiveState(ctx.pool, live);
      ctx.log.info({ events: n, ms: Date.now() - started }, 'live state rebuilt from stored events');
      ctx.writer.on('accepted', onAccepted);
    },
    stop() {
      ctxRef?.writer.off('accepted', onAccepted);
    },
    open(app, ctx) {
      const metrics = createMetricsRegistry(live, ctx);
      app.get('/metrics', (_req, res, next) => {
        try {
          const body = metrics.render();
          // res.end rather than res.send: no ETag (a hash of the whole body) for a text that changes every scrape.
          res.setHeader('Content-Type', metrics.contentType);
          res.setHeader('Content-Length', body.length);
          res.end(body);
        } catch (err) {
          next(err);
        }
      });
    },
    reports: {
      live_overview(q) {
        const { t, from, now } = read(q);
        if (!t) return { rows: [] };
        return { rows: [overviewRow(t, from, now)] };
      },
      live_groups(q) {
        const { t, from, now } = read(q);
        if (!t) return { rows: [] };
        return { rows: groupRows(t, from, now, q.groups) };
      },
      live_agents(q) {
        const name = q.filters.name;
        if (name !== undefined && typeof name !== 'string') throw new QueryError('filters.name: must be a string (part of a name or 工号)');
        const { t, from, now } = read(q);
        if (!t) return { rows: [] };
        return { rows: agentRows(t, from, now, { groups: q.groups, agents: q.agents, name }) };
      },
    },
  };
}
