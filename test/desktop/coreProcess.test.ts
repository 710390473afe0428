import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PARENT_CREDENTIALS_ENV } from '../../main/runner/config/parentCredentials.ts';
import { desktopOptions, startTestDesktop } from '../helpers/desktopHarness.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { FakeNotification, fakeElectron } from '../helpers/fakeElectron.ts';
import { assign, BIN, writeYaml } from '../helpers/runnerHarness.ts';
import { processGone, tempDir, until } from '../helpers/tmp.ts';

test('the desktop runs its core in a utilityProcess: the CLI entry with `run --config`, credentials from the app, notifications from the stream, drained on quit', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const home = tempDir('sibyl-desk-core-');
  const { id, accessToken } = core.addRunner({ name: 'desk' });
  const configPath = join(home, '.config', 'sibyl', 'runner.yaml');
  mkdirSync(join(home, '.config', 'sibyl'), { recursive: true });
  writeYaml(configPath, {
    server_url: core.url,
    runner_id: id,
    name: 'desk',
    worktree_base: join(home, 'wt'),
    log_dir: join(home, 'logs'),
  });
  const e = fakeElectron();
  const d = await startTestDesktop(e, desktopOptions(home, configPath, { env: { HOME: home, PATH: process.env.PATH } }));
  // Signed in through the window, as a user would: the token goes to the app's vault (safeStorage), not to credentials.json.
  const signIn = await d.service.handlers['wizard:useToken']({ serverUrl: core.url, token: accessToken });
  assert.ok(signIn.user);
  await d.service.handlers['runner:restart']({});
  await core.until(() => core.connected(id), 15_000, 'the core connects with the vault’s token');

  const fork = e.utilityForks.at(-1)!;
  assert.equal(fork.modulePath, BIN);
  assert.deepEqual(fork.args, ['run', '--config', configPath, '--quiet']);
  assert.equal(fork.options.serviceName, 'Sibyl Runner core');
  assert.deepEqual(fork.options.execArgv, ['--expose-gc'], 'the daemon collects after agent output');
  assert.deepEqual(fork.options.stdio, ['ignore', 'ignore', 'pipe']);
  assert.equal(fork.options.env[PARENT_CREDENTIALS_ENV], 'parent');
  assert.equal(fork.options.env.HOME, home, 'the environment the app computed');
  const state = d.service.state();
  assert.equal(state.core?.pid, fork.pid);
  assert.equal(state.daemon?.pid, fork.pid, 'the live state comes from that process');

  const taskId = assign(id, core, { command: ['/bin/sh', '-c', 'echo done'] }, { prompt: 'Say done' });
  await until(() => FakeNotification.shown.some((n) => n.title === 'Task completed' && n.body.includes('Say done')), 'a notification');
  // The notification follows the core's finished event; the result reaches the server once the journal has it on disk.
  await core.until(() => core.messagesOf('task_complete').some((m) => m.task_id === taskId), 10_000, 'the result on the server');

  await d.quit();
  assert.equal(e.exitCode, 0);
  assert.ok(processGone(fork.pid!), 'the core process ended with the app');
});
