/** Helpers for the live monitoring tests: an exporter with a settable clock, queries, /metrics parsing. */
import { loadConfig, type Config } from '../../src/config.js';
import { startExporter, type Exporter } from '../../src/exporter.js';
import { liveComponent } from '../../src/live/component.js';
import { createLogger } from '../../src/log.js';
import { postEvents, uid } from './events.js';

export interface Clock {
  ms: number;
}

export async function startLiveExporter(databaseUrl: string, clock: Clock, overrides: Partial<Config> = {}): Promise<Exporter> {
  const config: Config = { ...loadConfig({}), port: 0, databaseUrl, simulate: false, ...overrides };
  return startExporter(config, createLogger('silent'), [(c) => liveComponent(c, { now: () => clock.ms })]);
}

/** Posts events given as [epoch ms, body] pairs; fails loudly if any is not accepted. */
export async function post(url: string, events: [number, Record<string, unknown>][]): Promise<void> {
  const r = await postEvents(
    url,
    events.map(([time, e]) => ({ id: uid(String(e.type)), time, ...e })),
  );
  if (r.status !== 200 || r.body.accepted !== events.length) throw new Error(`events not accepted: ${JSON.stringify(r.body)}`);
}

/** The rows of a live report, as objects keyed by field id. */
export async function liveRows(url: string, body: Record<string, unknown>): Promise<Record<string, unknown>[]> {
  const r = await fetch(`${url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await r.json()) as any;
  if (r.status !== 200) throw new Error(`query ${JSON.stringify(body)} answered ${r.status}: ${JSON.stringify(json)}`);
  const fields = json.frames[0].fields as { name: string; values: unknown[] }[];
  const n = fields[0]?.values.length ?? 0;
  return Array.from({ length: n }, (_, i) => Object.fromEntries(fields.map((f) => [f.name, f.values[i]])));
}

/** /metrics as a map from `name{a="x",b="y"}` (labels sorted) to value. */
export async function scrape(url: string): Promise<Map<string, number>> {
  const r = await fetch(`${url}/metrics`);
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  return parseExposition(await r.text());
}

export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels = m[2] ? [...m[2].matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => `${x[1]}="${x[2]}"`).sort() : [];
    out.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return out;
}

/** A series key as parseExposition writes it. */
export function series(name: string, labels: Record<string, string> = {}): string {
  return `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',')}}`;
}
