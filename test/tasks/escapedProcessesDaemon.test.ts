import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FakeCore } from '../helpers/fakeCore.ts';
import { assign, cli, completionOf, settled, startHarness, writeYaml } from '../helpers/runnerHarness.ts';
import { processGone, tempDir, until } from '../helpers/tmp.ts';

// End to end through the daemon and a fake Sibyl Core: processes that leave the agent's process
// group (issue 12, cases 8 and 9). Found through /proc, so Linux only here.
const LINUX_ONLY = process.platform === 'linux' ? false : 'escaped processes are found through /proc here';

const gone = processGone;

async function pidFrom(file: string): Promise<number> {
  const text = await until(() => existsSync(file) && readFileSync(file, 'utf8').trim(), file);
  return Number(text);
}

test(
  'case 8: a setsid descendant holding the pipes; the task completes with the agent, exit 0, and the descendant dies',
  { skip: LINUX_ONLY },
  async () => {
    const h = await startHarness();
    const { core, runnerId, config } = h;
    const taskId = assign(runnerId, core, {
      command: ['/bin/sh', '-c', 'setsid sleep 40 & echo $! > escaped.pid; sleep 1; echo agent-done; exit 0'],
      timeout_seconds: 10,
    });
    const escaped = await pidFrom(join(config.worktree_base, 'project_1a2b3c4d5e6f', taskId, 'escaped.pid'));
    await until(() => completionOf(core, taskId).length, 'task_complete');
    const done = completionOf(core, taskId)[0]!;
    assert.equal(done.result.status, 'completed', done.error);
    assert.equal(done.success, true);
    assert.equal(done.result.exit_code, 0);
    assert.equal(done.result.stdout, 'agent-done');
    await until(() => gone(escaped), 'the escaped sleep to be killed');
    await settled(h);
    assert.equal(completionOf(core, taskId).length, 1);
  },
);

test(
  'case 9: task_cancel reports cancelled once and kills a setsid descendant, with or without our pipes',
  { skip: LINUX_ONLY },
  async () => {
    const h = await startHarness({ daemon: { cancelGraceMs: 2000 } });
    const { core, runnerId, config } = h;
    for (const redirect of ['>/dev/null 2>&1', '']) {
      const taskId = assign(runnerId, core, {
        command: ['/bin/sh', '-c', `setsid sleep 300 ${redirect} & echo $! > escaped.pid; sleep 300`],
      });
      const escaped = await pidFrom(join(config.worktree_base, 'project_1a2b3c4d5e6f', taskId, 'escaped.pid'));
      assert.ok(!gone(escaped));
      core.send(runnerId, { type: 'task_cancel', task_id: taskId });
      await until(() => completionOf(core, taskId).length, `task_complete (${redirect || 'pipes held'})`);
      const done = completionOf(core, taskId)[0]!;
      assert.equal(done.result.status, 'cancelled');
      await until(() => gone(escaped), `the escaped sleep (${redirect || 'pipes held'}) to be killed`);
      await settled(h);
      assert.equal(completionOf(core, taskId).length, 1);
    }
  },
);

test(
  'crash recovery also kills what left the group: kill -9 the runner, restart, the escaped sleep is gone',
  { skip: LINUX_ONLY },
  async () => {
    const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
    after(() => core.stop());
    const home = tempDir();
    const { id, accessToken } = core.addRunner({ name: 'escapes' });
    mkdirSync(join(home, 'cfg'), { recursive: true });
    const config = join(home, 'cfg', 'runner.yaml');
    writeYaml(config, {
      server_url: core.url,
      runner_id: id,
      name: 'escapes',
      worktree_base: join(home, 'wt'),
      log_dir: join(home, 'logs'),
      state_dir: join(home, 'state'),
      reconnect_interval: 0.1,
    });
    // The sources, not a bundle `npm run build` may have made before them.
    const env = { HOME: home, SIBYL_ACCESS_TOKEN: accessToken, SIBYL_RUNNER_SOURCE: '1' };
    const runner = cli(['run', '--config', config], env);
    await core.until(() => core.connected(id), 10_000, 'runner connects');
    const taskId = crypto.randomUUID();
    core.send(id, {
      type: 'task_assign',
      task_id: taskId,
      agent_id: 'agent_escapes01',
      project_id: 'project_1',
      config: { prompt: 'escape', command: ['/bin/sh', '-c', 'setsid sleep 300 >/dev/null 2>&1 & echo $! > escaped.pid; sleep 300'] },
    });
    const escaped = await pidFrom(join(home, 'wt', 'project_1', taskId, 'escaped.pid'));
    runner.kill('SIGKILL');
    await new Promise((r) => runner.on('close', r));
    assert.ok(!gone(escaped), 'the escaped sleep survives its runner');

    const again = cli(['run', '--config', config], env);
    after(() => {
      if (!gone(escaped)) process.kill(escaped, 'SIGKILL');
    });
    await until(() => completionOf(core, taskId).length === 1, 'the interrupted task reported after restart', 15_000);
    assert.equal(completionOf(core, taskId)[0]!.result.error, 'runner_restarted');
    await until(() => gone(escaped), 'the escaped sleep to be killed by recovery');
    again.kill('SIGTERM');
    await new Promise((r) => again.on('close', r));
  },
);
