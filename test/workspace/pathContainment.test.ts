import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { RunnerError } from '../../main/runner/errors.ts';
import { TaskAssignMsg } from '../../main/runner/protocol/messages.ts';
import { toTaskSpec } from '../../main/runner/tasks/taskSpec.ts';
import { git } from '../helpers/gitRepo.ts';
import { assign, completionOf, startHarness } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';
import { assertInside, mkdirInside, resolvePath } from '../../main/runner/workspace/containment.ts';
import { HOUR, setup, spec } from '../helpers/workspaceFixture.ts';

/** Issue 13, cases 1 and 2: folders are checked on their resolved paths where they are made, used and deleted. */

const SUB_PROJECT = 'project_5ub0000000aa';

/** Commit in a fresh clone of `url` (the upstream): `change` edits the clone; everything is committed and pushed. */
function pushChange(url: string, where: string, change: (clone: string) => void): void {
  const clone = join(where, `change-${readdirSync(where).length}`);
  git(where, 'clone', '--quiet', url, clone);
  change(clone);
  git(clone, 'add', '-A');
  git(clone, 'commit', '--quiet', '--no-verify', '-m', 'change');
  git(clone, 'push', '--quiet', 'origin', 'HEAD:main');
}

const escapes = (symlink: string) => (e: unknown) =>
  e instanceof RunnerError && e.code === 'path_escapes' && e.message.includes(`through the symlink ${symlink}`);

/** A project linked at the sub-folder `sub/dir` of the checkout (projects/links.ts allows that). */
async function subFolderProject() {
  const fx = await setup();
  const work = join(fx.dir, 'work');
  mkdirSync(work);
  pushChange(fx.pair.url, work, (c) => {
    mkdirSync(join(c, 'sub', 'dir'), { recursive: true });
    mkdirSync(join(c, 'other'));
    writeFileSync(join(c, 'sub', 'dir', 'app.txt'), 'the project\n');
    writeFileSync(join(c, 'other', 'x.txt'), 'elsewhere in the repository\n');
  });
  git(fx.pair.checkout, 'pull', '--quiet', '--ff-only');
  await fx.links.link(join(fx.pair.checkout, 'sub', 'dir'), SUB_PROJECT);
  return { ...fx, work };
}

describe('the linked sub-folder (case 1)', () => {
  test('a sub-folder that became a symlink upstream: the task fails before the agent starts, naming the symlink', async () => {
    const fx = await subFolderProject();
    const s1 = spec({ projectId: SUB_PROJECT });
    const first = await fx.ws.prepare(s1);
    assert.equal(resolve(first.path), join(fx.base, SUB_PROJECT, s1.taskId, 'sub', 'dir'));
    await first.release({ status: 'completed' });
    // <root>/sub/dir → ../../../.. is <root>/../../.. = the folder holding the worktree base (the example reaches HOME).
    pushChange(fx.pair.url, fx.work, (c) => {
      rmSync(join(c, 'sub', 'dir'), { recursive: true });
      symlinkSync('../../../..', join(c, 'sub', 'dir'));
    });
    const h = await startHarness({ config: { worktree_base: fx.base }, daemon: { workspaces: fx.ws } });
    const taskId = assign(
      h.runnerId,
      h.core,
      { prompt: 'x', command: ['/bin/sh', '-c', 'echo "$SIBYL_WORKTREE_PATH" > escaped.txt'] },
      { project_id: SUB_PROJECT },
    );
    await until(() => completionOf(h.core, taskId).length > 0, 'completion');
    const done = completionOf(h.core, taskId)[0]!;
    const root = join(fx.base, SUB_PROJECT, taskId);
    assert.equal(done.success, false);
    assert.match(done.error ?? '', new RegExp(`through the symlink ${join(root, 'sub', 'dir')} → \\.\\./\\.\\./\\.\\./\\.\\.`));
    assert.equal(existsSync(join(fx.dir, 'escaped.txt')), false, 'the agent did not run where the symlink leads');
    assert.equal(existsSync(root), false, 'the half-made worktree is gone');
  });

  test('a sub-folder missing at the base commit fails the task; one that is a symlink inside the worktree is followed', async () => {
    const fx = await subFolderProject();
    pushChange(fx.pair.url, fx.work, (c) => {
      rmSync(join(c, 'sub', 'dir'), { recursive: true });
      symlinkSync('../other', join(c, 'sub', 'dir'));
    });
    const inside = await fx.ws.prepare(spec({ projectId: SUB_PROJECT }));
    assert.equal(basename(inside.path), 'other', 'the agent runs in the folder the symlink leads to');
    assert.equal(existsSync(join(inside.path, 'x.txt')), true);
    await inside.release({ status: 'completed' });

    pushChange(fx.pair.url, fx.work, (c) => rmSync(join(c, 'sub'), { recursive: true }));
    const s = spec({ projectId: SUB_PROJECT });
    await assert.rejects(
      fx.ws.prepare(s),
      (e: unknown) =>
        e instanceof RunnerError &&
        e.code === 'linked_folder_missing' &&
        /the linked folder sub\/dir does not exist in origin\/main/.test(e.message),
    );
    assert.equal(existsSync(join(fx.base, SUB_PROJECT, s.taskId)), false);
  });
});

describe('config.worktree_path and cleanup through a symlink (case 2)', () => {
  /** A failed task's kept worktree holding a tracked symlink to a folder outside the worktree base. */
  async function keptWorktreeWithEscape() {
    const fx = await setup({ keepHours: 24 });
    const outside = join(fx.dir, 'outside');
    mkdirSync(outside);
    const work = join(fx.dir, 'work');
    mkdirSync(work);
    pushChange(fx.pair.url, work, (c) => symlinkSync(outside, join(c, 'escape')));
    const kept = await fx.ws.prepare(spec());
    await kept.release({ status: 'failed' });
    assert.ok(existsSync(join(kept.path, 'escape')));
    return { ...fx, outside, kept };
  }

  const assignWith = (base: string, worktreePath: string, projectId: string) =>
    toTaskSpec(
      TaskAssignMsg.parse({
        type: 'task_assign',
        task_id: crypto.randomUUID(),
        agent_id: 'agent_0123456789ab',
        project_id: projectId,
        config: { prompt: 'x', worktree_path: worktreePath },
      }),
      { worktreeBase: base, execCommand: undefined, executionTimeoutSeconds: 60 },
    );

  test('a worktree_path through a tracked symlink of a kept worktree: accepted by its text, refused where the folder is made', async () => {
    const fx = await keptWorktreeWithEscape();
    const through = join(fx.kept.path, 'escape', 'new-task');
    // The synchronous check before task_ack looks at the text only: this path is inside the base by its text.
    const linked = assignWith(fx.base, through, 'project_1a2b3c4d5e6f');
    await assert.rejects(fx.ws.prepare(linked), escapes(join(fx.kept.path, 'escape')));
    const plain = assignWith(fx.base, through, 'project_n0t11nked000');
    await assert.rejects(fx.ws.prepare(plain), escapes(join(fx.kept.path, 'escape')));
    assert.deepEqual(readdirSync(fx.outside), [], 'nothing was made outside the worktree base');
  });

  test('cleanup never removes what a recorded path now leads to outside the base', async () => {
    const fx = await keptWorktreeWithEscape();
    // The project folder in the base is replaced by a symlink to a folder elsewhere.
    const project = join(fx.base, 'project_1a2b3c4d5e6f');
    const moved = join(fx.outside, 'moved');
    renameSync(project, moved);
    symlinkSync(moved, project);
    fx.clock.now += 25 * HOUR;
    assert.deepEqual((await fx.ws.sweep()).removed, []);
    assert.ok(existsSync(join(moved, basename(fx.kept.path), 'README.md')), 'the folder outside is untouched');
    // Forgotten, not retried: the next sweep does not try again.
    assert.deepEqual((await fx.ws.sweep()).removed, []);
  });
});

describe("config.worktree_path never takes another task's folder", () => {
  const taken = (code: string, taskId: string) => (e: unknown) => e instanceof RunnerError && e.code === code && e.message.includes(taskId);

  test("another task's kept worktree, its inside and its parent are refused; its files stay; the task's own retry takes its path", async () => {
    const fx = await setup();
    const a = spec();
    const first = await fx.ws.prepare(a);
    writeFileSync(join(first.path, 'wip.txt'), 'uncommitted work\n');
    await first.release({ status: 'failed' });
    const kept = join(fx.base, a.projectId, a.taskId);
    for (const path of [kept, join(kept, 'nested'), join(fx.base, a.projectId)]) {
      await assert.rejects(fx.ws.prepare(spec({ worktreePath: path })), taken('worktree_exists', a.taskId), path);
      // A plain-folder task (no link) is refused the same way.
      await assert.rejects(fx.ws.prepare(spec({ projectId: 'project_unlinked', worktreePath: path })), taken('worktree_exists', a.taskId));
    }
    assert.equal(readFileSync(join(kept, 'wip.txt'), 'utf8'), 'uncommitted work\n');
    // A running task's folder is refused too, and so is one inside it.
    const b = spec();
    const running = await fx.ws.prepare(b);
    await assert.rejects(fx.ws.prepare(spec({ worktreePath: join(running.path, 'x') })), taken('worktree_busy', running.path));
    await running.release({ status: 'completed' });
    // A retry of A itself reuses the path (its branch keeps its commits).
    const retry = await fx.ws.prepare({ ...a });
    assert.equal(resolve(retry.path), kept);
    await retry.release({ status: 'completed' });
  });
});

describe('folders resolved before (containment.ts remembers their real paths)', () => {
  test('a remembered folder replaced by a symlink leading out is caught; one moved away is resolved afresh', async () => {
    const base = tempDir('sibyl-known-');
    const outside = tempDir('sibyl-known-outside-');
    const project = join(base, 'project');
    mkdirSync(project);
    // Resolved (and remembered) as a task start does, twice.
    assert.equal(await assertInside(base, join(project, 'task-1'), "the task's folder"), join(realpathSync(base), 'project', 'task-1'));
    assert.equal(await mkdirInside(base, join(project, 'task-1')), join(realpathSync(base), 'project', 'task-1'));
    // The project folder becomes a symlink out of the base.
    renameSync(project, join(base, 'moved'));
    symlinkSync(outside, project);
    await assert.rejects(assertInside(base, join(project, 'task-2'), "the task's folder"), escapes(project));
    await assert.rejects(mkdirInside(base, join(project, 'task-2')), { code: 'path_escapes' });
    assert.deepEqual(readdirSync(outside), [], 'nothing made outside');
    // A real folder again, at the same path: resolved to where it is now.
    rmSync(project);
    mkdirSync(project);
    assert.equal(await resolvePath(join(project, 'task-3')), join(realpathSync(base), 'project', 'task-3'));
  });
  test('a remembered real path that now names another folder is not walked from (a base moved behind its symlink)', async () => {
    const root = realpathSync(tempDir('sibyl-known-moved-'));
    const secret = tempDir('sibyl-known-secret-');
    mkdirSync(join(root, 'vol1', 'w', 'proj'), { recursive: true });
    mkdirSync(join(root, 'vol2'));
    symlinkSync(join(root, 'vol1'), join(root, 'home'));
    const base = join(root, 'home', 'w');
    const task = join(base, 'proj', 'task-1');
    // Remembered: home/w -> vol1/w, home/w/proj -> vol1/w/proj.
    assert.equal(await assertInside(base, task, "the task's folder"), join(root, 'vol1', 'w', 'proj', 'task-1'));
    // The base moves to vol2 (same folder, same inode) and home follows it; a decoy takes the old
    // real path, and the project in the moved base becomes a symlink out.
    renameSync(join(root, 'vol1', 'w'), join(root, 'vol2', 'w'));
    rmSync(join(root, 'home'));
    symlinkSync(join(root, 'vol2'), join(root, 'home'));
    mkdirSync(join(root, 'vol1', 'w', 'proj'), { recursive: true });
    rmSync(join(root, 'vol2', 'w', 'proj'), { recursive: true });
    symlinkSync(secret, join(root, 'vol2', 'w', 'proj'));
    await assert.rejects(assertInside(base, task, "the task's folder"), { code: 'path_escapes' });
    await assert.rejects(mkdirInside(base, task), { code: 'path_escapes' });
    assert.deepEqual(readdirSync(secret), [], 'nothing made outside');
  });
});
