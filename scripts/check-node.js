// npm itself may run on an older system Node; the project's pinned Node (devDependency "node")
// is first on npm scripts' PATH after `npm ci`. Fail clearly when that did not happen.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `sibyl-runner needs Node >= 22.18 (found ${process.version} at ${process.execPath}).\n` +
      'Run `npm ci` (without --ignore-scripts) so the pinned Node from devDependencies is installed,\n' +
      'or install Node 22+ yourself.',
  );
  process.exit(2);
}
