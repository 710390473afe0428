import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startDesktop, type Desktop } from '../../main/desktop/desktopApp.ts';
import type { AppState } from '../../preload/contract.ts';
import { desktopOptions, startTestDesktop } from '../helpers/desktopHarness.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { FakeBrowserWindow, FakeNotification, FakeTray, fakeElectron, type FakeElectron } from '../helpers/fakeElectron.ts';
import { agentGate, BIN, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

async function boot(
  opts: { registered?: FakeCore; argv?: string[] } = {},
): Promise<{ e: FakeElectron; d: Desktop; home: string; runnerId?: string }> {
  const home = tempDir();
  const configPath = join(home, '.config', 'sibyl', 'runner.yaml');
  mkdirSync(join(home, '.config', 'sibyl'), { recursive: true });
  let runnerId: string | undefined;
  const env: Record<string, string | undefined> = { HOME: home, PATH: process.env.PATH };
  if (opts.registered) {
    const r = opts.registered.addRunner({ name: 'desk' });
    runnerId = r.id;
    env.SIBYL_ACCESS_TOKEN = r.accessToken;
    writeYaml(configPath, {
      server_url: opts.registered.url,
      runner_id: r.id,
      name: 'desk',
      worktree_base: join(home, 'wt'),
      log_dir: join(home, 'logs'),
    });
  }
  const e = fakeElectron();
  const d = await startTestDesktop(e, desktopOptions(home, configPath, { env, argv: opts.argv ?? [] }));
  return { e, d, home, ...(runnerId ? { runnerId } : {}) };
}

const trusted = () => ({
  sender: { id: [...FakeBrowserWindow.all].at(-1)!.webContents.id },
  senderFrame: { url: 'app://sibyl/index.html', parent: null },
});

test('first run: the window opens locked down on the wizard; IPC round trip through the contract', async () => {
  const { e } = await boot();
  const win = FakeBrowserWindow.all[0]!;
  assert.deepEqual(win.options.webPreferences, {
    preload: '/app/preload.cjs',
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    webSecurity: true,
    spellcheck: false,
    devTools: true,
  });
  assert.equal(win.url, 'app://sibyl/index.html');
  assert.equal(win.visible, true);
  assert.deepEqual(win.webContents.openHandler?.({ url: 'https://docs.example/' }), { action: 'deny' });
  assert.deepEqual(e.opened, ['https://docs.example/'], 'http(s) links go to the OS browser');
  win.webContents.openHandler?.({ url: 'file:///etc/passwd' });
  assert.equal(e.opened.length, 1);
  let prevented = false;
  win.webContents.emit('will-navigate', { preventDefault: () => (prevented = true) }, 'https://evil.example/');
  assert.ok(prevented, 'navigation away is blocked');
  let granted: boolean | undefined;
  win.webContents.permissionHandler?.(null, 'media', (g) => (granted = g), { isMainFrame: true, requestingUrl: 'app://sibyl/index.html' });
  assert.equal(granted, false);
  const res = (await e.invoke(trusted(), 'app:state', {})) as { ok: boolean; value: AppState };
  assert.equal(res.ok, true);
  assert.equal(res.value.registered, false);
  const bad = (await e.invoke(trusted(), 'settings:set', { maxAgents: 500 })) as { ok: boolean; error: { code: string; message: string } };
  assert.equal(bad.ok, false);
  assert.match(bad.error.message, /maxAgents/);
  const foreign = (await e.invoke(
    { sender: { id: 999 }, senderFrame: { url: 'app://sibyl/index.html', parent: null } },
    'app:state',
    {},
  )) as { ok: boolean; error: { code: string } };
  assert.equal(foreign.error.code, 'forbidden');
  const sub = (await e.invoke(
    { sender: trusted().sender, senderFrame: { url: 'app://sibyl/index.html', parent: {} } },
    'app:state',
    {},
  )) as { ok: boolean };
  assert.equal(sub.ok, false, 'subframes are refused');
  await until(
    () => FakeTray.last?.menu.find((m) => m.id === 'register')?.label === 'Register…',
    'tray offers Register… (rendered within 100 ms)',
    500,
  );
});

test('registered: started hidden at login, tray follows the runner state, pause from the tray, notification on completion', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const { e, runnerId } = await boot({ registered: core, argv: ['--hidden'] });
  assert.equal(FakeBrowserWindow.all.length, 0, '--hidden with a registration opens no window');
  await core.until(() => core.connected(runnerId!), 5000, 'desktop daemon connects');
  const tray = FakeTray.last!;
  await until(() => (tray.image as { path: string }).path.endsWith('online.png'), 'tray shows online');
  assert.match(tray.tooltip, /desk/);
  const gate = agentGate();
  core.send(runnerId!, {
    type: 'task_assign',
    task_id: crypto.randomUUID(),
    agent_id: 'agent_eeeeeeeeeeee',
    project_id: 'project_ui',
    config: { prompt: 'Polish the tray', command: ['/bin/sh', '-c', gate.waitScript] },
  });
  await until(() => (tray.image as { path: string }).path.endsWith('busy.png'), 'tray shows busy');
  assert.ok(tray.menu.some((m) => m.label === 'project_ui — Polish the tray · <1m'));
  gate.open();
  await until(() => FakeNotification.shown.length === 1, 'a notification when the task completes', 5000);
  assert.equal(FakeNotification.shown[0]!.title, 'Task completed');
  await until(() => (tray.image as { path: string }).path.endsWith('online.png'), 'back to online');
  tray.click('pause');
  await until(() => (tray.image as { path: string }).path.endsWith('paused.png'), 'tray shows paused');
  await core.waitFor((f) => f.message?.type === 'status' && f.message.status === 'draining', 3000, 'draining status sent');
  tray.click('startAtLogin');
  await until(() => tray.menu.find((m) => m.id === 'startAtLogin')?.checked === true, 'start at login checked (read back from the OS)');
  tray.click('dashboard');
  await until(() => FakeBrowserWindow.all.length === 1, 'window opened from the tray');
  e.appEvents.emit('second-instance', { preventDefault() {} });
  assert.equal(FakeBrowserWindow.all.length, 1, 'a second launch focuses the window, no new one');
  await until(() => tray.menu.some((m) => m.id === 'resume'), 'tray offers Resume');
  tray.click('resume');
  await until(
    () => FakeBrowserWindow.all[0]!.webContents.sent.some((s) => s.channel === 'sibyl:event' && s.args[0] === 'app:state'),
    'state pushed to the window',
  );
  let prevented = false;
  e.appEvents.emit('before-quit', { preventDefault: () => (prevented = true) });
  assert.ok(prevented, 'quit waits for the drain');
  await until(() => e.exitCode === 0, 'exits after draining', 5000);
  assert.ok(tray.destroyed);
});

test('a second instance quits at once', async () => {
  const e = fakeElectron({ singleInstance: false });
  const d = await startDesktop(e, {
    home: tempDir(),
    configPath: join(tempDir(), 'r.yaml'),
    env: {},
    platform: 'linux',
    argv: [],
    execPath: '/x',
    rendererDir: '/r',
    preloadPath: '/p',
    trayDir: '/t',
    logDir: tempDir(),
    coreEntry: BIN,
  });
  assert.equal(d, undefined);
  assert.equal(e.exitCode, 0);
});

test('the window opens where it was left (bounds kept in the desktop preferences)', async () => {
  const e = fakeElectron();
  let saved: { x: number; y: number; width: number; height: number } | undefined = { x: 40, y: 50, width: 900, height: 600 };
  const home = tempDir();
  const d = await startDesktop(e, {
    home,
    configPath: join(home, 'r.yaml'),
    env: { HOME: home },
    platform: 'linux',
    argv: [],
    execPath: '/x',
    rendererDir: '/r',
    preloadPath: '/p',
    trayDir: '/t',
    logDir: join(home, 'logs'),
    coreEntry: BIN,
    windowBounds: { get: () => saved, set: (b) => void (saved = b) },
  });
  assert.ok(d);
  after(() => d.service.close());
  const win = FakeBrowserWindow.all[0]!;
  assert.deepEqual([win.options.x, win.options.y, win.options.width, win.options.height], [40, 50, 900, 600]);
  saved = undefined;
  win.close();
  assert.deepEqual(saved, { x: 40, y: 50, width: 900, height: 600 }, 'saved on close');
});
