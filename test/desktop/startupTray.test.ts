import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startDesktop, type Desktop } from '../../main/desktop/desktopApp.ts';
import type { WindowBounds } from '../../main/desktop/electronSurface.ts';
import type { AppState, IpcResult } from '../../preload/contract.ts';
import { desktopOptions } from '../helpers/desktopHarness.ts';
import { FakeBrowserWindow, FakeTray, fakeElectron, type FakeElectron } from '../helpers/fakeElectron.ts';
import { tempDir, until } from '../helpers/tmp.ts';

/**
 * The tray and the window work while the app is still starting (a keyring prompt can last as long
 * as the user leaves it), and quitting keeps the window's position.
 */

/**
 * Starts the desktop (first run: no runner.yaml) without waiting for it. With `hold`, the OS
 * keyring does not answer until `release()`: start-up stops in the vault, as behind a prompt.
 */
function begin(opts: {
  platform?: NodeJS.Platform;
  hold?: boolean;
  bounds?: { get(): WindowBounds | undefined; set(b: WindowBounds): void };
}) {
  const home = tempDir('sibyl-startuptray-');
  const e = fakeElectron({ userData: join(home, 'userData') });
  let release = (): void => {};
  if (opts.hold) {
    const keyring = new Promise<void>((r) => (release = r));
    e.safeStorage.isAsyncEncryptionAvailable = async () => (await keyring, true);
  }
  const started = startDesktop(
    e,
    desktopOptions(home, join(home, '.config', 'sibyl', 'runner.yaml'), {
      platform: opts.platform ?? 'linux',
      quitDrainMs: 1000,
      ...(opts.bounds ? { windowBounds: opts.bounds } : {}),
    }),
  );
  after(async () => {
    release();
    await (await started)?.service.close();
  });
  return { e, started, release: () => release() };
}

const menuIds = (): string[] => (FakeTray.last?.menu ?? []).map((m) => m.id ?? m.type ?? '');
const status = () => FakeTray.last?.menu.find((m) => m.id === 'status');

/** Let every pending callback run; a request that could be answered now would be by then. */
async function drain(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

function invokeState(e: FakeElectron): Promise<IpcResult<AppState>> {
  const trusted = {
    sender: { id: FakeBrowserWindow.all.at(-1)?.webContents.id ?? -1 },
    senderFrame: { url: 'app://sibyl/index.html', parent: null },
  };
  return e.invoke(trusted, 'app:state', {}) as Promise<IpcResult<AppState>>;
}

for (const platform of ['darwin', 'linux'] as const) {
  test(`${platform}: while start-up waits on the keyring the tray has a Starting… menu, and Quit quits`, async () => {
    const { e, started, release } = begin({ platform, hold: true });
    await until(() => status(), 'the tray has a menu before start-up finishes');
    assert.equal(status()?.label, 'Starting…');
    assert.equal(status()?.enabled, false);
    assert.ok(menuIds().includes('open') && menuIds().includes('quit'), `Open and Quit offered: ${menuIds().join(', ')}`);
    await drain();
    assert.equal(status()?.label, 'Starting…', 'start-up is really held');

    FakeTray.last!.click('quit');
    await until(() => e.exitCode === 0, 'Quit exits during start-up');
    assert.ok(FakeTray.last!.destroyed, 'the tray is gone');
    // before-quit (Cmd+Q, the OS logging out) during start-up goes the same way, once.
    let prevented = false;
    e.appEvents.emit('before-quit', { preventDefault: () => (prevented = true) });
    assert.equal(prevented, false, 'an exit already under way is not held again');
    assert.equal(await Promise.race([started, drain().then(() => 'pending')]), 'pending');
    release();
    assert.equal(await started, undefined, 'once the keyring answers, what start-up built is closed, not run');
  });
}

test('a window opened during start-up stays open-able and closable without quitting, and gets its app:state once ready', async () => {
  const { e, started, release } = begin({ platform: 'linux', hold: true });
  await until(() => status(), 'the tray exists');
  FakeTray.last!.emit('click'); // a left click opens the window on Windows and Linux
  await until(() => FakeBrowserWindow.all[0]?.visible, 'the window opens during start-up');

  FakeBrowserWindow.all[0]!.close();
  await drain();
  assert.equal(e.exitCode, undefined, 'closing the only window during start-up does not quit');

  FakeTray.last!.click('open');
  await until(() => FakeBrowserWindow.all[1]?.visible, 'opened again from the menu');
  let settled = false;
  const asked = invokeState(e).finally(() => (settled = true));
  await drain();
  assert.equal(settled, false, 'the request waits for the service instead of failing');

  release();
  const res = await asked;
  assert.ok(res.ok, JSON.stringify(res));
  assert.equal(res.value.registered, false);
  const d = await started;
  assert.ok(d, 'start-up finishes');
  await until(() => status()?.label !== 'Starting…' && menuIds().includes('register'), 'the tray shows the real state');
  assert.equal(FakeBrowserWindow.all.filter((w) => !w.destroyed).length, 1, 'the open window is reused, no second one');
  assert.equal(e.exitCode, undefined);
});

test('quitting with the window open keeps its position (app.exit skips the window close)', async () => {
  let saved: WindowBounds | undefined = { x: 40, y: 50, width: 900, height: 600 };
  const { e, started } = begin({ bounds: { get: () => saved, set: (b) => void (saved = b) } });
  const d: Desktop | undefined = await started;
  assert.ok(d);
  const win = FakeBrowserWindow.all[0]!;
  assert.ok(win.visible, 'first run opens the window');
  saved = undefined;
  void d.quit();
  await until(() => e.exitCode === 0, 'quit');
  assert.equal(win.destroyed, false, 'the window was never closed');
  assert.deepEqual(saved, { x: 40, y: 50, width: 900, height: 600 });
});
