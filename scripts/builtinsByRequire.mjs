// An esbuild plugin for the ES-module CLI bundle: Node's built-ins are loaded with require(), as
// the CommonJS parts of the bundle (ws…) already do, instead of `import … from 'node:x'`. An ES
// import of a built-in makes Node build its whole export list, reading every lazy getter: for
// node:http that loads undici and its WebAssembly HTTP parser, ~6 MB of the idle daemon's memory
// that nothing uses (issue 16; `process.moduleLoadList` shows internal/deps/undici/undici).
//
// A few built-ins are loaded on first use instead: TLS (ws requires tls and https when it loads,
// but a runner whose server is http:// or ws:// never needs them: ~3 MB of the idle daemon,
// OpenSSL's TLS state and Node's tls modules) and readline (only `logs --follow` reads lines).
import { createRequire } from 'node:module';

const nodeRequire = createRequire(import.meta.url);

/** Built-ins loaded on first use, by their bare names, and the import paths that name them. */
const LAZY = ['tls', 'https', 'readline'];
const LAZY_PATH = new RegExp(`^(node:)?(${LAZY.join('|')})$`);

/**
 * A CommonJS module standing in for built-in `name`: one accessor per export, each loading the
 * built-in on first use; a set goes through to it (tls.DEFAULT_MIN_VERSION is settable).
 * Accessors, not a Proxy: esbuild's ESM interop copies property names. The names are those of
 * the Node that builds: an export newer than it would read as undefined, so code that uses one
 * must not come through here (none does; Node 22 and 24 export the same names we use).
 */
function lazyModule(name) {
  const accessors = Object.keys(nodeRequire(`node:${name}`))
    .map((key) => {
      const k = JSON.stringify(key);
      return `  get ${k}() { return load()[${k}]; },\n  set ${k}(value) { load()[${k}] = value; },`;
    })
    .join('\n');
  return `let loaded;\nconst load = () => (loaded ??= require(${JSON.stringify(`node:${name}`)}));\nmodule.exports = {\n${accessors}\n};\n`;
}

/** @type {import('esbuild').Plugin} */
export const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(build) {
    // The stand-in's own require() is left to Node.
    build.onResolve({ filter: LAZY_PATH }, (args) =>
      args.namespace === 'lazy-builtin' ? undefined : { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' },
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({ contents: lazyModule(args.path), loader: 'js' }));
    build.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'import-statement' || args.kind === 'dynamic-import' ? { path: args.path, namespace: 'builtin-by-require' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin-by-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};
