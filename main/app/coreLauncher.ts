import { fork } from 'node:child_process';
import { PARENT_CREDENTIALS_ENV } from '../runner/config/parentCredentials.ts';

/** How a core process ended: its exit code, or the signal that ended it (POSIX). */
export interface CoreExit {
  code: number | null;
  signal: string | null;
}

/** A running core process (a utilityProcess in the app, a Node child in tests). */
export interface CoreChild {
  readonly pid: number | undefined;
  /** messages from the core (its credential requests, parentCredentials.ts) */
  onMessage(fn: (msg: unknown) => void): void;
  send(msg: unknown): void;
  /** the core's stderr as it comes (its human-readable log and, on a failed start, why) */
  onStderr(fn: (text: string) => void): void;
  /** resolves once the process has ended */
  readonly exited: Promise<CoreExit>;
  /** End it now (no drain): the way out when a requested `shutdown` did not end it in time. */
  kill(): void;
}

/**
 * Starts the runner core: the same daemon entry as `sibyl-runner run --config <configPath>`, with
 * `env` (the app's login-shell environment) plus SIBYL_CREDENTIALS_FROM=parent, so the core asks
 * the app for its credentials over the child's channel and never reads the CLI's file.
 */
export interface CoreLauncher {
  launch(o: { configPath: string; env: Record<string, string | undefined> }): CoreChild;
}

/** The arguments and environment every launcher gives the core. */
export function coreCommand(o: { configPath: string; env: Record<string, string | undefined> }): {
  args: string[];
  env: Record<string, string>;
} {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.env)) if (v !== undefined) env[k] = v;
  env[PARENT_CREDENTIALS_ENV] = 'parent';
  // --quiet: the core's own log goes to its runner.log; stderr keeps only what stopped it.
  return { args: ['run', '--config', o.configPath, '--quiet'], env };
}

/**
 * The core as a plain Node child (`child_process.fork` of the CLI's launcher, bin/sibyl-runner.js,
 * on this Node): what the application layer uses without Electron, and what its tests run.
 * `entry` is that launcher's path.
 */
export function nodeCoreLauncher(o: { entry: string; execPath?: string }): CoreLauncher {
  return {
    launch(req) {
      const { args, env } = coreCommand(req);
      const child = fork(o.entry, args, {
        env,
        execPath: o.execPath ?? process.execPath,
        // Not this process's flags (a test runner's, --inspect): the core starts as `sibyl-runner run` would.
        execArgv: [],
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        serialization: 'json',
      });
      const exited = new Promise<CoreExit>((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
        // Never spawned (a bad execPath): as an exit, so the caller sees it end.
        child.once('error', () => {
          if (child.pid === undefined) resolve({ code: null, signal: null });
        });
      });
      child.stderr?.setEncoding('utf8');
      // The core never keeps this process alive by itself: if it is left running (a crash of
      // ours), it sees its channel close and drains (run.ts).
      child.unref();
      child.channel?.unref();
      (child.stderr as (NodeJS.ReadableStream & { unref?: () => void }) | null)?.unref?.();
      return {
        pid: child.pid,
        onMessage: (fn) => void child.on('message', fn),
        send: (msg) => {
          if (child.connected) child.send(msg as object, (err) => void err);
        },
        onStderr: (fn) => void child.stderr?.on('data', fn),
        exited,
        kill: () => void child.kill('SIGKILL'),
      };
    },
  };
}
