/**
 * Local days in the tenants' time zone: the exporter's own arithmetic (so the
 * plugin and the exporter never disagree on a day), plus what the plugin needs
 * beside it.
 */
import { addDays, localDay, rangeDays, tzOffsetMs } from '@cs-data-ops/exporter/time';

// rangeDays is the exporter's: a panel and its download cut the same days.
export { addDays, localDay, rangeDays };

/** Epoch ms of local midnight starting `day`, plus `hour` hours. */
export function localTimeMs(day: string, tz: string, hour = 0): number {
  const [y, m, d] = day.split('-').map(Number);
  const guess = Date.UTC(y, m - 1, d, hour);
  // Two passes settle a DST edge; Asia/Shanghai has none, but tenants may be elsewhere.
  let ms = guess - tzOffsetMs(guess, tz);
  ms = guess - tzOffsetMs(ms, tz);
  return ms;
}
