import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultConfig } from '../../main/runner/config/schema.ts';
import { finishedPatch } from '../../main/runner/history/historyStore.ts';
import type { TaskComplete } from '../../main/runner/protocol/messages.ts';
import { openHistory } from '../../main/runner/services.ts';
import { chromiumPath, NO_CHROMIUM } from './chromium.ts';
import { expect } from './expect.ts';
import { openRenderer } from './fixture.ts';
import { DashboardPage } from './pages/dashboardPage.ts';
import { HistoryPage } from './pages/historyPage.ts';
import { TaskDetailPage } from './pages/taskDetailPage.ts';

const browser = chromiumPath();

const CLAUDE_TASK = '00000000-0000-4000-8000-00000000c1a0';
const CODEX_TASK = '00000000-0000-4000-8000-00000000c0de';
const PLAIN_TASK = '00000000-0000-4000-8000-0000000000aa';

function complete(taskId: string, status: 'completed' | 'failed', fields: Record<string, unknown>): TaskComplete {
  return {
    type: 'task_complete',
    task_id: taskId,
    success: status === 'completed',
    retryable: false,
    result: { status, exit_code: status === 'completed' ? 0 : 1, worktree_path: `/w/${taskId}`, duration_s: 95, ...fields },
  };
}

/**
 * Tasks as the runner records them when agents finish (assigned, then the task_complete with the
 * agent's report), written into the history the app service reads: three today, one yesterday.
 */
function seed(home: string): void {
  // The fixture's runner.yaml (the state folder's default is per configuration file).
  const store = openHistory(defaultConfig(home, join(home, '.config', 'sibyl-runner', 'runner.yaml')));
  const midnight = new Date().setHours(0, 0, 0, 0);
  // Between midnight and now, so they are today's whenever the test runs.
  const today = (k: number): number => midnight + Math.floor((Date.now() - midnight) / 2) + k * 1000;
  const tasks: [string, string, number, TaskComplete][] = [
    [
      CLAUDE_TASK,
      'Fix the flaky login test',
      today(1),
      complete(CLAUDE_TASK, 'failed', {
        agent: 'claude-code',
        model: 'claude-sonnet-4-5',
        summary: 'The login test waits for the mock server now.\nI could not run the e2e suite: Bash was refused.',
        usage: { input_tokens: 1234, output_tokens: 567, cache_read_input_tokens: 40_000, cache_creation_input_tokens: 1200 },
        cost_usd: 0.4213,
        num_turns: 7,
        session_id: 'b7c1d2e3-session',
        permission_denials: [{ tool: 'Bash', input: 'npm run e2e' }],
      }),
    ],
    [
      CODEX_TASK,
      'Document the CLI parser',
      today(2),
      complete(CODEX_TASK, 'completed', {
        agent: 'codex',
        model: 'gpt-5-codex',
        usage: { input_tokens: 20_000, output_tokens: 3000, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
        cost_usd: 1.5,
      }),
    ],
    [PLAIN_TASK, 'Run the release script', today(3), complete(PLAIN_TASK, 'completed', { agent: 'command' })],
    [
      '00000000-0000-4000-8000-0000000000bb',
      'Yesterday: bump the dependencies',
      midnight - 3_600_000,
      complete('00000000-0000-4000-8000-0000000000bb', 'completed', {
        agent: 'claude-code',
        usage: { input_tokens: 9, output_tokens: 9, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
        cost_usd: 9,
      }),
    ],
  ];
  for (const [taskId, prompt, finishedAt, msg] of tasks) {
    store.upsert({
      taskId,
      agentId: 'agent_1',
      projectId: 'project_1',
      prompt,
      assignedAt: finishedAt - 95_000,
      startedAt: finishedAt - 95_000,
    });
    store.upsert(finishedPatch(msg, finishedAt));
  }
  store.close();
}

test(
  "the agent's report: today's totals on the dashboard, agent and cost in the history, the run in the task's detail",
  { skip: browser ? false : NO_CHROMIUM, timeout: 60_000 },
  async () => {
    const fx = await openRenderer(browser!);
    await fx.registerDirectly('agent-desk');
    seed(fx.home);
    await fx.page.reload();

    const dash = new DashboardPage(fx.page);
    await dash.open();
    await expect(dash.today).toBeVisible();
    await expect(dash.todayStat('tasks')).toHaveText('3');
    await expect(dash.todayStat('cost')).toHaveText('$1.92');
    await expect(dash.todayStat('tokens')).toHaveText('21k in · 3.6k out');
    assert.ok(fx.invoked.includes('history:daily'));
    await fx.screenshot('dashboard-today');

    const history = new HistoryPage(fx.page);
    await history.open();
    await expect(history.rows).toHaveCount(4);
    await expect(fx.page.getByRole('columnheader', { name: 'Agent' })).toBeVisible();
    await expect(fx.page.getByRole('columnheader', { name: 'Cost' })).toBeVisible();
    await expect(await history.cell(CLAUDE_TASK, 'Agent')).toHaveText(/^claude-code\s+claude-sonnet-4-5$/);
    await expect(await history.cell(CLAUDE_TASK, 'Cost')).toHaveText('$0.42');
    await expect(await history.cell(CODEX_TASK, 'Cost')).toHaveText('$1.50');
    await expect(await history.cell(PLAIN_TASK, 'Agent')).toHaveText('command');
    await expect(await history.cell(PLAIN_TASK, 'Cost')).toHaveText('—');
    await fx.screenshot('history-agents');

    await history.openTask(CLAUDE_TASK);
    const detail = new TaskDetailPage(fx.page);
    await expect(detail.heading).toHaveText('Fix the flaky login test');
    await expect(detail.agent).toBeVisible();
    await expect(detail.agentFact('Agent')).toHaveText('claude-code');
    await expect(detail.agentFact('Model')).toHaveText('claude-sonnet-4-5');
    await expect(detail.agentFact('Cost')).toHaveText('$0.42');
    await expect(detail.agentFact('Tokens')).toHaveText('1,234 in · 567 out · 40,000 cache read · 1,200 cache write');
    await expect(detail.agentFact('Turns')).toHaveText('7');
    await expect(detail.agentFact('Session id')).toHaveText('b7c1d2e3-session');
    await expect(detail.agentSummary).toContainText('I could not run the e2e suite');
    await expect(detail.permissionDenials).toHaveCount(1);
    await expect(detail.permissionDenials.first()).toHaveText('Bash npm run e2e');
    // Shown once, in the agent's section, not again among the raw result fields.
    await expect(detail.facts).not.toContainText('cost usd');
    await expect(detail.facts).not.toContainText('session id');
    await fx.screenshot('task-detail-agent');

    // A task whose agent reported nothing but its name: the name in the key facts, no section of dashes.
    await detail.back();
    await history.openTask(PLAIN_TASK);
    await expect(detail.heading).toHaveText('Run the release script');
    await expect(detail.fact('Agent')).toHaveText('command');
    await expect(detail.fact('Cost')).toHaveText('—');
    await expect(detail.fact('Tokens')).toHaveText('—');
    await expect(detail.agent).toHaveCount(0);
    await expect(detail.agentSummary).toHaveCount(0);
    await expect(detail.permissionDenials).toHaveCount(0);
    assert.deepEqual(fx.pageErrors, []);
  },
);
