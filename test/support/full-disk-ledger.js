/**
 * Preloaded into `npm start` (NODE_OPTIONS=--require) by the full-disk test: once the file named by
 * FULL_DISK_FLAG exists, every write of the local DynamoDB's LevelDB store fails as LevelDB fails on
 * a full disk. Reads still work, as they do on a full disk. Nothing else changes.
 */
const { existsSync } = require('node:fs');
const { createRequire } = require('node:module');
const { join } = require('node:path');

const flag = process.env.FULL_DISK_FLAG;
// Only in the CLI's own process, not in the tsx (or npm) process that starts it.
if (flag && /local[\\/]cli\.ts$/.test(process.argv[1] ?? '')) {
  // dynalite's own copy of LevelDB, as the DynamoDB stand-in loads it.
  const fromDynalite = createRequire(require.resolve('dynalite', { paths: [join(__dirname, '..', '..')] }));
  const { ClassicLevel } = fromDynalite('classic-level');
  for (const method of ['_put', '_del', '_batch']) {
    const write = ClassicLevel.prototype[method];
    ClassicLevel.prototype[method] = function (...args) {
      if (!existsSync(flag)) return write.apply(this, args);
      const error = new Error(`IO error: ${this.location}/000005.log: No space left on device`);
      error.code = 'LEVEL_IO_ERROR';
      return Promise.reject(error);
    };
  }
}
