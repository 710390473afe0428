// An esbuild plugin for the ES-module CLI bundle: Node's built-ins are loaded with require(), as
// the CommonJS parts of the bundle (ws…) already do, instead of `import … from 'node:x'`. An ES
// import of a built-in makes Node build its whole export list, reading every lazy getter: for
// node:http that loads undici and its WebAssembly HTTP parser, ~6 MB of the idle daemon's memory
// that nothing uses (issue 16; `process.moduleLoadList` shows internal/deps/undici/undici).

/** @type {import('esbuild').Plugin} */
export const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'import-statement' || args.kind === 'dynamic-import' ? { path: args.path, namespace: 'builtin-by-require' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin-by-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};
