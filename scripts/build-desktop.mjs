// Bundles the Electron main process (out/desktop/main.cjs) and the sandboxed preload
// (out/desktop/preload.cjs, one CommonJS file: a sandboxed preload can only require 'electron').
import { build } from 'esbuild';
import { zodEnglishOnly } from './zodEnglishOnly.mjs';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  external: ['electron'],
  plugins: [zodEnglishOnly],
};
await build({ ...common, entryPoints: ['main/desktop/index.ts'], outfile: 'out/desktop/main.cjs', format: 'cjs' });
await build({
  ...common,
  entryPoints: ['preload/index.ts'],
  outfile: 'out/desktop/preload.cjs',
  format: 'cjs',
  platform: 'browser',
  target: 'chrome130',
});
