/**
 * How the exporter itself is doing, for /metrics: prom-client's default
 * process, GC and event-loop metrics, and the exporter's own figures
 * (writer queue, ingest budget, pool, database reachability, rollups per
 * tenant, ingest refusals). Kept in a Registry of its own, not prom-client's
 * global one, so two exporters in one process (the tests) do not share
 * series; the live figures stay in the hand-written exposition (metrics.ts).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Pool } from './db/pool.js';
import { leasesOf } from './db/lease.js';
import type { IngestStats } from './http/ingest.js';
import { REFUSAL_REASONS, type RefusalReason } from './http/ingest.js';
import type { EventWriter } from './ingest/writer.js';
import { addDays, dayStartMs } from './time.js';
import type { AdapterStats } from './adapters/stats.js';

/** Per tenant: what the rollups did (fed by RollupService through `rollupDone`). */
interface RollupFigures {
  success: number;
  failure: number;
  lastDurationSeconds: number;
  lastSuccessMs: number | null;
  /** End (local midnight, ms) of the latest day rolled up after it had ended: the T+1 reports are final up to there. */
  finalThroughMs: number | null;
}

/** How often the database is probed for cs_exporter_database_up, and how long a probe may take. */
export const DB_PROBE_INTERVAL_MS = 10_000;
export const DB_PROBE_TIMEOUT_MS = 5_000;

export class SelfMetrics {
  readonly registry = new Registry();
  private readonly rollups = new Map<string, RollupFigures>();
  private dbUp: 0 | 1 | null = null;
  private dbLastOkMs: number | null = null;
  private probing = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: { pool: Pool; writer: EventWriter; ingestStats: IngestStats; timezone: string; adapters?: AdapterStats },
    private readonly probeIntervalMs = DB_PROBE_INTERVAL_MS,
  ) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    // Gauges named like counters, which `promtool check metrics` refuses; their
    // per-type twins (nodejs_active_handles{type} …) carry the same figures.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
      r.removeSingleMetric(name);
    const { writer, pool } = deps;

    new Gauge({
      name: 'cs_exporter_ingest_queue_requests',
      help: 'Ingest requests waiting for a database transaction (the writer queue).',
      registers: [r],
      collect() {
        this.set(writer.queued.requests);
      },
    });
    new Gauge({
      name: 'cs_exporter_ingest_queue_events',
      help: 'Events in the ingest requests waiting for a database transaction.',
      registers: [r],
      collect() {
        this.set(writer.queued.events);
      },
    });
    new Gauge({
      name: 'cs_exporter_ingest_transactions_in_flight',
      help: 'Ingest transactions being stored now.',
      registers: [r],
      collect() {
        this.set(writer.flushing);
      },
    });
    new Gauge({
      name: 'cs_exporter_ingest_budget_used',
      help: 'What admitted ingest requests hold of the in-flight budget (events; body bytes).',
      labelNames: ['resource'],
      registers: [r],
      collect() {
        this.set({ resource: 'events' }, writer.used.events);
        this.set({ resource: 'bytes' }, writer.used.bytes);
      },
    });
    new Gauge({
      name: 'cs_exporter_ingest_budget_limit',
      help: 'The ingest in-flight budget (CS_INGEST_MAX_EVENTS, CS_INGEST_MAX_BYTES); past it ingest answers 429.',
      labelNames: ['resource'],
      registers: [r],
      collect() {
        this.set({ resource: 'events' }, writer.budget.maxEvents);
        this.set({ resource: 'bytes' }, writer.budget.maxBytes);
      },
    });
    const refused = deps.ingestStats.refused ?? (deps.ingestStats.refused = new Map());
    const reasons: RefusalReason[] = [...Object.values(REFUSAL_REASONS), 'other'];
    new Counter({
      name: 'cs_exporter_ingest_requests_refused_total',
      help: 'Ingest requests answered with an error status, by reason (overloaded = 429 past the in-flight budget).',
      labelNames: ['reason'],
      registers: [r],
      collect() {
        // Every reason from the start, at 0: an increase() needs the series before the first refusal.
        this.reset();
        for (const reason of reasons) this.inc({ reason }, refused.get(reason) ?? 0);
      },
    });
    new Gauge({
      name: 'cs_exporter_db_pool_clients',
      help: 'Postgres pool clients by state (active = checked out), and the pool size (max).',
      labelNames: ['state'],
      registers: [r],
      collect() {
        this.set({ state: 'active' }, pool.totalCount - pool.idleCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'max' }, pool.options.max ?? 10);
      },
    });
    // Which background work this replica runs (docs/scale-out-replicas.md, "Background work runs once"):
    // across replicas exactly one holds each lease; none for minutes is CsRollupLeaseUnheld.
    new Gauge({
      name: 'cs_exporter_lease_held',
      help: 'Whether this exporter holds the lease of a background work (1) or not (0): rollup-scheduler, simulator.',
      labelNames: ['lease'],
      registers: [r],
      collect() {
        this.reset();
        const held = new Map<string, number>();
        for (const l of leasesOf(pool)) held.set(l.name, Math.max(held.get(l.name) ?? 0, l.held ? 1 : 0));
        for (const [lease, v] of held) this.set({ lease }, v);
      },
    });
    new Gauge({
      name: 'cs_exporter_db_pool_waiting',
      help: 'Queries waiting for a free pool client.',
      registers: [r],
      collect() {
        this.set(pool.waitingCount);
      },
    });
    const self = this;
    new Gauge({
      name: 'cs_exporter_database_up',
      help: `1 when the exporter's last database probe (SELECT 1, every ${DB_PROBE_INTERVAL_MS / 1000} s, ${DB_PROBE_TIMEOUT_MS / 1000} s at most) succeeded, 0 when it failed or hung.`,
      registers: [r],
      collect() {
        if (self.dbUp !== null) this.set(self.dbUp);
      },
    });
    new Gauge({
      name: 'cs_exporter_database_last_ok_timestamp_seconds',
      help: 'When the database last answered a probe (unix seconds).',
      registers: [r],
      collect() {
        if (self.dbLastOkMs !== null) this.set(self.dbLastOkMs / 1000);
      },
    });

    const perTenant = (name: string, help: string, value: (f: RollupFigures) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['tenant'],
        registers: [r],
        collect() {
          this.reset();
          for (const [tenant, f] of self.rollups) {
            const v = value(f);
            if (v !== null) this.set({ tenant }, v);
          }
        },
      });
    new Counter({
      name: 'cs_exporter_rollups_total',
      help: 'Day rollups (T+1 reports) run by this process, by tenant and result.',
      labelNames: ['tenant', 'result'],
      registers: [r],
      collect() {
        this.reset();
        for (const [tenant, f] of self.rollups) {
          this.inc({ tenant, result: 'success' }, f.success);
          this.inc({ tenant, result: 'failure' }, f.failure);
        }
      },
    });
    const adapters = deps.adapters;
    if (adapters) {
      new Counter({
        name: 'cs_exporter_adapter_items_total',
        help: 'Items of platform input (queue_log lines, webhook bodies, stream records) read by the adapters, by adapter and outcome (mapped, ignored, unknown, invalid).',
        labelNames: ['adapter', 'outcome'],
        registers: [r],
        collect() {
          this.reset();
          for (const { adapter, outcome, count } of adapters.snapshot()) this.inc({ adapter, outcome }, count);
        },
      });
      new Gauge({
        name: 'cs_exporter_adapter_last_item_timestamp_seconds',
        help: 'When an adapter last mapped an item of platform input into events (unix seconds).',
        labelNames: ['adapter'],
        registers: [r],
        collect() {
          this.reset();
          for (const { adapter, ms } of adapters.lastItems()) this.set({ adapter }, ms / 1000);
        },
      });
    }
    perTenant('cs_exporter_rollup_last_duration_seconds', 'Duration of the latest rollup of the tenant (successful or not).', (f) =>
      f.success + f.failure > 0 ? f.lastDurationSeconds : null,
    );
    perTenant('cs_exporter_rollup_last_success_timestamp_seconds', 'When a rollup of the tenant last succeeded (unix seconds).', (f) =>
      f.lastSuccessMs === null ? null : f.lastSuccessMs / 1000,
    );
    perTenant(
      'cs_exporter_rollup_final_through_timestamp_seconds',
      "End (local midnight, unix seconds) of the tenant's latest day rolled up after it ended: its T+1 reports are final up to there.",
      (f) => (f.finalThroughMs === null ? null : f.finalThroughMs / 1000),
    );
  }

  private tenant(t: string): RollupFigures {
    let f = this.rollups.get(t);
    if (!f) this.rollups.set(t, (f = { success: 0, failure: 0, lastDurationSeconds: 0, lastSuccessMs: null, finalThroughMs: null }));
    return f;
  }

  /** A rollup of `day` ended (at `atMs`, after `durationMs`). */
  rollupDone(tenant: string, day: string, ok: boolean, durationMs: number, atMs = Date.now()): void {
    const f = this.tenant(tenant);
    f.lastDurationSeconds = durationMs / 1000;
    if (!ok) {
      f.failure++;
      return;
    }
    f.success++;
    f.lastSuccessMs = atMs;
    const end = dayStartMs(addDays(day, 1), this.deps.timezone);
    // A rollup that started after the day ended is final.
    if (atMs - durationMs >= end && (f.finalThroughMs === null || end > f.finalThroughMs)) f.finalThroughMs = end;
  }

  /** Reads from report_rollups where each tenant's reports are final up to, so a restart does not forget it. */
  async loadRollupState(): Promise<void> {
    const { rows } = await this.deps.pool.query<{ tenant: string; day: string; rolled_at: Date }>(
      `SELECT DISTINCT ON (tenant) tenant, day::text AS day, rolled_at FROM report_rollups
       WHERE rolled_at >= ((day + 1)::timestamp AT TIME ZONE $1)
       ORDER BY tenant, day DESC`,
      [this.deps.timezone],
    );
    for (const row of rows) {
      const f = this.tenant(row.tenant);
      const end = dayStartMs(addDays(row.day, 1), this.deps.timezone);
      if (f.finalThroughMs === null || end > f.finalThroughMs) f.finalThroughMs = end;
      if (f.lastSuccessMs === null || row.rolled_at.getTime() > f.lastSuccessMs) f.lastSuccessMs = row.rolled_at.getTime();
    }
  }

  /** Starts probing the database (one probe at a time; a hung one counts as down). */
  start(): void {
    const probe = () => {
      if (this.probing) {
        this.dbUp = 0;
        return;
      }
      this.probing = true;
      let settled = false;
      const timeout = setTimeout(() => {
        if (!settled) this.dbUp = 0;
      }, DB_PROBE_TIMEOUT_MS);
      timeout.unref();
      this.deps.pool
        .query('SELECT 1')
        .then(
          () => {
            this.dbUp = 1;
            this.dbLastOkMs = Date.now();
          },
          () => {
            this.dbUp = 0;
          },
        )
        .finally(() => {
          settled = true;
          clearTimeout(timeout);
          this.probing = false;
        });
    };
    probe();
    this.timer = setInterval(probe, this.probeIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The exposition of this registry (prom-client's text format). */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
