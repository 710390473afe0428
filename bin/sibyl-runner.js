#!/usr/bin/env node
// Thin launcher: checks the Node version, then loads the bundled CLI (out/cli.mjs, built by
// `npm run build`, which `npm ci`, `npm test` and `npm run bench` run) or, without a bundle or with
// SIBYL_RUNNER_SOURCE=1, the TypeScript sources directly (Node >= 22.18 strips types).
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// `run` is a long-lived daemon: V8's young generation grows to 16 MB semi-spaces under load and
// keeps them. Capped at 2 MB and not grown: ~5–7 MB less with 10 agents running, ~2 MB less idle,
// no measurable CPU per task (issue 16, bench/runner.bench.ts). First, before anything allocates.
if (process.argv[2] === 'run') {
  setFlagsFromString('--max-semi-space-size=2');
  setFlagsFromString('--semi-space-growth-factor=1');
}

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `sibyl-runner needs Node >= 22.18 (found ${process.version}). Run it through npm/npx after \`npm ci\`, or install Node 22+.`,
  );
  process.exit(2);
}
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name === 'ExperimentalWarning') return; // node:sqlite and type stripping are expected here
  console.error(w);
});
// `sibyl-runner status | grep -q …` or `… | head`: the reader left, so there is no one to tell.
// Stop quietly, as a command killed by SIGPIPE would, instead of crashing on an unhandled EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
// `run` must exit 0 on SIGTERM at any moment (a service manager stopping it right after start).
// Loading the CLI takes a few hundred ms on a slow machine; until `run` installs its own handlers
// (which remove this one), nothing has started, so there is nothing to drain.
if (process.argv[2] === 'run') {
  const early = () => process.exit(0);
  early.sibylLauncher = true;
  process.once('SIGINT', early);
  process.once('SIGTERM', early);
}
const bundle = new URL('../out/cli.mjs', import.meta.url);
const useBundle = process.env.SIBYL_RUNNER_SOURCE !== '1' && existsSync(bundle);
const { main } = await import(useBundle ? bundle.href : '../main/cli/index.ts');
process.exitCode = await main(process.argv.slice(2));
