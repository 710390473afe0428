import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FakeCore } from '../helpers/fakeCore.ts';
import { agentGate, cli, cliRun, completionOf, heartbeatRoundTrip, writeYaml } from '../helpers/runnerHarness.ts';
import { processAlive as alive, tempDir, until } from '../helpers/tmp.ts';

async function setup(): Promise<{ core: FakeCore; home: string; config: string; id: string; env: Record<string, string> }> {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const home = tempDir();
  const { id, accessToken } = core.addRunner({ name: 'durable' });
  mkdirSync(join(home, 'cfg'), { recursive: true });
  const config = join(home, 'cfg', 'runner.yaml');
  writeYaml(config, {
    server_url: core.url,
    runner_id: id,
    name: 'durable',
    worktree_base: join(home, 'wt'),
    log_dir: join(home, 'logs'),
    state_dir: join(home, 'state'),
    reconnect_interval: 0.1,
  });
  return { core, home, config, id, env: { HOME: home, SIBYL_ACCESS_TOKEN: accessToken } };
}

interface DaemonState {
  link: { state: string };
  running: unknown[];
  outboxPending: number;
}

/** The running runner's live state, as `sibyl-runner status --json` reads it over the control socket; null while none serves it. */
async function daemonState(config: string, env: Record<string, string>): Promise<DaemonState | null> {
  const r = await cliRun(['status', '--json', '--config', config], env);
  return (JSON.parse(r.stdout) as { daemon: DaemonState | null }).daemon;
}

/**
 * Resolves once the runner is connected with no task running and nothing left to send, and the
 * core has received all it sent: "never twice" is checked after this, not after a fixed time.
 */
async function settled(core: FakeCore, id: string, config: string, env: Record<string, string>): Promise<void> {
  await until(async () => {
    const d = await daemonState(config, env);
    return d?.link.state === 'open' && d.running.length === 0 && d.outboxPending === 0;
  }, 'the runner to send everything it had queued');
  await heartbeatRoundTrip(core, id);
}

function assignMsg(command: string[], prompt = 'durable work'): { taskId: string; msg: Record<string, unknown> } {
  const taskId = crypto.randomUUID();
  return {
    taskId,
    msg: {
      type: 'task_assign',
      task_id: taskId,
      agent_id: `agent_${taskId.replace(/-/g, '').slice(0, 12)}`,
      project_id: 'project_1',
      config: { prompt, command },
    },
  };
}

test('kill -9 the runner mid-task: on restart the orphaned agent (and its child) is stopped and the task reported once as failed/runner_restarted', async () => {
  const { core, home, config, id, env } = await setup();
  const runner = cli(['run', '--config', config], env);
  await core.until(() => core.connected(id), 10_000, 'runner connects');
  const { taskId, msg } = assignMsg(['/bin/sh', '-c', 'sleep 300 & echo $! > child.pid; echo "agent $$ working"; wait']);
  core.send(id, msg);
  const pidFile = join(home, 'wt', 'project_1', taskId, 'child.pid');
  await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim(), 'agent child pid', 10_000);
  const childPid = Number(readFileSync(pidFile, 'utf8'));
  await until(
    () => core.frames.some((f) => f.message?.type === 'agent_update' && /agent \d+ working/.test(f.message.activity ?? '')),
    'agent output streamed',
  );
  const agentPid = Number(
    /agent (\d+) working/.exec(
      core
        .messagesOf('agent_update')
        .map((u) => u.activity ?? '')
        .join('\n'),
    )![1],
  );
  // The log tail reported after the restart is read from the task log: the line must be on disk before the kill.
  const taskLog = join(home, 'logs', 'tasks', `${taskId}.log`);
  await until(() => existsSync(taskLog) && /agent \d+ working/.test(readFileSync(taskLog, 'utf8')), 'agent output in its task log');
  runner.kill('SIGKILL');
  await new Promise((r) => runner.on('close', r));
  assert.ok(alive(agentPid) && alive(childPid), 'the agent survives its runner (it leads its own group)');
  assert.equal(completionOf(core, taskId).length, 0);
  const scratch = [join(home, 'state', 'prompts', `${taskId}.txt`), join(home, 'state', 'tmp', taskId)];
  assert.ok(
    scratch.every((p) => existsSync(p)),
    'the killed run left its prompt file and TMPDIR',
  );

  const again = cli(['run', '--config', config], env);
  await until(() => completionOf(core, taskId).length === 1, 'the interrupted task reported after restart', 15_000);
  assert.ok(
    scratch.every((p) => !existsSync(p)),
    'the restart removed them (prompts must not stay on disk)',
  );
  const done = completionOf(core, taskId)[0]!;
  assert.equal(done.success, false);
  assert.equal(done.retryable, true);
  assert.equal(done.result.status, 'failed');
  assert.equal(done.result.error, 'runner_restarted');
  assert.match(done.result.stdout ?? '', /working/, 'with its log tail');
  await until(() => !alive(agentPid) && !alive(childPid), 'orphaned agent and child gone', 5000);

  again.kill('SIGTERM');
  await new Promise((r) => again.on('close', r));
  const third = cli(['run', '--config', config], env);
  await core.until(() => core.handshakes.filter((h) => h.outcome === 'accepted').length >= 3, 10_000, 'third start connects');
  await settled(core, id, config, env);
  assert.equal(completionOf(core, taskId).length, 1, 'never reported twice across restarts');
  third.kill('SIGTERM');
  await new Promise((r) => third.on('close', r));

  const hist = await cliRun(['history', '--json', '--config', config], env);
  assert.equal(hist.code, 0, hist.stderr);
  const items = JSON.parse(hist.stdout) as { taskId: string; status: string; error: string | null }[];
  const row = items.find((i) => i.taskId === taskId);
  assert.equal(row?.status, 'failed');
  assert.equal(row?.error, 'runner_restarted');
});

test('server down while three tasks finish, runner restarted, then the server: all three completions arrive, in order, once', async () => {
  const { core, config, id, env } = await setup();
  const runner = cli(['run', '--config', config], env);
  await core.until(() => core.connected(id), 10_000, 'runner connects');
  const gates = [0, 1, 2].map(() => agentGate());
  const tasks = gates.map((g, i) => assignMsg(['/bin/sh', '-c', `${g.waitScript}; echo done ${i}`], `task ${i}`));
  for (const t of tasks) core.send(id, t.msg);
  await until(() => core.messagesOf('task_ack').length === 3, 'three acks');
  await until(async () => (await daemonState(config, env))?.outboxPending === 0, 'the acks confirmed');
  await core.stop();
  // The three tasks finish while the server is away, one after the other.
  for (const [i, gate] of gates.entries()) {
    gate.open();
    await until(
      async () => (await daemonState(config, env))?.outboxPending === i + 1,
      `task ${i} to finish, its completion queued`,
      15_000,
    );
  }
  runner.kill('SIGTERM');
  assert.equal(await new Promise((r) => runner.on('close', r)), 0);
  assert.equal(core.messagesOf('task_complete').length, 0);

  const again = cli(['run', '--config', config], env);
  await until(
    async () => (await daemonState(config, env))?.outboxPending === 3,
    'the restarted runner to hold the three unsent completions before the server is back',
    15_000,
  );
  await core.restart();
  await until(() => core.messagesOf('task_complete').length >= 3, 'completions after both restarts', 15_000);
  await settled(core, id, config, env);
  const order = core.messagesOf('task_complete').map((m) => m.task_id);
  assert.deepEqual(
    order,
    tasks.map((t) => t.taskId),
    'in order, each once',
  );
  assert.ok(core.messagesOf('task_complete').every((m) => m.success));

  const logs = await cliRun(['logs', tasks[2]!.taskId, '--config', config], env);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /stdout +done 2/);
  // The table shows short ids, as the window does.
  const search = await cliRun(['history', '--search', 'task 1', '--config', config], env);
  assert.match(search.stdout, new RegExp(`^${tasks[1]!.taskId.slice(0, 8)} `, 'm'));
  assert.doesNotMatch(search.stdout, new RegExp(tasks[2]!.taskId.slice(0, 8)));
  again.kill('SIGTERM');
  await new Promise((r) => again.on('close', r));
});

test('the server re-sends the task_assign of a task finished before a restart: its result is sent again, the agent not re-run', async () => {
  const { core, home, config, id, env } = await setup();
  const runs = join(home, 'runs.txt');
  const task = assignMsg(['/bin/sh', '-c', `echo run >> '${runs}'; echo finished`]);
  const runner = cli(['run', '--config', config], env);
  await core.until(() => core.connected(id), 10_000, 'runner connects');
  core.send(id, task.msg);
  await until(() => completionOf(core, task.taskId).length === 1, 'the result');
  await settled(core, id, config, env);
  runner.kill('SIGTERM');
  assert.equal(await new Promise((r) => runner.on('close', r)), 0);

  const again = cli(['run', '--config', config], env);
  await core.until(() => core.connected(id), 10_000, 'runner reconnects');
  core.send(id, task.msg);
  await until(() => completionOf(core, task.taskId).length === 2, 'the result again');
  await settled(core, id, config, env);
  const [first, second] = completionOf(core, task.taskId);
  assert.deepEqual(second, first, 'the same result');
  assert.equal(readFileSync(runs, 'utf8'), 'run\n', 'the agent ran once');
  again.kill('SIGTERM');
  assert.equal(await new Promise((r) => again.on('close', r)), 0);
});
