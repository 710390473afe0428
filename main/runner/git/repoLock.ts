import { resolve } from 'node:path';

/**
 * One async lock per repository: fetches, worktree add/remove and branch creation on one
 * repository's shared state run one at a time (git's own lock files would otherwise make the
 * second of two concurrent operations fail), while different repositories proceed in parallel.
 * Keys are paths; callers use the repository's common git directory so every worktree of one
 * repository shares a lock.
 */
export class RepoLocks {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(repo: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const key = resolve(repo);
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
    }
  }

  /** True while an operation holds or waits for the lock of `repo`. */
  busy(repo: string): boolean {
    return this.#tails.has(resolve(repo));
  }
}

/** Git repositories are process-wide state, so is their lock. */
export const repoLocks = new RepoLocks();

export function withRepoLock<T>(repo: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return repoLocks.run(repo, fn, signal);
}
