import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { canonicalPath } from './config/canonicalPath.ts';
import { RunnerError, errorMessage } from './errors.ts';
import { LockHolder, holderAlive, isCode, readHolder, removeIfOurs, selfHolder, takeOverStale, tryLink } from './lockFile.ts';

/**
 * One daemon per state folder: a lock file (lockFile.ts) holding the owner's pid, process start
 * time and config path. A lock whose owner is gone (crash, kill -9, reboot) is taken over at the
 * next start.
 */

export const LOCK_FILE = 'runner.lock';

export const LockOwner = LockHolder.extend({
  /** the runner.yaml the owner runs with */
  configPath: z.string(),
});
export type LockOwner = z.infer<typeof LockOwner>;

export interface StateLock {
  readonly path: string;
  /** Remove the lock file if it is still ours. Idempotent; never throws. */
  release(): void;
}

/**
 * Take the exclusive lock on `stateDir` (created 0700 if missing) for `configPath`. Nothing else
 * in the folder is read or written. Raises RunnerError `already_running` (exit 2) naming the
 * owner's pid when a live process holds it, and `state_unavailable` when the folder cannot be
 * written. The lock is also released when the process exits normally (`process.exit` included).
 */
export function acquireStateLock(stateDir: string, givenConfigPath: string, key: LockedKey = 'state_dir'): StateLock {
  // One file reached by two paths is one configuration: the owner is named by the resolved path.
  const configPath = canonicalPath(givenConfigPath);
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw unavailable(stateDir, err);
  }
  const path = join(stateDir, LOCK_FILE);
  const me: LockOwner = { ...selfHolder(), configPath };
  const content = `${JSON.stringify(me)}\n`;
  // Three rounds: free → link; stale → take over (another starter may win the race) → link again.
  for (let round = 0; round < 3; round++) {
    let owner: LockOwner | 'missing' | 'unreadable';
    try {
      if (tryLink(path, content)) return held(path, content);
      owner = readHolder(path, LockOwner);
    } catch (err) {
      throw unavailable(path, err);
    }
    if (owner === 'missing') continue; // released between our link and our read
    if (owner !== 'unreadable' && holderAlive(owner)) throw alreadyRunning(owner, stateDir, configPath, key);
    try {
      takeOverStale(path, owner, LockOwner);
    } catch (err) {
      throw unavailable(path, err);
    }
  }
  throw new RunnerError('state_locked', `could not lock the state folder ${stateDir}: another process keeps taking the lock`, {
    remedy: 'retry',
    context: { path: stateDir },
  });
}

function held(path: string, content: string): StateLock {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.off('exit', release);
    removeIfOurs(path, content);
  };
  process.on('exit', release);
  return { path, release };
}

/** The config key naming the locked folder: the state folder, or the worktree folder (whose registry a second runner's sweep would rewrite). */
export type LockedKey = 'state_dir' | 'worktree_base';

function alreadyRunning(owner: LockOwner, stateDir: string, configPath: string, key: LockedKey): RunnerError {
  if (owner.configPath === configPath) {
    return new RunnerError('already_running', `already running for this config (pid ${owner.pid})`, {
      exitCode: 2,
      context: { file: configPath, pid: owner.pid, path: stateDir },
    });
  }
  // Two configurations pointed at one folder: each needs its own.
  const what = key === 'state_dir' ? 'state folder' : 'worktree folder';
  return new RunnerError(
    'already_running',
    `the ${what} ${stateDir} is in use by another sibyl-runner (pid ${owner.pid}, config ${owner.configPath}); give each configuration its own ${key}`,
    { exitCode: 2, remedy: 'fixConfig', context: { file: configPath, key, pid: owner.pid, path: stateDir } },
  );
}

function unavailable(path: string, err: unknown): RunnerError {
  const full = isCode(err, 'ENOSPC') || isCode(err, 'EDQUOT');
  return new RunnerError('state_unavailable', `cannot lock the state folder at ${path}: ${errorMessage(err)}`, {
    cause: err,
    remedy: full ? 'freeDisk' : 'none',
    context: { path },
  });
}
