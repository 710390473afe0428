import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Desktop } from '../../main/desktop/desktopApp.ts';
import type { AppState, IpcResult, Settings } from '../../preload/contract.ts';
import { desktopOptions, startTestDesktop } from '../helpers/desktopHarness.ts';
import { FakeBrowserWindow, FakeTray, fakeElectron, type FakeElectron } from '../helpers/fakeElectron.ts';
import { writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

/**
 * Issue 14, items 2 and 5: start-up errors show in the tray and the window instead of ending the
 * app; a registered runner starts in the tray on every OS; macOS focus and login-item status.
 */

/** A registration with a server that never answers: the runner starts and keeps retrying, enough here. */
const REGISTERED = { server_url: 'http://127.0.0.1:9', runner_id: 'r-1', name: 'desk' };

async function boot(opts: {
  yaml?: Record<string, unknown> | string;
  platform?: NodeJS.Platform;
  e?: FakeElectron;
}): Promise<{ e: FakeElectron; d: Desktop; configPath: string }> {
  const home = tempDir('sibyl-starterr-');
  const dir = join(home, '.config', 'sibyl');
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, 'runner.yaml');
  if (typeof opts.yaml === 'string') writeFileSync(configPath, opts.yaml);
  else if (opts.yaml) writeYaml(configPath, { worktree_base: join(home, 'wt'), ...opts.yaml });
  const e = opts.e ?? fakeElectron({ userData: join(home, 'userData') });
  const d = await startTestDesktop(
    e,
    desktopOptions(home, configPath, {
      env: { HOME: home, PATH: process.env.PATH, SIBYL_ACCESS_TOKEN: 'token-for-tests' },
      platform: opts.platform ?? 'linux',
      quitDrainMs: 1000,
    }),
  );
  return { e, d, configPath };
}

const trusted = () => ({
  sender: { id: [...FakeBrowserWindow.all].at(-1)?.webContents.id ?? -1 },
  senderFrame: { url: 'app://sibyl/index.html', parent: null },
});

async function invoke<T>(e: FakeElectron, channel: string, input: unknown = {}): Promise<IpcResult<T>> {
  return (await e.invoke(trusted(), channel, input)) as IpcResult<T>;
}

const trayStatus = (): string => FakeTray.last?.menu.find((m) => m.id === 'status')?.label ?? '';

test('an invalid runner.yaml: tray and window still open, the tray says "Needs attention", app:state carries the error and its fix; Settings fixes it', async () => {
  const { e, d, configPath } = await boot({ yaml: { ...REGISTERED, max_concurrent_agents: 500 } });
  assert.equal(e.exitCode, undefined, 'the app did not exit');
  const win = FakeBrowserWindow.all[0];
  assert.ok(win?.visible, 'the window opens to show the error');
  await until(() => trayStatus().startsWith('Needs attention — '), 'the tray says "Needs attention"');
  // The tray says what to do in a few words; the window (open now) names the file and key.
  assert.equal(trayStatus(), 'Needs attention — fix the configuration');
  assert.match((FakeTray.last!.image as { path: string }).path, /error\.png$/);

  const res = await invoke<AppState>(e, 'app:state');
  assert.ok(res.ok);
  const err = res.value.startError;
  assert.equal(err?.code, 'config_invalid');
  assert.equal(err?.remedy, 'fixConfig');
  assert.match(err?.message ?? '', /max_concurrent_agents/);
  assert.match(err?.detail ?? '', new RegExp(`file: ${configPath.replace(/[.]/g, '\\.')}`));
  assert.equal(res.value.daemon, null, 'nothing runs on a configuration that does not validate');

  // The window's Settings still work and write the same file; once it validates the runner starts.
  const fixed = await invoke<Settings>(e, 'settings:set', { maxAgents: 2 });
  assert.ok(fixed.ok, JSON.stringify(fixed));
  const now = d.service.state();
  assert.equal(now.startError, undefined);
  assert.equal(now.registered, true);
  assert.equal(now.daemon?.runner.maxAgents, 2, 'the runner started with the fixed file');
  await until(() => !trayStatus().startsWith('Needs attention'), 'the tray no longer needs attention');
});

test('a runner.yaml that is not YAML: the app stays up and says so; the wizard cannot overwrite it blindly', async () => {
  const { e } = await boot({ yaml: 'server_url: [unclosed\n' });
  await until(() => trayStatus().startsWith('Needs attention'), 'the tray says "Needs attention"');
  assert.ok(FakeBrowserWindow.all[0]?.visible);
  const res = await invoke<AppState>(e, 'app:state');
  assert.ok(res.ok);
  assert.equal(res.value.startError?.remedy, 'fixConfig');
  const set = await invoke<Settings>(e, 'settings:set', { maxAgents: 2 });
  assert.equal(set.ok, false, 'a file that cannot be parsed is not rewritten');
});

test('when the app layer itself cannot be built, the tray and the window still report it', async () => {
  const e = fakeElectron();
  e.app.getPath = () => {
    throw new Error('userData is not available');
  };
  await boot({ yaml: REGISTERED, e });
  await until(() => trayStatus() === 'Needs attention — try again', 'the tray says something failed');
  assert.ok(FakeBrowserWindow.all[0]?.visible, 'the window opens to show it');
  const res = await invoke<AppState>(e, 'app:state');
  assert.ok(res.ok);
  assert.deepEqual(res.value.startError, { code: 'start_failed', message: 'userData is not available', remedy: 'retry' });
  const other = await invoke(e, 'history:page', {});
  assert.equal(other.ok, false);
  assert.match(other.ok ? '' : other.error.message, /userData is not available/);
});

for (const platform of ['darwin', 'win32', 'linux'] as const) {
  test(`${platform}: a registered runner starts in the tray (no window, no --hidden needed); a second launch shows and focuses it`, async () => {
    const { e } = await boot({ yaml: REGISTERED, platform });
    assert.equal(FakeBrowserWindow.all.length, 0, 'no window at start');
    assert.deepEqual(e.appFocus, []);
    e.appEvents.emit('second-instance', { preventDefault() {} });
    await until(() => FakeBrowserWindow.all[0]?.visible, 'the window opens on a second launch');
    const win = FakeBrowserWindow.all[0]!;
    // A menu-bar-only macOS app is not active: without stealing focus the window opens behind others.
    await until(() => e.appFocus.length === (platform === 'darwin' ? 1 : 0), 'the app is brought to the front on macOS');
    e.appEvents.emit('second-instance', { preventDefault() {} });
    await until(() => win.focused > 0, 'a launch while the window is open focuses it');
    e.appEvents.emit('activate', { preventDefault() {} });
    await until(() => win.focused > 1, 'activate (the Dock, Finder) focuses it too');
    assert.equal(FakeBrowserWindow.all.length, 1);
    assert.deepEqual(e.appFocus, platform === 'darwin' ? [{ steal: true }, { steal: true }, { steal: true }] : []);
  });
}

test('darwin: first run (not registered) opens the window in front', async () => {
  const { e } = await boot({ platform: 'darwin' });
  assert.ok(FakeBrowserWindow.all[0]?.visible);
  assert.deepEqual(e.appFocus, [{ steal: true }]);
});

test('darwin: a login item waiting for approval is shown as such, not as on', async () => {
  const home = tempDir('sibyl-starterr-');
  const e = fakeElectron({ loginItem: true, loginStatus: 'requires-approval', userData: join(home, 'userData') });
  const { d } = await boot({ yaml: REGISTERED, platform: 'darwin', e });
  const item = await until(() => FakeTray.last?.menu.find((m) => m.id === 'startAtLogin'), 'the tray has the login item');
  assert.equal(item.checked, false, 'requires-approval is not on');
  assert.match(item.label ?? '', /approve .* in System Settings/);
  // The window (not open: a registered runner starts in the tray) reads the same through Settings.
  const settings = await d.service.handlers['settings:get']({});
  assert.equal(settings.startAtLogin, false);
  assert.match(settings.startAtLoginHint ?? '', /System Settings → General → Login Items/);
});
