/** Writes dashboards/generated/<folder>/<uid>.json from the builders; stale files are removed so the tree is exactly the output. */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allDashboards, GENERATED_DIR, relativePath, render } from './index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, GENERATED_DIR);
rmSync(out, { recursive: true, force: true });
for (const d of allDashboards()) {
  const file = join(root, relativePath(d));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, render(d));
}
for (const folder of readdirSync(out)) console.log(`${GENERATED_DIR}/${folder}: ${readdirSync(join(out, folder)).join(', ')}`);
