import { lstat, readdir, readFile, realpath, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../config/atomicWrite.ts';
import { errorMessage } from '../errors.ts';
import { pruneWorktrees, removeWorktree, repoInfo } from '../git/git.ts';
import { RepoLocks, withRepoLock } from '../git/repoLock.ts';
import type { Logger } from '../logger.ts';
import { isInside, isSafeId } from '../tasks/taskSpec.ts';
import { assertInside } from './containment.ts';

/**
 * What the runner remembers about the worktrees it created, so a failed task's worktree can be
 * removed when its inspection period ends even after a restart, and so the disk cap knows which
 * worktrees finished first. One JSON file in the worktree base, rewritten atomically.
 */

const RecordSchema = z.object({
  /** Absent in files written before plain folders were recorded. */
  kind: z.literal('worktree').optional(),
  /** The worktree's root folder. */
  path: z.string(),
  /** Where to run git for this worktree's repository (the linked folder or the mirror). */
  repo: z.string(),
  /** The repository lock this worktree's add/remove takes. */
  lockKey: z.string(),
  projectId: z.string(),
  taskId: z.string(),
  branch: z.string(),
  createdAt: z.number(),
  /** null while the task runs. */
  finishedAt: z.number().nullable(),
  /** Remove after this time; null while running. */
  keepUntil: z.number().nullable(),
  reason: z.string().nullable(),
  /** The runner created `branch` for this task (absent: it existed, or went to another task). */
  createdBranch: z.boolean().optional(),
  /** The commit `branch` was created at: while it still points there, it goes with the worktree. */
  baseCommit: z.string().optional(),
});
export type WorktreeRecord = z.infer<typeof RecordSchema>;

/**
 * A plain-folder workspace (no link, no repo_url): no repository and no branch holds its files, so
 * it is kept for the keep period after every outcome, then removed by a plain delete.
 */
const FolderRecordSchema = z.object({
  kind: z.literal('folder'),
  path: z.string(),
  projectId: z.string(),
  taskId: z.string(),
  createdAt: z.number(),
  finishedAt: z.number().nullable(),
  keepUntil: z.number().nullable(),
  reason: z.string().nullable(),
});
export type FolderRecord = z.infer<typeof FolderRecordSchema>;

/** Either kind of workspace the registry remembers. */
export type WorkspaceRecord = WorktreeRecord | FolderRecord;

export function isFolderRecord(r: WorkspaceRecord): r is FolderRecord {
  return r.kind === 'folder';
}

const isWorktreeRecord = (r: WorkspaceRecord): r is WorktreeRecord => !isFolderRecord(r);

const FileSchema = z.object({ version: z.literal(1), worktrees: z.array(z.union([FolderRecordSchema, RecordSchema])) });

export class WorktreeRegistry {
  readonly file: string;
  readonly #log: Logger;
  readonly #lock = new RepoLocks();

  constructor(file: string, log: Logger) {
    this.file = file;
    this.#log = log;
  }

  /** The git worktrees only (plain folders: readAll). */
  async read(): Promise<WorktreeRecord[]> {
    return (await this.readAll()).filter(isWorktreeRecord);
  }

  /** Every record, worktrees and plain folders. */
  async readAll(): Promise<WorkspaceRecord[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    try {
      return FileSchema.parse(JSON.parse(text)).worktrees;
    } catch (err) {
      // Runtime state, not settings: set the bad file aside; sweep() rediscovers worktrees on disk.
      const aside = `${this.file}.corrupt-${Date.now()}`;
      await rename(this.file, aside).catch(() => undefined);
      this.#log.warn('worktree registry unreadable, set aside', { file: aside, error: errorMessage(err) });
      return [];
    }
  }

  /** Read-modify-write of the git worktrees, one at a time; plain-folder records stay as they are. */
  async update(fn: (records: WorktreeRecord[]) => WorktreeRecord[]): Promise<WorktreeRecord[]> {
    const all = await this.updateAll((rs) => [...rs.filter(isFolderRecord), ...fn(rs.filter(isWorktreeRecord))]);
    return all.filter(isWorktreeRecord);
  }

  /** Read-modify-write of every record, one at a time. */
  updateAll(fn: (records: WorkspaceRecord[]) => WorkspaceRecord[]): Promise<WorkspaceRecord[]> {
    return this.#lock.run(this.file, async () => {
      const next = fn(await this.readAll());
      await writeFileAtomic(this.file, JSON.stringify({ version: 1, worktrees: next }, null, 1) + '\n');
      return next;
    });
  }
}

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

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
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
