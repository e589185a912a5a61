/** Local days in the tenants' time zone, the way the exporter counts them. */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Offset of `tz` from UTC at `ms` (Asia/Shanghai: +8 h). */
export function tzOffsetMs(ms: number, tz: string): number {
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(new Date(ms))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const whole = ms - (((ms % 1000) + 1000) % 1000);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - whole;
}

const pad = (n: number) => (n < 10 ? `0${n}` : String(n));

export function localDay(ms: number, tz: string): string {
  const d = new Date(ms + tzOffsetMs(ms, tz));
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

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

export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}
