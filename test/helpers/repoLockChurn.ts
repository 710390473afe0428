import { closeSync, openSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as git from '../../main/runner/git/git.ts';
import { RepoLocks, withRepoLock } from '../../main/runner/git/repoLock.ts';

/**
 * A runner's worktree churn in a child process, for repoLockAcrossProcesses.test.ts: `tasks`
 * tasks started at once, each adding a worktree with a new branch (under the repository lock),
 * checking it out (outside it), then removing and pruning it and deleting its branch (under the
 * lock again), as GitWorkspaces does. It prints "ready", starts on a "go" line on stdin (so two
 * children really run at once), and prints one JSON line: git failures, and how often a locked
 * section found the other process inside one (an `inside` marker file made with O_EXCL).
 *
 * argv: JSON { repo, gitDir, base, tag, tasks, lock: 'files' | 'in-process' }. 'in-process' uses
 * only the per-process lock: what the runner did before the lock file.
 */

interface Args {
  repo: string;
  gitDir: string;
  base: string;
  tag: string;
  tasks: number;
  lock: 'files' | 'in-process';
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const inProcess = new RepoLocks();
const lock = <T>(fn: () => Promise<T>): Promise<T> =>
  args.lock === 'files' ? withRepoLock(args.gitDir, fn) : inProcess.run(args.gitDir, fn);

const marker = join(args.gitDir, 'churn-inside');
let overlaps = 0;
/** Run `fn` as a locked section, noting when another process is in one at the same time. */
async function section<T>(fn: () => Promise<T>): Promise<T> {
  return lock(async () => {
    let mine = false;
    try {
      closeSync(openSync(marker, 'wx'));
      mine = true;
    } catch {
      overlaps++;
    }
    try {
      return await fn();
    } finally {
      if (mine) unlinkSync(marker);
    }
  });
}

const start = (await git.resolveCommit(args.repo, 'HEAD')) ?? '';
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) if (line === 'go') break;
process.stdin.destroy(); // nothing more to read: an open stdin would keep this process alive after its report

const failures: string[] = [];
await Promise.all(
  Array.from({ length: args.tasks }, async (_, i) => {
    const path = join(args.base, `${args.tag}-${i}`);
    const branch = `churn/${args.tag}-${i}`;
    try {
      await section(() => git.addWorktree(args.repo, { path, newBranch: branch, start, checkout: false }));
      await git.populateWorktree(path);
      await section(async () => {
        await git.removeWorktree(args.repo, path);
        await git.pruneWorktrees(args.repo);
      });
      await section(() => git.deleteBranch(args.repo, branch));
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }),
);
process.stdout.write(`${JSON.stringify({ failures, overlaps })}\n`);
