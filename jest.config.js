/**
 * Jest runs the TypeScript sources directly through SWC; `npm run typecheck` is the type gate.
 * `npm run test:jest` sets --experimental-vm-modules: PGlite loads parts of itself with import().
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j|mj)s$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  // Some dependencies ship ESM only; let SWC turn them into CommonJS for Jest.
  transformIgnorePatterns: ['/node_modules/(?!(@middy|@electric-sql)/)'],
  testTimeout: 120000,
};
