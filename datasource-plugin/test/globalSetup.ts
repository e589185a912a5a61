import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { API_TOKEN, SCOPED_API_TOKEN, SCOPED_TENANT, startExporterProcess } from './exporter';

const root = path.resolve(__dirname, '..');

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestMtime(p));
    else if (!/\.test\.tsx?$/.test(e.name)) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** dist/ is what Grafana loads; the loader and browser tests need it current, so build when missing or older than src/. */
export function ensureDist(): void {
  const module = path.join(root, 'dist', 'module.js');
  const catalog = path.resolve(root, '../exporter/src/catalog.ts');
  const sources = Math.max(newestMtime(path.join(root, 'src')), statSync(catalog).mtimeMs);
  if (existsSync(module) && statSync(module).mtimeMs >= sources) return;
  process.stderr.write('\nbuilding dist/ for the loader test (npm run build)…\n');
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

export default async function globalSetup(): Promise<void> {
  ensureDist();
  const e = await startExporterProcess({ CS_TENANT_API_TOKENS: `${SCOPED_TENANT}=${SCOPED_API_TOKEN}` });
  // Workers are forked after this, so they inherit these.
  process.env.CC_EXPORTER_URL = e.url;
  process.env.CC_API_TOKEN = API_TOKEN;
  process.env.CC_SCOPED_TENANT = SCOPED_TENANT;
  process.env.CC_SCOPED_API_TOKEN = SCOPED_API_TOKEN;
  (globalThis as any).__ccExporter = { pid: e.child.pid, dataDir: e.dataDir };
}
