import { randomBytes } from 'node:crypto';
import { stat, statfs, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isCode } from '../lockFile.ts';
import { byteSize, check, type DoctorCheck } from './check.ts';

/** Below this much free space a folder's check warns: a few worktrees of a large repository fill it. */
export const LOW_SPACE_BYTES = 2e9;
/** Below this it fails: the journal, the history and the logs stop being written (ENOSPC). */
export const NO_SPACE_BYTES = 100e6;

/** A folder the runner writes to, and the configuration key that sets it. */
export interface RunnerFolder {
  /** `worktreeFolder`, `stateFolder`, `logFolder` */
  id: string;
  /** "worktrees", "state folder", "logs" */
  title: string;
  /** runner.yaml key: `worktree_base`, `state_dir`, `log_dir` */
  key: string;
  path: string;
}

/**
 * The folder itself when it exists, else the nearest folder above it (the runner creates the
 * rest, recursively, at start). A file on the way stops it: nothing can be created under a file,
 * which is also what makes a folder unwritable for root, who ignores permissions.
 */
async function nearestFolder(path: string): Promise<{ folder: string; exists: boolean } | { blockedBy: string }> {
  let at = path;
  for (;;) {
    try {
      const s = await stat(at);
      if (!s.isDirectory()) return { blockedBy: at };
      return { folder: at, exists: at === path };
    } catch (err) {
      // ENOTDIR: a file further up; the next round finds it.
      if (!isCode(err, 'ENOENT') && !isCode(err, 'ENOTDIR')) throw err;
    }
    const up = dirname(at);
    if (up === at) return { blockedBy: at };
    at = up;
  }
}

/** Create and remove a file in `folder`: the one honest test of "can write here" (access(2) is wrong under root, ACLs, read-only mounts). */
async function probeWrite(folder: string): Promise<void> {
  const probe = join(folder, `.sibyl-doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
  await writeFile(probe, 'sibyl-runner doctor\n', { flag: 'wx', mode: 0o600 });
  await unlink(probe);
}

/**
 * Whether the runner can write in `folder.path` (or create it), and the free space on its disk:
 * `fail` when it cannot or under NO_SPACE_BYTES are free, `warn` under LOW_SPACE_BYTES.
 */
export async function checkFolder(folder: RunnerFolder, configPath: string): Promise<DoctorCheck> {
  const { id, title, key, path } = folder;
  const elsewhere = `set ${key} in ${configPath} to a folder this user can write`;
  const found = await nearestFolder(path);
  if ('blockedBy' in found) {
    return check(id, title, 'fail', `${path} cannot be created: ${found.blockedBy} is a file, not a folder`, {
      fix: `move ${found.blockedBy} away, or ${elsewhere}`,
      detail: { path, blockedBy: found.blockedBy },
    });
  }
  try {
    await probeWrite(found.folder);
  } catch (err) {
    const code = isCode(err, 'EROFS') ? 'a read-only file system' : err instanceof Error ? err.message : String(err);
    return check(id, title, 'fail', `Cannot write in ${found.folder} (${code})`, {
      fix: `make ${found.folder} writable for the user the runner runs as, or ${elsewhere}`,
      detail: { path, testedIn: found.folder },
    });
  }
  const fs = await statfs(found.folder);
  const free = fs.bavail * fs.bsize;
  const where = found.exists ? `${path}: writable` : `${path}: created at the first start (${found.folder} is writable)`;
  const detail = { path, exists: found.exists, freeBytes: free };
  if (free < NO_SPACE_BYTES) {
    return check(id, title, 'fail', `${where}, but only ${byteSize(free)} free on its disk`, {
      fix: `free disk space on the disk of ${found.folder}, or ${elsewhere} on another disk`,
      detail,
    });
  }
  if (free < LOW_SPACE_BYTES) {
    return check(id, title, 'warn', `${where}; ${byteSize(free)} free on its disk — worktrees of a large repository may not fit`, {
      fix: `free disk space on the disk of ${found.folder}`,
      detail,
    });
  }
  return check(id, title, 'ok', `${where}, ${byteSize(free)} free`, { detail });
}
