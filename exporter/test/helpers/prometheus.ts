/** The real promtool / prometheus binaries for the monitoring tests. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const promDir = fileURLToPath(new URL('../../../provisioning/prometheus/', import.meta.url));

/** A skip reason when `bin` is not on PATH (CI installs it: see .ci/run). */
export function missing(bin: string): string | false {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return r.error ? `${bin} is not installed (apt-get install prometheus); CI installs it` : false;
}
