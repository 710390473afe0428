import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { agentGate, assign, completionOf, settled, startHarness } from '../helpers/runnerHarness.ts';
import { processAlive, until } from '../helpers/tmp.ts';

test('heartbeat is acked at once; status is sent on connect', async () => {
  const { core, runnerId } = await startHarness();
  await core.waitFor((f) => f.message?.type === 'status', 3000, 'status on connect');
  core.send(runnerId, { type: 'heartbeat', server_time: new Date().toISOString() });
  const sent = performance.now();
  const ack = await core.waitFor((f) => f.message?.type === 'heartbeat_ack', 3000, 'heartbeat_ack');
  assert.ok(ack.at - sent < 500);
});

test('task round trip: ack, env and cwd, exactly one task_complete with explicit success', async () => {
  const h = await startHarness();
  const { core, runnerId, config } = h;
  const script =
    'pwd; echo "id=$SIBYL_TASK_ID agent=$SIBYL_AGENT_ID project=$SIBYL_PROJECT_ID"; echo "prompt=$SIBYL_TASK_PROMPT"; echo "wt=$SIBYL_WORKTREE_PATH"; echo "tok=${SIBYL_ACCESS_TOKEN:-none}"; echo warn >&2';
  const taskId = assign(runnerId, core, { prompt: 'Fix the bug', command: ['/bin/sh', '-c', script] });
  const done = await core.waitFor((f) => f.message?.type === 'task_complete', 10_000, 'task_complete');
  const ackIdx = core.frames.findIndex((f) => f.message?.type === 'task_ack');
  assert.ok(ackIdx >= 0 && ackIdx < core.frames.indexOf(done), 'task_ack before task_complete');
  const msg = completionOf(core, taskId)[0]!;
  assert.equal(msg.success, true);
  assert.equal(msg.result.status, 'completed');
  assert.equal(msg.result.exit_code, 0);
  const wt = join(config.worktree_base, 'project_1a2b3c4d5e6f', taskId);
  assert.equal(msg.result.worktree_path, wt);
  const out = msg.result.stdout!.split('\n');
  assert.equal(out[0], wt);
  assert.equal(out[1], `id=${taskId} agent=agent_${taskId.slice(0, 12).replace(/-/g, 'a')} project=project_1a2b3c4d5e6f`);
  assert.equal(out[2], 'prompt=Fix the bug');
  assert.equal(out[4], 'tok=none');
  assert.equal(msg.result.stderr, 'warn');
  await settled(h);
  assert.equal(completionOf(core, taskId).length, 1);
  const updates = core.messagesOf('agent_update');
  assert.equal(updates.at(-1)?.status, 'completed');
  assert.ok(
    updates.some((u) => u.activity === `stdout: ${wt}`),
    'the first output line is streamed at once',
  );
  assert.equal(core.invalidFrames.length, 0, JSON.stringify(core.invalidFrames));
});

test('no command and no agent CLI installed: failed, no_agent, retryable; a missing executable is reported failed', async () => {
  // No agent CLI on this PATH (node_modules/.bin, where the tests' agents live, is left out).
  const { core, runnerId } = await startHarness({ daemon: { env: { PATH: '/usr/bin:/bin' } } });
  const a = assign(runnerId, core, { prompt: 'Summarise open issues' });
  const empty = assign(runnerId, core, {});
  const b = assign(runnerId, core, { command: ['/no/such/agent'] });
  await until(() => completionOf(core, a).length && completionOf(core, b).length, 'both completions');
  const refused = await core.waitFor((f) => f.message?.type === 'task_reject' && f.message.task_id === empty, 5000, 'reject');
  assert.deepEqual(refused.message, { type: 'task_reject', task_id: empty, reason: 'invalid_task' }, 'no prompt and no command');
  const none = completionOf(core, a)[0]!;
  assert.equal(none.success, false);
  assert.equal(none.result.status, 'failed');
  assert.equal(none.retryable, true, 'another runner may have an agent');
  assert.match(none.error ?? '', /^no_agent: .*Claude Code.*npm install -g @anthropic-ai\/claude-code/);
  const failed = completionOf(core, b)[0]!;
  assert.equal(failed.success, false);
  assert.equal(failed.result.status, 'failed');
  assert.match(failed.error ?? '', /command not found/);
});

test('exec_command runs tasks without a command; the prompt reaches it whole through SIBYL_TASK_PROMPT_FILE', async () => {
  const { core, runnerId } = await startHarness({
    daemon: { env: { PATH: '/usr/bin:/bin' } },
    config: { exec_command: 'wc -c < "$SIBYL_TASK_PROMPT_FILE"; printf %s "$SIBYL_TASK_PROMPT" | wc -c' },
  });
  const prompt = 'x'.repeat(300 * 1024);
  const t = assign(runnerId, core, { prompt });
  await until(() => completionOf(core, t).length, 'completion');
  const done = completionOf(core, t)[0]!;
  assert.equal(done.success, true, done.error);
  const [fileBytes, envBytes] = String(done.result.stdout)
    .split('\n')
    .map((l) => Number(l.trim()));
  assert.equal(fileBytes, prompt.length, 'the file holds the whole 300 KiB prompt');
  assert.ok(envBytes! <= 64 * 1024 && envBytes! > 60 * 1024, `SIBYL_TASK_PROMPT keeps at most 64 KiB (got ${envBytes})`);
  assert.equal(done.result.agent, 'command');
});

test('capacity: a task over max_concurrent_agents is rejected at_capacity; status reports busy', async () => {
  const { core, runnerId } = await startHarness({ config: { max_concurrent_agents: 1 } });
  const first = assign(runnerId, core, { command: ['sleep', '30'] }); // runs until cancelled below
  await core.waitFor((f) => f.message?.type === 'task_ack', 3000, 'ack');
  const second = assign(runnerId, core, { command: ['true'] });
  const rej = await core.waitFor((f) => f.message?.type === 'task_reject', 3000, 'reject');
  assert.deepEqual(rej.message, { type: 'task_reject', task_id: second, reason: 'at_capacity' });
  assert.ok(core.messagesOf('status').some((s) => s.status === 'busy' && s.agent_count === 1));
  core.send(runnerId, { type: 'task_cancel', task_id: first });
  await until(() => completionOf(core, first).length, 'first to finish');
});

test('task_cancel kills the agent and its grandchild; reported cancelled exactly once', async () => {
  const h = await startHarness();
  const { core, runnerId, config } = h;
  const taskId = assign(runnerId, core, { command: ['/bin/sh', '-c', 'sleep 300 & echo $! > gc.pid; echo started; wait'] });
  const pidFile = join(config.worktree_base, 'project_1a2b3c4d5e6f', taskId, 'gc.pid');
  await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim(), 'grandchild pid file');
  const gpid = Number(readFileSync(pidFile, 'utf8'));
  core.send(runnerId, { type: 'task_cancel', task_id: taskId });
  const msg = (await core.waitFor((f) => f.message?.type === 'task_complete', 10_000, 'completion')).message;
  assert.equal(msg?.type === 'task_complete' && msg.result.status, 'cancelled');
  assert.equal(msg?.type === 'task_complete' && msg.success, false);
  await until(() => !processAlive(gpid), 'grandchild gone', 5000);
  await settled(h);
  assert.equal(completionOf(core, taskId).length, 1);
  assert.equal(core.messagesOf('agent_update').at(-1)?.status, 'cancelled');
});

test('timeout: reported as timeout with success:false (never as success, S8)', async () => {
  const { core, runnerId } = await startHarness({ daemon: { timeoutGraceMs: 200 } });
  const taskId = assign(runnerId, core, { command: ['sleep', '30'], timeout_seconds: 0.3 });
  await until(() => completionOf(core, taskId).length, 'completion', 10_000);
  const msg = completionOf(core, taskId)[0]!;
  assert.equal(msg.result.status, 'timeout');
  assert.equal(msg.success, false);
  assert.match(msg.error ?? '', /timed out/);
});

test('malformed and hostile messages are ignored or rejected; the daemon keeps working', async () => {
  const { core, runnerId, home } = await startHarness();
  core.sendRaw(runnerId, 'not json {');
  core.sendRaw(runnerId, '[1,2,3]');
  core.sendRaw(runnerId, '"just a string"');
  core.sendRaw(runnerId, Buffer.from([1, 2, 3]));
  core.send(runnerId, { type: 'mystery' });
  core.send(runnerId, { type: 'task_assign', task_id: 5 });
  core.send(runnerId, { type: 'task_cancel' });
  const traversal = assign(runnerId, core, {}, { project_id: '../../etc' });
  const outside = assign(runnerId, core, { worktree_path: '/etc/evil' });
  const nul = assign(runnerId, core, {}, { agent_id: 'a\u0000b' });
  await until(() => core.messagesOf('task_reject').length === 3, 'three rejections');
  for (const id of [traversal, outside, nul]) {
    assert.equal(core.messagesOf('task_reject').find((r) => r.task_id === id)?.reason, 'invalid_task');
  }
  assert.equal(existsSync(join(home, 'etc')), false);
  const ok = assign(runnerId, core, { command: ['true'] });
  await until(() => completionOf(core, ok).length, 'a good task after the bad ones');
  assert.equal(completionOf(core, ok)[0]!.success, true);
});

test('a duplicate task_assign never starts a second process (§9 S11)', async () => {
  const { core, runnerId } = await startHarness();
  const taskId = crypto.randomUUID();
  const gate = agentGate();
  const msg = {
    type: 'task_assign',
    task_id: taskId,
    agent_id: 'agent_aaaaaaaaaaaa',
    project_id: 'project_1',
    config: { command: ['/bin/sh', '-c', `${gate.waitScript}; echo once`] },
  };
  core.send(runnerId, msg);
  core.send(runnerId, msg);
  const acks = () => core.messagesOf('task_ack').filter((a) => a.task_id === taskId).length;
  await until(() => acks() === 2, 'both copies acked while the first runs');
  gate.open();
  await until(() => completionOf(core, taskId).length, 'completion');
  core.send(runnerId, msg);
  await until(() => completionOf(core, taskId).length === 2, 'result re-sent for the finished duplicate');
  assert.equal(core.messagesOf('task_ack').filter((a) => a.task_id === taskId).length, 3);
  assert.deepEqual(completionOf(core, taskId)[0], completionOf(core, taskId)[1]);
});
