/**
 * A lease for background work that must run once across replicas (the rollup
 * scheduler, the simulator): a session-level advisory lock held on a dedicated
 * connection. Postgres releases it when that session ends, so when the holder
 * dies (kill -9: its socket closes at once) a survivor takes it at its next try.
 * Design and bounds: docs/scale-out-replicas.md.
 */
import pg from 'pg';
import type { Logger } from 'pino';

// Any constant: the lease's class. The second key is the name's hash.
const LEASE_CLASS = 4_247_016;

export interface LeaseOptions {
  /** How often a replica without the lease tries for it, and how often the holder checks its session is alive. */
  checkMs: number;
  log: Logger;
  /** Starts the work; called when the lease is taken. */
  onAcquired(): void | Promise<void>;
  /** Stops the work; called when the lease is lost (its session ended) and at stop(). */
  onLost(): void | Promise<void>;
}

// The leases created on each pool, i.e. by each exporter (one pool per exporter, also when tests run two
// in one process): what cs_exporter_lease_held shows (self-metrics.ts).
const leasesByPool = new WeakMap<pg.Pool, Set<Lease>>();

/** The leases of the exporter that owns `pool`, held or not, in creation order. */
export function leasesOf(pool: pg.Pool): Lease[] {
  return [...(leasesByPool.get(pool) ?? [])];
}

export class Lease {
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private holding = false;
  private failures = 0;
  /** Acquisitions so far (tests, logs). */
  acquisitions = 0;

  constructor(
    private readonly pool: pg.Pool,
    readonly name: string,
    private readonly opts: LeaseOptions,
  ) {
    let set = leasesByPool.get(pool);
    if (!set) leasesByPool.set(pool, (set = new Set()));
    set.add(this);
  }

  get held(): boolean {
    return this.holding;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops the work (if held), then ends the session, which releases the lock. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.loop;
    await this.lose(null);
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.loop = this.check()
        .then(() => {
          this.failures = 0;
        })
        .catch((err) => {
          // Once per outage, not at every check.
          if (this.failures++ === 0) this.opts.log.warn({ err, lease: this.name }, 'lease: cannot reach the database; retrying');
        })
        .finally(() => this.schedule(this.opts.checkMs));
    }, ms);
    this.timer.unref();
  }

  /** One try: take the lock when free, or prove the session holding it is still there. */
  private async check(): Promise<void> {
    if (!this.client) this.client = await this.connect();
    const c = this.client;
    try {
      if (this.holding) {
        // The lock lives as long as this session: a round trip shows it still does. Its failure
        // (the session was terminated, the server restarted) means another replica may hold it now.
        await c.query('SELECT 1');
        return;
      }
      const { rows } = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LEASE_CLASS, this.name]);
      if (!rows[0].ok || this.stopped) return;
      this.holding = true;
      this.acquisitions++;
      this.opts.log.info({ lease: this.name }, 'lease taken: this replica runs the work');
      await this.opts.onAcquired();
    } catch (err) {
      this.client = null;
      c.end().catch(() => undefined);
      await this.lose('its database session ended');
      throw err;
    }
  }

  private async connect(): Promise<pg.Client> {
    // The pool's settings (the URL, the embedded server's password, timeouts), on a connection of its own.
    const o = this.pool.options as pg.ClientConfig;
    const c = new pg.Client({ ...o, application_name: `cs-exporter lease ${this.name}`, statement_timeout: this.opts.checkMs * 2 });
    const failed = (why: string) => {
      if (this.client !== c) return;
      this.client = null;
      void this.lose(why);
    };
    // A broken connection (server restart, terminated backend) must not take the process down.
    c.on('error', (err) => failed(`its database connection failed: ${err.message}`));
    c.on('end', () => failed('its database connection ended'));
    try {
      await c.connect();
    } catch (err) {
      c.end().catch(() => undefined);
      throw err;
    }
    // A holder that stops answering (frozen, cut off by the network) loses the lock on the server's side
    // within a bounded time, since its checks stop: Postgres ends an idle session after this long.
    // (Postgres 14 and later; on an older server the lock is still released when the connection drops.)
    await c.query(`SET idle_session_timeout = ${Math.max(1_000, this.opts.checkMs * 5)}`).catch((err: Error) => {
      this.opts.log.warn(
        { err, lease: this.name },
        'lease: idle_session_timeout not available; a frozen holder keeps the lease until its connection drops',
      );
    });
    return c;
  }

  /** Stops the work; `why` is null for an orderly stop (the exporter is stopping). */
  private async lose(why: string | null): Promise<void> {
    if (!this.holding) return;
    this.holding = false;
    if (why === null) this.opts.log.info({ lease: this.name }, 'lease released: stopping');
    else this.opts.log.warn({ lease: this.name, why }, 'lease lost: the work stops here (another replica takes it)');
    try {
      await this.opts.onLost();
    } catch (err) {
      this.opts.log.error({ err, lease: this.name }, 'lease: stopping the work failed');
    }
  }
}
