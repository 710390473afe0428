import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AgentsConfig } from '../../main/runner/agents/agentSettings.ts';
import type { TaskComplete } from '../../main/runner/protocol/messages.ts';
import { git } from '../helpers/gitRepo.ts';
import { callTools, hold, ModelServer, say, stringsIn, toolNames, type ScriptEntry } from '../helpers/modelServer.ts';
import { completionOf, startHarness } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';
import { PROJECT, setup } from '../helpers/workspaceFixture.ts';

/**
 * The runner running the real Claude Code and Codex CLIs (devDependencies) through their presets,
 * against the scripted model server, in real git worktrees: what a Sibyl task without a command
 * does. Nothing reaches the network: the model server is also every CLI's HTTP(S) proxy.
 */

const BIN = join(import.meta.dirname, '..', '..', 'node_modules', '.bin');
const TEST = { timeout: 90_000 };

/** The daemon's environment: what the agents inherit (a user's would carry their API keys). */
function agentEnv(server: ModelServer, extra: Record<string, string> = {}): Record<string, string> {
  const home = tempDir('sibyl-agent-home-');
  const tmp = join(home, 'tmp');
  mkdirSync(tmp);
  mkdirSync(join(home, '.codex'));
  return {
    PATH: `${BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: home,
    TMPDIR: tmp,
    LANG: 'C.UTF-8',
    CLAUDE_CONFIG_DIR: join(home, '.claude'),
    ANTHROPIC_BASE_URL: server.url,
    ANTHROPIC_API_KEY: 'sk-ant-test-not-a-key',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CODEX_HOME: join(home, '.codex'),
    SIBYL_TEST_MODEL_KEY: 'test-not-a-key',
    HTTPS_PROXY: server.url,
    HTTP_PROXY: server.url,
    NO_PROXY: '127.0.0.1,localhost',
    ...extra,
  };
}

/** Codex pointed at the model server as a custom Responses provider (see realAgents.test.ts). */
function codexSettings(server: ModelServer): AgentsConfig {
  const p = 'model_providers.sibyltest';
  return {
    codex: {
      model: 'sibyl-test-model',
      args: [
        ...['-c', 'model_provider=sibyltest', '-c', `${p}.name=Sibyl test`, '-c', `${p}.base_url=${server.url}/v1`],
        ...[
          '-c',
          `${p}.wire_api=responses`,
          '-c',
          `${p}.env_key=SIBYL_TEST_MODEL_KEY`,
          '--disable',
          'plugins',
          '-c',
          'analytics.enabled=false',
        ],
      ],
    },
  };
}

async function runner(
  server: ModelServer,
  opts: { agent: 'claude-code' | 'codex'; env?: Record<string, string>; cancelGraceMs?: number; agents?: AgentsConfig },
) {
  const fx = await setup();
  const h = await startHarness({
    config: {
      agent: opts.agent,
      agents: { ...(opts.agent === 'codex' ? codexSettings(server) : {}), ...opts.agents },
      worktree_base: fx.base,
    },
    daemon: {
      workspaces: fx.ws,
      env: agentEnv(server, opts.env),
      // Every activity is sent, so the test sees each step of a model that answers in milliseconds.
      activityIntervalMs: 0,
      ...(opts.cancelGraceMs !== undefined ? { cancelGraceMs: opts.cancelGraceMs } : {}),
    },
  });
  const send = (prompt: string, agentType = 'implementer'): { taskId: string; worktree: string } => {
    const taskId = crypto.randomUUID();
    h.core.send(h.runnerId, {
      type: 'task_assign',
      task_id: taskId,
      agent_id: 'agent_0123456789ab',
      project_id: PROJECT,
      config: { prompt, agent_type: agentType },
    });
    return { taskId, worktree: join(fx.base, PROJECT, taskId) };
  };
  const result = async (taskId: string): Promise<TaskComplete> => {
    await until(() => completionOf(h.core, taskId).length > 0, 'the task to complete', 60_000);
    return completionOf(h.core, taskId)[0]!;
  };
  return { ...h, fx, send, result };
}

const explain = (done: TaskComplete, server: ModelServer): string =>
  `${done.error ?? ''}\nresult: ${JSON.stringify(done.result).slice(0, 3000)}\nmodel server problems: ${JSON.stringify(server.problems)}`;

test('Claude Code implementer: edits a file, the work is committed on the task branch, the result says what happened', TEST, async (t) => {
  let worktree = '';
  const script: ScriptEntry[] = [
    () => callTools({ name: 'Write', input: { file_path: join(worktree, 'hello.txt'), content: 'hello from the model\n' } }),
    callTools({ name: 'Bash', input: { command: 'ls', description: 'List files' } }),
    say('Add hello.txt with a greeting\n\nIt says hello.', { input: 150, output: 30 }),
  ];
  const server = await ModelServer.start(script);
  t.after(() => server.close());
  const r = await runner(server, { agent: 'claude-code' });
  const task = r.send('Create hello.txt saying hello.');
  worktree = task.worktree;
  const done = await r.result(task.taskId);
  assert.equal(done.success, true, explain(done, server));
  const res = done.result as Record<string, unknown>;
  assert.equal(res.agent, 'claude-code');
  assert.equal(res.summary, 'Add hello.txt with a greeting\n\nIt says hello.');
  assert.ok((res.cost_usd as number) > 0, 'cost reported');
  assert.equal(typeof res.session_id, 'string');
  assert.ok((res.usage as { output_tokens: number }).output_tokens > 0);
  assert.equal(res.dirty, false, 'nothing left uncommitted');
  const commits = res.commits as { count: number; items: { subject: string }[] };
  assert.equal(commits.count, 1);
  assert.equal(commits.items[0]!.subject, 'Add hello.txt with a greeting');
  const message = git(r.fx.pair.checkout, 'log', '-1', '--format=%B', String(res.branch));
  assert.match(message, new RegExp(`Sibyl-Task: ${task.taskId}`));
  assert.equal(git(r.fx.pair.checkout, 'show', `${String(res.branch)}:hello.txt`), 'hello from the model');
  const activities = r.core.messagesOf('agent_update').map((u) => u.activity ?? '');
  assert.ok(activities.includes('Writing hello.txt'), JSON.stringify(activities));
  assert.ok(
    activities.every((a) => !a.startsWith('{')),
    'no raw JSON in activity',
  );
  assert.deepEqual(server.problems, []);
});

test('Claude Code reviewer: a write is refused, nothing changes or is committed, the task needs input', TEST, async (t) => {
  let worktree = '';
  const server = await ModelServer.start([
    () => callTools({ name: 'Write', input: { file_path: join(worktree, 'review.txt'), content: 'nope\n' } }),
    say('I could not write the review file.'),
  ]);
  t.after(() => server.close());
  const r = await runner(server, { agent: 'claude-code' });
  const task = r.send('Review the code and write review.txt', 'reviewer');
  worktree = task.worktree;
  const done = await r.result(task.taskId);
  assert.equal(done.success, false);
  assert.equal(done.retryable, false);
  assert.match(done.error ?? '', /^needs_input: the agent was refused: Writing review\.txt$/);
  assert.equal(existsSync(join(worktree, 'review.txt')), false);
  const res = done.result as Record<string, unknown>;
  assert.equal((res.commits as { count: number } | undefined)?.count ?? 0, 0);
  assert.deepEqual(server.problems, []);
});

test(
  'Claude Code: cancel while the model is streaming stops the agent (its model connection closes) and reports cancelled',
  TEST,
  async (t) => {
    const server = await ModelServer.start([hold('Working on it')]);
    t.after(() => server.close());
    const r = await runner(server, { agent: 'claude-code', cancelGraceMs: 5000 });
    const prompt = `${'A long task description. '.repeat(12_500)}\nEND OF PROMPT`;
    const task = r.send(prompt);
    const held = await server.held();
    assert.ok(
      stringsIn(held.request.body).some((s) => s.includes(prompt)),
      'the 300 KiB prompt reached the model whole',
    );
    r.core.send(r.runnerId, { type: 'task_cancel', task_id: task.taskId });
    await held.clientClosed;
    const done = await r.result(task.taskId);
    assert.equal(done.result.status, 'cancelled', explain(done, server));
    assert.equal((done.result as Record<string, unknown>).agent, 'claude-code');
  },
);

test('Claude Code without an API key: failed with the agent’s own reason', TEST, async (t) => {
  const server = await ModelServer.start([say('unreachable')]);
  t.after(() => server.close());
  const r = await runner(server, { agent: 'claude-code', env: { ANTHROPIC_API_KEY: '' } });
  const task = r.send('Say hello');
  const done = await r.result(task.taskId);
  assert.equal(done.success, false);
  assert.equal(done.result.status, 'failed');
  assert.ok((done.error ?? '').length > 0);
  assert.doesNotMatch(done.error ?? '', /^\{/, 'a sentence, not JSON');
});

test('Codex implementer: runs a command that writes a file; committed on the task branch', TEST, async (t) => {
  const server = await ModelServer.start([
    (request) => {
      const shell = toolNames(request).find((n) => n === 'exec_command' || n === 'shell');
      assert.ok(shell, `a shell tool among ${toolNames(request).join(', ')}`);
      return callTools({ name: shell, input: { cmd: 'printf "hello from codex\\n" > hello.txt' } });
    },
    say('Wrote hello.txt.'),
  ]);
  t.after(() => server.close());
  const r = await runner(server, { agent: 'codex' });
  const task = r.send('Create hello.txt');
  const done = await r.result(task.taskId);
  assert.equal(done.success, true, explain(done, server));
  const res = done.result as Record<string, unknown>;
  assert.equal(res.agent, 'codex');
  assert.equal(res.summary, 'Wrote hello.txt.');
  assert.equal((res.commits as { count: number }).count, 1);
  assert.equal(git(r.fx.pair.checkout, 'show', `${String(res.branch)}:hello.txt`), 'hello from codex');
  const activities = r.core.messagesOf('agent_update').map((u) => u.activity ?? '');
  assert.ok(
    activities.some((a) => a.startsWith('Running: printf')),
    JSON.stringify(activities),
  );
  assert.deepEqual(server.problems, []);
});

test('Claude Code: agents.claude-code.timeout_seconds stops a task that has none of its own; reported timeout', TEST, async (t) => {
  const server = await ModelServer.start([hold('Thinking very slowly')]);
  t.after(() => server.close());
  const r = await runner(server, { agent: 'claude-code', agents: { 'claude-code': { timeout_seconds: 3 } } });
  const task = r.send('Take your time');
  // On a loaded machine the CLI may not even reach the model within 3 s: the timeout holds either way.
  const done = await r.result(task.taskId);
  assert.equal(done.result.status, 'timeout', explain(done, server));
  assert.equal(done.error, 'timed out after 3 s');
  assert.ok((done.result.duration_s ?? 0) < 3 + 10, 'stopped within the grace period');
});

test('Codex reviewer: the read-only sandbox keeps the worktree unchanged and nothing is committed', TEST, async (t) => {
  const server = await ModelServer.start([
    (request) => {
      const shell = toolNames(request).find((n) => n === 'exec_command' || n === 'shell');
      assert.ok(shell, `a shell tool among ${toolNames(request).join(', ')}`);
      return callTools({ name: shell, input: { cmd: 'echo changed > review.txt' } });
    },
    say('I could not write the file: the sandbox is read-only.'),
  ]);
  t.after(() => server.close());
  const r = await runner(server, { agent: 'codex' });
  const task = r.send('Review and write review.txt', 'reviewer');
  const done = await r.result(task.taskId);
  assert.equal(existsSync(join(task.worktree, 'review.txt')), false);
  const res = done.result as Record<string, unknown>;
  assert.equal((res.commits as { count: number } | undefined)?.count ?? 0, 0);
  assert.ok(String((res.command as string[]).join(' ')).includes('--sandbox read-only'));
});

test('Codex: cancel while the model is streaming closes its model connection and reports cancelled', TEST, async (t) => {
  const server = await ModelServer.start([hold('Working on it')]);
  t.after(() => server.close());
  const r = await runner(server, { agent: 'codex', cancelGraceMs: 5000 });
  const task = r.send('Do something long');
  const held = await server.held();
  r.core.send(r.runnerId, { type: 'task_cancel', task_id: task.taskId });
  await held.clientClosed;
  const done = await r.result(task.taskId);
  assert.equal(done.result.status, 'cancelled', explain(done, server));
  assert.equal((done.result as Record<string, unknown>).agent, 'codex');
});
