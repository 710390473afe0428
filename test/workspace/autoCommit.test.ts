import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { git } from '../helpers/gitRepo.ts';
import { completionOf, startHarness } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';
import { PROJECT, setup } from '../helpers/workspaceFixture.ts';

/** What an agent leaves in its worktree is committed on the task branch (and pushed when asked); read-only agent types commit nothing. */
async function run(opts: { pushBranch?: boolean; agentType?: string; script: string; prompt?: string; hook?: string }) {
  const fx = await setup();
  if (opts.hook) {
    // A repository hook (as an agent could write one): the runner's commit must not run it.
    mkdirSync(join(fx.pair.checkout, '.githooks'), { recursive: true });
    writeFileSync(join(fx.pair.checkout, '.githooks', 'post-commit'), `#!/bin/sh\ntouch '${opts.hook}'\n`, { mode: 0o755 });
    git(fx.pair.checkout, 'config', 'core.hooksPath', join(fx.pair.checkout, '.githooks'));
  }
  // A secret the runner copies in (.worktreeinclude) must never be committed.
  writeFileSync(join(fx.pair.checkout, '.env'), 'TOKEN=secret\n');
  writeFileSync(join(fx.pair.checkout, '.worktreeinclude'), '.env\n');
  const h = await startHarness({
    config: { worktree_base: fx.base, push_branch: opts.pushBranch ?? false },
    daemon: { workspaces: fx.ws },
  });
  const taskId = crypto.randomUUID();
  h.core.send(h.runnerId, {
    type: 'task_assign',
    task_id: taskId,
    agent_id: 'agent_0123456789ab',
    project_id: PROJECT,
    config: {
      prompt: opts.prompt ?? 'Write a note\nwith details',
      command: ['/bin/sh', '-c', opts.script],
      ...(opts.agentType ? { agent_type: opts.agentType } : {}),
    },
  });
  await until(() => completionOf(h.core, taskId).length > 0, 'completion');
  const done = completionOf(h.core, taskId)[0]!;
  return { fx, done, res: done.result as Record<string, unknown> };
}

test('changes are committed on the task branch: subject from the prompt, Sibyl-Task trailer, copied files left out; pushed when push_branch', async () => {
  const { fx, done, res } = await run({ script: 'echo note > note.txt; cat .env > /dev/null', pushBranch: true });
  assert.equal(done.success, true, done.error);
  assert.equal((res.commits as { count: number }).count, 1);
  assert.equal(res.dirty, false);
  const branch = String(res.branch);
  const message = git(fx.pair.checkout, 'log', '-1', '--format=%s%n%(trailers:key=Sibyl-Task,valueonly)', branch);
  assert.equal(message.split('\n')[0], 'Write a note');
  assert.equal(message.split('\n')[1], done.task_id);
  const files = git(fx.pair.checkout, 'show', '--name-only', '--format=', branch);
  assert.deepEqual(files.split('\n').filter(Boolean), ['note.txt'], 'the copied .env is not committed');
  assert.equal(res.pushed, true);
  assert.equal(res.remote_branch, `origin/${branch}`);
  assert.equal(git(fx.pair.upstream, 'rev-parse', branch), git(fx.pair.checkout, 'rev-parse', branch), 'the upstream has the branch');
});

test('a reviewer commits nothing; nothing to commit makes no commit', async () => {
  const review = await run({ agentType: 'reviewer', script: 'echo note > note.txt' });
  assert.equal((review.res.commits as { count: number }).count, 0);
  assert.equal(review.res.dirty, true, 'left in the kept worktree, not committed');
  const idle = await run({ script: 'true' });
  assert.equal(idle.done.success, true);
  assert.equal((idle.res.commits as { count: number }).count, 0);
  assert.equal(idle.res.auto_commit, undefined);
});

test('the runner never runs repository hooks; an unknown agent type commits nothing; a NUL in the prompt is no failure', async () => {
  const marker = join(tempDir('sibyl-hook-'), 'hook-ran');
  const hooked = await run({ script: 'echo a > a.txt', hook: marker, prompt: 'Write a\u0000 note' });
  assert.equal(hooked.done.success, true, hooked.done.error);
  assert.equal((hooked.res.commits as { count: number }).count, 1);
  assert.equal(existsSync(marker), false, 'the post-commit hook did not run');
  const unknown = await run({ agentType: 'Code-Reviewer', script: 'echo note > note.txt' });
  assert.equal(unknown.done.success, true);
  assert.equal((unknown.res.commits as { count: number }).count, 0, 'an unknown agent type is read-only');
});
