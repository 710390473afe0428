#!/usr/bin/env node
// Thin launcher: checks the Node version, then loads the TypeScript CLI (Node >= 22.18 strips types).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`sibyl-runner needs Node >= 22.18 (found ${process.version}). Run it through npm/npx after \`npm ci\`, or install Node 22+.`);
  process.exit(2);
}
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name === 'ExperimentalWarning') return; // node:sqlite and type stripping are expected here
  console.error(w);
});
const { main } = await import('../main/cli/index.ts');
process.exitCode = await main(process.argv.slice(2));
