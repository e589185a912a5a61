/**
 * The Postgres an e2e file runs against: the one the test runner gives (TEST_DATABASE_URL), or an
 * embedded server of its own when a file is run alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../exporter/src/db/embedded.js';
import { createLogger } from '../../exporter/src/log.js';
import { freePort } from '../../exporter/test/helpers/exporter.js';

export interface TestDatabase {
  url: string;
  /** Stops the embedded server and removes its data; nothing when the runner's database was used. */
  stop(): Promise<void>;
}

export async function testDatabase(name: string): Promise<TestDatabase> {
  const given = process.env.TEST_DATABASE_URL;
  if (given) return { url: given, stop: async () => {} };
  // A temp dir of its own, as the exporter's test runner does: the server runs as the postgres user, which must reach it.
  const dir = mkdtempSync(join(tmpdir(), `${name}-pg-`));
  const pg = await startEmbeddedPostgres(dir, await freePort(), createLogger('warn'));
  return {
    url: pg.url,
    async stop() {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
