import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openTaskLog, partialLinePath, readTaskLog } from '../../main/runner/tasks/taskLog.ts';
import { agentGate, assign, cli, completionOf, heartbeatRoundTrip, registeredRunner, startHarness } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

/**
 * Issue 12, case 13: an agent that prints progress with `\r` and no newline is seen while it runs —
 * as the task's activity on the server and in `sibyl-runner logs --follow` — and its log stores
 * the line once, when it ends. The agent waits on a gate after its first progress text, so "seen
 * before the agent ended" is proven by order, not by timing.
 */

test('progress without a newline reaches activity and logs --follow before the agent ends; stored once', { timeout: 60_000 }, async () => {
  const { core, id, config, env } = await registeredRunner();
  const run = cli(['run', '--config', config], env);
  await core.until(() => core.connected(id), 10_000, 'the runner connects');

  const gate = agentGate();
  const script = [
    `printf '\\rdownloading 10%%'`,
    gate.waitScript,
    `for i in 2 3 4 5 6; do printf '\\rdownloading %s%%' $((i*10)); done`,
    'echo',
    'echo finished',
  ].join('; ');
  const taskId = assign(id, core, { command: ['/bin/sh', '-c', script] });

  // The agent is still waiting on the gate: its partial line is the activity already.
  const update = await core.waitFor(
    (f) => f.message?.type === 'agent_update' && /downloading 10%/.test(String(f.message.activity)),
    15_000,
    'an agent_update with the partial line',
  );
  assert.equal(update.message?.type === 'agent_update' && update.message.activity, 'stdout: downloading 10%');
  assert.equal(completionOf(core, taskId).length, 0, 'the agent has not ended');

  // `logs --follow` shows it too, marked as partial (the history may take a moment to know the log).
  let follow: ReturnType<typeof cli> | undefined;
  await until(
    async () => {
      if (follow && follow.exitCode === null) return /downloading 10% \[partial\]/.test(follow.output().stdout);
      follow = cli(['logs', taskId, '--follow', '--config', config], env);
      return false;
    },
    'logs --follow to show the partial line',
    15_000,
  );
  assert.equal(completionOf(core, taskId).length, 0, 'still before the agent ended');

  gate.open();
  await until(() => completionOf(core, taskId).length, 'the task to complete', 15_000);
  await until(() => /stdout +finished/.test(follow!.output().stdout), 'logs --follow to show the last line');
  const shown = follow!.output().stdout;
  follow!.kill('SIGINT');
  const done = completionOf(core, taskId)[0]!;
  assert.equal(done.success, true, done.error);

  // The stored log has the finished line's progress once (as the terminal showed it), no partial records.
  const logPath = String(done.result.log_path);
  const { lines } = await readTaskLog(logPath);
  const stdout = lines.filter((l) => l.stream === 'stdout').map((l) => l.text);
  assert.equal(stdout.filter((t) => t === 'downloading 10%').length, 1, JSON.stringify(stdout));
  assert.ok(stdout.includes('downloading 60%') && stdout.includes('finished'), JSON.stringify(stdout));
  assert.ok(!lines.some((l) => /\[partial\]/.test(l.text)), 'no partial record stored');
  assert.equal(existsSync(`${logPath}.partial`), false, 'the transient partial file is gone with the task');
  // The follower printed the partial once, marked, and the full lines after it.
  assert.equal(shown.match(/downloading 10% \[partial\]/g)?.length, 1, shown);
  assert.ok(shown.indexOf('[partial]') < shown.search(/stdout +finished/), shown);

  run.kill('SIGTERM');
  await new Promise((r) => run.on('close', r));
});

test(
  'a structured agent (Claude Code): half a JSON event on stdout and stderr text are not activity, only follow material',
  { timeout: 60_000 },
  async () => {
    const gate = agentGate();
    const claude = join(tempDir('sibyl-fake-claude-'), 'claude');
    writeFileSync(
      claude,
      [
        '#!/bin/sh',
        'if [ "$1" = --version ]; then echo "2.0.0 (Claude Code)"; exit 0; fi',
        'cat > /dev/null',
        `printf '{"type":"system","subtype":"init"'`,
        `printf 'warming up' >&2`,
        gate.waitScript,
        'echo "}"',
      ].join('\n'),
    );
    chmodSync(claude, 0o755);
    const logDir = tempDir();
    const h = await startHarness({
      config: { agent: 'claude-code', agents: { 'claude-code': { command: claude } } },
      daemon: {
        env: { PATH: '/usr/bin:/bin' },
        activityIntervalMs: 0,
        openLog: (taskId) => {
          const path = join(logDir, `${taskId}.log`);
          return { path, writer: openTaskLog(path, { partialIntervalMs: 0 }) };
        },
      },
    });
    const taskId = assign(h.runnerId, h.core, { prompt: 'Look around' });
    const side = partialLinePath(join(logDir, `${taskId}.log`));
    // Both partial lines reached the task (the log's side file has them), so the activity they made, if it made some, has been sent.
    await until(
      () => existsSync(side) && /warming up/.test(readFileSync(side, 'utf8')) && /subtype/.test(readFileSync(side, 'utf8')),
      'both partials',
    );
    await heartbeatRoundTrip(h.core, h.runnerId);
    const activities = h.core.messagesOf('agent_update').map((u) => String(u.activity));
    assert.ok(!activities.some((a) => /subtype|warming up/.test(a)), JSON.stringify(activities));
    gate.open();
    await until(() => completionOf(h.core, taskId).length, 'the task to end');
  },
);
