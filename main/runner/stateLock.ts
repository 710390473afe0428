import { closeSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { canonicalPath } from './config/canonicalPath.ts';
import { RunnerError, errorMessage } from './errors.ts';
import { processStartTime } from './tasks/processIdentity.ts';

/**
 * One daemon per state folder. Node has no flock, so the lock is a file made atomically with
 * link(2) (it appears complete or not at all) holding the owner's pid and process start time. A
 * lock whose owner is gone (crash, kill -9, reboot) is stale and taken over at the next start:
 * the start time tells a dead owner from a new process that got the same pid.
 */

export const LOCK_FILE = 'runner.lock';
/** Taken only to replace a stale lock, so two starters cannot both replace it. */
const TAKEOVER_FILE = 'runner.lock.takeover';

const LockOwner = z.object({
  pid: z.number().int().positive(),
  /** processStartTime(pid) when the lock was taken; absent where the platform cannot say */
  startTime: z.string().optional(),
  /** the runner.yaml the owner runs with */
  configPath: z.string(),
  /** epoch ms */
  since: z.number(),
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
  const me: LockOwner = { pid: process.pid, configPath, since: Date.now(), ...startTimeOf(process.pid) };
  const content = `${JSON.stringify(me)}\n`;
  // Three rounds: free → link; stale → take over (another starter may win the race) → link again.
  for (let round = 0; round < 3; round++) {
    if (tryLink(path, content)) return held(path, content);
    const owner = readOwner(path);
    if (owner === 'missing') continue; // released between our link and our read
    if (owner !== 'unreadable' && alive(owner)) throw alreadyRunning(owner, stateDir, configPath, key);
    takeOverStale(stateDir, path, owner);
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
    try {
      // A lock taken over (we were judged stale: impossible while we live, but cheap to check) is not ours to remove.
      if (readFileSync(path, 'utf8') === content) unlinkSync(path);
    } catch {
      /* already gone */
    }
  };
  process.on('exit', release);
  return { path, release };
}

/** Write the whole content to a private file, then link it into place: EEXIST means someone holds the lock. */
function tryLink(path: string, content: string): boolean {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if (isCode(err, 'EEXIST')) return false;
    throw unavailable(path, err);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* never created */
    }
  }
}

function readOwner(path: string): LockOwner | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (isCode(err, 'ENOENT')) return 'missing';
    throw unavailable(path, err);
  }
  try {
    return LockOwner.parse(JSON.parse(text));
  } catch {
    // Written by link(2) whole, so never half-written by us: a foreign or damaged file, treated as stale.
    return 'unreadable';
  }
}

/** Same pid and, where the platform tells, same start time: a reused pid is not the owner. */
function alive(owner: LockOwner): boolean {
  if (owner.pid === process.pid) return owner.startTime === startTimeOf(process.pid).startTime;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if (!isCode(err, 'EPERM')) return false; // ESRCH: no such process
  }
  if (owner.startTime === undefined) return true;
  const now = processStartTime(owner.pid);
  return now === undefined || now === owner.startTime;
}

/**
 * Remove a stale lock under the takeover lock, after checking it is still the one judged stale:
 * without this, a second starter could remove the lock the first one just took.
 */
function takeOverStale(stateDir: string, path: string, judged: LockOwner | 'unreadable'): void {
  const guard = join(stateDir, TAKEOVER_FILE);
  const mine = `${JSON.stringify({ pid: process.pid, configPath: '', since: Date.now(), ...startTimeOf(process.pid) })}\n`;
  if (!tryLink(guard, mine)) {
    const other = readOwner(guard);
    // A takeover lasts milliseconds; one whose process is gone crashed during it.
    if (typeof other === 'object' && alive(other)) return;
    try {
      unlinkSync(guard);
    } catch {
      /* another starter removed it */
    }
    return;
  }
  try {
    const now = readOwner(path);
    const same =
      now === judged || (typeof now === 'object' && typeof judged === 'object' && now.pid === judged.pid && now.since === judged.since);
    if (same) unlinkSync(path);
  } catch {
    /* gone already: the next round links */
  } finally {
    try {
      unlinkSync(guard);
    } catch {
      /* ignore */
    }
  }
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

function startTimeOf(pid: number): { startTime?: string } {
  const t = processStartTime(pid);
  return t === undefined ? {} : { startTime: t };
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === code;
}
