/**
 * Jest's global setup: one directory per test run where each stage's `osls package` is made once,
 * by the first test file that needs it, and shared by the rest (test/deploy/cloudformation.ts).
 * Test workers start after this, so they inherit the variable; packaged-stacks-teardown.js removes it.
 */
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = () => {
  process.env.PACKAGED_STACKS_DIR = mkdtempSync(join(tmpdir(), 'loan-extract-packages-'));
};
