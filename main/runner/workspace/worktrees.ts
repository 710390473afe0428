import { readdir, realpath, rmdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { RunnerError, TaskRejected, errorMessage } from '../errors.ts';
import * as git from '../git/git.ts';
import { REPO_URL_PROTOCOLS, defaultBranchName, validateGitRefs } from '../git/refNames.ts';
import { repoLocks, withRepoLock } from '../git/repoLock.ts';
import { logger, type Logger } from '../logger.ts';
import type { WarmWorktree } from '../projects/links.ts';
import type { ResultStatus } from '../protocol/messages.ts';
import { isInside, type TaskSpec } from '../tasks/taskSpec.ts';
import { BaseResolver, type ResolvedBase } from './baseRef.ts';
import { ensureMirror } from './repoCache.ts';
import { FolderWorkspaces, type PreparedWorkspace, type WorkspaceProvider } from './workspace.ts';
import { copyWorktreeIncludes } from './worktreeInclude.ts';
import { LinkLookup, type LinkSource } from './linkLookup.ts';
import { assertInside, mkdirInside } from './containment.ts';
import { exists, removeFolderWorkspace, removeRecorded, removeWorktreeFolder } from './worktreeCleanup.ts';
import { WorktreeRegistry, isFolderRecord, type FolderRecord, type WorktreeRecord } from './worktreeRegistry.ts';
import { sweepWorktrees } from './worktreeSweep.ts';
import { initSubmodules, type SubmoduleReport } from './submodules.ts';
import { branchConflictError, deleteUnusedBranch, freeBranchName, freeCheckedOutBranch, type WorktreeOwnership } from './taskBranch.ts';

export { defaultBranchName, validateGitRefs };

/**
 * Every task gets its own git worktree and branch, so parallel agents on one repository never
 * share a working tree (the original reused one worktree per project, R9, or fell back to an
 * empty folder, R10). Sources: a linked checkout (projects/links.ts) or a runner-owned mirror of
 * `config.repo_url`; a task with neither runs in a plain folder.
 */

export interface GitWorkspacesOptions {
  /** Worktrees go to `<worktreeBase>/<project_id>/<task_id>`. */
  worktreeBase: string;
  /** Mirrors of `config.repo_url` repositories; default `~/.sibyl/repos`. */
  repoCacheDir?: string;
  links: LinkSource;
  /** How long a failed or dirty task's worktree is kept for inspection; default 24, 0 removes at once. */
  keepFailedWorktreesHours?: number;
  /** Cap on the bytes used by the worktrees this provider manages; oldest finished removed first. 0/undefined: none. */
  diskCapBytes?: number;
  /** Bound on each fetch of a base; default 30 s. */
  fetchTimeoutMs?: number;
  /** Bound on the first clone of a `repo_url`; default 10 min. */
  cloneTimeoutMs?: number;
  log?: Logger;
  /** Injectable clock (ms since epoch) for the keep period. */
  now?: () => number;
  /** Default `<worktreeBase>/.sibyl-worktrees.json`. */
  registryFile?: string;
}

interface Source {
  kind: 'linked' | 'mirror';
  /** Where git runs for shared operations. */
  repo: string;
  lockKey: string;
  /** The linked checkout's top level (for .worktreeinclude), undefined for a mirror or bare repo. */
  checkout: string | undefined;
  /** The linked folder relative to its repository's top level ('' or 'sub/dir/'). */
  prefix: string;
  justFetched: boolean;
}

interface ActiveWorktree {
  record: WorktreeRecord;
  base: ResolvedBase;
  createdBranch: boolean;
  copied: Set<string>;
  released: boolean;
  /** Submodules checked out, and those left empty (reported in the result). */
  submodules?: SubmoduleReport;
}

/** Milliseconds of each step of preparing a git worktree, in the order they run (logged with 'worktree ready'). */
interface PrepareTimings {
  /** the project link (or the repo_url mirror) */
  lookup: number;
  /** the base: remote, default branch, fetch, commit */
  fetch: number;
  /** claiming the folder, the branch name and `git worktree add` (under the repository lock) */
  add: number;
  checkout: number;
  submodules: number;
  /** .worktreeinclude copies */
  include: number;
}

/** Each call returns the whole milliseconds (0.1 ms resolution) since the previous call. */
function stopwatch(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const ms = Math.round((now - last) * 10) / 10;
    last = now;
    return ms;
  };
}

export class GitWorkspaces implements WorkspaceProvider {
  readonly #base: string;
  readonly #cacheDir: string;
  readonly #links: LinkSource;
  readonly #lookup: LinkLookup;
  readonly #keepMs: number;
  readonly #capBytes: number;
  readonly #fetchTimeoutMs: number;
  readonly #cloneTimeoutMs: number;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #registry: WorktreeRegistry;
  readonly #bases: BaseResolver;
  readonly #folders: FolderWorkspaces;
  readonly #active = new Map<string, ActiveWorktree>();
  /** Plain-folder workspaces of running tasks (path → task id). */
  readonly #activeFolders = new Map<string, string>();
  #sweeps = 0;

  constructor(opts: GitWorkspacesOptions) {
    this.#base = resolve(opts.worktreeBase);
    this.#cacheDir = resolve(opts.repoCacheDir ?? join(homedir(), '.sibyl', 'repos'));
    this.#links = opts.links;
    this.#lookup = new LinkLookup(opts.links);
    this.#keepMs = (opts.keepFailedWorktreesHours ?? 24) * 3600_000;
    this.#capBytes = opts.diskCapBytes ?? 0;
    this.#fetchTimeoutMs = opts.fetchTimeoutMs ?? 30_000;
    this.#cloneTimeoutMs = opts.cloneTimeoutMs ?? 600_000;
    this.#log = opts.log ?? logger('worktrees');
    this.#now = opts.now ?? Date.now;
    this.#registry = new WorktreeRegistry(opts.registryFile ?? join(this.#base, '.sibyl-worktrees.json'), this.#log);
    this.#bases = new BaseResolver(this.#log);
    this.#folders = new FolderWorkspaces(this.#base);
  }

  async prepare(spec: TaskSpec, signal?: AbortSignal): Promise<PreparedWorkspace> {
    validateGitRefs(spec);
    const lap = stopwatch();
    const source = await this.#source(spec, signal);
    if (!source) return this.#folder(spec);
    const ms: PrepareTimings = { lookup: lap(), fetch: 0, add: 0, checkout: 0, submodules: 0, include: 0 };

    const root = spec.worktreePath ?? join(this.#base, spec.projectId, spec.taskId);
    await this.#claimPath(root, spec.taskId, 'git');
    const claim = lap();
    const base = await this.#bases.resolve({
      repo: source.repo,
      lockKey: source.lockKey,
      requested: spec.baseRef,
      mirror: source.kind === 'mirror',
      justFetched: source.justFetched,
      fetchTimeoutMs: this.#fetchTimeoutMs,
      ...(source.kind === 'mirror' ? { allowProtocols: REPO_URL_PROTOCOLS } : {}),
      ...(signal ? { signal } : {}),
    });
    ms.fetch = lap();
    if (spec.branch !== undefined && !(await git.isValidBranchName(source.repo, spec.branch))) {
      throw new TaskRejected('invalid_task', `config.branch ${JSON.stringify(spec.branch)} is refused by git check-ref-format`);
    }

    await mkdirInside(this.#base, dirname(root), "the task's worktree");
    const { branch, created, checkedOut } = await withRepoLock(
      source.lockKey,
      () => this.#addWorktree(source.repo, root, spec, base, source.lockKey),
      signal,
    );
    ms.add = claim + lap();
    const record: WorktreeRecord = {
      path: root,
      repo: source.repo,
      lockKey: source.lockKey,
      projectId: spec.projectId,
      taskId: spec.taskId,
      branch,
      createdAt: this.#now(),
      finishedAt: null,
      keepUntil: null,
      reason: null,
      createdBranch: created,
      baseCommit: base.commit,
    };
    const active: ActiveWorktree = { record, base, createdBranch: created, copied: new Set(), released: false };
    this.#active.set(root, active);
    try {
      // Not waited for: memory holds it for every later look, and a crash before the file has it
      // leaves a worktree the start-up sweep adopts.
      await this.#registry.update((rs) => [...rs.filter((r) => r.path !== root), record], { wait: false });
      ms.add += lap();
      // Checking out runs outside the repository lock: it only touches this worktree.
      if (!checkedOut) await git.populateWorktree(root, signal);
      ms.checkout = lap();
      active.submodules = await initSubmodules(root, {
        fetchTimeoutMs: this.#fetchTimeoutMs,
        log: this.#log,
        ...(signal ? { signal } : {}),
      });
      ms.submodules = lap();
      if (source.checkout) active.copied = new Set(await copyWorktreeIncludes(source.checkout, root, this.#log));
      ms.include = lap();
    } catch (err) {
      await this.#discard(active);
      throw err;
    }

    let path: string;
    try {
      path = await this.#agentFolder(root, source.prefix, base);
    } catch (err) {
      await this.#discard(active);
      throw err;
    }
    this.#log.info('worktree ready', {
      taskId: spec.taskId,
      path,
      branch,
      base: base.ref,
      baseCommit: base.commit.slice(0, 12),
      baseFetched: base.fetched,
      // Where a task start's time went (bench/taskStart.bench.ts reads it): a regression shows here first.
      ms,
    });
    return {
      path,
      env: { SIBYL_BRANCH: branch, SIBYL_BASE_REF: base.ref, SIBYL_BASE_COMMIT: base.commit },
      describe: () => this.#describe(active),
      commit: (subject, trailer) => git.commitAll(root, { subject, trailer, exclude: [...active.copied] }),
      // A mirror's origin is the server-supplied repo_url: pushing there is not ours to do.
      ...(source.kind === 'linked'
        ? {
            push: async (stop?: AbortSignal) => {
              await git.pushBranch(root, 'origin', branch, { timeoutMs: this.#fetchTimeoutMs * 4, ...(stop ? { signal: stop } : {}) });
              return `origin/${branch}`;
            },
          }
        : {}),
      release: (outcome) => this.#release(active, outcome),
    };
  }

  /**
   * Remove worktrees whose keep period ended, apply the disk cap, and prune git's records. Call at
   * start-up (worktrees left by a previous run are then treated as finished now) and periodically.
   */
  async sweep(): Promise<{ removed: string[] }> {
    const first = this.#sweeps++ === 0;
    return sweepWorktrees({
      base: this.#base,
      cacheDir: this.#cacheDir,
      registry: this.#registry,
      active: new Set([...this.#active.keys(), ...this.#activeFolders.keys()]),
      now: this.#now(),
      keepMs: this.#keepMs,
      capBytes: this.#capBytes,
      pruneAll: first,
      links: this.#links,
      log: this.#log,
    });
  }

  /** Resolves once the registry file holds every change so far (start and end of tasks write it in the background). */
  async settled(): Promise<void> {
    await this.#registry.written();
  }

  /**
   * For `project_register` on every (re)connect: per project, the newest running task's worktree,
   * else the linked checkout itself with its current branch.
   */
  async warmWorktrees(): Promise<WarmWorktree[]> {
    const warm = new Map<string, WarmWorktree>();
    const running = [...this.#active.values()].map((a) => a.record).sort((a, b) => b.createdAt - a.createdAt);
    for (const r of running) if (!warm.has(r.projectId)) warm.set(r.projectId, { projectId: r.projectId, path: r.path, branch: r.branch });
    const { links } = await this.#links.links();
    for (const id of new Set(links.map((l) => l.projectId))) {
      if (warm.has(id)) continue;
      const link = await this.#links.find(id);
      if (link) warm.set(id, { projectId: id, path: link.path, branch: (await git.currentBranch(link.path)) ?? null });
    }
    return [...warm.values()];
  }

  async #source(spec: TaskSpec, signal: AbortSignal | undefined): Promise<Source | undefined> {
    const link = await this.#lookup.find(spec.projectId);
    if (link) {
      const checkout = link.repo.bare ? undefined : link.repo.topLevel;
      return { kind: 'linked', repo: link.path, lockKey: link.repo.commonDir, checkout, prefix: link.repo.prefix, justFetched: false };
    }
    if (spec.repoUrl === undefined) return undefined;
    const mirror = await ensureMirror(this.#cacheDir, spec.repoUrl, {
      timeoutMs: this.#cloneTimeoutMs,
      log: this.#log,
      ...(signal ? { signal } : {}),
    });
    return { kind: 'mirror', repo: mirror.dir, lockKey: mirror.lockKey, checkout: undefined, prefix: '', justFetched: mirror.created };
  }

  /**
   * A task with no link and no repo_url: a plain folder, recorded in the registry like a worktree.
   * No branch holds its files, so it is kept for the keep period after every outcome, then the
   * sweep removes it; the disk cap counts it. A retry of the same task takes over its kept folder.
   */
  async #folder(spec: TaskSpec): Promise<PreparedWorkspace> {
    this.#log.debug('no project link and no repo_url: plain folder', { taskId: spec.taskId, projectId: spec.projectId });
    const root = spec.worktreePath ?? join(this.#base, spec.projectId, spec.taskId);
    const reused = await this.#claimPath(root, spec.taskId, 'folder');
    // Checked again with no await before the claim: two prepares of one path never share it.
    if (this.#active.has(root) || this.#activeFolders.has(root))
      throw new RunnerError('worktree_busy', `${root} is in use by a running task`);
    this.#activeFolders.set(root, spec.taskId);
    const record: FolderRecord = {
      kind: 'folder',
      path: root,
      projectId: spec.projectId,
      taskId: spec.taskId,
      createdAt: this.#now(),
      finishedAt: null,
      keepUntil: null,
      reason: null,
    };
    let ws: PreparedWorkspace;
    try {
      ws = await this.#folders.prepare(spec);
      // Not waited for (see prepare): a crash before the file has it leaves a folder start-up discovery adopts.
      await this.#registry.updateAll((rs) => [...rs.filter((r) => r.path !== root), record], { wait: false });
    } catch (err) {
      this.#activeFolders.delete(root);
      throw err;
    }
    const hours = Math.round((this.#keepMs / 3600_000) * 100) / 100;
    const note = [
      `project ${spec.projectId} is not linked on this runner and the task has no repo_url: plain folder, no git checkout`,
      ...(reused ? ['it holds the files of an earlier attempt of this task'] : []),
      this.#keepMs > 0
        ? `no branch holds its files: the folder is kept ${hours} h after the task ends (keep_failed_worktrees_hours), whatever the outcome, then removed`
        : 'no branch holds its files, and the folder is removed when the task ends (keep_failed_worktrees_hours is 0)',
      ...(this.#capBytes > 0 ? ['it counts toward worktree_disk_cap_mb and may go earlier when the cap is exceeded'] : []),
    ].join('; ');
    let released = false;
    return {
      ...ws,
      describe: async () => ({ ...(await ws.describe()), workspace: 'folder', workspace_note: note }),
      release: async (outcome) => {
        if (released) return;
        released = true;
        await this.#releaseFolder(record, outcome.status);
      },
    };
  }

  /** Keep the folder for the keep period (or remove it at once when that is 0); never throws. */
  async #releaseFolder(rec: FolderRecord, status: ResultStatus): Promise<void> {
    await this.#settle(rec, 'task folder', this.#activeFolders, async () => {
      if (this.#keepMs <= 0) {
        await removeFolderWorkspace(rec, this.#base);
        await this.#registry.updateAll((rs) => rs.filter((r) => r.path !== rec.path));
        this.#log.info('task folder removed', { taskId: rec.taskId, path: rec.path });
      } else {
        await this.#markFinished(rec.path, this.#keepMs, `task ${status}`);
        this.#log.info('task folder kept', { taskId: rec.taskId, path: rec.path, hours: this.#keepMs / 3600_000 });
      }
    });
  }

  /** The record at `path` finished now, to be removed `keepMs` (ms) later, and why it is kept. */
  async #markFinished(path: string, keepMs: number, reason: string): Promise<void> {
    const now = this.#now();
    await this.#registry.updateAll((rs) =>
      rs.map((r) => (r.path === path ? { ...r, finishedAt: now, keepUntil: now + keepMs, reason } : r)),
    );
  }

  /**
   * A release's bookkeeping around `work` (remove or keep): a failure is logged and the record set
   * to expire now, so the next sweep retries; the folder leaves `running`; the disk cap is applied.
   * Never throws.
   */
  async #settle(
    rec: { path: string; taskId: string },
    what: 'worktree' | 'task folder',
    running: Map<string, unknown>,
    work: () => Promise<void>,
  ): Promise<void> {
    try {
      await work();
    } catch (err) {
      this.#log.error(`${what} release failed; the next sweep retries`, { taskId: rec.taskId, path: rec.path, error: errorMessage(err) });
      await this.#markFinished(rec.path, 0, 'release failed').catch(() => undefined);
    } finally {
      running.delete(rec.path);
    }
    if (this.#capBytes > 0)
      await this.sweep().catch((err: unknown) => this.#log.error('worktree sweep failed', { error: errorMessage(err) }));
  }

  /**
   * Make `root` ready for task `taskId` (a git worktree or a plain folder, `kind`). Resolves to
   * true when `root` is this task's own kept plain folder, taken over by its retry. Another task's
   * folder — running, or kept for inspection — is never taken or deleted, nor is a folder made
   * inside or around one (config.worktree_path can name any path in the base). Raises RunnerError
   * worktree_busy (a running task's), worktree_exists (a kept one, or a folder that is not ours)
   * or path_escapes (a symlink leads out of the base).
   */
  async #claimPath(root: string, taskId: string, kind: 'git' | 'folder'): Promise<boolean> {
    const overlaps = (p: string): boolean => p === root || isInside(p, root) || isInside(root, p);
    const running = [...this.#active.keys(), ...this.#activeFolders.keys()].find(overlaps);
    if (running !== undefined)
      throw new RunnerError('worktree_busy', `${root} ${running === root ? 'is' : 'overlaps'} the folder of a running task (${running})`);
    await assertInside(this.#base, root, "the task's folder");
    const records = await this.#registry.readAll();
    // By text first (the registry's paths are normalised when read): it holds a day of kept
    // folders, and resolving each, let alone isInside on each, was most of a task start.
    const resolved = resolve(root);
    const near = (p: string): boolean => p === resolved || p.startsWith(resolved + sep) || resolved.startsWith(p + sep);
    const kept = records.find((r) => near(r.path) && overlaps(r.path) && (r.path !== root || r.taskId !== taskId));
    if (kept) {
      const what = isFolderRecord(kept) ? 'the kept files' : 'the kept worktree';
      const where = kept.path === root ? 'holds' : isInside(kept.path, root) ? 'lies inside' : 'contains';
      throw new RunnerError(
        'worktree_exists',
        `${root} ${where} ${what} of task ${kept.taskId}${kept.path === root ? '' : ` (${kept.path})`}; it is removed when its keep period ends`,
      );
    }
    if (!(await exists(root))) return false;
    // Only this task's own record is left: a retry. Its kept folder is the only copy of its files.
    const previous = records.find((r) => r.path === root);
    if (previous && isFolderRecord(previous) && kind === 'folder') return true;
    if (previous) {
      await removeRecorded(previous, this.#base, this.#log);
      await this.#registry.updateAll((rs) => rs.filter((r) => r.path !== root));
      return false;
    }
    const entries = await readdir(root).catch(() => ['?']);
    if (entries.length > 0)
      throw new RunnerError('worktree_exists', `${root} already exists and is not a worktree of this runner; move it away`);
    await rmdir(root);
    return false;
  }

  /**
   * The agent's folder: the linked sub-folder (`prefix`) in the new worktree, resolved, which must
   * lie inside the worktree. A sub-folder that became a symlink leading out (an upstream commit can
   * do that) fails the task, naming the symlink. A sub-folder missing at the base commit fails it
   * too: running the agent at the repository's top level instead would hand it more than the
   * project that was linked, and a silent change of folder is hard to notice.
   */
  async #agentFolder(root: string, prefix: string, base: ResolvedBase): Promise<string> {
    if (!prefix) return root;
    const real = await assertInside(root, join(root, prefix), 'the linked folder', { allowBase: true });
    const st = await stat(real).catch(() => undefined);
    if (!st?.isDirectory()) {
      const sub = prefix.replace(/\/+$/, '');
      throw new RunnerError(
        'linked_folder_missing',
        `the linked folder ${sub} ${st ? 'is not a folder' : 'does not exist'} in ${base.ref} (${base.commit.slice(0, 12)}); the agent is not run at the repository's top level instead`,
        { context: { path: join(root, prefix), base: base.ref } },
      );
    }
    // Keep the worktree's own spelling of its root; only the part inside it is resolved.
    const rel = relative(await realpath(root), real);
    return rel ? join(root, rel) : root;
  }

  /**
   * Under the repository lock, so two tasks never pick the same branch name. A server-named
   * branch that exists is continued (freed first from a stale or inspection-only worktree); one
   * that a D/F conflict blocks fails naming the branch in its way (it is not renamed). The
   * default name steps around existing and conflicting branches, to `sibyl-<id>` when a branch
   * `sibyl` blocks the whole `sibyl/` namespace.
   */
  async #addWorktree(
    repo: string,
    root: string,
    spec: TaskSpec,
    base: ResolvedBase,
    lockKey: string,
  ): Promise<{ branch: string; created: boolean; checkedOut: boolean }> {
    // With nothing else of ours waiting for this repository, the checkout is done by `worktree add`
    // itself (one git instead of two); else outside the lock, so the others need not wait for it.
    const checkout = repoLocks.queued(lockKey) <= 1;
    if (spec.branch !== undefined) {
      const conflict = await git.branchConflict(repo, spec.branch);
      if (conflict?.kind === 'same') {
        await freeCheckedOutBranch(repo, spec.branch, this.#ownership(), this.#log);
        await git.addWorktree(repo, { path: root, branch: spec.branch, checkout });
        return { branch: spec.branch, created: false, checkedOut: checkout };
      }
      if (conflict) throw branchConflictError(spec.branch, conflict);
      await git.addWorktree(repo, { path: root, newBranch: spec.branch, start: base.commit, checkout });
      return { branch: spec.branch, created: true, checkedOut: checkout };
    }
    // The default name is almost always free: tried first, and looked for only when git says a
    // branch is in its way (a retried task keeps the earlier attempt's branch, that is its work).
    const stem = defaultBranchName(spec.taskId);
    try {
      await git.addWorktree(repo, { path: root, newBranch: stem, start: base.commit, checkout });
      return { branch: stem, created: true, checkedOut: checkout };
    } catch (err) {
      if (!git.isBranchInTheWay(err)) throw err;
    }
    const branch = await freeBranchName(repo, [stem, stem.replace('/', '-')]);
    await git.addWorktree(repo, { path: root, newBranch: branch, start: base.commit, checkout });
    return { branch, created: true, checkedOut: checkout };
  }

  /** Which worktrees are this runner's, for freeCheckedOutBranch (paths compared resolved). */
  #ownership(): WorktreeOwnership {
    const real = (p: string): Promise<string> => realpath(p).catch(() => p);
    return {
      runningTask: async (path) => {
        for (const a of this.#active.values()) if ((await real(a.record.path)) === path) return a.record.taskId;
        return undefined;
      },
      keptRecord: async (path) => {
        for (const r of await this.#registry.read()) {
          if (r.finishedAt !== null && !this.#active.has(r.path) && (await real(r.path)) === path) return r;
        }
        return undefined;
      },
      // Removing the kept worktree later must not delete a branch another task now works on.
      handedOver: async (kept) => {
        await this.#registry.update((rs) => rs.map((r) => (r.path === kept.path ? { ...r, createdBranch: false } : r)));
      },
    };
  }

  async #describe(a: ActiveWorktree): Promise<Record<string, unknown>> {
    const known = {
      workspace: 'git_worktree',
      branch: a.record.branch,
      base_ref: a.base.ref,
      base_commit: a.base.commit,
      base_fetched: a.base.fetched,
      // Submodules left empty: the agent worked without them (the note says why for each).
      ...(a.submodules?.missing.length
        ? { submodules_missing: a.submodules.missing, submodules_note: a.submodules.notes.join('; ').slice(0, 2000) }
        : {}),
    };
    try {
      const root = a.record.path;
      const head = await git.resolveCommit(root, 'HEAD');
      if (head === undefined) throw new Error('the worktree has no HEAD commit');
      const [branch, commits, stat, dirty] = await Promise.all([
        git.currentBranch(root),
        git.commitsBetween(root, a.base.commit, head, 50),
        git.diffStat(root, a.base.commit, head),
        this.#dirty(a),
      ]);
      return { ...known, branch: branch ?? a.record.branch, head_commit: head, commits, ...stat, dirty };
    } catch (err) {
      return { ...known, workspace_error: `cannot describe the worktree: ${errorMessage(err)}` };
    }
  }

  /** Uncommitted changes, not counting the files .worktreeinclude copied in. */
  async #dirty(a: ActiveWorktree): Promise<boolean> {
    const changed = await git.changedPaths(a.record.path);
    return changed.some((p) => !a.copied.has(p));
  }

  async #release(a: ActiveWorktree, outcome: { status: ResultStatus; dirty?: boolean }): Promise<void> {
    if (a.released) return;
    a.released = true;
    const rec = a.record;
    await this.#settle(rec, 'worktree', this.#active, async () => {
      const dirty = outcome.dirty ?? (await this.#dirty(a).catch(() => true));
      const reason = outcome.status !== 'completed' ? `task ${outcome.status}` : dirty ? 'uncommitted changes' : null;
      if (reason === null || this.#keepMs <= 0) {
        await removeWorktreeFolder(rec, this.#base, this.#log);
        await this.#registry.update((rs) => rs.filter((r) => r.path !== rec.path));
        // A branch the task left no commit on would only pile up in the user's checkout.
        const deleted = await deleteUnusedBranch(rec, this.#log);
        this.#log.info(deleted ? 'worktree and its empty branch removed' : 'worktree removed, branch kept', {
          taskId: rec.taskId,
          branch: rec.branch,
        });
      } else {
        await this.#markFinished(rec.path, this.#keepMs, reason);
        this.#log.info('worktree kept for inspection', { taskId: rec.taskId, path: rec.path, reason, hours: this.#keepMs / 3600_000 });
      }
    });
  }

  /** Undo a half-prepared worktree; a branch we created with no work on it goes too. */
  async #discard(a: ActiveWorktree): Promise<void> {
    const rec = a.record;
    try {
      await removeWorktreeFolder(rec, this.#base, this.#log);
      await deleteUnusedBranch(rec, this.#log);
      await this.#registry.update((rs) => rs.filter((r) => r.path !== rec.path));
    } catch (err) {
      this.#log.warn('could not undo a failed worktree preparation', { path: rec.path, error: errorMessage(err) });
    } finally {
      this.#active.delete(rec.path);
    }
  }
}
