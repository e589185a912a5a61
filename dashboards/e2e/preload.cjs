/*
 * Lets the datasource plugin's own code (datasource-plugin/src/datasource.ts and its testkit) run in
 * plain Node for the end-to-end test. Grafana is the one thing not real here:
 * - @grafana/runtime is replaced by grafana-runtime-shim.cjs (the plugin uses only get/set of the
 *   backend and template services; the real module drags in @grafana/ui and its CSS);
 * - @grafana/data reads `window` when loaded, so a jsdom window stands in for the browser.
 * The catalog is read from the exporter's source, as everywhere in the tests (dist may not be built).
 */
const Module = require('node:module');
const path = require('node:path');
const { JSDOM } = require('jsdom');

const dom = new JSDOM('<!doctype html><html><body></body></html>', { url: 'http://localhost/' });
for (const k of [
  'window',
  'document',
  'localStorage',
  'sessionStorage',
  'HTMLElement',
  'Element',
  'Node',
  'getComputedStyle',
  'DOMParser',
  'MutationObserver',
]) {
  if (!(k in globalThis)) globalThis[k] = dom.window[k];
}

const repo = path.join(__dirname, '..', '..');
const map = {
  '@grafana/runtime': path.join(__dirname, 'grafana-runtime-shim.cjs'),
  '@cs-data-ops/exporter/catalog': path.join(repo, 'exporter', 'src', 'catalog.ts'),
  '@cs-data-ops/exporter/time': path.join(repo, 'exporter', 'src', 'time.ts'),
};
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return map[request] ?? resolve.call(this, request, ...rest);
};
