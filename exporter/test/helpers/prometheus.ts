/** The real promtool / prometheus binaries for the monitoring tests, and Prometheus 3's label forms. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const promDir = fileURLToPath(new URL('../../../provisioning/prometheus/', import.meta.url));

/** A skip reason when `bin` is not on PATH (CI installs it: see .ci/run). */
export function missing(bin: string): string | false {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return r.error ? `${bin} is not installed (apt-get install prometheus); CI installs it` : false;
}

/**
 * A float as Prometheus 3 writes `le` and `quantile` label values: Go's shortest `%g`
 * (strconv.AppendFloat(f, 'g', -1, 64)), with ".0" appended when that has neither "." nor "e".
 * prometheus/prometheus model/textparse/protobufparse.go, formatOpenMetricsFloat (v3.5; moved to
 * model/labels/float.go FormatOpenMetricsFloat later).
 */
export function formatOpenMetricsFloat(f: number): string {
  if (f === 1) return '1.0';
  if (f === 0) return '0.0';
  if (f === -1) return '-1.0';
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  // Go's shortest %g switches to an exponent below 1e-4 and from 1e6 (strconv/ftoa.go: eprec = 6
  // when shortest), written with a sign and at least two digits ("1e+06", "2.5e-05").
  const [mantissa, e] = f.toExponential().split('e');
  const exp = Number(e);
  const s = exp < -4 || exp >= 6 ? `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}` : String(f);
  return /[e.]/.test(s) ? s : `${s}.0`;
}

/**
 * A label value as Prometheus 3 stores it from a scrape: `le` of a histogram's series and `quantile`
 * of a summary's are parsed as floats and rewritten by formatOpenMetricsFloat; anything else, or a
 * value that is not a float, stays as it is. prometheus/prometheus model/textparse/openmetricsparse.go,
 * normalizeFloatsInLabelValues (called from PromParser.Labels in promparse.go with the type of the
 * last # TYPE line, and from the OpenMetrics parser alike); docs/migration.md, "le and quantile label
 * values".
 */
export function prometheus3LabelValue(type: string, label: string, value: string): string {
  if (!((type === 'summary' && label === 'quantile') || (type === 'histogram' && label === 'le'))) return value;
  // Go's strconv.ParseFloat: what it refuses is left alone; JS's Number() is laxer on "" and spaces.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(Inf|inf|Infinity|NaN|nan)$/.test(value)) return value;
  const f = /inf/i.test(value) ? (value.startsWith('-') ? -Infinity : Infinity) : Number(value);
  return formatOpenMetricsFloat(f);
}

/**
 * A text exposition with its `le` / `quantile` values as Prometheus 3 would store them. Prometheus 2
 * keeps the text's own spelling, so scraping (or backfilling) this gives a Prometheus 2 the series
 * of a Prometheus 3.
 */
export function toPrometheus3Form(exposition: string): string {
  let type = 'untyped';
  return exposition
    .split('\n')
    .map((line) => {
      const t = /^# TYPE \S+ (\S+)/.exec(line);
      if (t) type = t[1];
      if (line.startsWith('#') || !line.includes('{')) return line;
      return line.replace(
        /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g,
        (_, l: string, v: string) => `${l}="${prometheus3LabelValue(type, l, v)}"`,
      );
    })
    .join('\n');
}

/** A Prometheus 2 server on 127.0.0.1, ready to query; stop() ends it by its PID. */
export interface RunningPrometheus {
  url: string;
  proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

export async function startPrometheus(args: {
  config: string;
  dataDir: string;
  port: number;
  extra?: string[];
}): Promise<RunningPrometheus> {
  let out = '';
  const proc = spawn(
    'prometheus',
    [
      `--config.file=${args.config}`,
      `--storage.tsdb.path=${args.dataDir}`,
      `--web.listen-address=127.0.0.1:${args.port}`,
      ...(args.extra ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout!.on('data', (c) => (out += c));
  proc.stderr!.on('data', (c) => (out += c));
  const url = `http://127.0.0.1:${args.port}`;
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };
  const until = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`prometheus exited (${proc.exitCode}):\n${out}`);
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) break;
    } catch {}
    if (Date.now() > until) {
      await stop();
      throw new Error(`prometheus not ready after 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, proc, log: () => out, stop };
}

/** The `le` matchers of a PromQL expression, with whether each sits in a range selector (`{…}[5m]`). */
export function leMatchers(expr: string): { op: string; value: string; inRange: boolean }[] {
  const out: { op: string; value: string; inRange: boolean }[] = [];
  for (const sel of expr.matchAll(/\{([^}]*)\}(\s*\[)?/g)) {
    for (const m of sel[1].matchAll(/\ble\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
      // A PromQL double-quoted string takes Go escapes: "20(\\.0)?" is the regex 20(\.0)?.
      out.push({ op: m[1], value: JSON.parse(`"${m[2]}"`), inRange: !!sel[2] });
    }
  }
  return out;
}

/** Whether a label matcher selects `value` (PromQL regexes are anchored at both ends). */
export function matches(m: { op: string; value: string }, value: string): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return new RegExp(`^(?:${m.value})$`).test(value);
    default:
      return !new RegExp(`^(?:${m.value})$`).test(value);
  }
}
