import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assign, cli, completionOf, registeredRunner } from '../helpers/runnerHarness.ts';
import { processGone, until } from '../helpers/tmp.ts';

/**
 * A drain that runs out of time (drain_timeout shorter than an agent's grace, an agent deaf to
 * SIGTERM), or a second signal: the agents are ended now and their results still reported.
 */

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
}

async function deafTask(extra: Record<string, unknown>) {
  const runner = await registeredRunner(extra);
  const { core, id, home, config, env } = runner;
  const pidFile = join(home, 'agent.pid');
  const proc = cli(['run', '--verbose', '--config', config], env);
  await core.until(() => core.connected(id), 10_000, 'the runner connects');
  const taskId = assign(id, core, { command: ['/bin/sh', '-c', `trap '' TERM; sleep 300 & echo $! > '${pidFile}'; wait`] });
  const sleeper = await until(() => {
    try {
      return Number(readFileSync(pidFile, 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }, 'the agent to start');
  return { ...runner, proc, taskId, sleeper };
}

test('drain_timeout shorter than the grace: the deaf agent is killed when time is up and its result sent before exit 0', async () => {
  const { core, proc, taskId, sleeper } = await deafTask({ drain_timeout: 1 });
  const exited = exitOf(proc);
  proc.kill('SIGTERM');
  assert.deepEqual(await exited, { code: 0, signal: null });
  assert.equal(completionOf(core, taskId).length, 1, 'the result went out before the runner exited');
  assert.equal(completionOf(core, taskId)[0]?.result.status, 'cancelled');
  assert.equal(completionOf(core, taskId)[0]?.retryable, true);
  await until(() => processGone(sleeper), 'the agent gone');
});

test('a second SIGTERM while draining ends the agents now; the result is still sent and the exit is 0', async () => {
  const { core, proc, taskId, sleeper } = await deafTask({ drain_timeout: 600 });
  const exited = exitOf(proc);
  proc.kill('SIGTERM');
  await until(() => proc.output().stderr.includes('draining'), 'the drain to start');
  proc.kill('SIGTERM');
  assert.deepEqual(await exited, { code: 0, signal: null });
  assert.equal(completionOf(core, taskId).length, 1);
  assert.equal(completionOf(core, taskId)[0]?.result.status, 'cancelled');
  await until(() => processGone(sleeper), 'the agent gone');
});
