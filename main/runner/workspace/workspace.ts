import { join, resolve } from 'node:path';
import { RunnerError } from '../errors.ts';
import type { ResultStatus } from '../protocol/messages.ts';
import type { TaskSpec } from '../tasks/taskSpec.ts';
import { PATH_ESCAPES, mkdirInside } from './containment.ts';

/**
 * Where an agent runs. The task manager only sees this interface; the plain-folder provider
 * below is the fallback, git worktrees (workspace/worktrees.ts) the main implementation.
 */
export interface PreparedWorkspace {
  /** Absolute working directory of the agent. */
  path: string;
  /** Extra environment for the agent (e.g. SIBYL_BRANCH, SIBYL_BASE_REF). */
  env: Record<string, string>;
  /** Extra `task_complete.result` fields, computed after the agent exited (branch, commits, diffstat…). */
  describe(): Promise<Record<string, unknown>>;
  /**
   * Commit what the agent left, on the task branch (git worktrees only): `subject` plus a trailer.
   * Resolves to the new commit, or undefined when nothing changed. Raises GitFailed.
   */
  commit?(subject: string, trailer: string): Promise<string | undefined>;
  /**
   * Push the task branch to the linked repository's `origin` (git worktrees of linked projects
   * only). Resolves to the remote branch name. Raises GitFailed, also when `signal` aborts (git is killed).
   */
  push?(signal?: AbortSignal): Promise<string>;
  /** Cleanup according to policy, once the result is recorded. Never throws. */
  release(outcome: { status: ResultStatus; dirty?: boolean }): Promise<void>;
}

export interface WorkspaceProvider {
  /**
   * A workspace for `spec`. When `signal` aborts, the git commands under way are killed and the
   * call rejects (with whatever they raised, or the signal's reason); nothing half-made is kept.
   */
  prepare(spec: TaskSpec, signal?: AbortSignal): Promise<PreparedWorkspace>;
}

/**
 * The fallback: a folder `<worktree_base>/<project_id>/<task_id>` (or the validated
 * config.worktree_path), made one level at a time so nothing is created outside the base even
 * when a folder on the way is a symlink (RunnerError `path_escapes` then). An existing folder is
 * used as it is. Alone it never removes anything; GitWorkspaces records these folders and removes
 * them after the keep period (worktrees.ts).
 */
export class FolderWorkspaces implements WorkspaceProvider {
  readonly #base: string;
  constructor(worktreeBase: string) {
    this.#base = worktreeBase;
  }
  async prepare(spec: TaskSpec): Promise<PreparedWorkspace> {
    const path = spec.worktreePath ?? join(this.#base, spec.projectId, spec.taskId);
    if (resolve(path) === resolve(this.#base)) throw new RunnerError(PATH_ESCAPES, `the task folder ${path} is the worktree base itself`);
    await mkdirInside(this.#base, path, 'the task folder');
    return { path, env: {}, describe: async () => ({}), release: async () => {} };
  }
}
