import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AppState } from '../../preload/contract.ts';
import type { Desktop } from '../../main/desktop/desktopApp.ts';
import { FileCredentialStore, type Credentials } from '../../main/runner/config/credentials.ts';
import { desktopOptions, startTestDesktop } from '../helpers/desktopHarness.ts';
import { FakeBrowserWindow, FakeTray, fakeElectron, type FakeElectron } from '../helpers/fakeElectron.ts';
import { tempDir, until } from '../helpers/tmp.ts';
import { writeYaml } from '../helpers/runnerHarness.ts';

/**
 * The CLI and the app each keep their own credentials: the app reads the CLI's credentials.json
 * at most to copy it, never changes or deletes it, and a keyring it cannot use is shown as that.
 */

const cliCreds: Credentials = { access_token: 'cli-at', refresh_token: 'cli-rt', server_url: 'https://sibyl.example' };

async function boot(opts: { keyring: boolean; cliLogin: boolean }): Promise<{ e: FakeElectron; d: Desktop; cliFile: string }> {
  const home = tempDir('sibyl-faces-');
  const dir = join(home, '.config', 'sibyl');
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, 'runner.yaml');
  // Registered with an unreachable server: the app starts its runner, which keeps retrying; enough here.
  writeYaml(configPath, { server_url: 'http://127.0.0.1:9', runner_id: 'r-1', name: 'desk', worktree_base: join(home, 'wt') });
  const cliFile = join(dir, 'credentials.json');
  if (opts.cliLogin) await new FileCredentialStore(cliFile).save(cliCreds);
  const e = fakeElectron({ keyring: opts.keyring, userData: join(home, 'userData') });
  const d = await startTestDesktop(e, desktopOptions(home, configPath, { quitDrainMs: 1000 }));
  return { e, d, cliFile };
}

const trusted = () => ({
  sender: { id: [...FakeBrowserWindow.all].at(-1)?.webContents.id ?? -1 },
  senderFrame: { url: 'app://sibyl/index.html', parent: null },
});

test('the app copies the CLI sign-in, signs out on its own, and never touches credentials.json', async () => {
  const { d, cliFile } = await boot({ keyring: true, cliLogin: true });
  const bytes = readFileSync(cliFile);
  const { mtimeMs, mode } = statSync(cliFile);
  assert.equal(d.service.state().signedIn, true, 'the CLI login is offered to the app');
  assert.equal(d.service.state().credentialsError, undefined);

  await d.service.handlers['account:signOut']({});
  assert.equal(d.service.state().signedIn, false, 'the app signed out');

  assert.deepEqual(readFileSync(cliFile), bytes);
  assert.equal(statSync(cliFile).mtimeMs, mtimeMs);
  assert.equal(statSync(cliFile).mode, mode);
  assert.deepEqual(await new FileCredentialStore(cliFile).load(), cliCreds, 'the headless CLI is still signed in');
});

test('an unavailable keyring shows in the app state and the tray as a keyring error, not "Signed out"', async () => {
  const { e, cliFile } = await boot({ keyring: false, cliLogin: true });
  const bytes = readFileSync(cliFile);
  // A registered runner starts in the tray: open the window as a second launch would.
  e.appEvents.emit('second-instance', { preventDefault() {} });
  await until(() => FakeBrowserWindow.all[0]?.visible, 'the window opens');
  const res = (await e.invoke(trusted(), 'app:state', {})) as { ok: boolean; value: AppState };
  assert.equal(res.ok, true);
  assert.equal(res.value.signedIn, false);
  assert.equal(res.value.credentialsError?.code, 'keyring_unavailable');
  assert.equal(res.value.credentialsError?.remedy, 'retry');
  assert.match(res.value.credentialsError?.message ?? '', /keyring/);
  const status = () => FakeTray.last?.menu.find((m) => m.id === 'status')?.label ?? '';
  await until(() => /^Can't read credentials/.test(status()), 'the tray says the credentials cannot be read');
  assert.doesNotMatch(status(), /Signed out/);
  assert.deepEqual(readFileSync(cliFile), bytes);
});
