import { constants } from 'node:fs';
import { copyFile, lstat, readlink, realpath, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errorMessage } from '../errors.ts';
import { untrackedMatching } from '../git/git.ts';
import type { Logger } from '../logger.ts';
import { isPathEscape, mkdirInside, resolvePath, within } from './containment.ts';

/**
 * Files an agent needs that git does not track (`.env`, local settings): those matching the
 * repository's `.worktreeinclude` (gitignore syntax, a convention other agent tools share) are
 * copied from the linked checkout into each new worktree. Git lists the matches itself, so the
 * patterns mean exactly what they would in a .gitignore. Nothing is read or written through a
 * symlink that leaves the repository or the worktree.
 */

export const INCLUDE_FILE = '.worktreeinclude';

/** Copies the matches; returns the copied paths (relative, `/`-separated as git prints them). */
export async function copyWorktreeIncludes(checkout: string, worktree: string, log: Logger): Promise<string[]> {
  const patterns = join(checkout, INCLUDE_FILE);
  const info = await lstat(patterns).catch(() => undefined);
  if (!info?.isFile()) return [];
  const srcRoot = await realpath(checkout);
  const destRoot = await realpath(worktree);
  const copied: string[] = [];
  for (const rel of await untrackedMatching(checkout, patterns)) {
    try {
      const outcome = await copyOne(srcRoot, destRoot, rel);
      if (outcome === 'copied') copied.push(rel);
      else if (outcome === 'outside') log.warn('.worktreeinclude entry skipped: it leads outside the repository', { path: rel });
    } catch (err) {
      log.warn('.worktreeinclude entry not copied', { path: rel, error: errorMessage(err) });
    }
  }
  if (copied.length > 0) log.debug('copied .worktreeinclude files', { count: copied.length });
  return copied;
}

type CopyOutcome = 'copied' | 'exists' | 'outside';

async function copyOne(srcRoot: string, destRoot: string, rel: string): Promise<CopyOutcome> {
  const src = join(srcRoot, rel);
  if (!within(srcRoot, await realpath(dirname(src)))) return 'outside';
  const st = await lstat(src);
  // A tracked symlink in the new worktree must not carry the copy, nor the folders made for it, out of it.
  let destDir: string;
  try {
    destDir = await mkdirInside(destRoot, dirname(join(destRoot, rel)), '.worktreeinclude entry');
  } catch (err) {
    if (isPathEscape(err)) return 'outside';
    throw err;
  }
  const dest = join(destDir, basename(rel));
  try {
    if (st.isSymbolicLink()) {
      const target = await realpath(src).catch(() => undefined);
      if (target === undefined || !within(srcRoot, target)) return 'outside';
      await symlink(await readlink(src), dest);
      // An absolute link into the checkout stays in the repository there, but would lead out of the worktree here.
      if (!within(destRoot, await resolvePath(dest))) {
        await unlink(dest);
        return 'outside';
      }
      return 'copied';
    }
    if (!st.isFile()) return 'outside';
    await copyFile(src, dest, constants.COPYFILE_EXCL);
    return 'copied';
  } catch (err) {
    // Never overwrite what the checkout put there.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
    throw err;
  }
}
