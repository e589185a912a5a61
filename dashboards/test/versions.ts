/**
 * One Grafana version across the stack: the image compose runs, the @grafana/* packages the plugin is
 * built and tested with, and the range its plugin.json declares. Read from the files as they ship and
 * from what npm installed, then checked by `versionDisagreements`, which returns what a user would trip over.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';

const require = createRequire(import.meta.url);
const semver = require('semver') as {
  valid(v: string): string | null;
  validRange(r: string): string | null;
  satisfies(v: string, r: string): boolean;
  minVersion(r: string): { version: string } | null;
};

export type Installed = { name: string; version: string; peerDependencies?: Record<string, string> };

export type VersionFacts = {
  /** `image` of the grafana service in docker-compose.yml. */
  composeImage: string;
  /** `dependencies` of datasource-plugin/package.json. */
  pluginDependencies: Record<string, string>;
  /** The Grafana release's @grafana/* packages as installed for the plugin (its own and theirs). */
  installed: Installed[];
  /** The plugin's @grafana/* dependencies npm has not installed. */
  missing: string[];
  /** react as installed for the plugin. */
  installedReact: string;
  /** `dependencies.grafanaDependency` of datasource-plugin/src/plugin.json. */
  grafanaDependency: string;
  /** The older Grafana the same dist/module.js is loaded into (datasource-plugin/test/grafana12.json, run by test/grafana12.ts). */
  olderTested: string;
};

/**
 * The pattern plugin.json's schema gives grafanaDependency (grafana/grafana
 * docs/sources/developers/plugins/plugin.schema.json, properties.dependencies.properties.grafanaDependency).
 */
const GRAFANA_DEPENDENCY_PATTERN =
  /^(<=|>=|<|>|=|~|\^)?([0-9]+)(\.[0-9x*]+)(\.[0-9x*]+)?(\s(<=|>=|<|=>)?([0-9]+)(\.[0-9x]+)(\.[0-9x]+))?$/;

export function versionDisagreements(f: VersionFacts): string[] {
  const problems: string[] = [];
  const m = /^grafana\/grafana(?:-oss|-enterprise)?:(.+)$/.exec(f.composeImage);
  const grafana = m && semver.valid(m[1]) === m[1] ? m[1] : undefined;
  if (!grafana) problems.push(`compose runs "${f.composeImage}": not a Grafana image pinned to an exact version`);

  const sdk = Object.entries(f.pluginDependencies).filter(([name]) => name.startsWith('@grafana/'));
  if (sdk.length === 0) problems.push('datasource-plugin/package.json has no @grafana/* dependency');
  for (const [name, range] of sdk) {
    if (semver.valid(range) !== range) problems.push(`datasource-plugin/package.json: ${name} is "${range}", not one exact version`);
    else if (grafana && range !== grafana) problems.push(`datasource-plugin/package.json: ${name} ${range}, but compose runs Grafana ${grafana}`);
  }
  for (const p of f.installed)
    if (grafana && p.version !== grafana) problems.push(`installed ${p.name} is ${p.version}, but compose runs Grafana ${grafana} (run npm install)`);
  for (const name of f.missing) problems.push(`${name} is not installed (run npm install)`);

  // Grafana gives plugins its own React; the SDK states which one with its peer range.
  for (const p of f.installed) {
    const peer = p.peerDependencies?.react;
    if (peer && !semver.satisfies(f.installedReact, peer)) problems.push(`installed react ${f.installedReact} does not satisfy ${p.name}'s peer range "${peer}"`);
  }

  const range = f.grafanaDependency;
  if (!GRAFANA_DEPENDENCY_PATTERN.test(range) || !semver.validRange(range))
    problems.push(`plugin.json grafanaDependency "${range}" is not a range plugin.json's schema accepts`);
  else {
    if (grafana && !semver.satisfies(grafana, range))
      problems.push(`plugin.json grafanaDependency "${range}" excludes Grafana ${grafana}, which compose runs and the plugin is tested with`);
    // The oldest Grafana the declaration admits must be one the build is loaded into; anything below is a guess.
    const oldest = semver.minVersion(range)?.version;
    if (oldest && oldest !== grafana && oldest !== f.olderTested)
      problems.push(
        `plugin.json grafanaDependency "${range}" admits Grafana ${oldest}, but the build is tested only in ${[f.olderTested, grafana].filter(Boolean).join(' and ')}`,
      );
  }
  return problems;
}

/** Where Node would find `name` from `dir`: its own node_modules first, then the workspace root's. */
function installedPackage(repo: string, dir: string, name: string): Record<string, any> | undefined {
  for (const base of [join(repo, dir), repo]) {
    const file = join(base, 'node_modules', name, 'package.json');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  }
  return undefined;
}

/** A package published from grafana/grafana's packages/ (versioned with Grafana itself, unlike faro or react-data-grid). */
const fromGrafanaRelease = (pkg: Record<string, any>) =>
  /github\.com\/grafana\/grafana(\.git)?$/.test(pkg.repository?.url ?? '') && String(pkg.repository?.directory ?? '').startsWith('packages/');

export function readVersionFacts(repo: string): VersionFacts {
  const compose = parse(readFileSync(join(repo, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { image?: string }>;
  };
  const pkg = JSON.parse(readFileSync(join(repo, 'datasource-plugin', 'package.json'), 'utf8'));
  const pluginJson = JSON.parse(readFileSync(join(repo, 'datasource-plugin', 'src', 'plugin.json'), 'utf8'));
  const older = join(repo, 'datasource-plugin', 'test', 'grafana12.json');

  const installed: Installed[] = [];
  const queue = Object.keys(pkg.dependencies ?? {}).filter((n) => n.startsWith('@grafana/'));
  const missing: string[] = [];
  const seen = new Set<string>();
  while (queue.length) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const p = installedPackage(repo, 'datasource-plugin', name);
    if (!p) missing.push(name);
    if (!p || !fromGrafanaRelease(p)) continue;
    installed.push({ name, version: p.version, peerDependencies: p.peerDependencies });
    queue.push(...Object.keys(p.dependencies ?? {}).filter((n) => n.startsWith('@grafana/')));
  }

  return {
    composeImage: compose.services.grafana?.image ?? '',
    pluginDependencies: pkg.dependencies ?? {},
    installed,
    missing,
    installedReact: installedPackage(repo, 'datasource-plugin', 'react')?.version ?? '',
    grafanaDependency: pluginJson.dependencies?.grafanaDependency ?? '',
    olderTested: existsSync(older) ? (JSON.parse(readFileSync(older, 'utf8'))['@grafana/ui'] ?? '') : '',
  };
}
