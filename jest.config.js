/**
 * Jest runs the TypeScript sources through ts-jest (transpile only, as tsconfig sets isolatedModules;
 * `npm run typecheck` is the type gate). `npm run test:jest` sets --experimental-vm-modules because
 * PGlite loads parts of itself with import(). ts-jest and jest 29 are plain JavaScript: no native
 * binary that `npm ci` would need for every platform.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // Middy ships ESM only; Jest's module system needs it as CommonJS.
    '^.+\\.m?js$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true, module: 'commonjs', target: 'ES2022' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  testTimeout: 120000,
};
