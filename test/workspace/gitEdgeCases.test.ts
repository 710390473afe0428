import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { RunnerError } from '../../main/runner/errors.ts';
import { defaultBranchName } from '../../main/runner/workspace/worktrees.ts';
import { commit, git } from '../helpers/gitRepo.ts';
import { HOUR, scratch, setup, spec } from '../helpers/workspaceFixture.ts';

/** Issue 13, git edge cases 6, 7 and 10: branch names git refuses, branches held by stale worktrees, empty branches. */

const branchExists = (repo: string, name: string): boolean => git(repo, 'branch', '--list', name) !== '';
const headBranch = (dir: string): string => git(dir, 'symbolic-ref', '--short', 'HEAD');

describe('ref D/F conflicts (case 6)', () => {
  test('a branch named "sibyl" exists: the task branch moves to sibyl-<id>', async () => {
    const { ws, pair } = await setup();
    git(pair.checkout, 'branch', 'sibyl');
    const s = spec();
    const w = await ws.prepare(s);
    const expected = defaultBranchName(s.taskId).replace('/', '-');
    assert.equal(w.env.SIBYL_BRANCH, expected);
    assert.equal(headBranch(w.path), expected);
    commit(w.path, { 'a.txt': 'a\n' }, 'work');
    await w.release({ status: 'completed' });
    // A retry of the task keeps the first attempt's branch (it has work) and numbers its own.
    const retry = await ws.prepare(spec({ taskId: s.taskId }));
    assert.equal(retry.env.SIBYL_BRANCH, `${expected}-2`);
    await retry.release({ status: 'completed' });
  });

  test('a branch sibyl/<id>/x exists: the task gets sibyl/<id>-2', async () => {
    const { ws, pair } = await setup();
    const s = spec();
    git(pair.checkout, 'branch', `${defaultBranchName(s.taskId)}/x`);
    const w = await ws.prepare(s);
    assert.equal(w.env.SIBYL_BRANCH, `${defaultBranchName(s.taskId)}-2`);
    assert.equal(headBranch(w.path), `${defaultBranchName(s.taskId)}-2`);
    await w.release({ status: 'completed' });
  });

  test('a server-named branch blocked either way fails naming the branch in its way, and is not renamed', async () => {
    const { ws, pair, base } = await setup();
    git(pair.checkout, 'branch', 'feature');
    git(pair.checkout, 'branch', 'release/1.0/hotfix');
    for (const [branch, blocker] of [
      ['feature/x', 'feature'],
      ['release/1.0', 'release/1.0/hotfix'],
    ] as const) {
      await assert.rejects(
        ws.prepare(spec({ branch })),
        (e: unknown) =>
          e instanceof RunnerError &&
          e.code === 'branch_conflict' &&
          e.message.includes(`config.branch "${branch}"`) &&
          e.message.includes(`branch "${blocker}" exists`),
      );
      assert.equal(branchExists(pair.checkout, branch), false);
    }
    assert.equal(git(pair.checkout, 'worktree', 'list', '--porcelain').includes(base), false, 'no worktree left behind');
  });
});

describe('a stale worktree registration holds the branch (case 7)', () => {
  test('a worktree of config.branch deleted by hand is pruned, and the task runs on the branch', async () => {
    const { ws, pair } = await setup();
    const tip = commit(pair.checkout, { 'f.txt': 'feature\n' }, 'feature work');
    git(pair.checkout, 'branch', 'feature/x');
    git(pair.checkout, 'reset', '--hard', '--quiet', 'HEAD~1');
    const byHand = join(scratch(), 'by-hand');
    git(pair.checkout, 'worktree', 'add', '--quiet', byHand, 'feature/x');
    rmSync(byHand, { recursive: true, force: true });
    const w = await ws.prepare(spec({ branch: 'feature/x' }));
    assert.equal(headBranch(w.path), 'feature/x');
    assert.equal(git(w.path, 'rev-parse', 'HEAD'), tip, 'continues on the existing branch');
    await w.release({ status: 'completed' });
    assert.ok(branchExists(pair.checkout, 'feature/x'), 'an existing branch is never deleted');
  });

  test('a worktree kept for inspection gives its branch to the next task; its files and commits stay', async () => {
    const { ws, pair, clock } = await setup({ keepHours: 24 });
    const failed = await ws.prepare(spec({ branch: 'feature/kept' }));
    const work = commit(failed.path, { 'w.txt': 'half done\n' }, 'agent: half done');
    writeFileSync(join(failed.path, 'wip.txt'), 'uncommitted');
    await failed.release({ status: 'failed' });
    assert.ok(existsSync(failed.path), 'kept for inspection');

    const next = await ws.prepare(spec({ branch: 'feature/kept' }));
    assert.equal(headBranch(next.path), 'feature/kept');
    assert.equal(git(next.path, 'rev-parse', 'HEAD'), work, 'the next task continues from the kept work');
    // The kept worktree is detached at the same commit, nothing else changed.
    assert.throws(() => git(failed.path, 'symbolic-ref', '-q', 'HEAD'));
    assert.equal(git(failed.path, 'rev-parse', 'HEAD'), work);
    assert.equal(readFileSync(join(failed.path, 'wip.txt'), 'utf8'), 'uncommitted');

    clock.now += 25 * HOUR;
    assert.deepEqual((await ws.sweep()).removed, [failed.path]);
    assert.ok(branchExists(pair.checkout, 'feature/kept'), 'the branch stays with the task that has it now');
    await next.release({ status: 'completed' });
  });

  test("a running task's worktree and the user's own checkout still refuse, naming where", async () => {
    const { ws, pair } = await setup();
    const running = await ws.prepare(spec({ branch: 'feature/busy' }));
    const s = spec();
    await assert.rejects(
      ws.prepare(spec({ branch: 'feature/busy' })),
      (e: unknown) =>
        e instanceof RunnerError &&
        e.code === 'branch_checked_out' &&
        e.message.includes(running.path) &&
        e.message.includes('by running task'),
    );
    await assert.rejects(
      ws.prepare({ ...s, branch: 'main' }),
      (e: unknown) => e instanceof RunnerError && e.code === 'branch_checked_out' && e.message.includes(pair.checkout),
    );
    assert.equal(headBranch(pair.checkout), 'main', "the user's checkout is untouched");
    assert.equal(headBranch(running.path), 'feature/busy', "the running task's worktree is untouched");
    await running.release({ status: 'completed' });
  });
});

describe('empty task branches do not pile up (case 10)', () => {
  test('released clean: a branch without commits goes with its worktree; one with commits stays', async () => {
    const { ws, pair } = await setup();
    const empty = await ws.prepare(spec());
    const named = await ws.prepare(spec({ branch: 'feature/new-empty' }));
    const worked = await ws.prepare(spec());
    commit(worked.path, { 'w.txt': 'work\n' }, 'agent work');
    for (const w of [empty, named, worked]) await w.release({ status: 'completed' });
    assert.equal(branchExists(pair.checkout, empty.env.SIBYL_BRANCH ?? ''), false);
    assert.equal(branchExists(pair.checkout, 'feature/new-empty'), false, 'the runner created it: it goes too');
    assert.ok(branchExists(pair.checkout, worked.env.SIBYL_BRANCH ?? ''));
    assert.deepEqual(
      git(pair.checkout, 'branch', '--list', 'sibyl/*', '--format=%(refname:short)').split('\n'),
      [worked.env.SIBYL_BRANCH],
      'only the branch with work is left',
    );
  });

  test('kept worktrees: the empty branch goes when the keep period ends, the one with work stays', async () => {
    const { ws, pair, clock } = await setup({ keepHours: 24 });
    const empty = await ws.prepare(spec());
    const worked = await ws.prepare(spec());
    commit(worked.path, { 'w.txt': 'work\n' }, 'agent work');
    await empty.release({ status: 'failed' });
    await worked.release({ status: 'failed' });
    assert.ok(branchExists(pair.checkout, empty.env.SIBYL_BRANCH ?? ''), 'kept with its worktree');
    clock.now += 25 * HOUR;
    assert.equal((await ws.sweep()).removed.length, 2);
    assert.equal(branchExists(pair.checkout, empty.env.SIBYL_BRANCH ?? ''), false);
    assert.ok(branchExists(pair.checkout, worked.env.SIBYL_BRANCH ?? ''));
  });

  test('a server-named branch that already existed is never deleted', async () => {
    const { ws, pair } = await setup();
    git(pair.checkout, 'branch', 'feature/existing');
    const w = await ws.prepare(spec({ branch: 'feature/existing' }));
    await w.release({ status: 'completed' });
    assert.ok(branchExists(pair.checkout, 'feature/existing'));
  });
});
