import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { commit, git } from '../helpers/gitRepo.ts';
import { HOUR, setup, spec } from '../helpers/workspaceFixture.ts';

const branchExists = (repo: string, name: string): boolean => git(repo, 'branch', '--list', name) !== '';

describe('worktree cleanup', () => {
  test('cleanup removes the folder and keeps the branch', async () => {
    const { ws, pair } = await setup();
    const w = await ws.prepare(spec());
    commit(w.path, { 'work.txt': 'done\n' }, 'agent work');
    const branch = w.env.SIBYL_BRANCH ?? '';
    await w.release({ status: 'completed' });
    assert.equal(existsSync(w.path), false);
    assert.ok(branchExists(pair.checkout, branch), 'branch kept');
    assert.ok(!git(pair.checkout, 'worktree', 'list').includes(w.path), 'git forgot the worktree');
  });

  test("a failed task's worktree is kept, then removed when the keep period ends", async () => {
    const { ws, pair, clock } = await setup({ keepHours: 24 });
    const failed = await ws.prepare(spec());
    const dirty = await ws.prepare(spec());
    writeFileSync(join(dirty.path, 'wip.txt'), 'uncommitted');
    commit(failed.path, { 'half.txt': 'half done\n' }, 'agent: half done'); // a branch with work outlives its worktree
    await failed.release({ status: 'failed' });
    await dirty.release({ status: 'completed' });
    assert.ok(existsSync(failed.path) && existsSync(dirty.path), 'kept for inspection');
    clock.now += 23 * HOUR;
    assert.deepEqual((await ws.sweep()).removed, []);
    assert.ok(existsSync(failed.path));
    clock.now += 2 * HOUR;
    assert.deepEqual((await ws.sweep()).removed.sort(), [failed.path, dirty.path].sort());
    assert.equal(existsSync(failed.path), false);
    assert.ok(branchExists(pair.checkout, failed.env.SIBYL_BRANCH ?? ''), 'branch kept after expiry');
  });

  test('a restarted runner treats leftover worktrees as finished and expires them', async () => {
    const { make, clock } = await setup({ keepHours: 1 });
    const w = await make().prepare(spec()); // never released: the process "died"
    const restarted = make();
    assert.deepEqual((await restarted.sweep()).removed, []);
    clock.now += 2 * HOUR;
    assert.deepEqual((await restarted.sweep()).removed, [w.path]);
  });

  test('the disk cap removes the oldest finished worktrees first', async () => {
    const { ws, clock } = await setup({ diskCapBytes: 1 });
    const a = await ws.prepare(spec());
    const b = await ws.prepare(spec());
    const running = await ws.prepare(spec());
    await a.release({ status: 'failed' });
    assert.equal(existsSync(a.path), false, 'over the cap: the finished one goes');
    clock.now += 1000;
    await b.release({ status: 'failed' });
    assert.equal(existsSync(b.path), false);
    assert.ok(existsSync(running.path), 'a running task is never removed');
    await running.release({ status: 'completed' });
  });
});
