import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { applyApplicationMenu } from '../../main/desktop/appMenu.ts';
import type { Desktop } from '../../main/desktop/desktopApp.ts';
import { APP_URL, isPermissionAllowed } from '../../main/desktop/senderCheck.ts';
import { CRASH_PAGE_URL, MainWindow } from '../../main/desktop/windows.ts';
import { desktopOptions, startTestDesktop } from '../helpers/desktopHarness.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { FakeBrowserWindow, FakeNotification, fakeElectron, type FakeElectron } from '../helpers/fakeElectron.ts';
import { writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

// A real garbage collection, to show what the app holds on to (not a count it reports itself).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
async function collectGarbage(): Promise<void> {
  // WeakRef targets touched in this turn survive until it ends: let it end first.
  await new Promise((r) => setImmediate(r));
  gc();
  await new Promise((r) => setImmediate(r));
}

/** Electron 45's permission names (session.setPermissionRequestHandler in electron.d.ts). */
const ELECTRON_PERMISSIONS = [
  'ar', 'automatic-fullscreen', 'background-fetch', 'background-sync', 'captured-surface-control', 'clipboard-read',
  'clipboard-sanitized-write', 'deprecated-sync-clipboard-read', 'display-capture', 'fileSystem', 'fullscreen',
  'geolocation', 'geolocation-approximate', 'hand-tracking', 'hid', 'idle-detection', 'keyboardLock', 'local-fonts',
  'local-network', 'local-network-access', 'loopback-network', 'media', 'mediaKeySystem', 'midi', 'midiSysex', 'nfc',
  'notifications', 'openExternal', 'payment-handler', 'periodic-background-sync', 'persistent-storage', 'pointerLock',
  'screen-wake-lock', 'sensors', 'serial', 'smart-card', 'speaker-selection', 'storage-access', 'system-wake-lock',
  'top-level-storage-access', 'usb', 'vr', 'web-app-installation', 'web-printing', 'window-management', 'unknown',
]; // prettier-ignore

async function boot(
  opts: { platform?: NodeJS.Platform; packaged?: boolean; core?: FakeCore } = {},
): Promise<{ e: FakeElectron; d: Desktop; runnerId?: string }> {
  const home = tempDir('sibyl-h3-');
  const configPath = join(home, '.config', 'sibyl', 'runner.yaml');
  mkdirSync(join(home, '.config', 'sibyl'), { recursive: true });
  const env: Record<string, string | undefined> = { HOME: home, PATH: process.env.PATH };
  let runnerId: string | undefined;
  if (opts.core) {
    const r = opts.core.addRunner({ name: 'desk' });
    runnerId = r.id;
    env.SIBYL_ACCESS_TOKEN = r.accessToken;
    writeYaml(configPath, {
      server_url: opts.core.url,
      runner_id: r.id,
      name: 'desk',
      worktree_base: join(home, 'wt'),
      log_dir: join(home, 'logs'),
    });
  }
  const e = fakeElectron({ ...(opts.packaged !== undefined ? { packaged: opts.packaged } : {}) });
  const d = await startTestDesktop(e, desktopOptions(home, configPath, { env, platform: opts.platform ?? 'linux' }));
  return { e, d, ...(runnerId ? { runnerId } : {}) };
}

test('menu and DevTools: packaged macOS gets only the app and Edit menus and no DevTools; elsewhere no menu', async () => {
  const mac = await boot({ platform: 'darwin', packaged: true });
  assert.deepEqual(mac.e.appMenu, [{ role: 'appMenu' }, { role: 'editMenu' }], 'Edit roles make ⌘C/⌘V work; no View menu with Reload');
  assert.equal(FakeBrowserWindow.all[0]!.options.webPreferences.devTools, false, 'no DevTools in a packaged build');

  const dev = await boot({ platform: 'linux', packaged: false });
  assert.equal(dev.e.appMenu, null, "Electron's default menu is replaced by none");
  assert.equal(FakeBrowserWindow.all[0]!.options.webPreferences.devTools, true, 'DevTools while developing');

  const win = fakeElectron();
  applyApplicationMenu(win, 'win32');
  assert.equal(win.appMenu, null);
});

test('permissions: clipboard writes from app://sibyl only; every other permission and origin is denied', async () => {
  const e = fakeElectron();
  const w = new MainWindow(e, { preloadPath: '/p', ourWebContents: new Set() });
  await w.show();
  const wc = FakeBrowserWindow.all[0]!.webContents;
  const ask = (permission: string, requestingUrl: string, isMainFrame = true): boolean => {
    let granted: boolean | undefined;
    wc.permissionHandler!(null, permission, (g) => (granted = g), { isMainFrame, requestingUrl });
    assert.notEqual(granted, undefined, 'the request handler always answers');
    return granted!;
  };
  const check = (permission: string, origin: string, requestingUrl?: string): boolean =>
    wc.checkHandler!(null, permission, origin, { isMainFrame: true, ...(requestingUrl ? { requestingUrl } : {}) });

  assert.equal(ask('clipboard-sanitized-write', 'app://sibyl/index.html#/wizard'), true);
  assert.equal(check('clipboard-sanitized-write', 'app://sibyl'), true, 'a check carries only the origin');
  assert.equal(check('clipboard-sanitized-write', 'app://sibyl', 'app://sibyl/index.html'), true);

  assert.equal(ask('clipboard-sanitized-write', 'https://evil.example/'), false, 'another origin');
  assert.equal(ask('clipboard-sanitized-write', 'app://other/index.html'), false, 'our scheme, another host');
  assert.equal(ask('clipboard-sanitized-write', 'data:text/html,x'), false);
  assert.equal(ask('clipboard-sanitized-write', ''), false, 'unknown requester');
  assert.equal(ask('clipboard-sanitized-write', 'app://sibyl/index.html', false), false, 'a subframe');
  assert.equal(check('clipboard-sanitized-write', 'https://evil.example'), false);
  assert.equal(check('clipboard-sanitized-write', 'app://sibyl', 'https://evil.example/'), false);

  const others = ELECTRON_PERMISSIONS.filter((p) => p !== 'clipboard-sanitized-write');
  assert.equal(others.length, ELECTRON_PERMISSIONS.length - 1);
  for (const p of others) {
    assert.equal(ask(p, APP_URL), false, `${p} requested by our own page`);
    assert.equal(check(p, 'app://sibyl', APP_URL), false, `${p} checked for our own page`);
  }
  assert.equal(isPermissionAllowed('clipboard-read', APP_URL, true), false, 'reading the clipboard stays denied');
});

test('a crashed renderer is reloaded; the 4th crash within a minute shows the error page instead; Open retries', async () => {
  const e = fakeElectron();
  let now = 1_000_000;
  const w = new MainWindow(e, { preloadPath: '/p', ourWebContents: new Set(), now: () => now });
  await w.show();
  const win = FakeBrowserWindow.all[0]!;
  const crash = (reason = 'crashed'): void => win.webContents.emit('render-process-gone', {}, { reason, exitCode: 139 });

  // Spread out, crashes keep being reloaded: the bound is per minute, not per run.
  for (let i = 0; i < 5; i++) {
    crash();
    now += 25_000;
  }
  assert.equal(win.webContents.reloads, 5);
  assert.equal(w.crashed, false);

  now += 120_000;
  crash('oom');
  crash('killed');
  crash();
  assert.equal(win.webContents.reloads, 8, 'three crashes in a minute: three reloads');
  assert.equal(win.url, APP_URL);
  crash();
  assert.equal(win.webContents.reloads, 8, 'the 4th crash in a minute is not reloaded');
  await until(() => win.url === CRASH_PAGE_URL, 'the error page');
  assert.equal(w.crashed, true);
  assert.match(decodeURIComponent(CRASH_PAGE_URL), /stopped working[\s\S]*tray/);
  assert.match(decodeURIComponent(CRASH_PAGE_URL), /default-src 'none'/, 'the error page runs no script');
  now += 1000;
  crash();
  assert.equal(win.webContents.reloads, 8, 'nor is a crash of the error page');
  w.send('sibyl:event', 'app:state', {});
  assert.equal(win.webContents.sent.length, 0, 'nothing is pushed to the error page');

  await w.show(); // the user opens the window from the tray
  assert.equal(FakeBrowserWindow.all.length, 1, 'the same window');
  assert.equal(win.url, APP_URL, 'the app is loaded again');
  assert.equal(w.crashed, false);
  crash();
  assert.equal(win.webContents.reloads, 9, 'with a fresh budget');

  win.close();
  crash();
  assert.equal(win.webContents.reloads, 9, 'a closed window is not reloaded');
});

test('notifications are held until clicked, closed or failed (not collected before the click)', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const { runnerId } = await boot({ core });
  await core.until(() => core.connected(runnerId!), 5000, 'desktop daemon connects');
  const run = async (script: string, n: number): Promise<string> => {
    const taskId = crypto.randomUUID();
    core.send(runnerId!, {
      type: 'task_assign',
      task_id: taskId,
      agent_id: 'agent_eeeeeeeeeeee',
      project_id: 'project_ui',
      config: { prompt: `Task ${n}`, command: ['/bin/sh', '-c', script] },
    });
    await until(() => FakeNotification.shown.length === n, `notification ${n}`, 10_000);
    return taskId;
  };
  const clickedTask = await run('true', 1);
  await run('true', 2);
  await run('exit 3', 3);
  assert.equal(FakeNotification.shown[2]!.title, 'Task failed');

  const alive = (): boolean[] => FakeNotification.made.map((r) => r.deref() !== undefined);
  await collectGarbage();
  assert.deepEqual(alive(), [true, true, true], 'the app holds every shown notification through a GC');

  const windowsBefore = FakeBrowserWindow.all.length;
  FakeNotification.made[0]!.deref()!.emit('click');
  FakeNotification.made[1]!.deref()!.emit('close');
  await collectGarbage();
  assert.deepEqual(alive(), [false, false, true], 'released once clicked or closed');
  FakeNotification.made[2]!.deref()!.emit('failed');
  await collectGarbage();
  assert.deepEqual(alive(), [false, false, false], 'released when it failed to show');

  // The click still did its job after all that: the window opened on the task.
  const win = await until(() => FakeBrowserWindow.all[windowsBefore] ?? FakeBrowserWindow.all.at(-1), 'a window');
  await until(
    () =>
      win.webContents.sent.some(
        (s) => s.args[0] === 'app:navigate' && JSON.stringify(s.args[1]) === JSON.stringify({ route: 'task', taskId: clickedTask }),
      ),
    'navigated to the clicked task',
  );
});
