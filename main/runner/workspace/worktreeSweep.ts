import { errorMessage } from '../errors.ts';
import { pruneWorktrees } from '../git/git.ts';
import { withRepoLock } from '../git/repoLock.ts';
import type { Logger } from '../logger.ts';
import type { ProjectLinks } from '../projects/links.ts';
import { mirrorDirs } from './repoCache.ts';
import { deleteUnusedBranch } from './taskBranch.ts';
import { isPathEscape } from './containment.ts';
import { discoverFolders, discoverWorktrees, exists, folderSize, removeFolderWorkspace, removeWorktreeFolder } from './worktreeCleanup.ts';
import { isFolderRecord, type WorkspaceRecord, type WorktreeRegistry } from './worktreeRegistry.ts';

/**
 * The periodic cleanup: finished worktrees and plain task folders whose keep period ended are
 * removed (branches stay), then the oldest finished ones while they exceed the disk cap, then
 * `git worktree prune` on every repository touched (on all known repositories at start-up).
 */

export interface SweepInput {
  base: string;
  cacheDir: string;
  registry: WorktreeRegistry;
  /** Worktree roots and task folders of tasks running in this process: never touched. */
  active: Set<string>;
  now: number;
  keepMs: number;
  capBytes: number;
  /** Start-up: adopt unknown worktrees and task folders, and prune every linked repository and mirror. */
  pruneAll: boolean;
  links: Pick<ProjectLinks, 'find' | 'links'>;
  log: Logger;
}

export async function sweepWorktrees(s: SweepInput): Promise<{ removed: string[] }> {
  const removed: string[] = [];
  const touched = new Map<string, string>(); // repo → lock key
  const known = new Set((await s.registry.readAll()).map((r) => r.path));
  // Never adopt (and later delete) the mirror cache or a linked checkout someone put under the base.
  const keep = s.pruneAll ? [s.cacheDir, ...(await s.links.links()).links.map((l) => l.path)] : [];
  const adopted = s.pruneAll ? await discoverWorktrees(s.base, known, keep) : [];
  const adoptedFolders = s.pruneAll ? await discoverFolders(s.base, known, keep) : [];

  // Worktrees of tasks that were running when a previous runner process stopped count as finished now.
  const records = await s.registry.updateAll((rs) => {
    const next = rs.map((r): WorkspaceRecord =>
      r.finishedAt === null && !s.active.has(r.path)
        ? { ...r, finishedAt: s.now, keepUntil: s.now + s.keepMs, reason: 'runner stopped during the task' }
        : r,
    );
    for (const d of adopted) {
      next.push({
        ...d,
        lockKey: d.repo,
        branch: '',
        createdAt: s.now,
        finishedAt: s.now,
        keepUntil: s.now + s.keepMs,
        reason: 'found on disk, unknown to the registry',
      });
    }
    for (const d of adoptedFolders) {
      next.push({
        kind: 'folder',
        ...d,
        createdAt: s.now,
        finishedAt: s.now,
        keepUntil: s.now + s.keepMs,
        reason: 'found on disk, unknown to the registry',
      });
    }
    return next;
  });

  const gone = new Set<string>();
  const remove = async (r: WorkspaceRecord, why: string): Promise<void> => {
    try {
      if (isFolderRecord(r)) {
        await removeFolderWorkspace(r, s.base);
        s.log.info('task folder removed', { path: r.path, why });
      } else {
        await removeWorktreeFolder(r, s.base, s.log);
        await deleteUnusedBranch(r, s.log); // a branch the task left no commit on goes with it (never throws)
        s.log.info('worktree removed', { path: r.path, why, branch: r.branch || undefined });
      }
      gone.add(r.path);
      removed.push(r.path);
    } catch (err) {
      if (isPathEscape(err)) {
        // It now leads out of the base through a symlink: nothing of ours is left to remove safely, so forget it.
        gone.add(r.path);
        s.log.warn('workspace forgotten, not removed: it leads outside the worktree base', { path: r.path, error: errorMessage(err) });
      } else s.log.warn('worktree removal failed', { path: r.path, error: errorMessage(err) });
    }
  };

  const finished = records.filter((r) => !s.active.has(r.path));
  for (const r of finished) {
    if (!(await exists(r.path))) {
      gone.add(r.path);
      if (!isFolderRecord(r)) touched.set(r.repo, r.lockKey);
    } else if (r.keepUntil !== null && r.keepUntil <= s.now) {
      await remove(r, 'keep period ended');
    }
  }

  if (s.capBytes > 0) {
    const present = records.filter((r) => !gone.has(r.path));
    const sizes = new Map<string, number>();
    for (const r of present) sizes.set(r.path, await folderSize(r.path));
    let total = [...sizes.values()].reduce((a, b) => a + b, 0);
    const oldestFirst = present
      .filter((r) => !s.active.has(r.path) && r.finishedAt !== null)
      .sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
    for (const r of oldestFirst) {
      if (total <= s.capBytes) break;
      await remove(r, 'worktree disk cap');
      if (gone.has(r.path)) total -= sizes.get(r.path) ?? 0;
    }
    if (total > s.capBytes)
      s.log.warn('worktrees exceed the disk cap; only running tasks are left', { bytes: total, capBytes: s.capBytes });
  }

  if (gone.size > 0) await s.registry.updateAll((rs) => rs.filter((r) => !gone.has(r.path)));

  for (const r of records) if (gone.has(r.path) && !isFolderRecord(r)) touched.set(r.repo, r.lockKey);
  if (s.pruneAll) {
    for (const dir of await mirrorDirs(s.cacheDir)) touched.set(dir, dir);
    const { links } = await s.links.links();
    for (const l of links) {
      const usable = await s.links.find(l.projectId);
      if (usable) touched.set(usable.path, usable.repo.commonDir);
    }
  }
  for (const [repo, lockKey] of touched) {
    await withRepoLock(lockKey, () => pruneWorktrees(repo)).catch((err: unknown) =>
      s.log.debug('worktree prune failed', { repo, error: errorMessage(err) }),
    );
  }
  return { removed };
}
