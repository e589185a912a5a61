import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readVersionFacts, versionDisagreements, type VersionFacts } from './versions.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('versions: compose, the plugin SDK (declared and installed) and grafanaDependency name one Grafana', () => {
  const facts = readVersionFacts(repo);
  assert.deepEqual(versionDisagreements(facts), []);
  // The check saw what it is about: the SDK packages the plugin imports, and the release's own beyond them.
  const names = facts.installed.map((p) => p.name);
  for (const name of ['@grafana/data', '@grafana/ui', '@grafana/runtime', '@grafana/schema', '@grafana/e2e-selectors'])
    assert.ok(names.includes(name), `${name} checked`);
  assert.ok(!names.includes('@grafana/faro-web-sdk'), 'faro is versioned on its own, not with Grafana');
});

/** The shipped facts with one thing changed, as a careless edit would change it. */
function broken(change: (f: VersionFacts) => void): string[] {
  const f = structuredClone(readVersionFacts(repo));
  change(f);
  return versionDisagreements(f);
}

const grafanaOf = (f: VersionFacts) => f.composeImage.split(':')[1];

test('versions: compose moved to another Grafana than the SDK is caught', () => {
  const problems = broken((f) => (f.composeImage = 'grafana/grafana:12.4.0'));
  assert.ok(problems.some((p) => /@grafana\/data .*compose runs Grafana 12\.4\.0/.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => /grafanaDependency .* excludes Grafana 12\.4\.0/.test(p)), problems.join('\n'));
});

test('versions: an unpinned compose image is caught', () => {
  for (const image of ['grafana/grafana:latest', 'grafana/grafana', 'grafana/grafana:13.2'])
    assert.ok(
      broken((f) => (f.composeImage = image)).some((p) => p.includes('not a Grafana image pinned to an exact version')),
      image,
    );
});

test('versions: a @grafana/* dependency as a range, or at another version, is caught', () => {
  const ranged = broken((f) => (f.pluginDependencies['@grafana/ui'] = `^${grafanaOf(f)}`));
  assert.ok(ranged.some((p) => p.includes('@grafana/ui is "^') && p.includes('not one exact version')), ranged.join('\n'));
  const other = broken((f) => (f.pluginDependencies['@grafana/runtime'] = '13.2.2'));
  assert.ok(other.some((p) => p.includes('@grafana/runtime 13.2.2, but compose runs Grafana')), other.join('\n'));
});

test('versions: an installed SDK that lags package.json (no npm install since) is caught', () => {
  const stale = broken((f) => (f.installed.find((p) => p.name === '@grafana/e2e-selectors')!.version = '12.4.10'));
  assert.ok(stale.some((p) => p.startsWith('installed @grafana/e2e-selectors is 12.4.10')), stale.join('\n'));
  const gone = broken((f) => f.missing.push('@grafana/data'));
  assert.ok(gone.includes('@grafana/data is not installed (run npm install)'), gone.join('\n'));
});

test("versions: a React the SDK's peer range refuses is caught", () => {
  const problems = broken((f) => (f.installedReact = '18.3.1'));
  assert.ok(problems.some((p) => /installed react 18\.3\.1 does not satisfy @grafana\/ui's peer range/.test(p)), problems.join('\n'));
});

test('versions: a grafanaDependency that leaves out the tested Grafana, or that the schema refuses, is caught', () => {
  const excludes = broken((f) => (f.grafanaDependency = '>=13.3.0'));
  assert.ok(excludes.some((p) => p.includes('excludes Grafana')), excludes.join('\n'));
  const guessed = broken((f) => (f.grafanaDependency = '>=12.0.0'));
  assert.ok(guessed.some((p) => p.includes('admits Grafana 12.0.0, but the build is tested only in')), guessed.join('\n'));
  for (const range of ['>= 13', 'latest', '13.x || 12.x', ''])
    assert.ok(
      broken((f) => (f.grafanaDependency = range)).some((p) => p.includes("not a range plugin.json's schema accepts")),
      `"${range}"`,
    );
});
