import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TaskRejected } from '../../main/runner/errors.ts';
import { TaskAssignMsg } from '../../main/runner/protocol/messages.ts';
import { toTaskSpec } from '../../main/runner/tasks/taskSpec.ts';
import { ASSIGN_BASE, SPEC_DEFAULTS, specOf } from '../helpers/taskAssign.ts';

const spec = (extra: Record<string, unknown>) => specOf(extra);
const base = ASSIGN_BASE;
const defaults = SPEC_DEFAULTS;

test('Variant A (nested config) and Variant B (top-level prompt) both give the prompt (§4.8, R12)', () => {
  assert.equal(spec({ config: { prompt: '  Add retry logic  ', agent_type: 'general' } }).prompt, 'Add retry logic');
  const b = spec({ prompt: 'Please work on this', agent_type: 'implementer', shadow: true });
  assert.equal(b.prompt, 'Please work on this');
  assert.equal(b.agentType, 'implementer');
  assert.equal(b.shadow, true);
  assert.equal(spec({ config: { title: 'T', description: 'D' } }).prompt, 'T\n\nD');
  assert.equal(spec({ config: null }).prompt, '');
  // The original ran a task nobody described; an unreadable config is refused (issue 12, case 6).
  const bad = TaskAssignMsg.safeParse({ ...base, config: 'not an object' });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error?.issues[0]?.path, ['config']);
});

test('command resolution: list as argv, string through the shell, env, else an agent CLI runs it', () => {
  assert.deepEqual(spec({ config: { command: ['claude', '-p', 'x'] } }).command, ['claude', '-p', 'x']);
  assert.deepEqual(spec({ config: { exec_command: 'make test' } }).command, ['/bin/sh', '-lc', 'make test']);
  const env = toTaskSpec(TaskAssignMsg.parse(base), { ...defaults, execCommand: 'aider --yes' });
  assert.deepEqual(env.command, ['/bin/sh', '-lc', 'aider --yes']);
  const agent = spec({});
  assert.equal(agent.commandSource, 'agent');
  assert.deepEqual(agent.command, []);
});

test('timeout: config.timeout_seconds, else the default', () => {
  assert.equal(spec({ config: { timeout_seconds: 5 } }).timeoutSeconds, 5);
  assert.equal(spec({ config: { timeout_seconds: 0 } }).timeoutSeconds, 3600);
});

test('ids that could escape a folder are rejected as invalid_task', () => {
  // An empty or over-long task id is not even a task_assign (the schema refuses it).
  assert.equal(TaskAssignMsg.safeParse({ ...base, task_id: '' }).success, false);
  assert.equal(TaskAssignMsg.safeParse({ ...base, task_id: 'x'.repeat(300) }).success, false);
  for (const bad of ['..', '../etc', 'a/b', 'a\0b', '.hidden', 'x'.repeat(200), 'a\\b', 'a b']) {
    assert.throws(
      () => spec({ task_id: bad }),
      (e: unknown) => e instanceof TaskRejected && e.reason === 'invalid_task',
      `task_id ${JSON.stringify(bad)}`,
    );
    assert.throws(() => spec({ project_id: bad }), TaskRejected);
  }
});

test('config.worktree_path outside the worktree base is rejected; inside is accepted', () => {
  assert.throws(() => spec({ config: { worktree_path: '/etc' } }), /outside the runner's worktree base/);
  assert.throws(() => spec({ config: { worktree_path: '/srv/wt/../x' } }), /outside/);
  assert.throws(() => spec({ config: { worktree_path: 'relative/path' } }), /outside/);
  assert.throws(() => spec({ config: { worktree_path: '/srv/wt' } }), /outside/);
  assert.equal(spec({ config: { worktree_path: '/srv/wt/p/t' } }).worktreePath, '/srv/wt/p/t');
});

test('malformed command fields are rejected', () => {
  assert.throws(() => spec({ config: { command: ['ok', 5] } }), /non-empty list of strings/);
  assert.throws(() => spec({ config: { branch: 5 } }), /config.branch must be a string/);
});
