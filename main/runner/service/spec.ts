import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunnerError } from '../errors.ts';

/** The name every service manager knows the runner by (systemd unit, journal identifier). */
export const SERVICE_NAME = 'sibyl-runner';
/** launchd's label, the plist's file name without `.plist` (the app's id, electron-builder.yml `appId`). */
export const LAUNCHD_LABEL = 'dev.sibyl.runner';
/** The Scheduled Task's name on Windows. */
export const TASK_NAME = 'Sibyl Runner';

/**
 * What every service manager needs to start the runner exactly as `sibyl-runner run --config
 * <configPath>` starts it, on the Node this command runs on. Paths are absolute.
 */
export interface ServiceSpec {
  /** the Node executable (`process.execPath`; Electron's in the desktop app's bundled CLI, then with `ELECTRON_RUN_AS_NODE=1` in `env`) */
  node: string;
  /** bin/sibyl-runner.js of this installation */
  launcher: string;
  /** the runner.yaml the service runs */
  configPath: string;
  /** whole seconds the manager waits after SIGTERM before it kills: `drain_timeout` + 10 s */
  stopTimeoutSeconds: number;
  /** the service's environment: `PATH` as it was at install (so agents and git are found), nothing secret */
  env: Record<string, string>;
  /** the user's home folder (working directory, and where macOS keeps the logs) */
  home: string;
}

/** Seconds between SIGTERM and the kill: the runner's own drain limit plus time to send its last results. */
export const STOP_GRACE_SECONDS = 10;

/** The arguments after the Node executable. */
export function runArguments(spec: ServiceSpec): string[] {
  return [spec.launcher, 'run', '--config', spec.configPath];
}

/**
 * The service's spec for a configuration. Only `PATH` is taken from the environment: a service
 * manager starts the runner with a minimal one, and agent CLIs installed under ~/.local/bin or a
 * Node version manager would not be found; tokens are never written into a unit file.
 * Throws RunnerError `service_path_invalid` for a path that a unit file cannot hold (a line
 * break or another control character).
 */
export function serviceSpec(opts: {
  node: string;
  launcher: string;
  configPath: string;
  drainTimeoutSeconds: number;
  home: string;
  env: Record<string, string | undefined>;
  /** the Node is Electron's (`process.versions.electron`): it runs scripts only in Node mode */
  electron?: boolean;
}): ServiceSpec {
  const env: Record<string, string> = {};
  if (opts.env.PATH) env.PATH = opts.env.PATH;
  if (opts.electron) env.ELECTRON_RUN_AS_NODE = '1';
  const spec: ServiceSpec = {
    node: resolve(opts.node),
    launcher: resolve(opts.launcher),
    configPath: resolve(opts.configPath),
    stopTimeoutSeconds: Math.ceil(opts.drainTimeoutSeconds) + STOP_GRACE_SECONDS,
    env,
    home: opts.home,
  };
  for (const [what, value] of [
    ['Node', spec.node],
    ['launcher', spec.launcher],
    ['configuration', spec.configPath],
    ['home folder', spec.home],
    ...Object.entries(env).map(([k, v]) => [k, v]),
  ] as const) {
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    if (/[\x00-\x1f\x7f]/.test(value))
      throw new RunnerError(
        'service_path_invalid',
        `the ${what} path ${JSON.stringify(value)} holds a control character a unit file cannot hold`,
      );
  }
  if (!isAbsolute(spec.home)) throw new RunnerError('service_path_invalid', `the home folder ${JSON.stringify(spec.home)} is not absolute`);
  return spec;
}

/**
 * bin/sibyl-runner.js of the installation this code runs from: the first folder, going up from
 * `from`, that has `bin/sibyl-runner.js`. That is the package root for the sources (main/…), the
 * bundle (out/cli.mjs), an `npm install -g` and the desktop app's resources/cli alike.
 */
export function findLauncher(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const candidate = join(dir, 'bin', 'sibyl-runner.js');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new RunnerError('launcher_not_found', `bin/sibyl-runner.js was not found above ${from}`);
}
