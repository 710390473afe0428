import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FakeCore } from '../helpers/fakeCore.ts';
import { agentGate, cli, cliRun, completionOf, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

test('a second `run` on the same configuration refuses before touching any state; the first one finishes its task', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const home = tempDir();
  const { id, accessToken } = core.addRunner({ name: 'one' });
  const config = join(home, 'runner.yaml');
  writeYaml(config, { server_url: core.url, runner_id: id, worktree_base: join(home, 'wt'), log_dir: join(home, 'logs') });
  const env = { HOME: home, SIBYL_ACCESS_TOKEN: accessToken };
  const first = cli(['run', '--config', config], env);
  await core.until(() => core.connected(id), 10_000, 'the first runner connects');
  const gate = agentGate();
  const taskId = crypto.randomUUID();
  core.send(id, {
    type: 'task_assign',
    task_id: taskId,
    agent_id: 'agent_aaaaaaaaaaaa',
    project_id: 'project_1',
    config: { command: ['/bin/sh', '-c', `${gate.waitScript}; echo finished`] },
  });
  await core.waitFor((f) => f.message?.type === 'task_ack', 5000, 'ack');
  const journal = join(home, '.sibyl', 'state', 'journal.jsonl');
  const before = { text: readFileSync(journal, 'utf8'), inode: statSync(journal).ino };

  const second = await cliRun(['run', '--config', config], env);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /another sibyl-runner \(pid \d+\) is already running for /);
  assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace');
  // Only the first daemon writes it: same file (not compacted and replaced), only appended to.
  assert.equal(statSync(journal).ino, before.inode, 'the journal was not replaced');
  assert.ok(readFileSync(journal, 'utf8').startsWith(before.text), 'the journal was only appended to');

  gate.open();
  await until(() => completionOf(core, taskId).length > 0, 'the first runner reports its task');
  const done = completionOf(core, taskId);
  assert.equal(done.length, 1);
  assert.equal(done[0]!.success, true, done[0]!.error);
  first.kill('SIGTERM');
  await new Promise((r) => first.on('close', r));
});

test('`run` says on the terminal when the server refuses its credentials, with what to do', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const home = tempDir();
  const { id } = core.addRunner({ name: 'one' });
  const config = join(home, 'runner.yaml');
  writeYaml(config, { server_url: core.url, runner_id: id, worktree_base: join(home, 'wt'), log_dir: join(home, 'logs') });
  const run = cli(['run', '--config', config, '--quiet'], { HOME: home, SIBYL_ACCESS_TOKEN: 'garbage-token-value' });
  await until(
    () => /sibyl-runner run: .*refused.* — run `sibyl-runner login --server /.test(run.output().stderr),
    'the refusal on stderr',
    10_000,
  );
  const lines = run
    .output()
    .stderr.split('\n')
    .filter((l) => l.startsWith('sibyl-runner run:'));
  assert.equal(lines.length, 1, `said once: ${JSON.stringify(lines)}`);
  run.kill('SIGTERM');
  await new Promise((r) => run.on('close', r));
});
