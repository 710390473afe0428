// Bundles the renderer into out/renderer/ (or the folder given as the first argument, which the
// browser tests use so parallel runs never share one): main.js (one classic script, no eval, so the
// strict CSP holds), app.css, index.html. Deterministic: same sources, same bytes; no network.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const outdir = process.argv[2] ?? 'out/renderer';
await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });

await build({
  entryPoints: { main: 'renderer/src/main.ts', app: 'renderer/styles/app.css' },
  outdir,
  bundle: true,
  platform: 'browser',
  // An IIFE, not an ES module: module scripts are refused on file:// and on custom schemes without CORS headers.
  format: 'iife',
  // The Chromium inside supported Electron releases (and the Debian chromium the tests use).
  target: ['chrome120'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  charset: 'utf8',
  // Relative paths in the source map, so the output does not depend on the checkout location.
  sourceRoot: '',
  logLevel: 'warning',
});
await copyFile('renderer/index.html', `${outdir}/index.html`);
