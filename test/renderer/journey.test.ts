import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeRepo } from '../helpers/gitRepo.ts';
import { expect } from './expect.ts';
import { chromiumPath, NO_CHROMIUM } from './chromium.ts';
import { until } from '../helpers/tmp.ts';
import { openRenderer, type RendererFixture } from './fixture.ts';
import { DashboardPage } from './pages/dashboardPage.ts';
import { HistoryPage } from './pages/historyPage.ts';
import { TaskDetailPage } from './pages/taskDetailPage.ts';
import { WizardPage } from './pages/wizardPage.ts';

const browser = chromiumPath();

test(
  'first run to history: wizard with device sign-in, a live task on the dashboard, then history, search and log',
  { skip: browser ? false : NO_CHROMIUM, timeout: 90_000 },
  async () => {
    const fx = await openRenderer(browser!);
    const wizard = new WizardPage(fx.page);

    // Step 1: validated as you type, then checked against the server.
    await expect(wizard.heading).toHaveText('Which Sibyl server?');
    await fx.screenshot('wizard-1-server');
    await wizard.serverUrl.fill('not a url at all');
    await expect(wizard.fieldError('Sibyl server URL')).toContainText('not a valid address');
    await wizard.checkServer(fx.core.url);
    await expect(wizard.checkResult).toContainText('Sibyl server found');
    await wizard.continueButton.click();

    // Step 2: device flow; the fake server approves the code the page shows.
    await expect(wizard.heading).toHaveText('Sign in');
    await wizard.signInWithBrowserButton.click();
    await expect(wizard.userCode).toHaveText(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    await expect(wizard.deviceState).toContainText('Waiting for you to approve');
    const code = (await wizard.userCode.textContent()) ?? '';
    assert.equal(fx.ports.external.length, 1, 'the verification page was opened in the system browser');
    assert.match(fx.ports.external[0]!, new RegExp(`^${fx.core.url}/.*${code.replace('-', '-?')}`, 'i'));
    // The page's address is a link (to the system browser, with the code filled in) with a copy button.
    await expect(wizard.verificationLink).toHaveText(`${fx.core.url}/api/auth/device/verify`);
    await wizard.verificationLink.click();
    await until(() => fx.ports.external.length === 2, 'the link to open the sign-in page');
    assert.equal(fx.ports.external[1], fx.ports.external[0]);
    await fx.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: fx.url });
    await fx.page.getByRole('button', { name: 'Copy link' }).click();
    await expect(fx.page.locator('.page-row [role="status"]')).toHaveText('Copied.');
    assert.equal(await fx.page.evaluate(() => navigator.clipboard.readText()), `${fx.core.url}/api/auth/device/verify`);
    // The code's remaining time, counting down from the server's expires_in (600 s in the fake).
    await expect(wizard.deviceExpiry).toHaveText(/^The code expires in (10:00|9:[0-5]\d)\.$/);
    const left = await wizard.deviceExpiry.innerText();
    await expect(wizard.deviceExpiry).not.toHaveText(left, { timeout: 2500 });
    await fx.screenshot('wizard-2-device-code');
    fx.core.approveDevice(code);
    await expect(wizard.deviceState).toContainText('Approved');
    // Who signed in, from GET /api/auth/me.
    await expect(wizard.signedIn).toHaveText('Signed in as Ada (ada@example.com) in Ada (owner).');
    await expect(wizard.deviceExpiry).toHaveCount(0);
    await wizard.continueButton.click();

    // Step 3: defaults from the machine; what is typed survives going back and forth.
    await expect(wizard.heading).toHaveText('This runner');
    await expect(wizard.runnerName).not.toHaveValue('');
    await wizard.runnerName.fill('desk-runner');
    await wizard.maxAgents.fill('2');
    await wizard.addCapability('gpu');
    await expect(wizard.capability('gpu')).toBeChecked();
    await wizard.chooseFolder();
    await expect(wizard.worktreeFolder).toHaveValue(fx.ports.folder);
    await fx.screenshot('wizard-3-runner');
    await wizard.backButton.click();
    await expect(wizard.heading).toHaveText('Sign in');
    await expect(wizard.signedIn).toBeVisible();
    await wizard.continueButton.click();
    await expect(wizard.runnerName).toHaveValue('desk-runner');
    await expect(wizard.maxAgents).toHaveValue('2');
    await expect(wizard.capability('gpu')).toBeChecked();
    await wizard.continueButton.click();

    // Step 4: register, then watch it connect.
    await expect(wizard.heading).toHaveText('Register and connect');
    await expect(fx.page.getByTestId('replace-note')).toHaveCount(0);
    await wizard.registerButton.click();
    await expect(wizard.connectStatus).toHaveText(`Connected to ${new URL(fx.core.url).host}`, { timeout: 10_000 });
    const runnerId = (await wizard.runnerId.textContent()) ?? '';
    const registered = fx.core.runner(runnerId);
    assert.equal(registered?.name, 'desk-runner');
    assert.equal(registered?.max_concurrent_agents, 2);
    assert.ok(registered?.capabilities.includes('gpu'));
    assert.ok(fx.core.connected(runnerId));
    // Done: every step marked so (the last one too), "Connected" said once, and what happens next.
    await expect(wizard.heading).toHaveText('All set');
    await expect(fx.page.locator('.steps .step[data-state="done"]')).toHaveCount(4);
    assert.equal((await wizard.panel.innerText()).match(/connected/gi)?.length, 1);
    await expect(wizard.nextSteps).toContainText(
      'Tasks from Sibyl appear on the dashboard; closing this window keeps the runner working in the tray.',
    );
    await fx.screenshot('wizard-4-connected');

    await wizard.openDashboard();
    const dash = new DashboardPage(fx.page);
    await expect(dash.linkState).toHaveText('Connected');
    await expect(dash.capacity).toHaveText('0 / 2');

    // A task from the server on a linked git project: live activity and log tail, elapsed time ticking, then completion.
    const repo = makeRepo(join(fx.home, 'code', 'webapp'));
    await fx.call('projects:link', { path: repo, projectId: 'project_1' });
    // The agent stops before its last line until the test opens the gate: the running card is looked at without a race.
    const gate = join(fx.home, 'gate');
    const taskId = assign(fx, runnerId, 'Fix the flaky login test\nIt times out on CI because the mock server starts late.', [
      'echo "reading the code"',
      'echo "writing the fix"',
      'echo "await server.ready()" > fix.txt && git add fix.txt && git -c user.name=Agent -c user.email=agent@example.invalid commit -qm "Wait for the mock server before logging in"',
      'echo "warning: slow test (2.1 s)" >&2',
      `while [ ! -e '${gate}' ]; do sleep 0.05; done`,
      'echo "all 42 tests pass"',
    ]);
    const card = dash.task(taskId);
    await expect(card.title).toHaveText('Fix the flaky login test');
    await expect(dash.capacity).toHaveText('1 / 2');
    await expect(card.log).toContainText('reading the code');
    await expect(card.activity).toContainText('stderr: warning: slow test', { timeout: 5000 });
    await expect(card.log).toContainText('writing the fix');
    const elapsed = await card.elapsed.innerText();
    await expect(card.elapsed).not.toHaveText(elapsed, { timeout: 2500 });
    await fx.screenshot('dashboard-running');
    await card.openFolderButton.click();
    await until(() => fx.ports.openedPaths.length === 1, 'the worktree folder to be opened');
    writeFileSync(gate, '');
    await fx.core.waitFor((f) => f.message?.type === 'task_complete' && f.message.task_id === taskId, 10_000, 'the completion');
    await expect(card.root).toHaveCount(0);
    await expect(dash.capacity).toHaveText('0 / 2');
    await expect(dash.recent).toContainText('Fix the flaky login test');

    // A second task is cancelled from its card (confirmed inline); a third fails on its own.
    // `sleep 30` stands for an agent still at work: it runs until the card cancels it.
    const slow = assign(fx, runnerId, 'Upgrade every dependency', ['echo "npm outdated"', 'sleep 30']);
    await expect(dash.task(slow).log).toContainText('npm outdated');
    await dash.task(slow).cancelButton.click();
    await fx.page.getByRole('button', { name: 'Yes, cancel task' }).click();
    await fx.core.waitFor((f) => f.message?.type === 'task_complete' && f.message.task_id === slow, 10_000, 'the cancellation');
    const failing = assign(fx, runnerId, 'Migrate the build to the new bundler', ['echo "error: config not found" >&2', 'exit 3']);
    await fx.core.waitFor((f) => f.message?.type === 'task_complete' && f.message.task_id === failing, 10_000, 'the failure');
    await expect(dash.recent.locator('tbody tr')).toHaveCount(3);
    await fx.screenshot('dashboard-idle');

    // History: all three, searchable and filterable; the first one's detail and log.
    const history = new HistoryPage(fx.page);
    await history.open();
    await expect(history.rows).toHaveCount(3);
    await expect(history.row(taskId)).toContainText(/completed/i);
    await expect(history.row(slow)).toContainText(/cancelled/i);
    await expect(history.row(failing)).toContainText(/failed/i);
    await expect(await history.cell(failing, 'Exit')).toHaveText('3');
    await expect(await history.cell(failing, 'Agent')).toHaveText('command');
    await fx.screenshot('history');
    await history.search.fill('flaky login');
    await expect(history.rows).toHaveCount(1);
    await expect(history.count).toHaveText('Showing 1–1 of 1');
    await history.search.fill('no task says this');
    await expect(history.count).toHaveText('No tasks match.');
    await history.search.fill('');
    await history.status.selectOption('failed');
    await expect(history.rows).toHaveCount(1);
    await expect(history.row(failing)).toBeVisible();
    await history.status.selectOption('');
    await history.search.fill('flaky');
    await expect(history.rows).toHaveCount(1);
    await history.openTask(taskId);

    const detail = new TaskDetailPage(fx.page);
    await expect(detail.heading).toHaveText('Fix the flaky login test');
    await expect(detail.fact('Exit code')).toHaveText('0');
    await expect(detail.fact('Project')).toHaveText('project_1');
    await expect(detail.prompt).toContainText('mock server starts late');
    await expect(detail.command).toContainText('/bin/sh -c');
    await expect(fx.page.getByRole('region', { name: /^Commits/ })).toContainText('Wait for the mock server before logging in');
    await expect(detail.log).toContainText('all 42 tests pass');
    await fx.screenshot('task-detail');
    // Search: only matching lines (the stderr line, and the header naming the command), matches marked.
    await detail.logSearch.fill('warning');
    await expect(detail.logInfo).toHaveText('2 lines matching “warning”');
    await expect(detail.log.locator('mark')).toHaveCount(2);
    await expect(detail.log).not.toContainText('agent ended');
    await detail.logSearch.fill('');
    await expect(detail.log).toContainText('agent ended');
    await detail.back();
    await expect(history.search).toHaveValue('flaky');

    // Main can ask for a screen (a task picked from the tray menu or a notification): `app:navigate`.
    await fx.page.evaluate((id) => window.__sibylEmit('app:navigate', { route: 'task', taskId: id }), failing);
    await expect(detail.heading).toHaveText('Migrate the build to the new bundler');
    await expect(detail.fact('Exit code')).toHaveText('3');
    assert.deepEqual(fx.pageErrors, []);
  },
);

/** Assign a task the way Sibyl Core does: a shell script as the agent command. */
function assign(fx: RendererFixture, runnerId: string, prompt: string, script: string[]): string {
  const taskId = crypto.randomUUID();
  fx.core.send(runnerId, {
    type: 'task_assign',
    task_id: taskId,
    agent_id: `agent_${taskId.slice(0, 12).replace(/-/g, 'a')}`,
    project_id: 'project_1',
    config: { prompt, command: ['/bin/sh', '-c', script.join('\n')] },
  });
  return taskId;
}
