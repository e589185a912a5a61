/**
 * A Postgres owned by one test file, for faults the shared test server must never
 * see: stopped (immediate shutdown, as a crash), frozen (SIGSTOP) and restarted.
 * It is the exporter's own embedded Postgres (src/db/embedded.ts), on a free port
 * in a temporary directory; `destroy` stops it and removes the directory.
 */
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.js';
import { createLogger } from '../../src/log.js';
import { freePort } from './exporter.js';

export interface OwnedPostgres {
  url: string;
  port: number;
  /** The postmaster's pid (read from postmaster.pid, which the server writes). */
  pid(): number;
  /** SIGSTOP the postmaster and every backend: connections stay open and nothing answers. */
  freeze(): void;
  thaw(): void;
  /** Immediate shutdown (what `pg_ctl stop -m immediate` sends): no checkpoint, crash recovery at the next start. */
  crash(): Promise<void>;
  /** Starts it again on the same data and port. */
  restart(): Promise<void>;
  destroy(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pids whose parent is `ppid` (/proc: the backends of a postmaster). */
function children(ppid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // Field 4 of /proc/<pid>/stat, after the parenthesised command name.
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(d));
    } catch {
      // The process ended meanwhile.
    }
  }
  return out;
}

export async function startOwnedPostgres(): Promise<OwnedPostgres> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cs-owned-pg-'));
  const port = await freePort();
  const log = createLogger('warn');
  let pg: EmbeddedPostgres | undefined = await startEmbeddedPostgres(dir, port, log);
  const url = pg.url;
  const pidFile = path.join(dir, 'pg', 'postmaster.pid');
  const pid = () => Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  let frozen: number[] = [];
  const thaw = () => {
    for (const p of frozen) {
      try {
        process.kill(p, 'SIGCONT');
      } catch {}
    }
    frozen = [];
  };
  return {
    url,
    port,
    pid,
    freeze() {
      const main = pid();
      // The postmaster first, so it starts no backend meanwhile.
      frozen = [main];
      process.kill(main, 'SIGSTOP');
      for (const c of children(main)) {
        try {
          process.kill(c, 'SIGSTOP');
          frozen.push(c);
        } catch {}
      }
    },
    thaw,
    async crash() {
      const main = pid();
      process.kill(main, 'SIGQUIT');
      const until = Date.now() + 30_000;
      while (alive(main) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      if (alive(main)) throw new Error(`postgres ${main} did not stop`);
      pg = undefined;
    },
    async restart() {
      pg = await startEmbeddedPostgres(dir, port, log);
    },
    async destroy() {
      thaw();
      await pg?.stop();
      pg = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
