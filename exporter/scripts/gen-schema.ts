// Writes schema/events.schema.json from src/ingest/schema.ts; `--check` fails when the committed file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { publishedSchema } from '../src/ingest/schema.js';

const target = fileURLToPath(new URL('../schema/events.schema.json', import.meta.url));
const text = `${JSON.stringify(publishedSchema(), null, 2)}\n`;
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {}
  if (current !== text) {
    console.error('schema/events.schema.json is stale: run `npm run gen:schema -w exporter`');
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
