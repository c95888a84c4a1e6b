/**
 * Jest transformer for PGlite's CommonJS build, which loads Node built-ins (fs, zlib, ...) with
 * import(). Jest's module system runs import() only under --experimental-vm-modules, and that flag
 * makes Jest refuse to require ESM-only packages such as middy. Rewriting just those calls to
 * module.require() keeps both working (plain `require` is shadowed by a `var require` in PGlite's
 * Emscripten code); nothing else in the file changes.
 */
const BUILTIN_IMPORT = /\bimport\(\s*(["'])((?:node:)?[a-z_]+(?:\/[a-z_]+)?)\1\s*\)/g;

module.exports = {
  process(source) {
    return { code: source.replace(BUILTIN_IMPORT, (_call, quote, name) => `Promise.resolve(module.require(${quote}${name}${quote}))`) };
  },
};
