import { resolve } from 'node:path';
import { acquireRepoFileLock } from './repoFileLock.ts';

/**
 * One async lock per repository: fetches, worktree add/remove and branch creation on one
 * repository's shared state run one at a time (git's own lock files would otherwise make the
 * second of two concurrent operations fail), while different repositories proceed in parallel.
 * Keys are paths; callers use the repository's common git directory so every worktree of one
 * repository shares a lock.
 *
 * Within one process the order is a promise chain (cheap). Worktree and branch changes also take
 * a lock file in the common git directory (repoFileLock.ts), inside the in-process lock, so a
 * second runner process linked to the same checkout waits for them too. Fetches and clones do not
 * take it: they last seconds and only need ordering within this process.
 */
export interface RepoLocksOptions {
  /** How long runAcrossProcesses waits for another process's lock file (ms); default REPO_LOCK_WAIT_MS (2 min). */
  fileLockWaitMs?: number;
}

export class RepoLocks {
  readonly #tails = new Map<string, Promise<void>>();
  /** holders and waiters per key */
  readonly #queued = new Map<string, number>();
  readonly #fileLockWaitMs: number | undefined;

  constructor(opts: RepoLocksOptions = {}) {
    this.#fileLockWaitMs = opts.fileLockWaitMs;
  }

  /** Run `fn` once every earlier holder of `repo`'s lock in this process is done. Rejects with the signal's reason if it aborts first. */

  async run<T>(repo: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const key = resolve(repo);
    this.#queued.set(key, (this.#queued.get(key) ?? 0) + 1);
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    try {
      if (signal) {
        signal.throwIfAborted();
        await new Promise<void>((res, rej) => {
          const onAbort = (): void => rej(signal.reason as Error);
          signal.addEventListener('abort', onAbort, { once: true });
          previous.then(() => {
            signal.removeEventListener('abort', onAbort);
            res();
          }, rej);
        });
      } else {
        await previous;
      }
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
      const left = (this.#queued.get(key) ?? 1) - 1;
      if (left > 0) this.#queued.set(key, left);
      else this.#queued.delete(key);
    }
  }

  /**
   * Like run, and also holding the lock file in the git directory `repo` while `fn` runs, so other
   * processes' worktree changes wait as well. Keep `fn` short (no fetch, no checkout): every
   * runner on the repository waits for it. Raises RunnerError `repo_locked` when another process
   * holds the file longer than the bound; rejects with the signal's reason when it aborts first.
   */
  runAcrossProcesses<T>(repo: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.run(
      repo,
      async () => {
        const file = await acquireRepoFileLock(resolve(repo), {
          ...(this.#fileLockWaitMs !== undefined ? { waitMs: this.#fileLockWaitMs } : {}),
          ...(signal ? { signal } : {}),
        });
        try {
          return await fn();
        } finally {
          file?.release();
        }
      },
      signal,
    );
  }

  /** True while an operation holds or waits for the lock of `repo`. */
  busy(repo: string): boolean {
    return this.#tails.has(resolve(repo));
  }

  /** How many operations of this process hold or wait for the lock of `repo` (the caller's own included). */
  queued(repo: string): number {
    return this.#queued.get(resolve(repo)) ?? 0;
  }
}

/** Git repositories are process-wide state, so is their lock. */
export const repoLocks = new RepoLocks();

/**
 * For worktree add/remove/prune and branch creation/deletion on the repository whose common git
 * directory is `repo`: one at a time in this process and across runner processes (see
 * RepoLocks.runAcrossProcesses).
 */
export function withRepoLock<T>(repo: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return repoLocks.runAcrossProcesses(repo, fn, signal);
}

/**
 * For network operations on `repo` (fetch, clone, `remote set-head`): ordered with this process's
 * other operations on it, but without the lock file, so another runner's task start never waits
 * for our fetch.
 */
export function withFetchLock<T>(repo: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return repoLocks.run(repo, fn, signal);
}
