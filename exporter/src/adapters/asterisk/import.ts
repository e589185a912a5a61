/**
 * `cs-exporter adapter asterisk import FILE...`: whole queue_log files (pipe format, or the realtime
 * table's CSV export) or the days --from..--to of them, posted to a running exporter's
 * POST /api/v1/events (so it goes through the one ingest: validated, durable, deduplicated). Files
 * are read in the order given, so list rotated files oldest first (queue_log.2 queue_log.1 queue_log):
 * a call that spans a rotation keeps its queue and agent. Importing twice stores nothing twice.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadConfig, ConfigError } from '../../config.js';
import { isDay, localDay } from '../../time.js';
import { QueueLogMapper, type AsteriskMap } from './mapper.js';
import { batches, splitLines, mapLine, type MappedLine } from './lines.js';
import { parseCsv } from './queue-log.js';
import { loadMap } from './map-file.js';

export interface ImportOptions {
  files: string[];
  /** Realtime-table CSV (also chosen by a .csv file name). */
  csv?: boolean;
  from?: string;
  to?: string;
  tenant?: string;
  map?: AsteriskMap;
  url: string;
  token?: string;
  /** Day boundaries of --from/--to (CS_TIMEZONE). */
  timezone: string;
  /** Wall clock of the CSV's time column (CS_ASTERISK_TIMEZONE). */
  csvTimezone: string;
  /** Where bad lines are reported (stderr by default). */
  warn?: (msg: string) => void;
}

export interface ImportSummary {
  lines: Record<'mapped' | 'ignored' | 'unknown' | 'invalid', number>;
  accepted: number;
  duplicates: number;
  rejected: number;
  /** Events left out by --from/--to. */
  outOfRange: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function mapFile(file: string, csv: boolean, mapper: QueueLogMapper, csvTz: string): MappedLine[] {
  const buf = readFileSync(file);
  if (!csv) {
    const { lines, rest } = splitLines(buf, 0);
    if (rest.length > 0) lines.push({ text: rest.toString('utf8'), end: buf.length });
    return lines.map((l) => mapLine(mapper, l));
  }
  return parseCsv(buf.toString('utf8'), csvTz).map(({ result, raw }, i) => {
    if (result.ok === 'blank') return { raw, end: i, outcome: 'blank', events: [] };
    if (result.ok === false) return { raw, end: i, outcome: 'invalid', why: result.error, events: [] };
    const m = mapper.map1(result.line);
    return { raw, end: i, outcome: m.outcome, why: m.why, events: m.outcome === 'mapped' ? m.events : [] };
  });
}

export async function importFiles(o: ImportOptions): Promise<ImportSummary> {
  const warn = o.warn ?? ((m: string) => console.error(m));
  const mapper = new QueueLogMapper(o.map ?? {});
  const sum: ImportSummary = {
    lines: { mapped: 0, ignored: 0, unknown: 0, invalid: 0 },
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    outOfRange: 0,
  };
  for (const file of o.files) {
    const csv = o.csv === true || file.toLowerCase().endsWith('.csv');
    const lines = mapFile(file, csv, mapper, o.csvTimezone);
    for (const l of lines) {
      if (l.outcome === 'blank') continue;
      sum.lines[l.outcome]++;
      if (l.outcome === 'unknown' || l.outcome === 'invalid') warn(`${file}: ${l.why}: ${l.raw.slice(0, 2000)}`);
      if (o.from || o.to) {
        const before = l.events.length;
        l.events = l.events.filter((e) => {
          const d = localDay(e.time, o.timezone);
          return (!o.from || d >= o.from) && (!o.to || d <= o.to);
        });
        sum.outOfRange += before - l.events.length;
      }
    }
    for (const batch of batches(lines, o.timezone)) {
      const items = batch.flatMap((l) => l.events.map((e) => ({ e: o.tenant ? { ...e, tenant: o.tenant } : e, raw: l.raw })));
      if (items.length === 0) continue;
      const answer = await post(o, items.map((i) => JSON.stringify(i.e)).join('\n'));
      sum.accepted += answer.accepted;
      sum.duplicates += answer.duplicates;
      sum.rejected += answer.rejectedCount ?? answer.rejected.length;
      for (const r of answer.rejected)
        warn(`${file}: the exporter rejected an event of this line (${r.error}): ${items[r.index].raw.slice(0, 2000)}`);
    }
  }
  return sum;
}

interface Answer {
  accepted: number;
  duplicates: number;
  rejected: { index: number; error: string }[];
  rejectedCount?: number;
}

/** Posts one NDJSON batch until the exporter takes it; 429 and 503 are waited out as Retry-After says. */
async function post(o: ImportOptions, body: string): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  for (let attempt = 1; ; attempt++) {
    let r: Response;
    try {
      r = await fetch(`${o.url.replace(/\/$/, '')}/api/v1/events`, { method: 'POST', headers, body, signal: AbortSignal.timeout(120_000) });
    } catch (err) {
      if (attempt >= 10) throw new Error(`the exporter at ${o.url} did not answer (${(err as Error).message}); nothing more was sent`);
      await sleep(Math.min(attempt, 5) * 1_000);
      continue;
    }
    const text = await r.text();
    if (r.status === 429 || r.status === 503) {
      await sleep(Math.min(Number(r.headers.get('retry-after')) || 1, 30) * 1_000);
      continue;
    }
    let answer: Answer & { error?: string };
    try {
      answer = JSON.parse(text);
    } catch {
      throw new Error(`the exporter answered ${r.status} without JSON: ${text.slice(0, 200)}`);
    }
    if (r.status === 200 || (r.status === 400 && Array.isArray(answer.rejected))) return answer;
    throw new Error(
      `the exporter answered ${r.status}: ${answer.error ?? text.slice(0, 200)}${r.status === 401 ? ' (set CS_INGEST_TOKEN)' : ''}`,
    );
  }
}

export async function importCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'import')
    throw new ConfigError(
      'usage: cs-exporter adapter asterisk import FILE... [--csv] [--from YYYY-MM-DD --to YYYY-MM-DD] [--tenant T] [--map FILE] [--url URL]',
    );
  const files: string[] = [];
  const opt: Record<string, string> = {};
  let csv = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--csv') csv = true;
    else if (['--from', '--to', '--tenant', '--map', '--url'].includes(a)) {
      const v = rest[++i];
      if (v === undefined) throw new ConfigError(`${a} needs a value`);
      opt[a.slice(2)] = v;
    } else if (a.startsWith('--')) throw new ConfigError(`unknown option ${a}`);
    else files.push(a);
  }
  if (files.length === 0) throw new ConfigError('name at least one queue_log file');
  for (const f of files) if (!existsSync(f)) throw new ConfigError(`no such file: ${f}`);
  for (const k of ['from', 'to'])
    if (opt[k] !== undefined && !isDay(opt[k])) throw new ConfigError(`--${k} must be a day YYYY-MM-DD, got "${opt[k]}"`);
  if (opt.from && opt.to && opt.to < opt.from) throw new ConfigError('--to must not be before --from');
  const config = loadConfig();
  let summary: ImportSummary;
  try {
    summary = await importFiles({
      files,
      csv,
      from: opt.from,
      to: opt.to,
      tenant: opt.tenant ?? process.env.CS_ASTERISK_TENANT,
      map: loadMap(opt.map ?? config.asterisk.mapFile),
      url: opt.url ?? process.env.CS_EXPORTER_URL ?? `http://127.0.0.1:${config.port}`,
      token: config.ingestToken,
      timezone: config.timezone,
      csvTimezone: config.asterisk.timezone,
    });
  } catch (err) {
    // What was sent before stays stored; running the same import again sends it as duplicates.
    console.error(`import stopped: ${(err as Error).message}`);
    process.exitCode = 1;
    return;
  }
  console.log(JSON.stringify(summary));
  if (summary.rejected > 0 || summary.lines.invalid > 0) process.exitCode = 1;
}
