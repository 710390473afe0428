import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../main/runner/config/loadConfig.ts';
import { HistoryStore } from '../../main/runner/history/historyStore.ts';
import type { HistoryStatus } from '../../main/runner/history/schema.ts';
import { makeRepo } from '../helpers/gitRepo.ts';
import { chromiumPath, NO_CHROMIUM } from './chromium.ts';
import { expect } from './expect.ts';
import { openRenderer } from './fixture.ts';
import { DashboardPage } from './pages/dashboardPage.ts';

const browser = chromiumPath();

/** Noon `daysAgo` local days before today: inside that day whatever the hour the test runs. */
function noon(daysAgo: number): number {
  const d = new Date();
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() - daysAgo, 12).getTime();
}

function dayKey(daysAgo: number): string {
  const d = new Date(noon(daysAgo));
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

test(
  'the dashboard shows finished tasks per day for 14 days, completed and failed, in words too, and follows new ones',
  { skip: browser ? false : NO_CHROMIUM, timeout: 90_000 },
  async () => {
    const fx = await openRenderer(browser!);
    const runnerId = await fx.registerDirectly('activity-desk');

    // The runner's own history file (the core process has it open too: SQLite in WAL mode).
    const { config } = loadConfig({
      flags: { config: join(fx.home, '.config', 'sibyl-runner', 'runner.yaml') },
      env: { HOME: fx.home },
      home: fx.home,
    });
    const history = new HistoryStore({ dbPath: join(config.state_dir, 'history.sqlite'), logDir: join(config.log_dir, 'tasks') });
    let n = 0;
    const finished = (
      status: HistoryStatus,
      daysAgo: number,
      usage: { costUsd?: number; inputTokens?: number; outputTokens?: number } = {},
    ) => {
      const at = noon(daysAgo) - (daysAgo === 0 ? 12 * 3_600_000 - 60_000 : 0); // today: just after midnight, already past
      history.upsert({ taskId: `seed-${n++}`, status, assignedAt: at - 60_000, finishedAt: at, prompt: 'seeded', ...usage });
    };
    finished('completed', 0, { costUsd: 0.25, inputTokens: 1000, outputTokens: 100 });
    finished('completed', 0, { costUsd: 0.5, inputTokens: 2000, outputTokens: 200 });
    finished('failed', 0);
    finished('completed', 1, { costUsd: 0.01 });
    for (const status of ['failed', 'failed', 'failed', 'timeout'] as const) finished(status, 5);
    finished('cancelled', 5);
    finished('rejected', 3); // never ran
    finished('completed', 20); // outside the 14 days
    history.close();

    await fx.page.reload();
    const dash = new DashboardPage(fx.page);
    await expect(dash.linkState).toHaveText('Connected');
    const card = fx.page.getByRole('region', { name: 'Last 14 days' });
    const chart = card.getByRole('list', { name: 'Finished tasks per day' });
    const day = (daysAgo: number) => chart.locator(`li[data-day="${dayKey(daysAgo)}"]`);
    await expect(chart.locator('li')).toHaveCount(14);
    await expect(chart.locator('li').first()).toHaveAttribute('data-day', dayKey(13));
    await expect(chart.locator('li[data-today]')).toHaveAttribute('data-day', dayKey(0));

    // Each day in words (what a screen reader says, and the tooltip), and its count as text above the bar.
    await expect(day(0).locator('.visually-hidden')).toHaveText(/: 2 completed, 1 failed; \$0\.75$/);
    await expect(day(0).locator('.bar-count')).toHaveText('3');
    await expect(day(0).locator('.bar-label')).toContainText('Today');
    await expect(day(1).locator('.visually-hidden')).toHaveText(/: 1 completed, 0 failed; \$0\.01$/);
    await expect(day(5).locator('.visually-hidden')).toHaveText(/: 0 completed, 4 failed, 1 cancelled$/);
    await expect(day(3).locator('.visually-hidden')).toHaveText(/: no tasks$/);
    await expect(day(3).locator('.bar-count')).toHaveText('');
    assert.equal(await day(0).getAttribute('title'), await day(0).locator('.visually-hidden').innerText());
    await expect(card.getByTestId('activity-totals')).toHaveText('3 completed · 5 failed · 1 cancelled · $0.76 · 3k in · 300 out tokens');

    // The bars are to scale: the tallest day (5 failed or cancelled) fills its bar; today's completed part is 2/5 of it.
    const heights = async (daysAgo: number) =>
      day(daysAgo).evaluate((li) => {
        const bar = li.querySelector('.bar')!.getBoundingClientRect().height;
        const part = (o: string) => li.querySelector(`[data-outcome="${o}"]`)?.getBoundingClientRect().height ?? 0;
        return { bar, completed: part('completed'), failed: part('failed'), cancelled: part('cancelled') };
      });
    const tallest = await heights(5);
    assert.equal(Math.round(tallest.failed + tallest.cancelled), Math.round(tallest.bar));
    assert.equal(Math.round(tallest.failed), Math.round((tallest.bar * 4) / 5));
    const today = await heights(0);
    assert.equal(Math.round(today.completed), Math.round((today.bar * 2) / 5));
    assert.equal(Math.round(today.failed), Math.round(today.bar / 5));
    // Distinct colours per outcome: completed in the ok colour, failed in the danger colour.
    const colours = await day(0).evaluate((li) => ({
      completed: getComputedStyle(li.querySelector('[data-outcome="completed"]')!).backgroundColor,
      failed: getComputedStyle(li.querySelector('[data-outcome="failed"]')!).backgroundColor,
      ok: getComputedStyle(document.documentElement).getPropertyValue('--ok').trim(),
      danger: getComputedStyle(document.documentElement).getPropertyValue('--danger').trim(),
    }));
    assert.notEqual(colours.completed, colours.failed);
    const rgb = (hex: string) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;
    assert.equal(colours.completed, rgb(colours.ok));
    assert.equal(colours.failed, rgb(colours.danger));
    // Today's tokens and cost, from the same history (the Today card).
    await expect(fx.page.getByTestId('today-cost')).toHaveText('$0.75');
    await fx.screenshot('dashboard-activity');

    // A task that fails now is counted in today's bar once it leaves the running set.
    const repo = makeRepo(join(fx.home, 'code', 'webapp'));
    await fx.call('projects:link', { path: repo, projectId: 'project_1' });
    const taskId = crypto.randomUUID();
    fx.core.send(runnerId, {
      type: 'task_assign',
      task_id: taskId,
      agent_id: `agent_${taskId.slice(0, 12).replace(/-/g, 'a')}`,
      project_id: 'project_1',
      config: { prompt: 'Break the build', command: ['/bin/sh', '-c', 'echo "no such target" >&2; exit 2'] },
    });
    await fx.core.waitFor((f) => f.message?.type === 'task_complete' && f.message.task_id === taskId, 10_000, 'the failure');
    await expect(day(0).locator('.visually-hidden')).toHaveText(/: 2 completed, 2 failed; \$0\.75$/);
    await expect(day(0).locator('.bar-count')).toHaveText('4');
    assert.deepEqual(fx.pageErrors, []);
  },
);
