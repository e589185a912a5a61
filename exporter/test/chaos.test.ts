/**
 * Chaos under load (issue 13, "Done when"): producers post batches with unique ids
 * and record what was acknowledged while the exporter is killed with SIGKILL at
 * random moments, and while its own Postgres (never the shared test server) is
 * crashed and restarted, frozen with SIGSTOP, and cut after a commit by a TCP proxy.
 * After each: acknowledged ⊆ stored, nothing stored twice, the live figures equal a
 * fresh exporter's on the same database, the exporter never exited unasked, and
 * health and /metrics answered within a second throughout (polled during the fault).
 * Bounded: CHAOS_ROUNDS kill rounds (5 by default), faults of a few seconds.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { exited, spawnExporter, startTestExporter, type ChildExporter } from './helpers/exporter.js';
import { conversations, figureDiff, liveFigures, sleep, waitFor, within } from './helpers/faults.js';
import { startOwnedPostgres, type OwnedPostgres } from './helpers/owned-postgres.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { INSERT_STATEMENT } from '../src/ingest/store.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';
const ROUNDS = Number(process.env.CHAOS_ROUNDS ?? 5);
const PRODUCERS = 4;
const SLOW_MS = 1_000;

interface Answer {
  /** When the request was sent (epoch ms). */
  at: number;
  status: number;
  ms: number;
  retryAfter: string | null;
}

/** Producers posting conversations until told to stop; a batch counts as acknowledged on a 200 only. */
class Load {
  readonly acked = new Set<string>();
  readonly answers: Answer[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  constructor(private readonly url: () => string | null) {}

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: PRODUCERS }, () => this.produce());
  }

  /** Stops after every batch in hand was acknowledged (a producer retries until it is). */
  async settle(ms = 60_000): Promise<void> {
    this.running = false;
    await within(ms, 'the producers to get their batches acknowledged', Promise.all(this.loops));
  }

  private async produce(): Promise<void> {
    while (this.running) {
      const batch = conversations(8);
      for (;;) {
        const url = this.url();
        if (url) {
          const t0 = Date.now();
          try {
            const r = await fetch(`${url}/api/v1/events`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(batch),
              signal: AbortSignal.timeout(30_000),
            });
            const body = (await r.json()) as { accepted: number; duplicates: number; rejected: unknown[] };
            this.answers.push({ at: t0, status: r.status, ms: Date.now() - t0, retryAfter: r.headers.get('retry-after') });
            if (r.status === 200) {
              assert.deepEqual(body.rejected, []);
              assert.equal(body.accepted + body.duplicates, batch.length);
              for (const e of batch) this.acked.add(e.id as string);
              break;
            }
            assert.equal(r.status, 503, `unexpected answer ${r.status} ${JSON.stringify(body)}`);
          } catch (err) {
            if (err instanceof assert.AssertionError) throw err;
            // No answer: the exporter is down (killed on purpose); the batch goes again.
          }
        }
        await sleep(100);
      }
    }
  }
}

/** Polls health and /metrics every 100 ms; every answer must come within a second. */
class Watch {
  readonly problems: string[] = [];
  readonly health: { status: number; retryAfter: string | null }[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];
  constructor(private readonly url: () => string | null) {
    this.loops = [this.poll('/api/v1/health', [200, 503]), this.poll('/metrics', [200])];
  }
  private async poll(path: string, ok: number[]): Promise<void> {
    while (!this.stopped) {
      const url = this.url();
      if (url) {
        const t0 = Date.now();
        try {
          const r = await fetch(url + path, { signal: AbortSignal.timeout(SLOW_MS) });
          await r.arrayBuffer();
          const ms = Date.now() - t0;
          if (!ok.includes(r.status)) this.problems.push(`${path} answered ${r.status}`);
          if (ms > SLOW_MS) this.problems.push(`${path} took ${ms} ms`);
          if (path.includes('health')) this.health.push({ status: r.status, retryAfter: r.headers.get('retry-after') });
        } catch (err) {
          if (this.url() === url) this.problems.push(`${path}: no answer within ${SLOW_MS} ms (${(err as Error).message})`);
        }
      }
      await sleep(100);
    }
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

describe('Chaos under load', { timeout: 15 * 60_000 }, () => {
  let db: OwnedPostgres;
  let proxy: TcpProxy;
  // A pool: its connections die with the crashed server and are made again.
  let admin: pg.Pool;
  let ex: ChildExporter | null = null;
  let killing = false;
  const crashes: string[] = [];
  const spawn = async () => {
    const child = await spawnExporter({ DATABASE_URL: proxy.url, CS_ROLLUP_INTERVAL_SECONDS: '0', CS_SIMULATE: '0' });
    child.child.once('exit', (code, signal) => {
      if (!killing) crashes.push(`the exporter exited (${code ?? signal}):\n${child.output().slice(-3000)}`);
    });
    return child;
  };
  const url = () => ex?.url ?? null;

  before(async () => {
    db = await startOwnedPostgres();
    proxy = await startTcpProxy(db.url);
    admin = new pg.Pool({ connectionString: db.url, max: 2 });
    admin.on('error', () => undefined);
  });
  after(async () => {
    killing = true;
    if (ex && ex.child.exitCode === null) {
      ex.child.kill('SIGKILL');
      await exited(ex.child);
    }
    await admin?.end().catch(() => undefined);
    await proxy?.close();
    await db?.destroy();
  });

  /** What must hold after every fault. */
  async function verify(load: Load): Promise<void> {
    assert.deepEqual(crashes, []);
    const ids = [...load.acked];
    const stored = await admin.query('SELECT count(*)::int AS n FROM events WHERE id = ANY($1)', [ids]);
    assert.equal(stored.rows[0].n, ids.length, 'every acknowledged event is stored');
    const twice = await admin.query('SELECT count(*)::int AS n, count(DISTINCT (tenant, id))::int AS d FROM events');
    assert.equal(twice.rows[0].n, twice.rows[0].d, 'no event is stored twice');
    const fresh = await startTestExporter(db.url);
    try {
      const want = await liveFigures(fresh.url);
      let diff = '';
      await waitFor(
        "live figures to equal a fresh exporter's",
        async () => ((diff = figureDiff(await liveFigures(ex!.url), want)) === '' ? true : undefined),
        15_000,
      ).catch((err: Error) => assert.fail(`${err.message}:\n${diff}`));
    } finally {
      await fresh.close();
    }
  }

  it(`When the exporter is killed with SIGKILL at random moments under load (${ROUNDS} rounds), then every acknowledged event is stored once and live figures are whole`, async () => {
    const load = new Load(url);
    load.start();
    for (let round = 0; round < ROUNDS; round++) {
      ex = await spawn();
      await sleep(300 + Math.random() * 1200);
      killing = true;
      const dying = ex;
      ex = null;
      dying.child.kill('SIGKILL');
      await exited(dying.child);
      killing = false;
    }
    ex = await spawn();
    await load.settle();
    assert.ok(load.acked.size > 0);
    await verify(load);
  });

  it('When Postgres crashes under load and comes back, then ingest answers 503 with Retry-After meanwhile, health and /metrics answer within a second, and the exporter recovers without a restart', async () => {
    ex ??= await spawn();
    const load = new Load(url);
    const watch = new Watch(url);
    load.start();
    await sleep(800);
    await db.crash();
    await sleep(2_000);
    await db.restart();
    await sleep(500);
    await load.settle();
    await watch.stop();
    assert.deepEqual(watch.problems, []);
    const refused = load.answers.filter((a) => a.status === 503);
    assert.ok(refused.length > 0, 'ingest answered 503 while the database was down');
    for (const a of refused) assert.ok(Number(a.retryAfter) > 0, '503 carries Retry-After');
    assert.ok(
      watch.health.some((h) => h.status === 503 && Number(h.retryAfter) > 0),
      'health said 503 with Retry-After',
    );
    await verify(load);
  });

  it('When Postgres is frozen (SIGSTOP) under load, then ingest gets fast 503s with Retry-After, health and /metrics answer within a second, and all is well after SIGCONT', async (t) => {
    ex ??= await spawn();
    const load = new Load(url);
    const watch = new Watch(url);
    load.start();
    await sleep(800);
    const frozenAt = Date.now();
    db.freeze();
    try {
      // Long enough for the ingest timeout (CS_DB_INGEST_TIMEOUT_MS, 5 s) to answer a batch caught inside, and then some.
      await sleep(8_000);
    } finally {
      db.thaw();
    }
    const duringFreeze = load.answers.filter((a) => a.status === 503);
    await load.settle();
    await watch.stop();
    assert.deepEqual(watch.problems, []);
    assert.ok(duringFreeze.length > 0, 'ingest answered 503 while the database was frozen');
    for (const a of duringFreeze) {
      assert.ok(Number(a.retryAfter) > 0, '503 carries Retry-After');
      // At worst: the ingest timeout of the batch caught in the freeze, then a connect timeout.
      assert.ok(a.ms < 9_000, `a 503 took ${a.ms} ms`);
    }
    assert.ok(
      watch.health.some((h) => h.status === 503 && Number(h.retryAfter) > 0),
      'health said 503 with Retry-After',
    );
    // Once the batches caught in the freeze were answered (ingest timeout, 5 s), the next ones are refused after a
    // short probe (the health timeout) instead of each waiting out the ingest timeout on another frozen connection.
    const later = duringFreeze.filter((a) => a.at >= frozenAt + 6_000);
    t.diagnostic(`503s during the freeze: ${duringFreeze.length}; sent 6 s in: ${later.map((a) => a.ms).join(', ')} ms`);
    assert.ok(later.length > 0, 'producers were refused late in the freeze');
    for (const a of later) assert.ok(a.ms < 1_500, `a 503 late in the freeze took ${a.ms} ms`);
    assert.ok(Date.now() - frozenAt < 60_000);
    await verify(load);
  });

  it('When connections are cut right after their commit under load, then the producers retry, and every event is stored once and counted once', async () => {
    ex ??= await spawn();
    const load = new Load(url);
    const watch = new Watch(url);
    load.start();
    await sleep(500);
    for (let i = 0; i < 3; i++) {
      const before = proxy.cuts();
      // The ingest statement is prepared: its text crosses the wire once per connection, its name with every batch (Bind).
      proxy.cutAfterCommit(INSERT_STATEMENT);
      await waitFor('the proxy to cut a connection after a commit', () => (proxy.cuts() > before ? true : undefined), 15_000);
      await sleep(300);
    }
    await load.settle();
    await watch.stop();
    assert.deepEqual(watch.problems, []);
    await verify(load);
  });
});
