#!/bin/sh
# Build stage of the Dockerfile: the package tarball people install with npm, made from this
# checkout. `npm ci` (unless --no-install: a checkout that has its node_modules, as in the tests),
# then out/cli.mjs, then `npm pack` into DEST. Nothing here reaches past the npm registry; Electron's
# binary download is skipped (the CLI never uses it).
set -eu
install=1
if [ "${1:-}" = "--no-install" ]; then
  install=0
  shift
fi
dest="${1:?usage: pack.sh [--no-install] DEST_DIR}"
cd "$(dirname "$0")/../.."
if [ "$install" = 1 ]; then
  ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund
fi
node scripts/build-cli.mjs
mkdir -p "$dest"
# --ignore-scripts: `prepare` would only build out/cli.mjs again.
npm pack --ignore-scripts --silent --pack-destination "$dest" >/dev/null
ls "$dest"/sibyl-runner-*.tgz
