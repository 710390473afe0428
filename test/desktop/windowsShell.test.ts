import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { APP_ID } from '../../main/desktop/appIdentity.ts';
import type { Desktop } from '../../main/desktop/desktopApp.ts';
import { TrayController } from '../../main/desktop/tray.ts';
import { placeWindow } from '../../main/desktop/windowBounds.ts';
import { MainWindow } from '../../main/desktop/windows.ts';
import type { WindowBounds } from '../../main/desktop/electronSurface.ts';
import { desktopOptions, startTestDesktop } from '../helpers/desktopHarness.ts';
import { FakeBrowserWindow, FakeTray, fakeElectron, type FakeElectron } from '../helpers/fakeElectron.ts';
import { tempDir, until } from '../helpers/tmp.ts';

// Windows (and the Linux tray) cannot run here: the shell's Windows behaviour is driven through the
// fake Electron with platform 'win32'; the placement of the window is a pure function.

const MIN = { width: 720, height: 480 };
const primary = { workArea: { x: 0, y: 0, width: 1920, height: 1040 } };
const right = { workArea: { x: 1920, y: 0, width: 2560, height: 1400 } };

test('window bounds: kept on the display they are on, centred on the primary when off every display', () => {
  assert.equal(placeWindow(undefined, [primary], primary, MIN), undefined, 'nothing saved: the defaults');
  const onRight = { x: 2100, y: 100, width: 1200, height: 800 };
  assert.deepEqual(placeWindow(onRight, [primary, right], primary, MIN), onRight, 'on the second monitor: unchanged');
  // The second monitor was unplugged since.
  assert.deepEqual(placeWindow(onRight, [primary], primary, MIN), { x: 360, y: 120, width: 1200, height: 800 });
  // Saved while minimised on Windows (the old getBounds()): -32000, and the size of a taskbar button.
  assert.deepEqual(placeWindow({ x: -32000, y: -32000, width: 160, height: 28 }, [primary, right], primary, MIN), {
    x: 600,
    y: 280,
    width: 720,
    height: 480,
  });
  // Mostly on the primary, title bar above its top: moved just enough to lie in the work area.
  assert.deepEqual(placeWindow({ x: 1500, y: -50, width: 1000, height: 700 }, [primary], primary, MIN), {
    x: 920,
    y: 0,
    width: 1000,
    height: 700,
  });
  // Bigger than the display it is on (a lower resolution now): shrunk to its work area.
  assert.deepEqual(placeWindow({ x: 10, y: 10, width: 3000, height: 2000 }, [primary], primary, MIN), {
    x: 0,
    y: 0,
    width: 1920,
    height: 1040,
  });
  // A sliver of 20 px left on a display is off it; the primary need not start at 0,0 (a taskbar on the left).
  const shifted = { workArea: { x: 48, y: 0, width: 1872, height: 1080 } };
  assert.deepEqual(placeWindow({ x: 1900, y: 100, width: 800, height: 600 }, [shifted], shifted, MIN), {
    x: 48 + (1872 - 800) / 2,
    y: 240,
    width: 800,
    height: 600,
  });
  assert.equal(placeWindow({ x: Number.NaN, y: 0, width: 800, height: 600 }, [primary], primary, MIN), undefined);
});

test('the window saves its normal bounds, not a minimised one, and reopens on a display', async () => {
  const e = fakeElectron();
  let saved: WindowBounds | undefined;
  const w = new MainWindow(e, { preloadPath: '/p', ourWebContents: new Set(), bounds: { get: () => saved, set: (b) => (saved = b) } });
  const first = (await w.show()) as FakeBrowserWindow;
  assert.deepEqual([first.options.width, first.options.height, first.options.x], [1080, 720, undefined]);
  first.minimized = true;
  first.close();
  assert.deepEqual(saved, { x: 0, y: 0, width: 1080, height: 720 }, 'getNormalBounds, not -32000');

  saved = { x: 2100, y: 100, width: 1200, height: 800 };
  e.displays = [primary.workArea, right.workArea];
  const second = (await w.show()) as FakeBrowserWindow;
  assert.deepEqual(second.getNormalBounds(), saved, 'on a display that is still there: where it was');
  second.close();
  e.displays = [primary.workArea];
  const third = (await w.show()) as FakeBrowserWindow;
  assert.deepEqual(third.getNormalBounds(), { x: 360, y: 120, width: 1200, height: 800 }, 'its display is gone: centred');
});

test('tray: a left click opens the window on Windows and Linux; on macOS a click is the menu', () => {
  const electron = fakeElectron();
  for (const platform of ['win32', 'linux', 'darwin'] as const) {
    const actions: string[] = [];
    const tray = new FakeTray(undefined);
    new TrayController({ electron, tray, trayDir: '/t', platform, onAction: (id) => actions.push(id) });
    tray.emit('click');
    assert.deepEqual(actions, platform === 'darwin' ? [] : ['open'], platform);
    assert.equal(tray.listeners.has('click'), platform !== 'darwin');
  }
});

async function bootDesktop(platform: NodeJS.Platform, e: FakeElectron): Promise<Desktop> {
  const home = tempDir('sibyl-winshell-');
  mkdirSync(join(home, '.config', 'sibyl'), { recursive: true });
  const configPath = join(home, '.config', 'sibyl', 'runner.yaml');
  return startTestDesktop(e, desktopOptions(home, configPath, { platform, execPath: 'C:\\Program Files\\Sibyl Runner\\Sibyl Runner.exe' }));
}

test("Windows: the AppUserModelID is the installer's appId, claimed before anything is shown; left click on the tray opens the window", async () => {
  const builderAppId = (parse(readFileSync(new URL('../../electron-builder.yml', import.meta.url), 'utf8')) as { appId: string }).appId;
  assert.equal(APP_ID, builderAppId, 'electron-builder NSIS gives the Start menu shortcut appId as its AUMID');

  const e = fakeElectron();
  FakeTray.last = undefined;
  const order: string[] = [];
  const ready = e.app.whenReady.bind(e.app);
  e.app.whenReady = () => (order.push('whenReady'), ready());
  e.app.setAppUserModelId = (id) => order.push(`aumid ${id} tray=${FakeTray.last ? 'yes' : 'no'} windows=${FakeBrowserWindow.all.length}`);
  await bootDesktop('win32', e);
  assert.deepEqual(order, [`aumid ${APP_ID} tray=no windows=0`, 'whenReady']);

  // First run: the window is open. Closed, a left click on the tray brings it back.
  const tray = FakeTray.last!;
  FakeBrowserWindow.all[0]!.close();
  tray.emit('click');
  await until(() => FakeBrowserWindow.all.length === 2 && FakeBrowserWindow.all[1]!.visible, 'window opened by a left click');
});

test('Linux and macOS: no AppUserModelID call (Electron has none there)', async () => {
  for (const platform of ['linux', 'darwin'] as const) {
    const e = fakeElectron();
    const calls: string[] = [];
    e.app.setAppUserModelId = (id) => calls.push(id);
    await bootDesktop(platform, e);
    assert.deepEqual(calls, [], platform);
  }
});
