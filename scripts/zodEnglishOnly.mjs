// An esbuild plugin: zod's locale table (`z.locales`, ~45 languages) reduced to English. zod
// exports the table as a namespace, which keeps every locale in a bundle whether used or not; this
// app reads only zod's English default, as its own messages are English. Saves ~190 KB of bundle
// and 1–2.5 MB of the runner's memory at start (issue 16).
import { dirname, join } from 'node:path';

/** @type {import('esbuild').Plugin} */
export const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), '..', 'locales', 'en.js'), namespace: 'zod-english-only' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: dirname(args.path),
    }));
  },
};
