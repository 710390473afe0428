import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { RunnerError } from '../../main/runner/errors.ts';
import * as gitOps from '../../main/runner/git/git.ts';
import { REPO_LOCK_FILE, acquireRepoFileLock } from '../../main/runner/git/repoFileLock.ts';
import { RepoLocks } from '../../main/runner/git/repoLock.ts';
import { git, makeRepo } from '../helpers/gitRepo.ts';
import { sleep, tempDir } from '../helpers/tmp.ts';

/**
 * Two runner processes linked to one checkout (issue 13, case 9): their worktree changes take a
 * lock file in the common git folder, so neither git reads the other's half-written records.
 */

const CHURN = resolve(import.meta.dirname, '../helpers/repoLockChurn.ts');
const FILE_LOCK_MODULE = resolve(import.meta.dirname, '../../main/runner/git/repoFileLock.ts');

function repository(): { repo: string; gitDir: string; root: string } {
  const root = tempDir('sibyl-i13l-');
  const repo = makeRepo(join(root, 'checkout'));
  return { repo, gitDir: join(repo, '.git'), root };
}

/** Lines a child prints, as they come. */
function lines(child: ChildProcess): AsyncIterator<string> {
  return createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
}

async function nextLine(it: AsyncIterator<string>): Promise<string> {
  const next = await it.next();
  if (next.done === true) assert.fail('the child ended early');
  return next.value;
}

/** Two children churning worktrees on one repository at once; each one's JSON report. */
async function churnInTwoProcesses(lock: 'files' | 'in-process'): Promise<Array<{ failures: string[]; overlaps: number }>> {
  const { repo, gitDir, root } = repository();
  const children = ['a', 'b'].map((tag) => {
    const child = spawn(process.execPath, [CHURN, JSON.stringify({ repo, gitDir, base: join(root, `wt-${tag}`), tag, tasks: 20, lock })], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    after(() => child.kill());
    return { child, out: lines(child), closed: new Promise<void>((r) => child.on('close', () => r())) };
  });
  for (const c of children) assert.equal(await nextLine(c.out), 'ready');
  for (const c of children) c.child.stdin.end('go\n');
  const reports = await Promise.all(
    children.map(async (c) => JSON.parse(await nextLine(c.out)) as { failures: string[]; overlaps: number }),
  );
  await Promise.all(children.map((c) => c.closed));
  if (lock === 'files') {
    assert.deepEqual(git(repo, 'worktree', 'list', '--porcelain').match(/^worktree /gm)?.length, 1, 'only the checkout is left');
    assert.equal(git(repo, 'branch', '--list', 'churn/*'), '', 'every task branch deleted');
    assert.deepEqual(
      readdirSync(gitDir).filter((f) => f.startsWith(REPO_LOCK_FILE)),
      [],
      'no lock, temp or takeover file left behind',
    );
  }
  return reports;
}

/** A child process holding the repository lock file of `gitDir` until `release()`. */
async function holdInChild(gitDir: string): Promise<{ pid: number; release(): Promise<void> }> {
  const script = `
    const { acquireRepoFileLock } = await import(${JSON.stringify(FILE_LOCK_MODULE)});
    const lock = await acquireRepoFileLock(${JSON.stringify(gitDir)});
    process.stdout.write('held\\n');
    process.stdin.resume();
    process.stdin.on('end', () => { lock.release(); process.exit(0); });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  after(() => child.kill());
  assert.equal(await nextLine(lines(child)), 'held');
  return {
    pid: child.pid!,
    release: async () => {
      child.stdin.end();
      await closed;
    },
  };
}

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

describe('repository lock across processes', () => {
  test('two runner processes, 20 tasks each at once on one checkout: no git failure, never two worktree changes at the same moment', async () => {
    const reports = await churnInTwoProcesses('files');
    assert.deepEqual(
      reports.map((r) => r.failures),
      [[], []],
    );
    assert.deepEqual(
      reports.map((r) => r.overlaps),
      [0, 0],
    );
  });

  test("without the lock file (the per-process lock only, as before) the two processes' worktree changes overlap", async () => {
    // Git fails only when an overlap hits the wrong instant (about one round in five here): the
    // overlaps themselves are what the lock file prevents, and they happen in every round.
    const reports = await churnInTwoProcesses('in-process');
    assert.ok(reports[0]!.overlaps + reports[1]!.overlaps > 0, 'the locked sections overlapped');
  });

  test('a lock held by another live process makes the taker wait until it is released', async () => {
    const { gitDir } = repository();
    const other = await holdInChild(gitDir);
    let released = false;
    const taking = acquireRepoFileLock(gitDir).then((lock) => {
      assert.ok(released, 'taken only after the other process released it');
      return lock;
    });
    await sleep(300); // room for a wrong early take
    released = true;
    await other.release();
    const lock = await taking;
    assert.equal((JSON.parse(readFileSync(join(gitDir, REPO_LOCK_FILE), 'utf8')) as { pid: number }).pid, process.pid);
    lock?.release();
    assert.equal(existsSync(join(gitDir, REPO_LOCK_FILE)), false, 'released');
  });

  test('a lock left by a dead process, by a pid now naming another process, or that is not ours to read is taken over', async () => {
    const { gitDir } = repository();
    const file = join(gitDir, REPO_LOCK_FILE);
    for (const content of [
      JSON.stringify({ pid: deadPid(), since: 1 }),
      JSON.stringify({ pid: process.pid, startTime: 'another-boot:1', since: 1 }),
      'not a lock of ours',
    ]) {
      writeFileSync(file, content);
      const lock = await acquireRepoFileLock(gitDir);
      const now = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; since: number };
      assert.equal(now.pid, process.pid, content);
      assert.notEqual(now.since, 1);
      lock?.release();
    }
    assert.deepEqual(
      readdirSync(gitDir).filter((f) => f.startsWith(REPO_LOCK_FILE)),
      [],
    );
  });

  test('a repository that is gone has nothing to guard: the operation runs without a lock file (its git reports the rest)', async () => {
    const { root } = repository();
    const gone = join(root, 'deleted-repo', '.git');
    assert.equal(await acquireRepoFileLock(gone), undefined);
    assert.equal(await new RepoLocks().runAcrossProcesses(gone, async () => 'ran'), 'ran');
  });

  test('waiting is bounded: a typed error names the lock file and its holder; an abort stops the wait with its reason', async () => {
    const { gitDir } = repository();
    const other = await holdInChild(gitDir);
    const locks = new RepoLocks({ fileLockWaitMs: 200 });
    let ran = false;
    const file = join(gitDir, REPO_LOCK_FILE);
    await assert.rejects(
      locks.runAcrossProcesses(gitDir, async () => (ran = true)),
      (err: unknown) =>
        err instanceof RunnerError &&
        err.code === 'repo_locked' &&
        err.remedy === 'retry' &&
        err.message.includes(file) &&
        err.message.includes(`process ${other.pid}`) &&
        err.context.pid === other.pid,
    );
    const stop = new AbortController();
    const waiting = new RepoLocks().runAcrossProcesses(gitDir, async () => (ran = true), stop.signal);
    await sleep(100);
    stop.abort(new Error('task cancelled'));
    await assert.rejects(waiting, /task cancelled/);
    assert.equal(ran, false, 'nothing ran without the lock');
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid, other.pid, "the holder's lock is untouched");
    await other.release();
    assert.equal(await new RepoLocks({ fileLockWaitMs: 200 }).runAcrossProcesses(gitDir, async () => 'ran'), 'ran');
  });

  test('git neither reads nor removes the lock file: gc, prune, fsck and ref listing leave it as it is', async () => {
    const { repo, gitDir } = repository();
    const lock = await acquireRepoFileLock(gitDir);
    const file = join(gitDir, REPO_LOCK_FILE);
    const content = readFileSync(file, 'utf8');
    git(repo, 'worktree', 'prune');
    git(repo, 'pack-refs', '--all');
    git(repo, 'gc', '--quiet', '--prune=now');
    git(repo, 'fsck', '--no-progress');
    assert.doesNotMatch(git(repo, 'for-each-ref'), /sibyl/);
    assert.equal(readFileSync(file, 'utf8'), content);
    lock?.release();
  });
});

describe('worktree add meeting another git', { skip: process.platform === 'win32' && 'the stand-in git is a shell script' }, () => {
  /**
   * A stand-in `git` first on PATH: while `break-next` exists, the next `worktree add` meets a
   * worktree record another git is removing (its `commondir` unreadable for that moment), as a
   * user's own `git worktree remove` or `prune` leaves it. The real git fails for real, after
   * making the branch; the record is then gone. Every `worktree add` is logged.
   */
  function standInGit(root: string): { log: string; breakNext(): void } {
    const real = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();
    const bin = join(root, 'bin');
    const log = join(root, 'adds.log');
    const flag = join(root, 'break-next');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'git'),
      `#!/bin/sh
if [ "$3" = worktree ] && [ "$4" = add ]; then
  echo add >> '${log}'
  if [ -e '${flag}' ]; then
    rm -f '${flag}'
    record="$(${real} rev-parse --git-common-dir)/worktrees/being-removed"
    mkdir -p "$record/commondir" && echo /nowhere/.git > "$record/gitdir"
    '${real}' "$@"; code=$?
    rm -rf "$record"
    exit $code
  fi
fi
exec '${real}' "$@"
`,
    );
    chmodSync(join(bin, 'git'), 0o755);
    const saved = process.env.PATH;
    process.env.PATH = `${bin}:${saved ?? ''}`;
    after(() => {
      process.env.PATH = saved;
    });
    return { log, breakNext: () => writeFileSync(flag, '') };
  }

  test('an add that fails half-way is undone (its new branch deleted) and tried again', async () => {
    const { repo, root } = repository();
    const stand = standInGit(root);
    const start = git(repo, 'rev-parse', 'HEAD');
    const path = join(root, 'worktrees', 'p', 't1');
    stand.breakNext();
    await gitOps.addWorktree(repo, { path, newBranch: 'task/t1', start, checkout: false });
    assert.equal(readFileSync(stand.log, 'utf8'), 'add\nadd\n', 'failed once, then added');
    assert.match(git(repo, 'worktree', 'list', '--porcelain'), new RegExp(`worktree ${path}\\n`));
    assert.equal(git(path, 'symbolic-ref', 'HEAD'), 'refs/heads/task/t1');
    assert.equal(git(repo, 'rev-parse', 'task/t1'), start);
  });

  test('any other failure is not retried', async () => {
    const { repo, root } = repository();
    const stand = standInGit(root);
    git(repo, 'branch', 'taken');
    await assert.rejects(
      gitOps.addWorktree(repo, { path: join(root, 'wt'), newBranch: 'taken', start: 'HEAD', checkout: false }),
      (err: unknown) => err instanceof gitOps.GitFailed && /already exists/.test(err.message),
    );
    assert.equal(readFileSync(stand.log, 'utf8'), 'add\n');
  });
});
