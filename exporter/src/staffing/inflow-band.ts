/**
 * cs_inflow_forecast on /metrics (流入异常): the current 30-minute slot's forecast and band per
 * tenant and skill group, so that a Prometheus rule can hold the live inflow rate against it.
 * The forecast reads eight weeks of rolled-up history: it is computed once per tenant and slot
 * (the first scrape of a slot waits for it briefly) and the lines are kept for the slot's scrapes.
 */
import type { Logger } from 'pino';
import type { Pool } from '../db/pool.js';
import { slotBands } from '../reports/forecast.js';
import { localDay, tzOffsetMs } from '../time.js';
import { slotOf } from './forecast.js';
import type { ServiceTargets } from './targets.js';

const HEADER =
  '# HELP cs_inflow_forecast Forecast inflow of the group in the current 30-minute slot (legs per 30 minutes; 排班建议), with its band: bound = expected, lower, upper.\n# TYPE cs_inflow_forecast gauge\n';
/** How long a scrape waits for a slot's first computation before answering without it. */
const WAIT_MS = 2_000;
/** After a failed computation (database away), the next try. */
const RETRY_MS = 60_000;

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

interface Entry {
  /** `day slot` the lines are for. */
  key: string;
  lines: string;
  /** While being computed. */
  pending?: Promise<void>;
  failedAtMs?: number;
}

export class InflowBands {
  private readonly entries = new Map<string, Entry>();
  /** Computations run, for the tests and the logs. */
  computed = 0;

  constructor(
    private readonly pool: Pool,
    private readonly tz: string,
    private readonly targets: ServiceTargets,
    private readonly log: Logger,
  ) {}

  /** The family's exposition text for `tenants` at `nowMs` (the header alone when none has a forecast). */
  async text(tenants: string[], nowMs: number): Promise<string> {
    const local = new Date(nowMs + tzOffsetMs(nowMs, this.tz));
    const day = localDay(nowMs, this.tz);
    const slot = slotOf(local.getUTCHours(), local.getUTCMinutes());
    const key = `${day} ${slot}`;
    const waits: Promise<void>[] = [];
    for (const tenant of tenants) {
      let e = this.entries.get(tenant);
      if (e?.key === key && (e.pending || e.failedAtMs === undefined || nowMs - e.failedAtMs < RETRY_MS)) {
        if (e.pending) waits.push(e.pending);
        continue;
      }
      if (!e || e.key !== key) this.entries.set(tenant, (e = { key, lines: '' }));
      const entry = e;
      entry.failedAtMs = undefined;
      entry.pending = this.compute(tenant, day, slot)
        .then((lines) => {
          if (entry.key === key) entry.lines = lines;
        })
        .catch((err) => {
          entry.failedAtMs = Date.now();
          this.log.warn({ err, tenant, day, slot }, 'inflow forecast for /metrics failed; retrying in a minute');
        })
        .finally(() => (entry.pending = undefined));
      waits.push(entry.pending);
    }
    if (waits.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(waits), new Promise<void>((resolve) => (timer = setTimeout(resolve, WAIT_MS)))]);
      clearTimeout(timer);
    }
    let out = HEADER;
    for (const tenant of tenants) {
      const e = this.entries.get(tenant);
      if (e?.key === key) out += e.lines;
    }
    return out;
  }

  private async compute(tenant: string, day: string, slot: number): Promise<string> {
    this.computed++;
    const bands = await slotBands(this.pool, tenant, day, slot, this.targets);
    let lines = '';
    const t = escapeLabel(tenant);
    for (const b of bands) {
      const g = escapeLabel(b.group);
      lines += `cs_inflow_forecast{tenant="${t}",group="${g}",bound="expected"} ${b.expected}\n`;
      lines += `cs_inflow_forecast{tenant="${t}",group="${g}",bound="lower"} ${b.lower}\n`;
      lines += `cs_inflow_forecast{tenant="${t}",group="${g}",bound="upper"} ${b.upper}\n`;
    }
    return lines;
  }
}
