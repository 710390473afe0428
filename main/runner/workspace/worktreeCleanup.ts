import { lstat, readdir, realpath, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { errorMessage } from '../errors.ts';
import { pruneWorktrees, removeWorktree, repoInfo } from '../git/git.ts';
import { withRepoLock } from '../git/repoLock.ts';
import type { Logger } from '../logger.ts';
import { isInside, isSafeId } from '../tasks/taskSpec.ts';
import { assertInside, lstatOrUndefined } from './containment.ts';
import { isFolderRecord, type FolderRecord, type WorkspaceRecord, type WorktreeRecord } from './worktreeRegistry.ts';

/**
 * `git worktree remove --force` (the branch stays: it is the agent's work), then prune. When git
 * cannot (the repository was deleted, the folder is no longer a worktree) the folder is deleted
 * anyway. Either way only when the folder, resolved, is inside the runner's worktree base
 * (resolved too): a path that leads out through a symlink raises RunnerError `path_escapes` and
 * nothing is removed. The delete itself never follows a symlink inside the folder.
 */
export async function removeWorktreeFolder(
  rec: Pick<WorktreeRecord, 'path' | 'repo' | 'lockKey'>,
  worktreeBase: string,
  log: Logger,
): Promise<void> {
  await assertInside(worktreeBase, rec.path, 'the worktree');
  await withRepoLock(rec.lockKey, async () => {
    try {
      await removeWorktree(rec.repo, rec.path);
    } catch (err) {
      log.debug('git worktree remove failed, deleting the folder', { path: rec.path, error: errorMessage(err) });
      await rm(rec.path, { recursive: true, force: true });
    }
    await pruneWorktrees(rec.repo).catch(() => undefined);
  });
}

/**
 * Deletes a plain-folder workspace: no git, only when the folder, resolved, is inside the worktree
 * base (else RunnerError `path_escapes`, nothing removed); symlinks in it are removed, not followed.
 */
export async function removeFolderWorkspace(rec: Pick<FolderRecord, 'path'>, worktreeBase: string): Promise<void> {
  await assertInside(worktreeBase, rec.path, 'the task folder');
  await rm(rec.path, { recursive: true, force: true });
}

/** Removes a recorded workspace of either kind (see removeWorktreeFolder, removeFolderWorkspace). */
export async function removeRecorded(rec: WorkspaceRecord, worktreeBase: string, log: Logger): Promise<void> {
  if (isFolderRecord(rec)) await removeFolderWorkspace(rec, worktreeBase);
  else await removeWorktreeFolder(rec, worktreeBase, log);
}

/**
 * Whether anything (a symlink included, not followed) is at `path`. Asked at every task start,
 * where the answer is almost always no: a synchronous lstat that returns nothing for a missing path
 * costs microseconds, while a rejected promise builds an Error with a stack (0.4 ms a task start
 * in a 500-task profile, issue 16).
 */
export async function exists(path: string): Promise<boolean> {
  return lstatOrUndefined(path) !== undefined;
}

/** Bytes used by the files under `dir`; symlinks are not followed. */
export async function folderSize(dir: string): Promise<number> {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else
        total += await lstat(p).then(
          (s) => s.size,
          () => 0,
        );
    }
  }
  return total;
}

/**
 * Worktrees at `<base>/<project>/<task>` that the registry does not know (a lost or corrupt
 * registry): each with the repository git says it belongs to. Never one that is, holds or lies
 * inside one of `keep` (a linked checkout that is itself a worktree someone put under the base).
 */
export async function discoverWorktrees(
  base: string,
  known: Set<string>,
  keep: string[] = [],
): Promise<Array<{ path: string; repo: string; projectId: string; taskId: string }>> {
  const clash = await clashesWith(keep);
  const found: Array<{ path: string; repo: string; projectId: string; taskId: string }> = [];
  const projects = await readdir(base, { withFileTypes: true }).catch(() => []);
  for (const p of projects) {
    if (!p.isDirectory() || p.name.startsWith('.')) continue;
    const tasks = await readdir(join(base, p.name), { withFileTypes: true }).catch(() => []);
    for (const t of tasks) {
      const path = join(base, p.name, t.name);
      if (!t.isDirectory() || known.has(path)) continue;
      // A linked worktree has a `.git` file (not a folder) pointing at its repository.
      const marker = await lstat(join(path, '.git')).catch(() => undefined);
      if (!marker?.isFile() || (await clash(path))) continue;
      const info = await repoInfo(path);
      found.push({ path, repo: info?.commonDir ?? path, projectId: p.name, taskId: t.name });
    }
  }
  return found;
}

/** Whether a folder (resolved) is, holds or lies inside one of `keep` (resolved); an unresolvable one counts as a clash. */
async function clashesWith(keep: string[]): Promise<(path: string) => Promise<boolean>> {
  const keepReal = await Promise.all(keep.map((k) => realpath(k).catch(() => resolve(k))));
  return async (path) => {
    const real = await realpath(path).catch(() => undefined);
    return real === undefined || keepReal.some((k) => k === real || isInside(real, k) || isInside(k, real));
  };
}

/** A task id as the server sends it: the sandbox-task UUID (sibyl-protocol.md §4.8). */
const TASK_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Plain-folder workspaces at `<base>/<project>/<task>` that the registry does not know (a lost or
 * corrupt registry). They are deleted when their keep period ends, so only what the runner itself
 * makes is taken: real folders (not symlinks) named by a valid project id and a task UUID, with
 * no `.git` at all (a worktree has a `.git` file, someone's clone a `.git` folder), and never a
 * folder that is, holds or lies inside one of `keep` (the mirror cache, linked checkouts).
 */
export async function discoverFolders(
  base: string,
  known: Set<string>,
  keep: string[],
): Promise<Array<{ path: string; projectId: string; taskId: string }>> {
  const clash = await clashesWith(keep);
  const found: Array<{ path: string; projectId: string; taskId: string }> = [];
  const projects = await readdir(base, { withFileTypes: true }).catch(() => []);
  for (const p of projects) {
    if (!p.isDirectory() || !isSafeId(p.name)) continue;
    const tasks = await readdir(join(base, p.name), { withFileTypes: true }).catch(() => []);
    for (const t of tasks) {
      const path = join(base, p.name, t.name);
      if (!t.isDirectory() || !TASK_UUID.test(t.name) || known.has(path)) continue;
      if (await exists(join(path, '.git'))) continue;
      if (await clash(path)) continue;
      found.push({ path, projectId: p.name, taskId: t.name });
    }
  }
  return found;
}
