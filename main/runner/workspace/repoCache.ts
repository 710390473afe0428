import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RunnerError, errorMessage } from '../errors.ts';
import { initMirror, remoteUrl, updateRemoteHead } from '../git/git.ts';
import { REPO_URL_PROTOCOLS, redactUrl } from '../git/refNames.ts';
import { withFetchLock } from '../git/repoLock.ts';
import type { Logger } from '../logger.ts';

/**
 * Runner-owned bare mirrors for tasks that carry `config.repo_url` for a project not linked on
 * this machine: `<repoCacheDir>/<sha256(url)[:16]>.git`, cloned once, fetched before each task
 * (by BaseResolver), with worktrees added from it. The sandbox runner never cloned anything and
 * ran agents in an empty folder (R10).
 */

export function mirrorDir(repoCacheDir: string, url: string): string {
  return resolve(repoCacheDir, `${createHash('sha256').update(url).digest('hex').slice(0, 16)}.git`);
}

export interface Mirror {
  dir: string;
  /** The lock key for this repository (its folder). */
  lockKey: string;
  /** Cloned by this call: already as fresh as a fetch would make it. */
  created: boolean;
}

/** The mirror of `url`, cloned into a temporary folder and renamed so a half-done clone never looks like a cache. */
export async function ensureMirror(
  repoCacheDir: string,
  url: string,
  opts: { timeoutMs: number; signal?: AbortSignal; log: Logger },
): Promise<Mirror> {
  const dir = mirrorDir(repoCacheDir, url);
  return withFetchLock(
    dir,
    async () => {
      if (
        await stat(dir).then(
          () => true,
          () => false,
        )
      ) {
        const actual = await remoteUrl(dir);
        if (actual !== url) {
          throw new RunnerError(
            'repo_cache_mismatch',
            `repository cache ${dir} has origin ${actual ? redactUrl(actual) : '(none)'}, expected ${redactUrl(url)}; delete the folder to re-clone`,
          );
        }
        return { dir, lockKey: dir, created: false };
      }
      await mkdir(repoCacheDir, { recursive: true });
      const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
      const gitOpts = { timeoutMs: opts.timeoutMs, allowProtocols: REPO_URL_PROTOCOLS, ...(opts.signal ? { signal: opts.signal } : {}) };
      const started = Date.now();
      try {
        await initMirror(tmp, url, gitOpts);
        await updateRemoteHead(tmp, 'origin', gitOpts);
        await rename(tmp, dir);
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw new RunnerError('repo_unavailable', `cannot clone ${redactUrl(url)}: ${errorMessage(err)}`, { cause: err });
      }
      opts.log.info('repository cached', { url: redactUrl(url), dir, ms: Date.now() - started });
      return { dir, lockKey: dir, created: true };
    },
    opts.signal,
  );
}

/** Every mirror in the cache (pruned at start-up). */
export async function mirrorDirs(repoCacheDir: string): Promise<string[]> {
  const names = await readdir(repoCacheDir).catch(() => []);
  return names.filter((n) => n.endsWith('.git')).map((n) => join(repoCacheDir, n));
}
