import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as git from '../main/runner/git/git.ts';
import { RepoLocks } from '../main/runner/git/repoLock.ts';
import { percentile, printTable } from './stats.ts';

/**
 * What the repository lock file (issue 13, case 9) adds to a task start: lock/unlock cycles with
 * and without the file, uncontended, beside one `git worktree add --no-checkout` on the same
 * repository (the operation it guards). A task takes the lock about three times (add, remove
 * with prune, branch cleanup).
 */

export interface RepoLockBenchFigures {
  cycles: number;
  /** Mean ms of an in-process lock/unlock with nothing inside. */
  inProcessMs: number;
  /** Mean ms of the same with the lock file taken and released inside. */
  withFileMs: number;
  /** Median ms of `git worktree add --no-checkout` (the floor a task pays anyway). */
  worktreeAddMs: number;
}

async function meanMs(cycles: number, fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < cycles; i++) await fn();
  return (performance.now() - t0) / cycles;
}

export async function run(opts: { cycles?: number } = {}): Promise<RepoLockBenchFigures> {
  const cycles = opts.cycles ?? 200;
  const root = mkdtempSync(join(tmpdir(), 'sibyl-bench-repolock-'));
  try {
    const repo = join(root, 'repo');
    const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
    execFileSync('git', ['init', '--quiet', repo], { env });
    execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@x', 'commit', '--quiet', '--allow-empty', '-m', 'i'], { cwd: repo, env });
    const gitDir = join(repo, '.git');
    const locks = new RepoLocks();
    await meanMs(20, () => locks.runAcrossProcesses(gitDir, async () => undefined)); // warm up
    const inProcessMs = await meanMs(cycles, () => locks.run(gitDir, async () => undefined));
    const withFileMs = await meanMs(cycles, () => locks.runAcrossProcesses(gitDir, async () => undefined));
    const adds: number[] = [];
    for (let i = 0; i < 10; i++) {
      const path = join(root, 'wt', String(i));
      const t0 = performance.now();
      await git.addWorktree(repo, { path, newBranch: `b${i}`, start: 'HEAD', checkout: false });
      adds.push(performance.now() - t0);
      await git.removeWorktree(repo, path);
    }
    const figures = { cycles, inProcessMs, withFileMs, worktreeAddMs: percentile(adds, 50) };
    printTable(`Repository lock, ${cycles} uncontended cycles`, [
      { figure: 'in-process lock/unlock', result: `${(inProcessMs * 1000).toFixed(0)} µs`, target: 'floor' },
      { figure: 'with the lock file', result: `${(withFileMs * 1000).toFixed(0)} µs`, target: '< 1 ms' },
      { figure: 'added per task (×3)', result: `${((withFileMs - inProcessMs) * 3).toFixed(2)} ms`, target: '< 3 ms' },
      { figure: 'git worktree add (median)', result: `${figures.worktreeAddMs.toFixed(1)} ms`, target: 'for scale' },
    ]);
    return figures;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.main) await run();
