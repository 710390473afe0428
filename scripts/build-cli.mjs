// Bundles the headless CLI into one ES module (out/cli.mjs): starts faster and uses ~40 MB less
// memory than stripping TypeScript at run time. bin/sibyl-runner.js prefers it when present.
import { build } from 'esbuild';
import { zodEnglishOnly } from './zodEnglishOnly.mjs';

await build({
  entryPoints: ['main/cli/index.ts'],
  outfile: 'out/cli.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minifySyntax: true,
  minifyWhitespace: true,
  sourcemap: 'linked',
  legalComments: 'none',
  // ws and others are CommonJS and call require() for Node built-ins.
  banner: { js: "import { createRequire as __sibylRequire } from 'node:module'; const require = __sibylRequire(import.meta.url);" },
  // Electron is never part of the headless CLI.
  external: ['electron'],
  plugins: [zodEnglishOnly],
  logLevel: 'warning',
});
