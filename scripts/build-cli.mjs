// Bundles the headless CLI into ES modules: out/cli.mjs, the entry, and out/cli-chunks/*.mjs, which
// it loads as a command needs them. Starts faster and uses ~40 MB less memory than stripping
// TypeScript at run time; bin/sibyl-runner.js prefers it when present. Split so the daemon (`run`)
// never loads the other commands' code: Node keeps every loaded module's source (issue 16).
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { builtinsByRequire } from './builtinsByRequire.mjs';
import { zodEnglishOnly } from './zodEnglishOnly.mjs';

/** The chunks' folder; emptied first, as their names change with their content. */
const CHUNKS = 'out/cli-chunks';
rmSync(CHUNKS, { recursive: true, force: true });

await build({
  entryPoints: ['main/cli/index.ts'],
  outdir: 'out',
  entryNames: 'cli',
  chunkNames: 'cli-chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  splitting: true,
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
  plugins: [zodEnglishOnly, builtinsByRequire],
  logLevel: 'warning',
});

// Node keeps a module's source in memory for the life of the process; one character outside
// Latin-1 makes V8 store all of it two bytes per character (+1 MB for the bundle, issue 16).
// esbuild escapes strings but not regular-expression literals: write those as \uXXXX.
for (const file of [
  'out/cli.mjs',
  ...readdirSync(CHUNKS)
    .filter((f) => f.endsWith('.mjs'))
    .map((f) => join(CHUNKS, f)),
]) {
  const source = readFileSync(file, 'latin1');
  const wide = /[\u0080-\u00ff]/.exec(source); // read as Latin-1: a byte over 0x7f is part of a wider character
  if (wide) {
    throw new Error(
      `${file} has a non-ASCII character near: ${JSON.stringify(source.slice(Math.max(0, wide.index - 60), wide.index + 20))}`,
    );
  }
}
