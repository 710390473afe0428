import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { dispatch } from '../../main/app/dispatch.ts';
import { resolveLoginShellEnv } from '../../main/app/loginShellEnv.ts';
import { configureLogging } from '../../main/runner/logger.ts';
import type { EventPayload } from '../../preload/contract.ts';
import { testAppService, appHome } from '../helpers/appHarness.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { processAlive, tempDir, until } from '../helpers/tmp.ts';

const logDir = tempDir('sibyl-a14-log-');
configureLogging({ logDir, quiet: true });

/** launchd's environment for an app opened from Finder: a bare PATH and none of the user's exports. */
const LAUNCHD_PATH = '/usr/bin:/bin:/usr/sbin:/sbin';

/**
 * A HOME whose bash start-up files set what a user's terminal has: .bash_profile puts `bin/` on
 * PATH and sources .bashrc, which exports an API key; both print noise to stdout, as many do.
 */
function userHome(prefix: string): { home: string; bin: string } {
  const home = appHome(prefix);
  const bin = join(home, 'tools', 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(home, '.bash_profile'),
    `echo "Welcome back"\nexport PATH="${bin}:$PATH"\n[ -f ~/.bashrc ] && . ~/.bashrc\nprintf 'MOTD {"PATH":"/nope"}\\n'\n`,
  );
  writeFileSync(join(home, '.bashrc'), `echo "rc noise"\nexport A14_API_KEY='sk-test "quoted"\nsecond line'\n`);
  return { home, bin };
}

test('the login shell environment: PATH and exports from .bash_profile/.bashrc reach the result, stdout noise does not break it', async () => {
  const { home, bin } = userHome('sibyl-a14-env-');
  const base = { PATH: LAUNCHD_PATH, HOME: home, SHELL: '/bin/bash', APP_ONLY: 'kept' };
  const env = await resolveLoginShellEnv(base);
  assert.equal(env.PATH?.split(':')[0], bin, `PATH: ${env.PATH}`);
  assert.equal(env.A14_API_KEY, 'sk-test "quoted"\nsecond line');
  assert.equal(env.APP_ONLY, 'kept', 'a variable only the app has stays');
  assert.equal(env.HOME, home);
  for (const k of ['ELECTRON_RUN_AS_NODE', 'DISABLE_AUTO_UPDATE', 'SHLVL', '_']) assert.equal(env[k], undefined, k);
  assert.equal(await resolveLoginShellEnv(base), env, 'resolved once per process (cached)');
});

test('a start-up file that hangs: resolved within the bound to the app environment, with a warning, and the shell is gone', async () => {
  const home = tempDir('sibyl-a14-hang-');
  writeFileSync(
    join(home, '.bash_profile'),
    `echo $$ > "$HOME/shell.pid"\nsleep 100 &\necho $! > "$HOME/sleep.pid"\nwait $!\nexport NEVER=1\n`,
  );
  const base = { PATH: LAUNCHD_PATH, HOME: home, SHELL: '/bin/bash' };
  const env = await resolveLoginShellEnv(base, { timeoutMs: 1000 });
  assert.deepEqual(env, base, 'the app environment, unchanged');
  const log = readFileSync(join(logDir, 'runner.log'), 'utf8');
  assert.match(log, /could not read your login shell environment.*did not print its environment within 1000 ms/);
  for (const f of ['shell.pid', 'sleep.pid']) {
    const pid = Number(readFileSync(join(home, f), 'utf8'));
    await until(() => !processAlive(pid), `${f} (${pid}) to be gone`);
  }
});

test('a shell that fails is a warning and the app environment', async () => {
  const home = tempDir('sibyl-a14-fail-');
  const base = { PATH: LAUNCHD_PATH, HOME: home };
  assert.deepEqual(await resolveLoginShellEnv(base, { shell: join(home, 'no-such-shell') }), base);
  assert.match(readFileSync(join(logDir, 'runner.log'), 'utf8'), /no-such-shell/);
  assert.equal(await resolveLoginShellEnv(base, { platform: 'win32', shell: '/bin/bash' }), base, 'Windows: no shell is asked');
});

test('the desktop app started with launchd’s bare PATH runs an agent command that only the login shell’s PATH has', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const { home, bin } = userHome('sibyl-a14-app-');
  const tool = join(bin, 'a14-agent');
  writeFileSync(tool, `#!/bin/sh\necho "a14-agent ran, key=$A14_API_KEY" | head -1\n`);
  chmodSync(tool, 0o755);
  const service = await testAppService(home, { env: { PATH: LAUNCHD_PATH, SHELL: '/bin/bash' }, loginShell: true });
  const call = async <T>(channel: string, input: unknown = {}): Promise<T> => {
    const r = await dispatch(service.handlers, channel, input);
    if (!r.ok) throw new Error(`${channel}: ${r.error.code} ${r.error.message}`);
    return r.value as T;
  };
  const lines: string[] = [];
  service.onEvent((event, payload) => {
    if (event === 'task:lines') lines.push(...(payload as EventPayload<'task:lines'>).lines.map((l) => l.text));
  });
  await call('wizard:useToken', { serverUrl: core.url, token: core.mintAccessToken() });
  const { runnerId } = await call<{ runnerId: string }>('wizard:register', {
    serverUrl: core.url,
    name: 'a14-desk',
    maxAgents: 1,
    capabilities: ['node'],
    worktreeBase: join(home, 'worktrees'),
  });
  await core.until(() => core.connected(runnerId), 5000, 'the runner to connect');
  core.send(runnerId, {
    type: 'task_assign',
    task_id: crypto.randomUUID(),
    agent_id: 'agent_a14a14a14a14',
    project_id: 'project_1',
    config: { command: ['a14-agent'] },
  });
  const done = await core.waitFor((f) => f.message?.type === 'task_complete', 15_000, 'the completion');
  assert.ok(done.message?.type === 'task_complete' && done.message.success, JSON.stringify(done.message));
  // The lines come from the core process's stream, batched: they may arrive just after the server heard of the end.
  await until(() => lines.some((l) => l.includes('a14-agent ran, key=sk-test "quoted"')), "the agent ran with the shell's exports");
});
