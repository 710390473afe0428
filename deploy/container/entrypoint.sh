#!/bin/sh
# The container's entry point (Dockerfile, compose.yaml, deploy/kubernetes): register this runner
# once, then become `sibyl-runner run`. The identity (runner_id in runner.yaml) and the state live
# on the volume at $HOME, so a restarted container or pod is the same runner, never a new one.
#
#   (no arguments) or options      sibyl-runner run [options]
#   run [options]                  the same
#   any other command              sibyl-runner <command> ..., e.g. `status`, `doctor`, `history`
#
# Environment (besides the runner's own SIBYL_* variables):
#   SIBYL_REGISTRATION_TOKEN   token to register with when not registered yet: an API key with
#                              api:write (it never expires) or an access token; never given to `run`
#   SIBYL_CREDENTIALS_SEED     folder with a stored login to start from (a mounted secret): the
#                              file named after this host (a StatefulSet pod's name), else
#                              credentials.json, is copied beside runner.yaml when none is there yet;
#                              the runner then refreshes it there (refresh tokens rotate: one per runner)
set -eu

case "${1:-}" in
  run) shift ;;
  '' | -*) ;;
  *) exec sibyl-runner "$@" ;;
esac

# The configuration `sibyl-runner run` will use, found as it finds it: --config among the
# arguments, else SIBYL_CONFIG_FILE, else SIBYL_CONFIG_DIR/runner.yaml, else the default; a leading
# `~` is the home folder (a literal "~" folder here would hold a login the runner never reads).
# Exported, so `status` and `register` below read that same file. (The preStop hook sees only the
# pod's variables: in Kubernetes name the file with SIBYL_CONFIG_FILE, not --config.)
config="${SIBYL_CONFIG_FILE:-${SIBYL_CONFIG_DIR:+$SIBYL_CONFIG_DIR/runner.yaml}}"
prev=''
for arg in "$@"; do
  case "$prev" in -c | --config) config="$arg" ;; esac
  case "$arg" in --config=*) config="${arg#--config=}" ;; esac
  prev="$arg"
done
config="${config:-$HOME/.config/sibyl/runner.yaml}"
case "$config" in
  '~') config="$HOME" ;;
  '~/'*) config="$HOME/${config#??}" ;;
esac
export SIBYL_CONFIG_FILE="$config"
config_dir="$(dirname "$config")"
mkdir -p "$config_dir"

seed="${SIBYL_CREDENTIALS_SEED:-}"
if [ -n "$seed" ] && [ ! -e "$config_dir/credentials.json" ]; then
  for candidate in "$seed/$(hostname).json" "$seed/credentials.json"; do
    if [ -f "$candidate" ]; then
      (umask 077 && cp "$candidate" "$config_dir/credentials.json")
      echo "sibyl-runner: signed in with the stored login from $candidate" >&2
      break
    fi
  done
fi

# `status` exits 1 only when this configuration has no runner_id yet (2: a configuration error,
# which `register` then reports as well).
if ! sibyl-runner status >/dev/null 2>&1; then
  echo "sibyl-runner: not registered yet; registering with ${SIBYL_SERVER_URL:-the configured server}" >&2
  if [ -n "${SIBYL_REGISTRATION_TOKEN:-}" ]; then
    SIBYL_ACCESS_TOKEN="$SIBYL_REGISTRATION_TOKEN" sibyl-runner register
  else
    sibyl-runner register
  fi
fi

# The registration token is for registering: the runner and its agents never see it.
unset SIBYL_REGISTRATION_TOKEN
exec sibyl-runner run "$@"
