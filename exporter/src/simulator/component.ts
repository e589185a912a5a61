/**
 * The built-in event source: with CS_SIMULATE on, backfills the previous
 * CS_SIMULATE_DAYS days and today up to now, then keeps a simulated contact
 * center running in real time. It posts to the exporter's own ingest API
 * (with the ingest token), exactly as an outside producer would.
 */
import type { ComponentFactory } from '../component.js';
import { Lease } from '../db/lease.js';
import { Poster, Simulation } from './runner.js';

export const simulatorComponent: ComponentFactory = (config) => {
  let sim: Simulation | undefined;
  let lease: Lease | undefined;
  return {
    name: 'simulator',
    afterListen(url, ctx) {
      if (!config.simulate) return;
      const log = ctx.log.child({ component: 'simulator' });
      // One simulated center across replicas: it runs where the lease is, and moves to a survivor
      // (whose backfill re-posts what was posted: the same seed gives the same ids, stored once).
      lease = new Lease(ctx.pool, 'simulator', {
        checkMs: config.leaseCheckMs,
        log,
        onAcquired() {
          // Started in the background: health and ingest answer while the backfill runs.
          sim = new Simulation({
            size: {
              seed: config.simulateSeed,
              tenants: 1,
              groups: 6,
              agents: config.simulateAgents,
              traffic: 1,
              timezone: config.timezone,
            },
            days: config.simulateDays,
            follow: true,
            post: new Poster(url, config.ingestToken, 2),
            log,
          });
          sim.done.catch((err) => log.error({ err }, 'simulator stopped'));
        },
        async onLost() {
          const s = sim;
          sim = undefined;
          await s?.stop();
        },
      });
      lease.start();
    },
    async stop() {
      await lease?.stop();
      await sim?.stop();
    },
  };
};
