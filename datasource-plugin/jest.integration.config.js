const config = require('./jest.config');

module.exports = { ...config, testPathIgnorePatterns: ['/node_modules/'], testMatch: ['<rootDir>/src/**/*.integration.test.ts'] };
