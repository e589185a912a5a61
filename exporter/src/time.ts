/**
 * Local-day arithmetic in the tenants' time zone. Reports and "today" both
 * hinge on these, so they live in one place.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();
// Offsets only change on whole quarter hours, so one lookup per bucket is exact.
const BUCKET_MS = 15 * 60 * 1000;
const offsetCache = new Map<string, Map<number, number>>();

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

/** Offset of `tz` from UTC at instant `ms`, in milliseconds (Asia/Shanghai: +8 h). */
export function tzOffsetMs(ms: number, tz: string): number {
  let byBucket = offsetCache.get(tz);
  if (!byBucket) {
    byBucket = new Map();
    offsetCache.set(tz, byBucket);
  }
  const bucket = Math.floor(ms / BUCKET_MS);
  let offset = byBucket.get(bucket);
  if (offset === undefined) {
    const probe = bucket * BUCKET_MS;
    const parts: Record<string, number> = {};
    for (const p of formatter(tz).formatToParts(new Date(probe))) {
      if (p.type !== 'literal') parts[p.type] = Number(p.value);
    }
    const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
    offset = asUtc - probe;
    if (byBucket.size > 100_000) byBucket.clear();
    byBucket.set(bucket, offset);
  }
  return offset;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** The local calendar day (YYYY-MM-DD) of instant `ms` in `tz`. */
export function localDay(ms: number, tz: string): string {
  const d = new Date(ms + tzOffsetMs(ms, tz));
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** The local hour (0–23) of instant `ms` in `tz`. */
export function localHour(ms: number, tz: string): number {
  return new Date(ms + tzOffsetMs(ms, tz)).getUTCHours();
}

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written YYYY-MM-DD. */
export function isDay(s: string): boolean {
  const m = DAY_RE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

const dayStarts = new Map<string, number>();

/**
 * The instant (epoch ms) at which local day `day` begins in `tz`: its first instant, read from the
 * time zone database. Usually local midnight; where midnight does not exist (DST starting at 00:00,
 * as in America/Santiago, America/Havana, America/Asuncion) the day begins at the transition
 * (01:00 local), and where midnight happens twice, at the first.
 */
export function dayStartMs(day: string, tz: string): number {
  const key = `${tz}\u0000${day}`;
  const cached = dayStarts.get(key);
  if (cached !== undefined) return cached;
  const m = DAY_RE.exec(day);
  if (!m) throw new Error(`not a day: ${day}`);
  const naive = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Two passes give local midnight when it exists once.
  let start = naive - tzOffsetMs(naive, tz);
  start = naive - tzOffsetMs(start, tz);
  if (!(localDay(start, tz) === day && localDay(start - 1, tz) < day)) {
    // No midnight, or two: the first quarter hour that is already `day` (every offset and
    // transition of the zones since 1970 falls on a quarter hour). UTC offsets stay within
    // -12 h … +14 h, so the day begins within 15 h of `naive`.
    start = Math.floor((naive - 15 * 3600_000) / BUCKET_MS) * BUCKET_MS;
    while (localDay(start, tz) < day) start += BUCKET_MS;
  }
  if (dayStarts.size > 10_000) dayStarts.clear();
  dayStarts.set(key, start);
  return start;
}

/** `day` moved by `n` calendar days. */
export function addDays(day: string, n: number): string {
  const m = DAY_RE.exec(day);
  if (!m) throw new Error(`not a day: ${day}`);
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + n));
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/**
 * A time range [fromMs, toMs) as inclusive local days in `tz`: what a Grafana range means for a
 * day-grained report. `to` is taken 1 ms earlier so that a range ending exactly at local midnight
 * (Grafana's `now-1d/d` ends at 23:59:59.999, a hand-made one at 00:00) does not pull in the next day.
 * The datasource plugin (datasource-plugin/src/time.ts) and the export cut days with this rule, so a
 * download holds the days its panel shows.
 */
export function rangeDays(fromMs: number, toMs: number, tz: string): { from: string; to: string } {
  return { from: localDay(fromMs, tz), to: localDay(Math.max(fromMs, toMs - 1), tz) };
}
