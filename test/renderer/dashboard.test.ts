import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chromiumPath, NO_CHROMIUM } from './chromium.ts';
import { expect } from './expect.ts';
import { openRenderer } from './fixture.ts';
import { DashboardPage } from './pages/dashboardPage.ts';

const browser = chromiumPath();

test(
  'dashboard: pause and resume, and why the runner is not connected',
  { skip: browser ? false : NO_CHROMIUM, timeout: 60_000 },
  async () => {
    const fx = await openRenderer(browser!);
    const runnerId = await fx.registerDirectly('dash-desk');
    await fx.page.reload();
    const dash = new DashboardPage(fx.page);
    await expect(dash.linkState).toHaveText('Connected');
    await expect(fx.page.getByTestId('topbar-status')).toHaveText('Connected');
    await expect(dash.capacity).toHaveText('0 / 3');
    await expect(dash.runningSection).toContainText('No tasks running');

    // Paused: new tasks are refused by the runner, and the page says so.
    await dash.pauseButton.click();
    await expect(dash.linkState).toHaveText('Paused');
    await expect(dash.pauseButton).toHaveText('Resume');
    await expect(dash.runningSection).toContainText('no new tasks are taken');
    const taskId = crypto.randomUUID();
    fx.core.send(runnerId, {
      type: 'task_assign',
      task_id: taskId,
      agent_id: 'agent_pausedpaused',
      project_id: 'project_1',
      config: { prompt: 'x', command: ['/bin/true'] },
    });
    const reject = await fx.core.waitFor(
      (f) => f.message?.type === 'task_reject' && f.message.task_id === taskId,
      5000,
      'the task to be refused',
    );
    assert.equal(reject.message?.type === 'task_reject' && reject.message.reason, 'runner_draining');
    await dash.pauseButton.click();
    await expect(dash.linkState).toHaveText('Connected');
    await expect(dash.pauseButton).toHaveText('Pause new tasks');

    // The server goes away: the state and the reason show, then it recovers by itself.
    await fx.core.stop();
    await expect(dash.linkState).toHaveText(/^(Reconnecting|Connecting…|Can't reach the server)$/, { timeout: 10_000 });
    await expect(dash.linkReason).not.toHaveText('');
    await fx.screenshot('dashboard-disconnected');
    await fx.core.listen();
    await expect(dash.linkState).toHaveText('Connected', { timeout: 20_000 });
    await expect(dash.linkReason).toHaveText('');
    assert.deepEqual(fx.pageErrors, []);
  },
);
