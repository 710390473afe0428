import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultConfig } from '../../main/runner/config/schema.ts';
import { finishedPatch } from '../../main/runner/history/historyStore.ts';
import { openHistory } from '../../main/runner/services.ts';
import { cliRun } from '../helpers/runnerHarness.ts';
import { tempDir } from '../helpers/tmp.ts';

/** A history with an agent that reported its cost, a plain command that reported nothing, and a rejected task. */
function seed(home: string): void {
  const h = openHistory(defaultConfig(home));
  const t0 = Date.UTC(2025, 0, 6, 9, 0, 0);
  h.upsert({ taskId: 'task-claude', agentId: 'agent_1', projectId: 'project_1', prompt: 'Fix the flaky login test', assignedAt: t0 });
  h.upsert({ taskId: 'task-claude', status: 'running', startedAt: t0 + 1000 });
  h.upsert(
    finishedPatch(
      {
        type: 'task_complete',
        task_id: 'task-claude',
        success: true,
        retryable: false,
        result: {
          status: 'completed',
          exit_code: 0,
          worktree_path: '/w/1',
          duration_s: 65.4,
          agent: 'claude-code',
          model: 'claude-sonnet-4-5',
          usage: { input_tokens: 1234, output_tokens: 567, cache_read_input_tokens: 9, cache_creation_input_tokens: 1 },
          cost_usd: 0.4213,
        },
      },
      t0 + 70_000,
    ),
  );
  h.upsert({
    taskId: 'task-plain',
    agentId: 'agent_1',
    projectId: 'project_1',
    prompt: 'Run the release script',
    assignedAt: t0 + 100_000,
  });
  h.upsert(
    finishedPatch(
      {
        type: 'task_complete',
        task_id: 'task-plain',
        success: false,
        retryable: false,
        error: 'agent exited with code 3',
        result: { status: 'failed', exit_code: 3, worktree_path: '/w/2', duration_s: 2, agent: 'command' },
      },
      t0 + 103_000,
    ),
  );
  h.upsert({
    taskId: 'task-rejected',
    status: 'rejected',
    rejectReason: 'at_capacity',
    assignedAt: t0 + 200_000,
    finishedAt: t0 + 200_000,
  });
  h.close();
}

// The sources, not the bundle: this checks the command as written, with or without a build.
const env = (home: string): Record<string, string> => ({ HOME: home, SIBYL_RUNNER_SOURCE: '1' });

test('history: AGENT, DURATION and COST columns, "—" for a cost nobody reported', async () => {
  const home = tempDir();
  seed(home);
  const r = await cliRun(['history'], env(home));
  assert.equal(r.code, 0, r.stderr);
  const [head, ...lines] = r.stdout.trimEnd().split('\n');
  assert.match(head!, /^TASK +STATUS +AGENT +STARTED +DURATION +COST +EXIT +PROJECT +PROMPT$/);
  const line = (taskId: string): string => lines.find((l) => l.startsWith(taskId)) ?? assert.fail(`no line for ${taskId}:\n${r.stdout}`);
  assert.match(
    line('task-claude'),
    /^task-claude +completed +claude-code +2025-01-06 09:00:01 +1m 05s +\$0\.42 +0 +project_1 +Fix the flaky login test$/,
  );
  assert.match(line('task-plain'), /^task-plain +failed +command +\S+ \S+ +2s +— +3 +project_1 +Run the release script$/);
  assert.match(line('task-rejected'), /^task-rejected +rejected +- +\S+ \S+ +— +— +- +- +\(no prompt\)$/);
  // Amounts are right-aligned: every cost ends where the COST heading ends.
  const end = head!.indexOf('COST') + 'COST'.length;
  for (const l of lines) assert.match(l.slice(end - 1, end + 1), /^\S $/, `cost right-aligned in ${JSON.stringify(l)}`);
});

test('history --json: the agent, model, cost and tokens of each task', async () => {
  const home = tempDir();
  seed(home);
  const r = await cliRun(['history', '--json'], env(home));
  assert.equal(r.code, 0, r.stderr);
  const items = JSON.parse(r.stdout) as Record<string, unknown>[];
  const pick = (id: string): Record<string, unknown> => {
    const i = items.find((x) => x.taskId === id)!;
    return {
      agent: i.agent,
      model: i.model,
      costUsd: i.costUsd,
      inputTokens: i.inputTokens,
      outputTokens: i.outputTokens,
      durationS: i.durationS,
    };
  };
  assert.deepEqual(pick('task-claude'), {
    agent: 'claude-code',
    model: 'claude-sonnet-4-5',
    costUsd: 0.4213,
    inputTokens: 1234,
    outputTokens: 567,
    durationS: 65.4,
  });
  assert.deepEqual(pick('task-plain'), {
    agent: 'command',
    model: null,
    costUsd: null,
    inputTokens: null,
    outputTokens: null,
    durationS: 2,
  });
  assert.deepEqual(pick('task-rejected'), {
    agent: null,
    model: null,
    costUsd: null,
    inputTokens: null,
    outputTokens: null,
    durationS: null,
  });
});
