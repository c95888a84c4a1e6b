/**
 * Preloaded into `npm start` (NODE_OPTIONS=--require) by the uncaught-error test: once the file named
 * by UNCAUGHT_ERROR_FLAG exists, an error is thrown from a timer, where no one catches it, as a
 * stand-in's callback throws (dynalite's storage errors did).
 */
const { existsSync } = require('node:fs');

const flag = process.env.UNCAUGHT_ERROR_FLAG;
// Only in the CLI's own process, not in the tsx (or npm) process that starts it.
if (flag && /local[\\/]cli\.ts$/.test(process.argv[1] ?? '')) {
  const watch = setInterval(() => {
    if (!existsSync(flag)) return;
    clearInterval(watch);
    setTimeout(() => {
      throw new Error('stand-in storage failed: ENOSPC: no space left on device, write');
    });
  }, 50);
  watch.unref();
}
