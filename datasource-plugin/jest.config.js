// force timezone to UTC to allow tests to work regardless of local timezone
process.env.TZ = 'UTC';

const path = require('path');
const base = require('./.config/jest.config');
const { grafanaESModules, nodeModulesToTransform } = require('./.config/jest/utils');

module.exports = {
  ...base,
  moduleNameMapper: {
    ...base.moduleNameMapper,
    // The exporter's catalog is TypeScript source in its workspace (dist may not be built).
    '^@cs-data-ops/exporter/catalog$': path.resolve(__dirname, '../exporter/src/catalog.ts'),
    '^@cs-data-ops/exporter/time$': path.resolve(__dirname, '../exporter/src/time.ts'),
  },
  transform: {
    ...base.transform,
    // d3 and friends ship .mjs only.
    '^.+\\.mjs$': ['@swc/jest'],
  },
  // Packages under @grafana/* 13 that ship ESM only and are missing from the scaffold's list (found by walking
  // the installed dependency tree for "type": "module" without a require export).
  transformIgnorePatterns: [
    nodeModulesToTransform([
      ...grafanaESModules,
      '@react-hookz',
      '@ver0',
      '@grafana/react-data-grid',
      'earcut',
      'pbf',
      'quick-lru',
      'quickselect',
      'rbush',
      'uwrap',
    ]),
  ],
  globalSetup: '<rootDir>/test/globalSetup.ts',
  globalTeardown: '<rootDir>/test/globalTeardown.ts',
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 30000,
};
