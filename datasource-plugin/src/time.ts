/**
 * Local days in the tenants' time zone: the exporter's own arithmetic (so the
 * plugin and the exporter never disagree on a day), plus what the plugin needs
 * beside it.
 */
import { addDays, localDay, tzOffsetMs } from '@cs-data-ops/exporter/time';

export { addDays, localDay };

/** Epoch ms of local midnight starting `day`, plus `hour` hours. */
export function localTimeMs(day: string, tz: string, hour = 0): number {
  const [y, m, d] = day.split('-').map(Number);
  const guess = Date.UTC(y, m - 1, d, hour);
  // Two passes settle a DST edge; Asia/Shanghai has none, but tenants may be elsewhere.
  let ms = guess - tzOffsetMs(guess, tz);
  ms = guess - tzOffsetMs(ms, tz);
  return ms;
}

/**
 * The dashboard range as inclusive local days. `to` is taken 1 ms earlier so
 * that a range ending exactly at midnight does not pull in the next day.
 */
export function rangeDays(fromMs: number, toMs: number, tz: string): { from: string; to: string } {
  return { from: localDay(fromMs, tz), to: localDay(Math.max(fromMs, toMs - 1), tz) };
}
