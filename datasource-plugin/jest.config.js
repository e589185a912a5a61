// force timezone to UTC to allow tests to work regardless of local timezone
process.env.TZ = 'UTC';

const path = require('path');
const base = require('./.config/jest.config');

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
  globalSetup: '<rootDir>/test/globalSetup.ts',
  globalTeardown: '<rootDir>/test/globalTeardown.ts',
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 30000,
};
