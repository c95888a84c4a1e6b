/** Jest's global teardown: removes the run's packaged stacks (packaged-stacks-setup.js). */
const { rmSync } = require('node:fs');

module.exports = () => {
  if (process.env.PACKAGED_STACKS_DIR) rmSync(process.env.PACKAGED_STACKS_DIR, { recursive: true, force: true });
};
