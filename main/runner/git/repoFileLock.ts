import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RunnerError, errorMessage } from '../errors.ts';
import { LockHolder, holderAlive, isCode, readHolder, removeIfOurs, selfHolder, takeOverStale, tryLink } from '../lockFile.ts';

/**
 * The part of the repository lock that reaches other processes: two runners (a headless one and
 * the desktop app, each with its own state) linked to one checkout must not add, remove or prune
 * worktrees at the same moment, or one git reads the other's half-written records in
 * `.git/worktrees/` and fails. The lock is a file in the repository's common git folder, made and
 * judged like the state lock (lockFile.ts: pid + process start time, stale holders taken over).
 *
 * Its name ends neither in `.lock` (git's lock files for refs, index and config are `<name>.lock`,
 * and git takes a `<name>.lock` it finds for a stale lock of its own) nor is it upper case (git
 * reads upper-case files at the top of the git folder as refs, e.g. `FETCH_HEAD`): git neither
 * reads nor deletes it.
 */
export const REPO_LOCK_FILE = 'sibyl-runner.lck';

/** Default bound on waiting for another process's hold (ms): a `worktree remove` of a big worktree deletes its files under the lock. */
export const REPO_LOCK_WAIT_MS = 120_000;

/** First pause between two looks at a held lock (ms); it doubles up to MAX_POLL_MS. */
const FIRST_POLL_MS = 2;
const MAX_POLL_MS = 50;
/** How long a judgement that the holder lives is reused (ms): on macOS each costs a `ps`. */
const ALIVE_RECHECK_MS = 1000;

export interface RepoFileLock {
  readonly path: string;
  /** Remove the lock file if it is still ours. Idempotent; never throws. */
  release(): void;
}

export interface RepoFileLockOptions {
  /** Give up after waiting this long for another holder (ms); default REPO_LOCK_WAIT_MS. */
  waitMs?: number;
  /** Stop waiting: rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Lock files this process holds: removed if it exits while holding one (`process.exit` in the middle of a git call). */
const heldHere = new Map<string, string>();
let exitHookInstalled = false;

/**
 * Take the lock file of the repository whose common git folder is `gitDir`, waiting (polling,
 * abortable) while a live process holds it and taking over one whose holder is gone. Resolves to
 * undefined when no lock file can be made there because git could not write there either (the
 * folder is gone, or not ours to write): the caller's git then fails, or has nothing to protect.
 * Raises RunnerError `repo_locked` naming the file and its holder after `waitMs`, and
 * `repo_lock_failed` when the file cannot be made for another reason (a full disk).
 */
export async function acquireRepoFileLock(gitDir: string, opts: RepoFileLockOptions = {}): Promise<RepoFileLock | undefined> {
  const path = join(gitDir, REPO_LOCK_FILE);
  const content = `${JSON.stringify(selfHolder())}\n`;
  const waitMs = opts.waitMs ?? REPO_LOCK_WAIT_MS;
  const started = Date.now();
  let pause = FIRST_POLL_MS;
  let judged: { holder: LockHolder; at: number } | undefined;
  const stillAlive = (holder: LockHolder): boolean => {
    if (judged && sameHolder(judged.holder, holder) && Date.now() - judged.at < ALIVE_RECHECK_MS) return true;
    const alive = holderAlive(holder);
    judged = alive ? { holder, at: Date.now() } : undefined;
    return alive;
  };
  for (;;) {
    opts.signal?.throwIfAborted();
    let holder: LockHolder | 'missing' | 'unreadable' | 'busy';
    try {
      if (tryLink(path, content)) return hold(path, content);
      holder = readHolder(path, LockHolder);
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return undefined; // the repository is gone: nothing to guard
      if (!['EACCES', 'EPERM', 'EROFS'].some((c) => isCode(err, c))) throw failed(path, err);
      if (!writable(gitDir)) return undefined; // git cannot change this repository either, and says so better
      // Windows: a lock file being deleted refuses a new link and a read for a moment.
      holder = 'busy';
    }
    if (holder === 'missing') continue; // released between our link and our read: link again at once
    if (holder === 'unreadable' || (typeof holder === 'object' && !stillAlive(holder))) {
      try {
        takeOverStale(path, holder, LockHolder);
      } catch (err) {
        throw failed(path, err);
      }
    }
    if (Date.now() - started >= waitMs) throw timedOut(path, holder, waitMs);
    try {
      // Jitter: two waiters of different processes do not look at the same instant for ever.
      await sleep(pause * (0.5 + Math.random()), undefined, opts.signal ? { signal: opts.signal } : {});
    } catch (err) {
      throw opts.signal?.aborted ? (opts.signal.reason as Error) : err;
    }
    pause = Math.min(pause * 2, MAX_POLL_MS);
  }
}

function sameHolder(a: LockHolder, b: LockHolder): boolean {
  return a.pid === b.pid && a.since === b.since && a.startTime === b.startTime;
}

function hold(path: string, content: string): RepoFileLock {
  heldHere.set(path, content);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const [p, c] of heldHere) removeIfOurs(p, c);
    });
  }
  let released = false;
  return {
    path,
    release: () => {
      if (released) return;
      released = true;
      heldHere.delete(path);
      removeIfOurs(path, content);
    },
  };
}

function timedOut(path: string, holder: LockHolder | 'unreadable' | 'busy', waitMs: number): RunnerError {
  const waited = `waited ${Math.round(waitMs / 1000)} s for the repository lock ${path}`;
  if (typeof holder === 'object')
    return new RunnerError('repo_locked', `${waited}: process ${holder.pid} has held it since ${new Date(holder.since).toISOString()}`, {
      remedy: 'retry',
      context: { path, pid: holder.pid },
    });
  const why = holder === 'unreadable' ? 'the file is not a lock of ours and could not be taken over' : 'the file could not be read';
  return new RunnerError('repo_locked', `${waited}: ${why}`, { remedy: 'retry', context: { path } });
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function failed(path: string, err: unknown): RunnerError {
  const full = isCode(err, 'ENOSPC') || isCode(err, 'EDQUOT');
  return new RunnerError('repo_lock_failed', `cannot make the repository lock ${path}: ${errorMessage(err)}`, {
    cause: err,
    remedy: full ? 'freeDisk' : 'none',
    context: { path },
  });
}
