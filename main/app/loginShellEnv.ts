import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { errorMessage } from '../runner/errors.ts';
import { logger } from '../runner/logger.ts';

const log = logger('shell-env');

export type Env = Record<string, string | undefined>;

export interface LoginShellOptions {
  /** the shell to ask; default `$SHELL` of the base environment, else /bin/sh */
  shell?: string;
  /** how long the shell may take to print its environment, ms (default 5000); then its process group is killed */
  timeoutMs?: number;
  /** a Node runtime to print the environment with; default this process's (Electron's, run as Node) */
  execPath?: string;
  /** default `process.platform`; on Windows nothing is resolved */
  platform?: NodeJS.Platform;
}

export const LOGIN_SHELL_TIMEOUT_MS = 5000;

/**
 * Variables that describe the helper shell itself or that we set to keep rc files quiet
 * (Oh My Zsh's updater and tmux plugin would otherwise block or take over); never handed on.
 */
const DROPPED = new Set(['_', 'SHLVL', 'PWD', 'OLDPWD', 'DISABLE_AUTO_UPDATE', 'ZSH_TMUX_AUTOSTARTED', 'ZSH_TMUX_AUTOSTART']);
const QUIET_RC = { DISABLE_AUTO_UPDATE: 'true', ZSH_TMUX_AUTOSTARTED: 'true', ZSH_TMUX_AUTOSTART: 'false' };

const ShellEnv = z.record(z.string(), z.string());

const cache = new Map<string, Promise<Env>>();

/**
 * The environment the user's terminal would have: `$SHELL -ilc` (interactive login, so zsh reads
 * .zprofile and .zshrc, bash .bash_profile/.bashrc) prints its environment as JSON between random
 * delimiters, merged over `base` (the shell's values win, variables only `base` has stay). An app
 * started from Finder, the Dock, a login item or an autostart entry otherwise gets a bare PATH and
 * none of the user's exports. Resolved once per shell and HOME for the process. Never throws: a
 * failure or a shell slower than `timeoutMs` is a logged warning and returns `base` unchanged. On
 * Windows returns `base` (programs there take the environment from the registry, not a shell).
 */
export function resolveLoginShellEnv(base: Env, opts: LoginShellOptions = {}): Promise<Env> {
  if ((opts.platform ?? process.platform) === 'win32') return Promise.resolve(base);
  const shell = opts.shell ?? (base.SHELL || '/bin/sh');
  const key = `${shell}\0${base.HOME ?? ''}`;
  let p = cache.get(key);
  if (!p) {
    p = readShellEnv(shell, base, opts.timeoutMs ?? LOGIN_SHELL_TIMEOUT_MS, opts.execPath ?? process.execPath).then(
      (env) => {
        const merged: Env = { ...base };
        for (const [k, v] of Object.entries(env)) if (!DROPPED.has(k)) merged[k] = v;
        return merged;
      },
      (err: unknown) => {
        log.warn('could not read your login shell environment; agents get the app environment as it is', {
          shell,
          error: errorMessage(err),
        });
        cache.delete(key); // a later start may try again
        return base;
      },
    );
    cache.set(key, p);
  }
  return p;
}

const sq = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** Runs the shell and parses what it prints between the delimiters; rejects on failure or timeout. */
function readShellEnv(shell: string, base: Env, timeoutMs: number, execPath: string): Promise<Record<string, string>> {
  const mark = `_SIBYL_ENV_${randomBytes(16).toString('hex')}_`;
  // Printed by a Node runtime, not `env`: values may hold newlines, and `env -0` is not everywhere.
  // ELECTRON_RUN_AS_NODE only for that one command (Electron's binary then acts as Node), and left
  // out of what it prints. Output before and after (rc files that echo, .bash_logout) is ignored.
  const script = `const e={...process.env};delete e.ELECTRON_RUN_AS_NODE;process.stdout.write(process.argv[1]+JSON.stringify(e)+process.argv[1])`;
  // Through `env`: csh and tcsh have no `VAR=value command` form; every shell can run env.
  const command = `env ELECTRON_RUN_AS_NODE=1 ${sq(execPath)} -e ${sq(script)} ${sq(mark)}; exit`;
  return new Promise((resolve, reject) => {
    const child = spawn(shell, ['-ilc', command], {
      env: { ...base, ...QUIET_RC },
      // No terminal: an interactive shell must not wait on stdin or take over a TTY; its own
      // process group so that a hung rc file and whatever it started can be ended together.
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      windowsHide: true,
    });
    let out = '';
    let errTail = '';
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      fn();
    };
    const killGroup = (): void => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      killGroup();
      finish(() => reject(new Error(`${shell} did not print its environment within ${timeoutMs} ms (a start-up file waits or hangs)`)));
    }, timeoutMs);
    const tryParse = (): boolean => {
      const start = out.indexOf(mark);
      const end = start < 0 ? -1 : out.indexOf(mark, start + mark.length);
      if (end < 0) return false;
      const text = out.slice(start + mark.length, end);
      finish(() => {
        try {
          resolve(ShellEnv.parse(JSON.parse(text)));
        } catch (err) {
          reject(new Error(`unreadable environment from ${shell}: ${errorMessage(err)}`));
        }
      });
      return true;
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      tryParse();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      errTail = (errTail + d).slice(-500);
    });
    child.on('error', (err) => finish(() => reject(err)));
    // 'close', not 'exit': the last of stdout may still be in the pipe when the shell exits.
    child.on('close', (code, signal) => {
      if (tryParse()) return;
      finish(() =>
        reject(new Error(`${shell} exited (${signal ?? code}) without printing its environment${errTail ? `: ${errTail.trim()}` : ''}`)),
      );
    });
    // Background jobs an rc file started may keep our pipes open; they are not ours to wait for.
    child.unref();
  });
}
