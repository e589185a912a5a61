/**
 * `npm run bench`: ingest, scrape, rollup, query and memory, each beside a
 * baseline measured in the same run (this machine is noisy; ratios travel
 * better than absolute figures). Prints a table and writes bench/results/.
 *
 *   npm run bench                       everything at full size
 *   npm run bench -- --only ingest,scrape
 *   npm run bench -- --scale 0.05       a quick run at 5% of the volumes
 *   npm run bench -- --only overload    producers saturating ingest; webhooks (one event a request)
 *   npm run bench -- --only forecast    排班建议: forecast and staffing of 200 groups from 8 weeks of history
 *   npm run bench -- --only replicas    two replicas on one database: acknowledged on one, shown by the other after how long
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateDay } from './gen.js';
import { benchIngest } from './ingest.js';
import { benchMemory, benchScrape } from './live.js';
import { benchQuery, benchRollup } from './reports.js';
import { benchOverload } from './overload.js';
import { benchForecast } from './forecast.js';
import { benchReplicas } from './replicas.js';
import { benchServer, exporterRoot, type BenchServer, type Figure } from './lib.js';
import { addDays, localDay } from '../src/time.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    scale: { type: 'string', default: '1' },
    out: { type: 'string', default: path.join(exporterRoot, 'bench', 'results') },
  },
});
const scale = Number(values.scale);
if (!(scale > 0 && scale <= 1)) throw new Error(`--scale must be in (0, 1], got ${values.scale}`);
const tz = 'Asia/Shanghai';
const yesterday = addDays(localDay(Date.now(), tz), -1);

type Section = (server: BenchServer) => Promise<Figure[]>;

const SECTIONS: Record<string, Section> = {
  async ingest(server) {
    const total = Math.round(1_000_000 * scale);
    const lines: string[] = [];
    // ~9 events a session: enough sessions over a few days to reach the total.
    for (let d = 1; lines.length < total; d++) {
      generateDay({ day: addDays(yesterday, -d), timezone: tz, sessions: 40_000, agents: 200, groups: 6 }, (e) => {
        if (lines.length < total) lines.push(JSON.stringify(e.body));
      });
    }
    return benchIngest(server, lines, tz);
  },
  scrape: (server) => benchScrape(server, scale),
  rollup: (server) => benchRollup(server, scale, yesterday),
  query: (server) => benchQuery(server, scale, yesterday),
  memory: (server) => benchMemory(server, scale),
  overload: (server) => benchOverload(server, scale),
  forecast: (server) => benchForecast(server, scale),
  replicas: (server) => benchReplicas(server, scale),
};

const only = values.only ? values.only.split(',').map((s) => s.trim()) : Object.keys(SECTIONS);
for (const s of only) if (!SECTIONS[s]) throw new Error(`unknown section "${s}"; sections: ${Object.keys(SECTIONS).join(', ')}`);

const server = await benchServer();
const figures: Figure[] = [];
try {
  for (const name of only) {
    process.stderr.write(`bench: ${name}…\n`);
    const t0 = performance.now();
    figures.push(...(await SECTIONS[name](server)));
    process.stderr.write(`bench: ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
} finally {
  await server.stop();
}

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const rows = figures.map((f) => [
  f.section,
  f.name,
  f.value === null ? '—' : f.value.toLocaleString('en-US'),
  f.unit,
  f.target ?? '',
  f.met === undefined ? '' : f.met ? 'met' : 'MISSED',
  f.note ?? '',
]);
const header = ['section', 'figure', 'value', 'unit', 'target', '', 'note'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
console.log(`\n${new Date().toISOString()}  ${machine}  scale ${scale}\n`);
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));

mkdirSync(values.out!, { recursive: true });
const file = path.join(values.out!, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const json = JSON.stringify({ at: new Date().toISOString(), machine, scale, figures }, null, 2);
writeFileSync(file, json);
writeFileSync(path.join(values.out!, 'latest.json'), json);
console.log(`\nwritten to ${path.relative(process.cwd(), file)}`);
