/**
 * Jest runs the TypeScript sources through ts-jest (transpile only, as tsconfig sets isolatedModules;
 * `npm run typecheck` is the type gate). ts-jest and jest 29 are plain JavaScript: no native binary
 * that `npm ci` would need for every platform.
 */
// Lambdas run Node 22; the AWS SDK's warning about this machine's Node 20 is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// What serverless.yml and the local runner give every Lambda for Powertools: the metrics' namespace,
// and no tracing (nothing may look for an X-Ray daemon in a test).
process.env.POWERTOOLS_METRICS_NAMESPACE = 'monthly-loan-extract/test';
process.env.POWERTOOLS_TRACE_ENABLED = 'false';

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testPathIgnorePatterns: ['/node_modules/', '/test/support/'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    '/node_modules/@electric-sql/.+\\.cjs$': '<rootDir>/test/support/builtin-import-transformer.js',
    // Middy ships ESM only; Jest's module system needs it as CommonJS.
    '^.+\\.m?js$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true, module: 'commonjs', target: 'ES2022' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@middy|@electric-sql)/)'],
  testTimeout: 120000,
  // Each stage's `osls package` once per run, shared by the deploy tests (test/deploy/cloudformation.ts).
  globalSetup: '<rootDir>/test/support/packaged-stacks-setup.js',
  globalTeardown: '<rootDir>/test/support/packaged-stacks-teardown.js',
};
