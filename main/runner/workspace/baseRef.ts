import { RunnerError, errorMessage } from '../errors.ts';
import { currentBranch, fetch, listRemotes, resolveCommit, symbolicRef, updateRemoteHead } from '../git/git.ts';
import { withFetchLock } from '../git/repoLock.ts';
import type { Logger } from '../logger.ts';

/**
 * Which commit a task starts from. The base is fetched first (bounded by a timeout) so agents do
 * not start from a stale base; when the remote cannot be reached the local ref is used and the
 * result says `base_fetched: false`. With no base requested, the repository's default branch is
 * used: the remote's HEAD, else the local HEAD, never a hard-coded `origin/main` (R9).
 */

export interface ResolvedBase {
  /** A name that resolves inside the worktree too (`origin/main`, `main`, a tag or a sha). */
  ref: string;
  commit: string;
  fetched: boolean;
}

export interface BaseRequest {
  /** Where to run git. */
  repo: string;
  lockKey: string;
  /** config.base_branch / config.base_ref, already checked by validateGitRefs. */
  requested: string | undefined;
  /** A runner-owned mirror: fetch every branch (unless `justFetched`), not only the base. */
  mirror: boolean;
  justFetched?: boolean;
  fetchTimeoutMs: number;
  allowProtocols?: string;
  signal?: AbortSignal;
}

/** A fetch several tasks wait on: killed through `stop` once `waiters` drops to 0. */
interface SharedFetch {
  stop: AbortController;
  /** tasks waiting with a signal that have not given up (waiters without a signal never give up) */
  waiters: number;
  result: Promise<boolean>;
}

const SHA = /^[0-9a-f]{7,40}$/i;

export class BaseResolver {
  readonly #log: Logger;
  /** Concurrent tasks on one repository share one fetch instead of queueing one each. */
  readonly #inflight = new Map<string, SharedFetch>();

  constructor(log: Logger) {
    this.#log = log;
  }

  async resolve(req: BaseRequest): Promise<ResolvedBase> {
    const remotes = await listRemotes(req.repo);
    const remote = remotes.includes('origin') ? 'origin' : remotes[0];
    let name = req.requested;
    if (name !== undefined && remote !== undefined && name.startsWith(`${remote}/`)) name = name.slice(remote.length + 1);
    const isSha = name !== undefined && SHA.test(name);

    let fetched = false;
    if (remote !== undefined && req.mirror) {
      fetched = req.justFetched === true || (await this.#fetch(req, remote, [], true));
    }
    name ??= await this.#defaultBranch(req, remote);
    if (name === undefined) {
      throw new RunnerError(
        'base_not_found',
        `cannot tell the default branch of ${req.repo} (no remote HEAD, no local branch); send config.base_branch`,
      );
    }
    if (remote !== undefined && !req.mirror && name !== 'HEAD') {
      if (isSha) {
        // A commit id cannot go stale; fetch only when it is not here yet.
        fetched = (await resolveCommit(req.repo, name)) !== undefined || (await this.#fetch(req, remote, [], false));
      } else {
        fetched = await this.#fetch(req, remote, [`+refs/heads/${name}:refs/remotes/${remote}/${name}`], false);
      }
    }

    const candidates =
      isSha || name === 'HEAD'
        ? [name]
        : [...(remote ? [`refs/remotes/${remote}/${name}`] : []), `refs/heads/${name}`, `refs/tags/${name}`, name];
    for (const ref of candidates) {
      const commit = await resolveCommit(req.repo, ref);
      if (commit) return { ref: ref.replace(/^refs\/(remotes|heads|tags)\//, ''), commit, fetched };
    }
    throw new RunnerError(
      'base_not_found',
      `base ${JSON.stringify(req.requested ?? name)} does not exist in ${req.repo}${fetched ? '' : ' (and the remote could not be fetched)'}`,
    );
  }

  async #defaultBranch(req: BaseRequest, remote: string | undefined): Promise<string | undefined> {
    if (remote !== undefined) {
      const prefix = `refs/remotes/${remote}/`;
      let head = await symbolicRef(req.repo, `${prefix}HEAD`);
      if (head === undefined) {
        await withFetchLock(req.lockKey, () => updateRemoteHead(req.repo, remote, this.#callOpts(req)), req.signal);
        head = await symbolicRef(req.repo, `${prefix}HEAD`);
      }
      if (head?.startsWith(prefix)) return head.slice(prefix.length);
    }
    const local = await currentBranch(req.repo);
    if (local !== undefined && (await resolveCommit(req.repo, `refs/heads/${local}`))) return local;
    return (await resolveCommit(req.repo, 'HEAD')) ? 'HEAD' : undefined;
  }

  /**
   * One fetch per repository and refspecs at a time, shared by every task that asks meanwhile. It
   * is bounded by the timeout, and killed only when every task waiting on it has been stopped; a
   * stopped task stops waiting at once (rejecting with its signal's reason).
   */
  #fetch(req: BaseRequest, remote: string, refspecs: string[], all: boolean): Promise<boolean> {
    const key = `${req.lockKey}\0${remote}\0${refspecs.join(' ')}`;
    let shared = this.#inflight.get(key);
    if (!shared) {
      const stop = new AbortController();
      const entry: SharedFetch = { stop, waiters: 0, result: Promise.resolve(false) };
      entry.result = withFetchLock(
        req.lockKey,
        async () => {
          try {
            await fetch(req.repo, remote, refspecs, { ...this.#callOpts(req), signal: stop.signal, prune: all, tags: all });
            return true;
          } catch (err) {
            if (!stop.signal.aborted)
              this.#log.warn('fetch failed, using the local ref', { repo: req.repo, remote, error: errorMessage(err) });
            return false;
          }
        },
        stop.signal,
      )
        .catch(() => false)
        .finally(() => {
          if (this.#inflight.get(key) === entry) this.#inflight.delete(key);
        });
      this.#inflight.set(key, entry);
      shared = entry;
    }
    return this.#await(key, shared, req.signal);
  }

  /** Waits for a shared fetch on behalf of one task; the last task to give up kills it. */
  #await(key: string, shared: SharedFetch, signal: AbortSignal | undefined): Promise<boolean> {
    if (!signal) {
      shared.waiters++;
      return shared.result;
    }
    signal.throwIfAborted();
    shared.waiters++;
    return new Promise<boolean>((resolve, reject) => {
      const onAbort = (): void => {
        if (--shared.waiters === 0) {
          // Nobody wants it any more: a new request starts afresh rather than joining a dying fetch.
          if (this.#inflight.get(key) === shared) this.#inflight.delete(key);
          shared.stop.abort(signal.reason);
        }
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      // `result` never rejects (a failed fetch is `false`).
      void shared.result.then((ok) => {
        signal.removeEventListener('abort', onAbort);
        resolve(ok);
      });
    });
  }

  #callOpts(req: BaseRequest): { timeoutMs: number; signal?: AbortSignal; allowProtocols?: string } {
    return {
      timeoutMs: req.fetchTimeoutMs,
      ...(req.signal ? { signal: req.signal } : {}),
      ...(req.allowProtocols ? { allowProtocols: req.allowProtocols } : {}),
    };
  }
}
