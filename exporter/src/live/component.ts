/** The live monitoring component (监控): live state, /metrics and the live_* reports. */
import type { Component } from '../component.js';
import type { Config } from '../config.js';
import type { AppContext } from '../http/app.js';
import type { StoredEvent } from '../ingest/validate.js';
import { QueryError, type ReportQuery } from '../query/registry.js';
import { LogFollower } from './follow.js';
import { loadLiveStateAt, loadSessions } from './load.js';
import { createMetricsRegistry } from './metrics.js';
import { LiveState } from './state.js';
import { agentRows, groupRows, overviewRow } from './views.js';

export interface LiveOptions {
  /** The clock (epoch ms); tests move it across midnight. */
  now?: () => number;
  /** How long an ended session keeps its events in memory (LiveStateOptions.lateToleranceMs). */
  lateToleranceMs?: number;
}

/** The live component; `live` is exposed for tests and other components. */
export function liveComponent(
  config: Config,
  opts: LiveOptions = {},
): Component & { live: LiveState; follower(): LogFollower | undefined } {
  let ctxRef: AppContext | undefined;
  const live = new LiveState(config.timezone, opts.now ?? Date.now, {
    lateToleranceMs: opts.lateToleranceMs,
    maxEndedSessions: config.liveMaxEndedSessions,
    onReloadError: (err) => ctxRef?.log.error({ err }, 'live: reloading sessions for late events failed; retrying'),
  });
  let follower: LogFollower | undefined;
  // This replica's own writes reach its live state at once (as before replicas, and with the
  // clock of the moment); the follower then skips them when the log passes them. The rest of
  // the log (other replicas' writes, a batch whose answer was lost) comes through the follower.
  const onAccepted = (events: StoredEvent[], xid?: string) => {
    if (follower) follower.applyOwn(events, xid);
    else live.apply(events, live.now());
  };

  const read = (q: ReportQuery) => {
    live.tick();
    return { t: live.find(q.tenant), from: live.window.fromMs, now: live.now() };
  };

  return {
    name: 'live',
    live,
    follower: () => follower,
    async start(ctx) {
      ctxRef = ctx;
      live.setSessionLoader((tenant, ids, sinceDay) => loadSessions(ctx.pool, tenant, ids, sinceDay));
      const started = Date.now();
      const { events: n, snapshot } = await loadLiveStateAt(ctx.pool, live);
      ctx.log.info({ events: n, ms: Date.now() - started }, 'live state rebuilt from stored events');
      follower = new LogFollower({
        pool: ctx.pool,
        log: ctx.log,
        pollMs: config.liveFollowPollMs,
        origin: ctx.writer.origin,
        apply: (events) => live.apply(events, live.now()),
      });
      ctx.writer.on('accepted', onAccepted);
      follower.start(snapshot);
    },
    async stop() {
      ctxRef?.writer.off('accepted', onAccepted);
      await follower?.stop();
      live.close();
      await live.settled();
    },
    open(app, ctx) {
      const metrics = createMetricsRegistry(live, ctx);
      app.get('/metrics', async (_req, res, next) => {
        try {
          const body = await metrics.render();
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
        return { rows: groupRows(t, from, now, q.groups, (g) => config.serviceTargets.of(q.tenant, g)) };
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
