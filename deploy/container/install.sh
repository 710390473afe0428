#!/bin/sh
# Install step of the Dockerfile's runtime stage: the system packages the runner needs (git for
# worktrees, tini as PID 1 so agents' orphans are reaped and signals forwarded, CA certificates),
# the user `sibyl` (uid 1000, HOME /var/sibyl: config, state, worktrees and logs all live under it,
# on one volume), the packed sibyl-runner tarball and the agent CLIs installed globally with npm.
#
#   install.sh TARBALL
#
# Environment: AGENT_PACKAGES  npm packages of the agent CLIs to install ("" for none)
#              SIBYL_INSTALL_ROOT  install under this folder instead of / (tests); the system steps
#                                  (apt, user) then run only if SIBYL_INSTALL_SYSTEM=1
set -eu
tarball="${1:?usage: install.sh TARBALL}"
root="${SIBYL_INSTALL_ROOT:-}"
system="${SIBYL_INSTALL_SYSTEM:-$([ -z "$root" ] && echo 1 || echo 0)}"
home="$root/var/sibyl"
prefix="$root/usr/local"

if [ "$system" = 1 ]; then
  apt-get update
  apt-get install -y --no-install-recommends git tini ca-certificates openssh-client
  rm -rf /var/lib/apt/lists/*
  # node:22-slim already has uid 1000 (`node`): the runner takes that id under its own name.
  if id -nu 1000 >/dev/null 2>&1; then userdel "$(id -nu 1000)"; fi
  groupadd --gid 1000 sibyl 2>/dev/null || true
  useradd --uid 1000 --gid 1000 --home-dir /var/sibyl --no-create-home --shell /bin/sh sibyl
fi

npm install --global --prefix "$prefix" --no-audit --no-fund --omit=dev "$tarball"
# One word per package; blanks alone (--build-arg AGENT_PACKAGES=" ") are none, not a bare
# `npm install --global`, which fails in / for want of a package.json. Not file patterns: `name@*`.
set -f
# shellcheck disable=SC2086
set -- ${AGENT_PACKAGES:-}
set +f
if [ "$#" -gt 0 ]; then
  npm install --global --prefix "$prefix" --no-audit --no-fund "$@"
fi
npm cache clean --force >/dev/null 2>&1 || true

mkdir -p "$home"
if [ "$system" = 1 ]; then
  chown 1000:1000 "$home"
fi
chmod 0700 "$home"
"$prefix/bin/sibyl-runner" --version
