import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Desktop } from '../../main/desktop/desktopApp.ts';
import { FileCredentialStore } from '../../main/runner/config/credentials.ts';
import { desktopOptions, startTestDesktop } from '../helpers/desktopHarness.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { FakeBrowserWindow, FakeNotification, FakeTray, fakeElectron, type FakeElectron } from '../helpers/fakeElectron.ts';
import { makeRepo } from '../helpers/gitRepo.ts';
import { agentGate, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

/**
 * The tray's actions through the desktop shell, against a fake Sibyl Core: task items named after
 * the linked project, the window's screens, Copy runner ID, Retry now, and Sign in… (which keeps
 * the registration). The model's words per state are in trayModel.test.ts.
 */

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

async function boot(core: FakeCore): Promise<{ e: FakeElectron; d: Desktop; home: string; runnerId: string }> {
  const home = tempDir('sibyl-trayact-');
  const dir = join(home, '.config', 'sibyl');
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, 'runner.yaml');
  const r = core.addRunner({ name: 'desk' });
  // A long backoff base: retries come when the test says so ("Retry now"), not by the clock.
  writeYaml(configPath, {
    server_url: core.url,
    runner_id: r.id,
    name: 'desk',
    worktree_base: join(home, 'wt'),
    log_dir: join(home, 'logs'),
    max_concurrent_agents: 2,
    reconnect_interval: 30,
  });
  // Signed in the way the CLI leaves it; the app copies it into its own store (and can sign out).
  await new FileCredentialStore(join(dir, 'credentials.json')).save({ access_token: r.accessToken, server_url: core.url });
  const e = fakeElectron({ userData: join(home, 'userData') });
  const d = await startTestDesktop(e, desktopOptions(home, configPath, { quitDrainMs: 1000 }));
  await core.until(() => core.connected(r.id), 5000, 'the desktop runner connects');
  return { e, d, home, runnerId: r.id };
}

async function startCore(): Promise<FakeCore> {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  return core;
}

const item = (id: string) => FakeTray.last?.menu.find((m) => m.id === id);
const status = (): string => item('status')?.label ?? '';
/** The screens main asked the window to show, in order. */
const navigations = (): unknown[] =>
  (FakeBrowserWindow.all[0]?.webContents.sent ?? []).filter((s) => s.args[0] === 'app:navigate').map((s) => s.args[1]);

test('a running task is listed by its project folder and elapsed time; the menu opens each screen and copies the runner ID', async () => {
  const core = await startCore();
  const { e, d, home, runnerId } = await boot(core);
  const projectId = crypto.randomUUID();
  const repo = makeRepo(join(home, 'code', 'webapp'));
  await d.service.handlers['projects:link']({ path: repo, projectId });

  const gate = agentGate();
  const taskId = crypto.randomUUID();
  core.send(runnerId, {
    type: 'task_assign',
    task_id: taskId,
    agent_id: 'agent_eeeeeeeeeeee',
    project_id: projectId,
    config: { prompt: 'Polish the tray\nand more', command: ['/bin/sh', '-c', gate.waitScript] },
  });
  await until(() => item(`task:${taskId}`)?.label === 'webapp — Polish the tray · <1m', 'the task item names the linked folder');
  assert.equal(status(), 'Connected — 1 of 2 agents busy');
  for (const m of FakeTray.last!.menu) assert.doesNotMatch(m.label ?? '', UUID, `no UUID in ${m.id}`);

  FakeTray.last!.click('copyRunnerId');
  assert.deepEqual(e.copied, [runnerId]);

  const screens = ['history', 'settings', 'dashboard', `task:${taskId}`];
  for (const [i, id] of screens.entries()) {
    FakeTray.last!.click(id);
    await until(() => navigations().length === i + 1, `the window asked for ${id}`);
  }
  assert.deepEqual(navigations(), [{ route: 'history' }, { route: 'settings' }, { route: 'dashboard' }, { route: 'task', taskId }]);
  assert.equal(FakeBrowserWindow.all.length, 1, 'one window, reused');

  gate.open();
  await until(() => FakeNotification.shown.length === 1, 'the completion notification', 5000);
  assert.equal(FakeNotification.shown[0]!.body, 'webapp — Polish the tray');
});

test('Retry now dials at once instead of waiting for the next scheduled retry', async () => {
  const core = await startCore();
  const { d, runnerId } = await boot(core);
  await core.stop();
  await until(() => item('retry'), 'the tray offers Retry now while the server is gone');
  assert.match(status(), /^Reconnecting…$|^Can't reach the server — retrying$/);
  // A retry due soon would race the click: let it fail (the server is still down) until the next one is far off.
  // …and the menu shows that wait (it is rebuilt from the state a moment after the state changes).
  const nextRetry = await until(
    () => {
      const at = d.service.state().daemon?.link.nextRetryAt;
      return at !== undefined && at - Date.now() > 5000 && item('retry') ? at : undefined;
    },
    'a retry scheduled more than 5 s ahead',
    70_000,
  );
  await core.listen();
  FakeTray.last!.click('retry');
  await core.until(() => core.connected(runnerId), 5000, 'the runner to reconnect');
  const connectedAt = await until(() => d.service.state().daemon?.link.connectedAt, 'the link to report the connection');
  assert.ok(connectedAt < nextRetry, 'connected before the scheduled retry: the click dialled');
  await until(() => !item('retry'), 'Retry now is gone once connected');
});

test('signed out: "Sign in…" opens the dashboard (its "Sign in again" keeps this runner), never the re-register wizard', async () => {
  const core = await startCore();
  const { d, runnerId } = await boot(core);
  await d.service.handlers['account:signOut']({});
  await until(() => item('signIn'), 'the tray offers Sign in…');
  assert.equal(item('signIn')?.label, 'Sign in…');
  assert.equal(status(), 'Signed out — sign in again');
  assert.equal(FakeTray.last!.image && (FakeTray.last!.image as { path: string }).path, '/app/tray/error.png');
  FakeTray.last!.click('signIn');
  await until(() => navigations().length === 1, 'a screen asked for');
  assert.deepEqual(navigations(), [{ route: 'dashboard' }]);
  assert.equal(FakeBrowserWindow.all[0]?.visible, true);
  assert.equal(d.service.state().runnerId, runnerId, 'still the same runner');
  assert.ok(core.runner(runnerId), 'and still registered on the server');
});
