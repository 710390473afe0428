import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeRepo } from '../helpers/gitRepo.ts';
import { chromiumPath, NO_CHROMIUM } from './chromium.ts';
import { expect } from './expect.ts';
import { openRenderer, type RendererFixture } from './fixture.ts';
import { DashboardPage } from './pages/dashboardPage.ts';
import { HistoryPage } from './pages/historyPage.ts';
import { TaskDetailPage } from './pages/taskDetailPage.ts';

const browser = chromiumPath();

function assign(fx: RendererFixture, runnerId: string, prompt: string, command: string[]): string {
  const taskId = crypto.randomUUID();
  fx.core.send(runnerId, {
    type: 'task_assign',
    task_id: taskId,
    agent_id: `agent_${taskId.slice(0, 8)}`,
    project_id: 'project_1',
    config: { prompt, command },
  });
  return taskId;
}

const ended = (fx: RendererFixture, taskId: string): Promise<unknown> =>
  fx.core.waitFor(
    (f) => (f.message?.type === 'task_complete' || f.message?.type === 'task_reject') && f.message.task_id === taskId,
    15_000,
    `task ${taskId} to end`,
  );

/** What the clipboard holds after a Copy button was pressed. */
const clipboard = (fx: RendererFixture): Promise<string> => fx.page.evaluate(() => navigator.clipboard.readText());

test(
  'why tasks did not complete: history reason lines, signal names, relative times, copy buttons, one empty state, pagers only when needed; the detail leads with its outcome',
  { skip: browser ? false : NO_CHROMIUM, timeout: 120_000 },
  async () => {
    const fx = await openRenderer(browser!);
    await fx.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(fx.url).origin });
    const runnerId = await fx.registerDirectly('outcome-desk');
    // A linked git project: each task gets its own worktree on a sibyl/<id> branch.
    await fx.call('projects:link', { path: makeRepo(join(fx.home, 'code', 'webapp')), projectId: 'project_1' });
    await fx.page.reload();
    const history = new HistoryPage(fx.page);
    await history.open();

    // Nothing has run yet: one message, no count line contradicting it, no pager.
    await expect(fx.page.locator('.history-body .empty')).toHaveText(
      'No tasks have run on this machine yet. Tasks from Sibyl appear here once they start.',
    );
    await expect(history.count).toHaveText('');
    await expect(history.pager).not.toBeVisible();

    // Real tasks: three that wait at a gate fill every agent slot, a fourth is refused for it;
    // one of the three is cancelled by the server, one agent is not installed.
    const gate = join(fx.home, 'gate');
    const wait = ['/bin/sh', '-c', `echo started; while [ ! -e '${gate}' ]; do sleep 0.05; done; echo done`];
    const busy = [assign(fx, runnerId, 'Keep the lights on', wait), assign(fx, runnerId, 'Water the plants', wait)];
    const cancelled = assign(fx, runnerId, 'Feed the cat', wait);
    const dash = new DashboardPage(fx.page);
    await dash.open();
    await expect(dash.capacity).toHaveText('3 / 3', { timeout: 10_000 });
    // Cancelled once its agent runs, so a process is there to stop.
    await expect(dash.task(cancelled).log).toContainText('started', { timeout: 10_000 });
    const rejected = assign(fx, runnerId, 'One task too many', ['/bin/true']);
    await ended(fx, rejected);
    fx.core.send(runnerId, { type: 'task_cancel', task_id: cancelled });
    await ended(fx, cancelled);
    writeFileSync(gate, '');
    for (const id of busy) await ended(fx, id);
    const missing = assign(fx, runnerId, 'Use an agent that is not installed', ['/opt/no-such-agent/bin/agent', '--go']);
    await ended(fx, missing);

    // The dashboard's recent list says why too, in the history's link style.
    await expect(dash.recent.locator(`tr[data-task-id="${missing}"] [data-testid="task-reason"]`)).toHaveText(
      'Command not found: /opt/no-such-agent/bin/agent',
    );
    // Found and read in one step: a list re-rendered between the two would leave a detached
    // element, whose computed style is empty.
    const linkStyle = (where: string): Promise<string> =>
      fx.page.evaluate((selector) => {
        const a = document.querySelector(selector);
        if (!a) return `no ${selector}`;
        const s = getComputedStyle(a);
        return `${s.color} ${s.fontWeight} ${s.textDecorationLine}`;
      }, `${where} a.task-link`);
    const dashLink = await linkStyle('.recent');

    await history.open();
    await expect(history.rows).toHaveCount(5);
    assert.equal(await linkStyle('.history-table'), dashLink, 'one link style on the dashboard and in the history');
    await expect(history.reason(rejected)).toHaveText('At capacity (3/3)');
    await expect(history.reason(missing)).toHaveText('Command not found: /opt/no-such-agent/bin/agent');
    await expect(history.reason(cancelled)).toHaveText('Cancelled by Sibyl');
    await expect(history.reason(busy[0]!)).toHaveCount(0);
    await expect(await history.cell(cancelled, 'Exit')).toHaveText('SIGTERM');
    await expect(await history.cell(rejected, 'Exit')).toHaveText('—');
    await expect(await history.cell(busy[0]!, 'Exit')).toHaveText('0');
    // Relative times, the moment to the second on hover.
    const started = (await history.cell(missing, 'Started')).locator('time');
    await expect(started).toHaveText('just now');
    await expect(started).toHaveAttribute('title', /\d{1,2}:\d{2}:\d{2}/);
    // One mark for "none": never an en dash or a hyphen in a cell.
    assert.doesNotMatch(await fx.page.getByTestId('history-table').locator('tbody').innerText(), /(^|\s)[–-](\s|$)/m);
    // Copy buttons for ids and branches, which do not open the task.
    await history.row(missing).getByRole('button', { name: 'Copy task id' }).click();
    assert.equal(await clipboard(fx), missing);
    await expect(history.row(missing).getByRole('button', { name: 'Copied task id' })).toHaveAttribute('data-label', 'Copied');
    const branchCell = await history.cell(busy[0]!, 'Branch');
    const branch = (await branchCell.locator('.branch').textContent()) ?? '';
    assert.match(branch, /^sibyl\//);
    await branchCell.getByRole('button', { name: 'Copy branch' }).click();
    assert.equal(await clipboard(fx), branch);
    await expect(fx.page.getByRole('heading', { level: 1 })).toHaveText('History');
    // A single page: no pager.
    await expect(history.pager).not.toBeVisible();
    await fx.screenshot('history-reasons');

    // A filter that matches nothing: one message (the count line), and a way back.
    await history.search.fill('zebra crossing');
    await expect(history.count).toHaveText('No tasks match.');
    await expect(fx.page.locator('.history-body')).not.toContainText('No tasks have run');
    await fx.page.getByRole('button', { name: 'Show all tasks' }).click();
    await expect(history.rows).toHaveCount(5);

    // The detail of the failed task: the outcome first — what, why, what to do.
    await history.openTask(missing);
    const detail = new TaskDetailPage(fx.page);
    await expect(detail.heading).toHaveText('Use an agent that is not installed');
    await expect(detail.outcomeTitle).toHaveText('Failed: Command not found: /opt/no-such-agent/bin/agent');
    await expect(detail.outcomeTodo).toContainText('Install it, or choose another agent in Settings.');
    await expect(detail.outcome.getByRole('link', { name: 'Open Settings' })).toHaveAttribute('href', '#/settings');
    const firstSection = await fx.page.locator('.detail > div > *').first().getAttribute('data-testid');
    assert.equal(firstSection, 'outcome', 'the outcome comes first');
    await expect(detail.fact('Duration')).toHaveText(/^\d+s$/);
    // The agent never started: the strip says when the task came.
    await expect(detail.fact('Assigned')).toHaveText(/\d{1,2}:\d{2}:\d{2}( [AP]M)? · just now$/);
    await expect(detail.gitDetails.locator('dl')).not.toBeVisible();
    await fx.screenshot('task-detail-failed');

    // The cancelled one: "Cancelled by Sibyl", the signal by name, never -15 or task_cancel.
    await detail.back();
    await history.openTask(cancelled);
    await expect(detail.outcomeTitle).toHaveText('Cancelled by Sibyl');
    await expect(detail.fact('Ended by')).toHaveText('SIGTERM');
    // (the runner's own log line below keeps its raw words; the page's words do not)
    for (const part of [detail.outcome, detail.facts, fx.page.getByTestId('task-ids')]) {
      await expect(part).not.toContainText('-15');
      await expect(part).not.toContainText('task_cancel');
    }
    await detail.fact('Branch').getByRole('button', { name: 'Copy branch' }).click();
    assert.match(await clipboard(fx), /^sibyl\//);
    // Git details, folded until asked for.
    await detail.gitDetails.locator('summary').click();
    await expect(detail.gitDetails).toContainText('Folder');
    await expect(detail.gitDetails).not.toContainText('base_fetched');

    // The refused one: why, and what would help.
    await detail.back();
    await history.openTask(rejected);
    await expect(detail.outcomeTitle).toHaveText('Rejected: At capacity (3/3)');
    await expect(detail.outcomeTodo).toContainText('Every agent slot was busy');
    await expect(detail.fact('Exit code')).toHaveText('—');

    // One that completed: how long, and its work.
    await detail.back();
    await history.openTask(busy[0]!);
    await expect(detail.outcomeTitle).toHaveText(/^Completed in \d+s\./);
    await expect(detail.fact('Exit code')).toHaveText('0');
    await expect(detail.fact('Task id')).toContainText(busy[0]!);
    assert.deepEqual(fx.pageErrors, []);
  },
);
