/**
 * What every adapter (Asterisk queue_log, Chatwoot, Amazon Connect...) reports about its input,
 * for /metrics (`cs_exporter_adapter_items_total`, `cs_exporter_adapter_last_item_timestamp_seconds`)
 * and the log. Bad or unknown input is counted and logged with the offending line or body, never fatal.
 */
import type { Logger } from 'pino';

/**
 * What became of one item of an adapter's input (a queue_log line, a webhook body, a stream record):
 * - `mapped`: turned into one or more contract events and handed to ingest;
 * - `ignored`: understood, and deliberately carries nothing we count (e.g. typing notifications);
 * - `unknown`: well formed, but of a kind the adapter does not know (a new platform event);
 * - `invalid`: could not be read at all (a broken line, a body that is not JSON, a missing field).
 */
export type AdapterOutcome = 'mapped' | 'ignored' | 'unknown' | 'invalid';
export const ADAPTER_OUTCOMES: readonly AdapterOutcome[] = ['mapped', 'ignored', 'unknown', 'invalid'];

/** The most of an offending line or body a log line carries. */
export const LOGGED_INPUT_CHARS = 2_000;

export class AdapterStats {
  private readonly counts = new Map<string, Map<AdapterOutcome, number>>();
  private readonly lastItemMs = new Map<string, number>();

  count(adapter: string, outcome: AdapterOutcome, n = 1): void {
    let m = this.counts.get(adapter);
    if (!m) this.counts.set(adapter, (m = new Map()));
    m.set(outcome, (m.get(outcome) ?? 0) + n);
    if (outcome === 'mapped') this.lastItemMs.set(adapter, Date.now());
  }

  /** Counts `outcome` and logs the offending input (cut to LOGGED_INPUT_CHARS) with why it was not taken. */
  bad(log: Logger, adapter: string, outcome: Exclude<AdapterOutcome, 'mapped' | 'ignored'>, why: string, input: unknown): void {
    this.count(adapter, outcome);
    const text = typeof input === 'string' ? input : safeJson(input);
    log.warn(
      { adapter, outcome, input: text.length > LOGGED_INPUT_CHARS ? `${text.slice(0, LOGGED_INPUT_CHARS)}…` : text },
      `adapter ${adapter}: ${why}`,
    );
  }

  /** Per adapter and outcome, for /metrics and tests. */
  snapshot(): { adapter: string; outcome: AdapterOutcome; count: number }[] {
    return [...this.counts].flatMap(([adapter, m]) => [...m].map(([outcome, count]) => ({ adapter, outcome, count })));
  }

  lastItems(): { adapter: string; ms: number }[] {
    return [...this.lastItemMs].map(([adapter, ms]) => ({ adapter, ms }));
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
