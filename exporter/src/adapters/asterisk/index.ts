/** The Asterisk app_queue queue_log adapter: follow mode (a component) and `cs-exporter adapter asterisk import`. */
import type { ComponentFactory } from '../../component.js';
import { ConfigError } from '../../config.js';
import { loadMap } from './map-file.js';
import { QueueLogFollower } from './follow.js';
import { importCommand } from './import.js';

/** Idle unless CS_ASTERISK_QUEUE_LOG names a file. */
export const asteriskComponent: ComponentFactory = (config) => {
  let follower: QueueLogFollower | null = null;
  return {
    name: 'asterisk',
    async start(ctx) {
      const s = config.asterisk;
      if (!s?.queueLog) return;
      // The same bound as an event's own `tenant` field (ingest/schema.ts).
      if (s.tenant.length > 64) throw new ConfigError(`CS_ASTERISK_TENANT must be 1–64 characters, got ${s.tenant.length}`);
      follower = new QueueLogFollower(ctx, s.queueLog, s.tenant, loadMap(s.mapFile));
      await follower.start();
      ctx.log.info({ file: s.queueLog, tenant: s.tenant }, 'asterisk: following queue_log');
    },
    async stop() {
      await follower?.stop();
    },
  };
};

export const asteriskCommand = {
  help: 'import FILE... [--csv] [--from YYYY-MM-DD --to YYYY-MM-DD] [--tenant T] [--map FILE] [--url URL]',
  run: importCommand,
};
