import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromiumPath, NO_CHROMIUM } from './chromium.ts';
import { expect } from './expect.ts';
import { openRenderer } from './fixture.ts';
import { noSidewaysScroll } from './layoutCheck.ts';
import { DashboardPage } from './pages/dashboardPage.ts';
import { HistoryPage } from './pages/historyPage.ts';
import { TaskDetailPage } from './pages/taskDetailPage.ts';

const browser = chromiumPath();
const WIDTHS = [640, 1100];

test(
  'a 200-character prompt and 300-character log lines never widen the window, at 640 and 1100 px',
  { skip: browser ? false : NO_CHROMIUM, timeout: 90_000 },
  async () => {
    const fx = await openRenderer(browser!);
    const runnerId = await fx.registerDirectly('layout-desk');
    await fx.page.reload();
    const dash = new DashboardPage(fx.page);
    await expect(dash.linkState).toHaveText('Connected');

    // A prompt of 200 characters whose first line has a long unbroken word (an identifier, as
    // people paste them), and output lines of 300: one a digest with nothing to break at, one a
    // sentence. The last line (the card's activity) is the unbroken one.
    const ident = 'RefreshTokenRotationHandlerFactoryProviderIntegrationTestSuite'.repeat(2);
    const prompt = `Fix ${ident} ${'and make the flaky checkout test pass again '.repeat(4)}`.slice(0, 200);
    assert.equal(prompt.length, 200);
    const digest = `sha256:${'0123456789abcdef'.repeat(19)}`.slice(0, 300);
    const sentence = 'the quick brown fox jumps over the lazy dog '.repeat(7).padEnd(300, '.').slice(0, 300);
    assert.equal(digest.length, 300);
    assert.equal(sentence.length, 300);
    const gate = join(fx.home, 'gate');
    const taskId = crypto.randomUUID();
    fx.core.send(runnerId, {
      type: 'task_assign',
      task_id: taskId,
      agent_id: 'agent_layoutlayout',
      project_id: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
      config: {
        prompt,
        command: [
          '/bin/sh',
          '-c',
          `printf '%s\\n' '${sentence}' '${digest}' >&2; echo '${sentence}'; echo '${digest}'; while [ ! -e '${gate}' ]; do sleep 0.05; done`,
        ],
      },
    });
    const card = dash.task(taskId);
    await expect(card.log).toContainText('lazy dog', { timeout: 10_000 });
    await expect(card.activity).toContainText('sha256:0123');
    for (const width of WIDTHS) {
      await fx.page.setViewportSize({ width, height: 800 });
      await noSidewaysScroll(fx.page, `the dashboard with a running task at ${width} px`);
      // The card keeps inside the page, and so does its title (ellipsized, whole on hover).
      const { card: cardBox, title } = await card.root.evaluate((el) => ({
        card: el.getBoundingClientRect().right,
        title: el.querySelector('h3')!.getBoundingClientRect().right,
      }));
      assert.ok(cardBox <= width && title <= cardBox, `card ${cardBox} px, title ${title} px at ${width} px`);
      await expect(card.title).toHaveAttribute('title', prompt);
      // The last running card keeps the same space below it as every other card: it does not touch the next section.
      const gap = await card.root.evaluate((el) => {
        const next = document.querySelector('.activity-card');
        return next ? next.getBoundingClientRect().top - el.getBoundingClientRect().bottom : Number.NaN;
      });
      assert.ok(gap >= 8, `${gap} px between the running card and "Last 14 days" at ${width} px`);
    }
    await fx.screenshot('dashboard-long-task');

    writeFileSync(gate, '');
    await fx.core.waitFor((f) => f.message?.type === 'task_complete' && f.message.task_id === taskId, 10_000, 'the task to end');
    const history = new HistoryPage(fx.page);
    await history.open();
    await expect(history.row(taskId)).toBeVisible();
    for (const width of WIDTHS) {
      await fx.page.setViewportSize({ width, height: 800 });
      await noSidewaysScroll(fx.page, `the history at ${width} px`);
    }
    await history.openTask(taskId);
    const detail = new TaskDetailPage(fx.page);
    await expect(detail.log).toContainText('lazy dog');
    for (const width of WIDTHS) {
      await fx.page.setViewportSize({ width, height: 800 });
      await noSidewaysScroll(fx.page, `the task detail at ${width} px`);
    }
    assert.deepEqual(fx.pageErrors, []);
  },
);
