import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FakeCore } from '../helpers/fakeCore.ts';
import { hangingServer, processesWith } from '../helpers/hangingServer.ts';
import { assign, cli, completionOf, settled, startHarness, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';
import { quiet } from '../helpers/workspaceFixture.ts';
import { GitWorkspaces } from '../../main/runner/workspace/worktrees.ts';

/**
 * Issue 12, case 10: a `repo_url` whose server accepts the connection and never answers. Cancel and
 * drain must abort the clone (its git child killed), free the slot and report `cancelled` once.
 * No test here waits on the clone's own bound (10 minutes): a regression hangs into the test timeout.
 */

const noLinks = { find: async () => undefined, links: async () => ({ links: [], warnings: [] }) };

function gitWorkspaces(): GitWorkspaces {
  const dir = tempDir('sibyl-prep-');
  return new GitWorkspaces({ worktreeBase: join(dir, 'wt'), repoCacheDir: join(dir, 'repos'), links: noLinks, log: quiet });
}

/** The git commands talking to the hanging server (git, git-remote-http) have its port in their command line. */
const gitFor = (port: number): number[] => processesWith(`127.0.0.1:${port}`);

test('task_cancel during a hanging clone: git killed, cancelled once, the slot free for the next task', { timeout: 60_000 }, async () => {
  const hang = await hangingServer();
  const h = await startHarness({ config: { max_concurrent_agents: 1 }, daemon: { workspaces: gitWorkspaces() } });
  const { core, runnerId } = h;
  const taskId = assign(runnerId, core, { repo_url: hang.url, command: ['/bin/sh', '-c', 'echo agent-ran'] });
  await core.waitFor((f) => f.message?.type === 'task_ack' && f.message.task_id === taskId, 5000, 'ack');
  await until(() => hang.connections() > 0 && gitFor(hang.port).length > 0, 'git connected to the hanging server');

  core.send(runnerId, { type: 'task_cancel', task_id: taskId });
  await until(() => completionOf(core, taskId).length, 'the cancelled result', 30_000);
  const done = completionOf(core, taskId)[0]!;
  assert.equal(done.result.status, 'cancelled');
  assert.equal(done.success, false);
  assert.equal(done.retryable, false, 'a cancelled task is not retried');
  assert.equal(done.error, 'task_cancel');
  await until(() => gitFor(hang.port).length === 0, 'no git process left talking to the hanging server');
  assert.equal(h.daemon.tasks.running().length, 0);

  // The one slot is free: the next task is acked and runs (not at_capacity).
  const next = assign(runnerId, core, { command: ['/bin/sh', '-c', 'echo second'] });
  await until(() => completionOf(core, next).length, 'the next task');
  assert.equal(completionOf(core, next)[0]!.success, true);
  assert.equal(core.messagesOf('task_reject').length, 0);
  await settled(h);
  assert.equal(completionOf(core, taskId).length, 1, 'cancelled reported once');
});

test(
  'drain during a hanging clone: the daemon stops without waiting for the clone; cancelled, retryable',
  { timeout: 60_000 },
  async () => {
    const hang = await hangingServer();
    // drain_timeout far beyond the test timeout: stop() returns early only if the clone is aborted.
    const h = await startHarness({ config: { drain_timeout: 3600 }, daemon: { workspaces: gitWorkspaces() } });
    const { core, runnerId } = h;
    const taskId = assign(runnerId, core, { repo_url: hang.url, command: ['/bin/sh', '-c', 'echo agent-ran'] });
    await until(() => hang.connections() > 0 && gitFor(hang.port).length > 0, 'git connected to the hanging server');

    await h.daemon.stop();
    const done = completionOf(core, taskId);
    assert.equal(done.length, 1, 'the result was sent before the link closed');
    assert.equal(done[0]!.result.status, 'cancelled');
    assert.equal(done[0]!.error, 'runner_draining');
    assert.equal(done[0]!.retryable, true, 'drained, another runner may take it');
    assert.equal(h.daemon.tasks.running().length, 0);
    await until(() => gitFor(hang.port).length === 0, 'no git process left talking to the hanging server');
  },
);

test(
  '`sibyl-runner run` gets SIGTERM during a hanging clone: exits 0, reports the task, leaves no git behind',
  { timeout: 60_000 },
  async () => {
    const hang = await hangingServer();
    const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
    after(() => core.stop());
    const home = tempDir();
    const { id, accessToken } = core.addRunner({ name: 'one' });
    const config = join(home, 'runner.yaml');
    writeYaml(config, {
      server_url: core.url,
      runner_id: id,
      worktree_base: join(home, 'wt'),
      log_dir: join(home, 'logs'),
      state_dir: join(home, 'state'),
      repo_cache_dir: join(home, 'repos'),
      drain_timeout: 3600,
    });
    const run = cli(['run', '--config', config], { HOME: home, SIBYL_ACCESS_TOKEN: accessToken });
    await core.until(() => core.connected(id), 10_000, 'the runner connects');
    const taskId = assign(id, core, { repo_url: hang.url, command: ['/bin/sh', '-c', 'echo agent-ran'] });
    await until(() => hang.connections() > 0 && gitFor(hang.port).length > 0, 'git connected to the hanging server');

    run.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => run.on('close', (c) => r(c)));
    assert.equal(code, 0, run.output().stderr);
    assert.deepEqual(gitFor(hang.port), [], 'the clone was killed, not orphaned');
    const done = completionOf(core, taskId);
    assert.equal(done.length, 1);
    assert.equal(done[0]!.result.status, 'cancelled');
    assert.equal(done[0]!.retryable, true);
  },
);
