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
    error: 'running 3 of 3 agents',
    assignedAt: t0 + 200_000,
    finishedAt: t0 + 200_000,
  });
  h.close();
}

// The sources, not the bundle: this checks the command as written, with or without a build.
const env = (home: string): Record<string, string> => ({ HOME: home, SIBYL_RUNNER_SOURCE: '1' });

test('history: short ids, relative times, a reason column, within 100 columns; "—" for a cost nobody reported', async () => {
  const home = tempDir();
  seed(home);
  const r = await cliRun(['history'], env(home));
  assert.equal(r.code, 0, r.stderr);
  const [head, ...lines] = r.stdout.trimEnd().split('\n');
  assert.match(head!, /^ID +STATUS +AGENT +STARTED +TOOK +COST +REASON +PROMPT$/);
  const line = (taskId: string): string =>
    lines.find((l) => l.startsWith(taskId.slice(0, 8))) ?? assert.fail(`no line for ${taskId}:\n${r.stdout}`);
  // The seeded times are in January 2025: long enough ago to read in months or years, never as a date without a zone.
  const ago = String.raw`\d+(?:mo|y) ago`;
  assert.match(line('task-claude'), new RegExp(`^task-cla +completed +claude-code +${ago} +1m 05s +\\$0\\.42 +Fix the flaky login te…$`));
  assert.match(line('task-plain'), new RegExp(`^task-pla +failed +command +${ago} +2s +— +Exit code 3 +Run the release script$`));
  assert.match(line('task-rejected'), new RegExp(`^task-rej +rejected +— +${ago} +— +— +At capacity \\(3/3\\) +\\(no prompt\\)$`));
  for (const l of [head!, ...lines]) assert.ok([...l].length <= 100, `${[...l].length} columns: ${l}`);
  assert.doesNotMatch(r.stdout, /2025-01-06|task-claude\b/, 'no absolute times, no whole ids');
  // Amounts are right-aligned: every cost ends where the COST heading ends.
  const end = head!.indexOf('COST') + 'COST'.length;
  for (const l of lines) assert.match(l.slice(end - 1, end + 1), /^\S $/, `cost right-aligned in ${JSON.stringify(l)}`);
});

test('history: long prompts and reasons are cut so that a row still fits 100 columns', async () => {
  const home = tempDir();
  const h = openHistory(defaultConfig(home));
  const taskId = crypto.randomUUID();
  h.upsert({
    taskId,
    agentId: 'agent_1',
    projectId: 'project_1',
    prompt: `Refactor ${'the upload pipeline '.repeat(20)}`,
    assignedAt: Date.now() - 5 * 60_000,
  });
  h.upsert(
    finishedPatch(
      {
        type: 'task_complete',
        task_id: taskId,
        success: false,
        retryable: false,
        error: `agent exited with code 1: ${'npm ERR! something long went wrong '.repeat(10)}`,
        result: { status: 'failed', exit_code: 1, worktree_path: '/w', duration_s: 12, agent: 'claude-code' },
      },
      Date.now() - 4 * 60_000,
    ),
  );
  h.close();
  const r = await cliRun(['history'], env(home));
  assert.equal(r.code, 0, r.stderr);
  const row = r.stdout.split('\n')[1] ?? '';
  assert.equal([...row].length <= 100, true, row);
  assert.match(
    row,
    new RegExp(`^${taskId.slice(0, 8)} +failed +claude-code +5m ago +12s +— +Exit code 1: npm ERR![^ ]* .*…  Refactor the upload .*…$`),
  );
});

test('history --full keeps every field: whole ids, UTC times with their zone, project, exit code, the whole reason', async () => {
  const home = tempDir();
  seed(home);
  const r = await cliRun(['history', '--full'], env(home));
  assert.equal(r.code, 0, r.stderr);
  const [head, ...lines] = r.stdout.trimEnd().split('\n');
  assert.match(head!, /^TASK +STATUS +AGENT +STARTED \(UTC\) +FINISHED \(UTC\) +DURATION +COST +EXIT +PROJECT +BRANCH +REASON +PROMPT$/);
  const line = (taskId: string): string => lines.find((l) => l.startsWith(`${taskId} `)) ?? assert.fail(`no line for ${taskId}`);
  assert.match(
    line('task-claude'),
    /^task-claude +completed +claude-code +2025-01-06 09:00:01Z +2025-01-06 09:01:10Z +1m 05s +\$0\.42 +0 +project_1 +— +— +Fix the flaky login test$/,
  );
  assert.match(
    line('task-plain'),
    /^task-plain +failed +command +2025-01-06 09:01:40Z +2025-01-06 09:01:43Z +2s +— +3 +project_1 +— +Exit code 3 +Run/,
  );
  assert.match(
    line('task-rejected'),
    /^task-rejected +rejected +— +2025-01-06 09:03:20Z +2025-01-06 09:03:20Z +— +— +— +— +— +At capacity \(3\/3\) +\(no prompt\)$/,
  );
});

test('history: one empty-state line for no tasks at all and another when a filter matches none', async () => {
  const home = tempDir();
  assert.equal((await cliRun(['history'], env(home))).stdout, 'No tasks yet.\n');
  seed(home);
  assert.equal((await cliRun(['history', '--status', 'timeout'], env(home))).stdout, 'No tasks match.\n');
});

test('history --json: the agent, model, cost and tokens of each task; times ISO-8601 UTC', async () => {
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
  const claude = items.find((x) => x.taskId === 'task-claude')!;
  assert.deepEqual(
    [claude.assignedAt, claude.startedAt, claude.finishedAt],
    ['2025-01-06T09:00:00.000Z', '2025-01-06T09:00:01.000Z', '2025-01-06T09:01:10.000Z'],
  );
  assert.equal(items.find((x) => x.taskId === 'task-plain')!.startedAt, null);
});
