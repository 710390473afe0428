import { lstat, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../config/atomicWrite.ts';
import { errorMessage } from '../errors.ts';
import { pruneWorktrees, removeWorktree, repoInfo } from '../git/git.ts';
import { RepoLocks, withRepoLock } from '../git/repoLock.ts';
import type { Logger } from '../logger.ts';
import { isInside } from '../tasks/taskSpec.ts';

/**
 * What the runner remembers about the worktrees it created, so a failed task's worktree can be
 * removed when its inspection period ends even after a restart, and so the disk cap knows which
 * worktrees finished first. One JSON file in the worktree base, rewritten atomically.
 */

const RecordSchema = z.object({
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

const FileSchema = z.object({ version: z.literal(1), worktrees: z.array(RecordSchema) });

export class WorktreeRegistry {
  readonly file: string;
  readonly #log: Logger;
  readonly #lock = new RepoLocks();

  constructor(file: string, log: Logger) {
    this.file = file;
    this.#log = log;
  }

  async read(): Promise<WorktreeRecord[]> {
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

  /** Read-modify-write, one at a time. */
  update(fn: (records: WorktreeRecord[]) => WorktreeRecord[]): Promise<WorktreeRecord[]> {
    return this.#lock.run(this.file, async () => {
      const next = fn(await this.read());
      await writeFileAtomic(this.file, JSON.stringify({ version: 1, worktrees: next }, null, 1) + '\n');
      return next;
    });
  }
}

/**
 * `git worktree remove --force` (the branch stays: it is the agent's work), then prune. When git
 * cannot (the repository was deleted, the folder is no longer a worktree) the folder is deleted
 * anyway, but only inside the runner's worktree base.
 */
export async function removeWorktreeFolder(
  rec: Pick<WorktreeRecord, 'path' | 'repo' | 'lockKey'>,
  worktreeBase: string,
  log: Logger,
): Promise<void> {
  await withRepoLock(rec.lockKey, async () => {
    try {
      await removeWorktree(rec.repo, rec.path);
    } catch (err) {
      if (!isInside(worktreeBase, rec.path)) throw err;
      log.debug('git worktree remove failed, deleting the folder', { path: rec.path, error: errorMessage(err) });
      await rm(rec.path, { recursive: true, force: true });
    }
    await pruneWorktrees(rec.repo).catch(() => undefined);
  });
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
 * registry): each with the repository git says it belongs to.
 */
export async function discoverWorktrees(
  base: string,
  known: Set<string>,
): Promise<Array<{ path: string; repo: string; projectId: string; taskId: string }>> {
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
      if (!marker?.isFile()) continue;
      const info = await repoInfo(path);
      found.push({ path, repo: info?.commonDir ?? path, projectId: p.name, taskId: t.name });
    }
  }
  return found;
}
