import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { RunnerError } from '../../main/runner/errors.ts';
import { GitWorkspaces } from '../../main/runner/workspace/worktrees.ts';
import { git } from '../helpers/gitRepo.ts';
import { HOUR, quiet, setup, spec } from '../helpers/workspaceFixture.ts';

/** Issue 13, case 4: plain-folder workspaces (no link, no repo_url) are recorded, kept, removed and capped like worktrees. */

const UNLINKED = 'project_n0t11nked000';
const folderSpec = () => spec({ projectId: UNLINKED });

type Registry = { worktrees: Array<{ kind?: string; path: string; keepUntil: number | null; reason: string | null }> };
const registry = (base: string): Registry => JSON.parse(readFileSync(join(base, '.sibyl-worktrees.json'), 'utf8')) as Registry;

describe('plain-folder workspaces', () => {
  test('kept for the keep period after every outcome, said so in the result, then removed by the sweep', async () => {
    const { ws, base, clock } = await setup({ keepHours: 24 });
    const ok = await ws.prepare(folderSpec());
    const failed = await ws.prepare(folderSpec());
    await ws.settled(); // a task start writes the registry in the background
    writeFileSync(join(ok.path, 'out.txt'), 'the only copy of the work\n');
    const d = await ok.describe();
    assert.equal(d.workspace, 'folder');
    assert.match(String(d.workspace_note), /no branch holds its files: the folder is kept 24 h after the task ends/);
    assert.deepEqual(
      registry(base).worktrees.map((r) => [r.kind, r.path, r.keepUntil]),
      [
        ['folder', ok.path, null],
        ['folder', failed.path, null],
      ],
    );
    await ok.release({ status: 'completed' });
    await failed.release({ status: 'failed' });
    assert.ok(existsSync(ok.path) && existsSync(failed.path), 'kept after success and failure alike');
    assert.deepEqual(
      registry(base).worktrees.map((r) => r.reason),
      ['task completed', 'task failed'],
    );
    clock.now += 23 * HOUR;
    assert.deepEqual((await ws.sweep()).removed, []);
    clock.now += 2 * HOUR;
    assert.deepEqual((await ws.sweep()).removed.sort(), [ok.path, failed.path].sort());
    assert.equal(existsSync(ok.path) || existsSync(failed.path), false);
    assert.deepEqual(registry(base).worktrees, []);
  });

  test('keep period 0: removed when the task ends; a symlink the agent left is removed, not followed', async () => {
    const { ws, dir } = await setup({ keepHours: 0 });
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'keep.txt'), 'not the runner’s\n');
    const w = await ws.prepare(folderSpec());
    assert.match(String((await w.describe()).workspace_note), /removed when the task ends/);
    symlinkSync(outside, join(w.path, 'link'));
    await w.release({ status: 'completed' });
    assert.equal(existsSync(w.path), false);
    assert.equal(readFileSync(join(outside, 'keep.txt'), 'utf8'), 'not the runner’s\n');
  });

  test('counted by the disk cap: finished folders go oldest first, with worktrees; a running one stays', async () => {
    const { ws, clock } = await setup({ diskCapBytes: 1, keepHours: 24 });
    const worktree = await ws.prepare(spec());
    const folder = await ws.prepare(folderSpec());
    const running = await ws.prepare(folderSpec());
    writeFileSync(join(folder.path, 'big.bin'), Buffer.alloc(4096));
    writeFileSync(join(running.path, 'big.bin'), Buffer.alloc(4096));
    await folder.release({ status: 'completed' });
    assert.equal(existsSync(folder.path), false, 'over the cap: the finished folder goes');
    assert.ok(existsSync(running.path), 'a running task is never removed');
    clock.now += 1000;
    await worktree.release({ status: 'failed' });
    assert.equal(existsSync(worktree.path), false);
    assert.ok(existsSync(running.path));
    await running.release({ status: 'completed' });
  });

  test("a retry takes over its own kept folder; another task's kept folder is refused", async () => {
    const { ws } = await setup({ keepHours: 24 });
    const s = folderSpec();
    const first = await ws.prepare(s);
    writeFileSync(join(first.path, 'partial.txt'), 'half done\n');
    await first.release({ status: 'failed' });
    const retry = await ws.prepare(s);
    assert.equal(retry.path, first.path);
    assert.equal(readFileSync(join(retry.path, 'partial.txt'), 'utf8'), 'half done\n');
    assert.match(String((await retry.describe()).workspace_note), /earlier attempt of this task/);
    await assert.rejects(ws.prepare(s), (e: unknown) => e instanceof RunnerError && e.code === 'worktree_busy');
    await retry.release({ status: 'failed' });
    await assert.rejects(
      ws.prepare(spec({ projectId: UNLINKED, worktreePath: first.path })),
      (e: unknown) => e instanceof RunnerError && e.code === 'worktree_exists' && e.message.includes(s.taskId),
    );
  });

  test('start-up adopts unknown task folders (lost registry), never a .git folder, an odd name, the mirror cache or a linked checkout', async () => {
    const { base, links, clock, pair } = await setup({ keepHours: 1 });
    const id = (n: number) => `${n.toString(16).padStart(8, '0')}-7a2f-4c8e-b1d0-2f3e4a5b6c7d`;
    const task = join(base, UNLINKED, id(1));
    const clone = join(base, UNLINKED, id(2));
    const odd = join(base, UNLINKED, 'notes');
    const cache = join(base, 'project_cache00000', id(3));
    for (const d of [task, join(clone, '.git'), odd, cache]) mkdirSync(d, { recursive: true });
    for (const d of [task, clone, odd, cache]) writeFileSync(join(d, 'f.txt'), 'x');
    // The user's own worktree, linked as a project, happens to sit where a task's would.
    const userWorktree = join(base, 'project_11nkedw0000', id(4));
    git(pair.checkout, 'worktree', 'add', '--quiet', '-b', 'mine', userWorktree);
    await links.link(userWorktree, 'project_11nkedw0000');
    const make = () =>
      new GitWorkspaces({ worktreeBase: base, repoCacheDir: cache, links, log: quiet, now: () => clock.now, keepFailedWorktreesHours: 1 });
    rmSync(join(base, '.sibyl-worktrees.json'), { force: true });
    const started = make();
    assert.deepEqual((await started.sweep()).removed, []);
    assert.deepEqual(
      registry(base).worktrees.map((r) => [r.kind, r.path]),
      [['folder', task]],
    );
    clock.now += 2 * HOUR;
    assert.deepEqual((await started.sweep()).removed, [task]);
    assert.equal(existsSync(task), false);
    for (const d of [clone, odd, cache]) assert.ok(existsSync(join(d, 'f.txt')), d);
    assert.ok(existsSync(join(userWorktree, 'README.md')), 'the linked checkout stays');
  });
});
