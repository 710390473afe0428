import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { LoginItemSettings, LoginItemSettingsOptions, Settings } from 'electron';
import { createAutostart, execArg, macLoginItemState } from '../../main/desktop/autostart.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Electron's login-item calls, recorded; `current` is what the "OS" reports back. */
function fakeApp(current: Partial<LoginItemSettings> = {}) {
  const calls = { set: [] as Settings[], get: [] as (LoginItemSettingsOptions | undefined)[] };
  const state: LoginItemSettings = {
    openAtLogin: false,
    wasOpenedAtLogin: false,
    status: 'not-registered',
    executableWillLaunchAtLogin: false,
    launchItems: [],
    ...current,
  };
  return {
    calls,
    state,
    app: {
      getLoginItemSettings(options?: LoginItemSettingsOptions): LoginItemSettings {
        calls.get.push(options);
        return { ...state };
      },
      setLoginItemSettings(settings: Settings): void {
        calls.set.push(settings);
      },
    },
  };
}

function linux(env: Record<string, string | undefined> = {}, execPath = '/opt/Sibyl Runner/sibyl-runner') {
  const home = tempDir('sibyl-autostart-');
  const fake = fakeApp();
  const autostart = createAutostart({ platform: 'linux', app: fake.app, homeDir: home, env, execPath });
  return { home, fake, autostart, file: join(home, '.config', 'autostart', 'sibyl-runner.desktop') };
}

describe('autostart on Linux (XDG)', () => {
  test('enabling writes the entry, disabling removes it, get follows the file', async () => {
    const { autostart, file, fake } = linux({});
    assert.equal(await autostart.get(), false);
    await autostart.set(true);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^\[Desktop Entry\]\n/);
    for (const line of ['Type=Application', 'Name=Sibyl Runner', 'Terminal=false', 'X-GNOME-Autostart-enabled=true']) {
      assert.ok(text.split('\n').includes(line), `missing ${line}`);
    }
    assert.match(text, /^Comment=.+$/m);
    assert.ok(text.split('\n').includes('Exec="/opt/Sibyl Runner/sibyl-runner" --hidden'));
    assert.equal(await autostart.get(), true);
    assert.equal(autostart.describe(), `XDG autostart entry ${file}`);

    await autostart.set(false);
    assert.equal(existsSync(file), false);
    assert.equal(await autostart.get(), false);
    await autostart.set(false); // already off: no error
    assert.deepEqual(fake.calls, { set: [], get: [] }, 'Electron login items are not used on Linux');
  });

  test('get reflects an entry edited by hand', async () => {
    const { autostart, file } = linux({});
    await autostart.set(true);
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('X-GNOME-Autostart-enabled=true', 'X-GNOME-Autostart-enabled=false'));
    assert.equal(await autostart.get(), false);
    writeFileSync(file, original + 'Hidden=true\n');
    assert.equal(await autostart.get(), false);
    writeFileSync(file, original + 'Hidden=false\n');
    assert.equal(await autostart.get(), true);
    // Keys of another group do not count.
    writeFileSync(file, original + '\n[Desktop Action other]\nHidden=true\n');
    assert.equal(await autostart.get(), true);
  });

  test('XDG_CONFIG_HOME and $APPIMAGE are honoured; a relative XDG_CONFIG_HOME is ignored', async () => {
    const home = tempDir('sibyl-autostart-');
    const configHome = join(home, 'cfg');
    const a = createAutostart({
      platform: 'linux',
      app: fakeApp().app,
      homeDir: home,
      env: { XDG_CONFIG_HOME: configHome, APPIMAGE: '/home/me/Apps/Sibyl Runner-0.1.0.AppImage' },
      execPath: '/tmp/.mount_SibylXYZ/sibyl-runner',
      args: ['--enable-features=X'],
    });
    await a.set(true);
    const text = readFileSync(join(configHome, 'autostart', 'sibyl-runner.desktop'), 'utf8');
    assert.ok(text.split('\n').includes('Exec="/home/me/Apps/Sibyl Runner-0.1.0.AppImage" --enable-features=X --hidden'), text);
    assert.equal(statSync(join(configHome, 'autostart', 'sibyl-runner.desktop')).mode & 0o777, 0o644);

    const b = createAutostart({
      platform: 'linux',
      app: fakeApp().app,
      homeDir: home,
      env: { XDG_CONFIG_HOME: 'relative/cfg' },
      execPath: '/usr/bin/x',
    });
    assert.equal(b.describe(), `XDG autostart entry ${join(home, '.config', 'autostart', 'sibyl-runner.desktop')}`);
  });

  test('Exec quoting follows the Desktop Entry spec', () => {
    assert.equal(execArg('/usr/bin/sibyl-runner'), '/usr/bin/sibyl-runner');
    assert.equal(execArg('/opt/My App/run'), '"/opt/My App/run"');
    // Quoting escapes ", `, $ and \ with a backslash; the string-value escape then doubles every backslash.
    assert.equal(execArg('/opt/a"b'), '"/opt/a\\\\"b"');
    assert.equal(execArg('/opt/$HOME'), '"/opt/\\\\$HOME"');
    assert.equal(execArg('/opt/back\\slash'), '"/opt/back\\\\\\\\slash"');
    assert.equal(execArg('/opt/100%'), '/opt/100%%');
    assert.equal(execArg("/opt/it's"), '"/opt/it\'s"');
    assert.equal(execArg(''), '""');
  });
});

describe('autostart on macOS and Windows (Electron login items)', () => {
  test('macOS: set passes only openAtLogin (SMAppService takes no arguments); get and state read the OS', async () => {
    const fake = fakeApp({ openAtLogin: true });
    const a = createAutostart({
      platform: 'darwin',
      app: fake.app,
      homeDir: '/nonexistent',
      env: {},
      execPath: '/Applications/Sibyl Runner.app/Contents/MacOS/Sibyl Runner',
    });
    await a.set(true);
    await a.set(false);
    assert.deepEqual(fake.calls.set, [{ openAtLogin: true }, { openAtLogin: false }]);
    // Before macOS 13 there is no status: openAtLogin says it.
    assert.equal(await a.get(), true, 'the value comes from getLoginItemSettings, not from the last set');
    fake.state.openAtLogin = false;
    assert.equal(await a.get(), false);
    // macOS 13+: registered but waiting for the user's approval is not on, and says what to do.
    Object.assign(fake.state, { openAtLogin: true, status: 'requires-approval' });
    assert.equal(await a.get(), false);
    const pending = await a.state();
    assert.equal(pending.status, 'requires-approval');
    assert.match(pending.hint ?? '', /System Settings/);
    Object.assign(fake.state, { status: 'enabled' });
    assert.deepEqual(await a.state(), { status: 'enabled' });
    assert.equal(a.describe(), 'macOS login item');
  });

  test('Windows: set and get name the same executable and quoted arguments', async () => {
    const fake = fakeApp({ openAtLogin: true, executableWillLaunchAtLogin: true });
    const exe = 'C:\\Users\\me\\AppData\\Local\\Programs\\Sibyl Runner\\Sibyl Runner.exe';
    const a = createAutostart({
      platform: 'win32',
      app: fake.app,
      homeDir: 'C:\\Users\\me',
      env: {},
      execPath: exe,
      args: ['C:\\dev\\my app'],
    });
    await a.set(true);
    assert.deepEqual(fake.calls.set, [{ openAtLogin: true, enabled: true, path: exe, args: ['"C:\\dev\\my app"', '--hidden'] }]);
    assert.equal(await a.get(), true);
    assert.deepEqual(fake.calls.get, [{ path: exe, args: ['"C:\\dev\\my app"', '--hidden'] }]);
    // Disabled in Task Manager: the Run key is still there but Windows will not start it.
    fake.state.executableWillLaunchAtLogin = false;
    assert.equal(await a.get(), false);
    await a.set(false);
    assert.deepEqual(fake.calls.set[1], { openAtLogin: false, enabled: false, path: exe, args: ['"C:\\dev\\my app"', '--hidden'] });
  });

  test('macOS login-item status: each of the four states of macOS 13+ shown as the OS has it', () => {
    assert.deepEqual(macLoginItemState({ openAtLogin: true, status: 'enabled' }), { status: 'enabled' });
    assert.equal(macLoginItemState({ openAtLogin: true, status: 'requires-approval' }).status, 'requires-approval');
    assert.equal(macLoginItemState({ openAtLogin: false, status: 'not-found' }).status, 'not-found');
    assert.match(macLoginItemState({ openAtLogin: false, status: 'not-found' }).hint ?? '', /Applications/);
    assert.deepEqual(macLoginItemState({ openAtLogin: false, status: 'not-registered' }), { status: 'off' });
  });
});
