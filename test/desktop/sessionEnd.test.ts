import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Desktop } from '../../main/desktop/desktopApp.ts';
import type { WindowBounds } from '../../main/desktop/electronSurface.ts';
import { desktopOptions, startTestDesktop } from '../helpers/desktopHarness.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { FakeBrowserWindow, FakeTray, fakeElectron, type FakeElectron } from '../helpers/fakeElectron.ts';
import { agentGate, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

// Logging out, restarting or shutting down must never wait on the drain that an ordinary Quit does
// (macOS cancels a logout for an app that does not quit; Windows shows "this app is preventing
// shutdown"). The OS's signals are driven through the fake Electron.

/** A registered desktop on `platform` with one task running (its agent waits for the gate), the window open. */
async function busyDesktop(platform: NodeJS.Platform): Promise<{ e: FakeElectron; d: Desktop; saved: WindowBounds[] }> {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const home = tempDir();
  const configPath = join(home, '.config', 'sibyl', 'runner.yaml');
  mkdirSync(join(home, '.config', 'sibyl'), { recursive: true });
  const r = core.addRunner({ name: 'desk' });
  writeYaml(configPath, {
    server_url: core.url,
    runner_id: r.id,
    name: 'desk',
    worktree_base: join(home, 'wt'),
    log_dir: join(home, 'logs'),
  });
  const e = fakeElectron();
  const saved: WindowBounds[] = [];
  const d = await startTestDesktop(
    e,
    desktopOptions(home, configPath, {
      platform,
      env: { HOME: home, PATH: process.env.PATH, SIBYL_ACCESS_TOKEN: r.accessToken },
      // The exits below are checked synchronously: no drain of any length could have run by then.
      quitDrainMs: 5000,
      windowBounds: { get: () => undefined, set: (b) => void saved.push(b) },
    }),
  );
  await core.until(() => core.connected(r.id), 5000, 'the desktop connects');
  // Never opened: the agent runs until the service is closed when the file ends.
  const gate = agentGate();
  core.send(r.id, {
    type: 'task_assign',
    task_id: crypto.randomUUID(),
    agent_id: 'agent_eeeeeeeeeeee',
    project_id: 'project_ui',
    config: { prompt: 'Work through the logout', command: ['/bin/sh', '-c', gate.waitScript] },
  });
  await until(() => d.service.state().daemon?.running.length === 1, 'the task runs');
  // A second launch opens the window (a registered runner starts in the tray).
  e.appEvents.emit('second-instance', { preventDefault() {} });
  await until(() => FakeBrowserWindow.all.length === 1, 'the window is open');
  return { e, d, saved };
}

for (const platform of ['darwin', 'linux'] as const) {
  test(`${platform}: the OS logging out or shutting down (powerMonitor 'shutdown') exits at once, without the drain`, async () => {
    const { e, d, saved } = await busyDesktop(platform);
    e.power.emit('shutdown');
    assert.equal(e.exitCode, 0, 'exited in the handler, not after a drain');
    assert.equal(d.service.state().daemon?.running.length, 1, 'the running task was not drained: the journal keeps it for the next start');
    assert.deepEqual(saved, [{ x: 0, y: 0, width: 1080, height: 720 }], 'the window position is kept');
    assert.equal(FakeTray.last!.destroyed, true);
    // The quit the OS then asks for is not held up either.
    let prevented = false;
    e.appEvents.emit('before-quit', { preventDefault: () => (prevented = true) });
    assert.equal(prevented, false);
  });
}

test("win32: the window's 'session-end' exits at once, also while an ordinary Quit is draining", async () => {
  const { e, saved } = await busyDesktop('win32');
  const win = FakeBrowserWindow.all[0]!;
  assert.equal(win.listeners.get('session-end')?.length, 1);
  e.appEvents.emit('second-instance', { preventDefault() {} });
  await until(() => win.focused === 1, 'the window is shown again');
  assert.equal(win.listeners.get('session-end')?.length, 1, 'one handler per window, however often it is shown');
  // The user chose Quit: the drain starts …
  let prevented = false;
  e.appEvents.emit('before-quit', { preventDefault: () => (prevented = true) });
  assert.equal(prevented, true, 'an ordinary Quit drains');
  assert.equal(e.exitCode, undefined);
  // … and then Windows ends the session: no more waiting.
  win.emit('session-end');
  assert.equal(e.exitCode, 0);
  assert.ok(saved.length >= 1, 'the window position is kept');
});
