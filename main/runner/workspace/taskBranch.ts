import { realpath } from 'node:fs/promises';
import { RunnerError, errorMessage } from '../errors.ts';
import * as git from '../git/git.ts';
import { withRepoLock } from '../git/repoLock.ts';
import type { Logger } from '../logger.ts';
import { exists } from './worktreeCleanup.ts';
import type { WorktreeRecord } from './worktreeRegistry.ts';

/**
 * The task branch's life around its worktree: picking a name that git can create, freeing a
 * server-named branch that a stale or inspection-only worktree still holds, and deleting a branch
 * the runner created when the task left no commit on it.
 */

/**
 * A name for a task branch that git can create in `repo`: `stem`, `stem-2`, … per stem, skipping
 * a name that exists (a retried task's earlier branch is its work) or that a D/F conflict blocks
 * (`sibyl/x/y` blocks `sibyl/x`). A parent conflict (a branch `sibyl`) blocks every name under
 * it, so the next stem is tried at once. Call under the repository lock. Raises RunnerError
 * `branch_names_exhausted` when every candidate is taken.
 */
export async function freeBranchName(repo: string, stems: readonly string[], maxPerStem = 99): Promise<string> {
  const blocked: string[] = [];
  for (const stem of stems) {
    for (let n = 1; n <= maxPerStem; n++) {
      const name = n === 1 ? stem : `${stem}-${n}`;
      const conflict = await git.branchConflict(repo, name);
      if (!conflict) return name;
      blocked.push(conflict.existing);
      if (conflict.kind === 'parent') break;
    }
  }
  throw new RunnerError('branch_names_exhausted', `no free task branch name: ${stems.join(', ')} and their numbered variants are taken`, {
    context: { repo, lastConflict: blocked.at(-1) },
  });
}

/**
 * A server-named branch (`config.branch`) that git cannot create because another branch is in
 * its way. The runner does not rename what the server asked for.
 */
export function branchConflictError(branch: string, conflict: git.BranchConflict): RunnerError {
  const why = `a branch "${conflict.existing}" exists, and git cannot have both (a ref name cannot also be a folder of refs)`;
  return new RunnerError('branch_conflict', `config.branch "${branch}" cannot be created: ${why}; send another branch name`, {
    remedy: 'checkInput',
    context: { branch, conflictsWith: conflict.existing },
  });
}

/** What freeCheckedOutBranch needs to know about the runner's own worktrees. */
export interface WorktreeOwnership {
  /** The running task whose worktree is at `path` (resolved), if any. */
  runningTask(path: string): Promise<string | undefined>;
  /** The registry record of a finished worktree at `path` kept only for inspection, if any. */
  keptRecord(path: string): Promise<WorktreeRecord | undefined>;
  /** The kept worktree at `rec.path` gave its branch away (its HEAD is now detached). */
  handedOver(rec: WorktreeRecord): Promise<void>;
}

/**
 * Make `branch` (which exists) free for a new worktree. Git lets one worktree at a time have a
 * branch checked out, so the worktree holding it must let go:
 * - a registration whose folder is gone (deleted by hand): `git worktree prune`;
 * - a worktree the runner keeps only for inspection after its task ended: its HEAD is detached
 *   at the same commit. Its files, index and commits stay for inspection, and removing it later
 *   deletes nothing of the branch (detaching is the smallest change that frees the branch;
 *   removing the worktree early would lose what the keep period is for);
 * - a running task's worktree, the user's own checkout, or any other worktree: RunnerError
 *   `branch_checked_out` naming where, and nothing is changed.
 * Call under the repository lock. Raises GitFailed when git fails.
 */
export async function freeCheckedOutBranch(repo: string, branch: string, own: WorktreeOwnership, log: Logger): Promise<void> {
  let holder = (await git.listWorktrees(repo)).find((w) => w.branch === branch);
  if (holder && (holder.prunable || !(await exists(holder.path)))) {
    await git.pruneWorktrees(repo);
    log.info('pruned stale worktree registrations', { branch, path: holder.path });
    holder = (await git.listWorktrees(repo)).find((w) => w.branch === branch);
  }
  if (!holder) return;
  const where = await realpath(holder.path).catch(() => holder.path);
  const running = await own.runningTask(where);
  const kept = running === undefined ? await own.keptRecord(where) : undefined;
  if (kept) {
    await git.detachHead(holder.path, `branch ${branch} handed to another task; kept for inspection`);
    await own.handedOver(kept);
    log.info('kept worktree detached: its branch goes to a new task', { branch, path: holder.path, keptFor: kept.taskId });
    return;
  }
  const who =
    running !== undefined
      ? `by running task ${running}`
      : holder.locked && !(await exists(holder.path))
        ? '(a locked worktree whose folder is gone: `git worktree unlock` it)'
        : '(a checkout the runner does not manage, e.g. your own)';
  throw new RunnerError(
    'branch_checked_out',
    `config.branch "${branch}" is checked out at ${holder.path} ${who}; git allows a branch in one worktree at a time`,
    { context: { branch, path: holder.path } },
  );
}

/**
 * After its worktree was removed: delete the task branch when the runner created it and it
 * still points at the commit it was made from (the task left no commit of its own), and no
 * worktree has it checked out. Resolves to whether it was deleted; never throws (logs instead).
 * A server-named branch that already existed has no `createdBranch` and is never deleted.
 */
export async function deleteUnusedBranch(
  rec: Pick<WorktreeRecord, 'repo' | 'lockKey' | 'branch' | 'taskId' | 'createdBranch' | 'baseCommit'>,
  log: Logger,
): Promise<boolean> {
  if (rec.createdBranch !== true || !rec.baseCommit || !rec.branch) return false;
  const { baseCommit } = rec;
  try {
    const deleted = await withRepoLock(rec.lockKey, async () => {
      // update-ref does not look at worktrees: a HEAD on a deleted branch would look unborn.
      if ((await git.listWorktrees(rec.repo)).some((w) => w.branch === rec.branch)) return false;
      return git.deleteBranchAt(rec.repo, rec.branch, baseCommit);
    });
    if (deleted) log.info('task branch without commits deleted', { taskId: rec.taskId, branch: rec.branch });
    return deleted;
  } catch (err) {
    log.warn('could not delete the task branch without commits', { taskId: rec.taskId, branch: rec.branch, error: errorMessage(err) });
    return false;
  }
}
