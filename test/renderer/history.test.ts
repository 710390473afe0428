import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultConfig } from '../../main/runner/config/schema.ts';
import type { HistoryPatch } from '../../main/runner/history/schema.ts';
import { openHistory } from '../../main/runner/services.ts';
import { chromiumPath, NO_CHROMIUM } from './chromium.ts';
import { expect } from './expect.ts';
import { openRenderer } from './fixture.ts';
import { HistoryPage } from './pages/historyPage.ts';
import { TaskDetailPage } from './pages/taskDetailPage.ts';

const browser = chromiumPath();
const TASKS = 10_000;
const STATUSES = ['completed', 'completed', 'completed', 'failed', 'completed', 'cancelled', 'completed', 'timeout'] as const;
const VERBS = ['Fix', 'Refactor', 'Document', 'Speed up', 'Test', 'Upgrade', 'Remove'];
const THINGS = [
  'the login form',
  'the billing export',
  'flaky CI',
  'the search index',
  'dark mode',
  'the CLI parser',
  'retry logic',
  'the settings page',
  'error messages',
  'the release script',
  'caching',
];

/** A long history written into the runner's real history store (the one the app service reads). */
function seed(home: string): { failed: number } {
  // The fixture's runner.yaml (the state folder's default is per configuration file).
  const store = openHistory(defaultConfig(home, join(home, '.config', 'sibyl-runner', 'runner.yaml')));
  const start = Date.now() - TASKS * 60_000;
  const rows: HistoryPatch[] = [];
  for (let i = 0; i < TASKS; i++) {
    const status = STATUSES[i % STATUSES.length]!;
    const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    rows.push({
      taskId: id,
      agentId: `agent_${String(i).padStart(12, '0')}`,
      projectId: `project_${i % 5}`,
      prompt: `Task ${i}: ${VERBS[i % VERBS.length]} ${THINGS[i % THINGS.length]}`,
      command: ['/bin/sh', '-c', 'true'],
      status,
      assignedAt: start + i * 60_000,
      startedAt: start + i * 60_000 + 500,
      finishedAt: start + i * 60_000 + 500 + (i % 300) * 1000,
      durationS: i % 300,
      exitCode: status === 'completed' ? 0 : status === 'failed' ? 1 : null,
      branch: `sibyl/${id.slice(-8)}`,
      // One task in four is a plain command, which reports no model, cost or tokens.
      ...(i % 4 === 0
        ? { agent: 'command' }
        : {
            agent: 'claude-code',
            model: 'claude-sonnet-4-5',
            costUsd: 0.05 + (i % 50) / 100,
            inputTokens: 1000 + i,
            outputTokens: 100 + i,
          }),
    });
  }
  store.upsertMany(rows);
  store.close();
  return { failed: rows.filter((r) => r.status === 'failed').length };
}

test(
  'history with 10,000 tasks: cursor pages, filter, debounced search, and back from a task to the same page',
  { skip: browser ? false : NO_CHROMIUM, timeout: 60_000 },
  async () => {
    const fx = await openRenderer(browser!);
    await fx.registerDirectly('history-desk');
    const { failed } = seed(fx.home);
    await fx.page.reload();
    const history = new HistoryPage(fx.page);
    await history.open();
    await expect(history.count).toHaveText('Showing 1–50 of 10,000');
    await expect(history.rows).toHaveCount(50);
    await expect(history.rows.first()).toContainText('Task 9999:');
    const id = (i: number): string => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    await expect(await history.cell(id(9999), 'Agent')).toHaveText(/^claude-code\s+claude-sonnet-4-5$/);
    await expect(await history.cell(id(9999), 'Cost')).toHaveText('$0.54');
    await expect(await history.cell(id(9996), 'Agent')).toHaveText('command');
    await expect(await history.cell(id(9996), 'Cost')).toHaveText('—');

    // Older / Newer walk the cursor (how fast is bench/'s business, not a test's).
    const older = fx.page.getByRole('button', { name: 'Older →' });
    const newer = fx.page.getByRole('button', { name: '← Newer' });
    await expect(history.pager).toBeVisible();
    await older.click();
    await expect(history.count).toHaveText('Showing 51–100 of 10,000');
    await expect(history.rows.first()).toContainText('Task 9949:');
    await older.click();
    await expect(history.count).toHaveText('Showing 101–150 of 10,000');
    await newer.click();
    await expect(history.count).toHaveText('Showing 51–100 of 10,000');

    // A task's detail and back: the same page, filter and search are still there.
    await history.rows.first().getByRole('link').click();
    await expect(new TaskDetailPage(fx.page).heading).toHaveText(/^Task 9949:/);
    await new TaskDetailPage(fx.page).back();
    await expect(history.count).toHaveText('Showing 51–100 of 10,000');

    // The status filter starts again at the first page.
    await history.status.selectOption('failed');
    await expect(history.count).toHaveText(`Showing 1–50 of ${failed.toLocaleString('en-US')}`);
    await expect(history.rows.first()).toContainText(/failed/i);

    // Typing is debounced: a whole word costs one or two queries, not one per key.
    await history.status.selectOption('');
    const before = fx.invoked.filter((c) => c === 'history:page').length;
    await history.search.pressSequentially('Task 1234:', { delay: 30 });
    await expect(history.rows).toHaveCount(1);
    await expect(history.count).toHaveText('Showing 1–1 of 1');
    const queries = fx.invoked.filter((c) => c === 'history:page').length - before;
    assert.ok(queries <= 2, `${queries} history queries for one typed search`);
    await history.search.fill('zebra crossing');
    await expect(history.count).toHaveText('No tasks match.');
    await history.search.fill('Speed up');
    await expect(history.count).toHaveText(/^Showing 1–50 of [\d,]+$/);
    assert.deepEqual(fx.pageErrors, []);
  },
);
