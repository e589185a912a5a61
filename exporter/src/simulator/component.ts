/**
 * The built-in event source: with CS_SIMULATE on, backfills the previous
 * CS_SIMULATE_DAYS days and today up to now, then keeps a simulated contact
 * center running in real time. It posts to the exporter's own ingest API
 * (with the ingest token), exactly as an outside producer would.
 */
import type { ComponentFactory } from '../component.js';
import { Poster, Simulation } from './runner.js';

export const simulatorComponent: ComponentFactory = (config) => {
  let sim: Simulation | undefined;
  return {
    name: 'simulator',
    afterListen(url, ctx) {
      if (!config.simulate) return;
      const log = ctx.log.child({ component: 'simulator' });
      // Started in the background: health and ingest answer while the backfill runs.
      sim = new Simulation({
        size: { seed: config.simulateSeed, tenants: 1, groups: 6, agents: config.simulateAgents, traffic: 1, timezone: config.timezone },
        days: config.simulateDays,
        follow: true,
        post: new Poster(url, config.ingestToken, 2),
        log,
      });
      sim.done.catch((err) => log.error({ err }, 'simulator stopped'));
    },
    async stop() {
      await sim?.stop();
    },
  };
};
