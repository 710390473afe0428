// Issue 15, item 12: `logs` takes the short ids people see (a unique start of the id, or the task's
// sibyl/<id> branch) and lists the candidates of an ambiguous one; `--follow` ends when the task
// ends, exit 0 for a completed task and 1 otherwise, saying how it ended.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { agentGate, cli, cliRun, completionOf, registeredRunner } from '../helpers/runnerHarness.ts';
import { until } from '../helpers/tmp.ts';

// One agent at a time, so a second task while one runs is rejected (at capacity).
const { core, id: runnerId, config, env } = await registeredRunner({ max_concurrent_agents: 1 });
const run = cli(['run', '--config', config, '--quiet'], env);
after(async () => {
  run.kill('SIGTERM');
  await exitOf(run);
});
await core.until(() => core.connected(runnerId), 10_000, 'the runner to connect');

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.on('close', (code) => r(code)));
}

/** The exit code of `logs --follow`, which must end by itself once its task has ended: fails after 20 s instead of hanging. */
async function followExit(child: ChildProcess): Promise<number | null> {
  await until(() => child.exitCode !== null || child.signalCode !== null, '`logs --follow` to end by itself', 20_000);
  return exitOf(child);
}

/** Assigns a shell command as task `taskId` (a fresh UUID unless given). */
function assignShell(script: string, taskId: string = crypto.randomUUID()): string {
  core.send(runnerId, {
    type: 'task_assign',
    task_id: taskId,
    agent_id: 'agent_aaaaaaaaaaaa',
    project_id: 'project_1',
    prompt: `run: ${script.slice(0, 40)}`,
    config: { command: ['/bin/sh', '-c', script] },
  });
  return taskId;
}

async function finished(taskId: string): Promise<void> {
  await until(() => completionOf(core, taskId).length > 0, `task ${taskId} to finish`, 20_000);
  // The history row is written before the result goes out: `logs` sees the end once the core has it.
}

const logs = (...args: string[]) => cliRun(['logs', ...args, '--config', config], env);
const stdoutLines = (stdout: string): string[] =>
  stdout
    .split('\n')
    .filter((l) => / stdout /.test(l))
    .map((l) => l.replace(/^\S+ stdout +/, ''));

describe('logs takes the ids people see', () => {
  test('the 8 characters of the window and the branch, the branch itself, any case, any unique start', async () => {
    const taskId = assignShell('echo first; echo second');
    await finished(taskId);
    for (const typed of [
      taskId,
      taskId.slice(0, 8),
      `sibyl/${taskId.slice(0, 8)}`,
      taskId.slice(0, 8).toUpperCase(),
      taskId.slice(0, 13),
    ]) {
      const r = await logs(typed);
      assert.equal(r.code, 0, `${typed}: ${r.stderr}`);
      assert.deepEqual(stdoutLines(r.stdout), ['first', 'second'], typed);
    }
  });

  test('a start several tasks share is refused (exit 2) with the candidates listed; an unknown one is not found (exit 1)', async () => {
    const a = assignShell('echo a', 'feedbeef-0000-4000-8000-00000000000a');
    await finished(a);
    const b = assignShell('echo b', 'feedbeef-0000-4000-8000-00000000000b');
    await finished(b);
    const r = await logs('feedbeef');
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    const [first, ...candidates] = r.stderr.trimEnd().split('\n');
    assert.equal(first, 'sibyl-runner logs: "feedbeef" is the start of 2 tasks; type more of the id:');
    assert.equal(candidates.length, 2);
    // Newest first, each with its status, when and its prompt.
    assert.match(candidates[0]!, new RegExp(`^  ${b} +completed +just now +run: echo b$`));
    assert.match(candidates[1]!, new RegExp(`^  ${a} +completed +just now +run: echo a$`));
    const exact = await logs('feedbeef-0000-4000-8000-00000000000a');
    assert.deepEqual(stdoutLines(exact.stdout), ['a']);

    const none = await logs('0000dead');
    assert.equal(none.code, 1);
    assert.equal(none.stderr, 'sibyl-runner logs: no task 0000dead in the history (`sibyl-runner history` lists them)\n');
  });
});

describe('logs --follow ends with the task', () => {
  test('a running task: new lines as they come, then exit 0 when it completes, saying so', async () => {
    const gate = agentGate();
    const taskId = assignShell(`echo before; ${gate.waitScript}; echo after`);
    const follow = cli(['logs', taskId.slice(0, 8), '--follow', '--config', config], env);
    await until(() => follow.output().stdout.includes('before'), 'the first line while the task runs');
    assert.equal(follow.exitCode, null, 'still following while the task runs');
    gate.open();
    assert.equal(await followExit(follow), 0, follow.output().stderr);
    const out = follow.output();
    assert.deepEqual(stdoutLines(out.stdout), ['before', 'after']);
    assert.match(out.stdout, /runner +agent ended: completed/, 'the log to its last line');
    assert.match(out.stderr, new RegExp(`^Task ${taskId.slice(0, 8)} completed after \\d+s\\.\\n$`));
  });

  test('a failing task: exit 1 with its reason', async () => {
    const gate = agentGate();
    const taskId = assignShell(`echo starting; ${gate.waitScript}; echo 'no such script' >&2; exit 3`);
    const follow = cli(['logs', taskId, '-f', '--config', config], env);
    await until(() => follow.output().stdout.includes('starting'), 'the log to begin');
    gate.open();
    assert.equal(await followExit(follow), 1, follow.output().stderr);
    assert.match(follow.output().stderr, new RegExp(`^Task ${taskId.slice(0, 8)} failed after \\d+s: Exit code 3: no such script\\.\\n$`));
  });

  test('a task cancelled by Sibyl: exit 1', async () => {
    const taskId = assignShell('echo started; sleep 30');
    const follow = cli(['logs', taskId, '--follow', '--config', config], env);
    await until(() => follow.output().stdout.includes('started'), 'the log to begin');
    core.send(runnerId, { type: 'task_cancel', task_id: taskId });
    assert.equal(await followExit(follow), 1, follow.output().stderr);
    assert.match(follow.output().stderr, new RegExp(`^Task ${taskId.slice(0, 8)} cancelled by Sibyl after \\d+s\\.\\n$`));
  });

  test('a task that already ended: the whole log, then its exit at once', async () => {
    const ok = assignShell('echo done');
    await finished(ok);
    const r = await logs(ok.slice(0, 8), '--follow');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(stdoutLines(r.stdout), ['done']);
    const bad = assignShell('exit 4');
    await finished(bad);
    const failed = await logs(bad.slice(0, 8), '--follow');
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /failed after \d+s: Exit code 4\.\n$/);
  });

  test('a task rejected at capacity has no log: exit 1 with the reason', async () => {
    const gate = agentGate();
    const busy = assignShell(gate.waitScript);
    await until(() => core.messagesOf('task_ack').some((m) => m.task_id === busy), 'the first task to be taken');
    const rejected = crypto.randomUUID();
    assignShell('echo never', rejected);
    await until(() => core.messagesOf('task_reject').some((m) => m.task_id === rejected), 'the second to be rejected');
    const r = await logs(rejected.slice(0, 8), '--follow');
    gate.open();
    await finished(busy);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `Task ${rejected.slice(0, 8)} rejected: At capacity (1/1).\n`);
    const plain = await logs(rejected.slice(0, 8));
    assert.equal(plain.code, 1);
    assert.equal(plain.stderr, `sibyl-runner logs: task ${rejected.slice(0, 8)} has no log: it was rejected before its agent started\n`);
  });
});
