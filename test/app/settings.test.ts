import assert from 'node:assert/strict';
import { appHome, testAppService, testCoreLauncher } from '../helpers/appHarness.ts';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { DesktopPorts } from '../../main/app/appService.ts';
import { dispatch } from '../../main/app/dispatch.ts';
import type { Settings } from '../../preload/contract.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { until } from '../helpers/tmp.ts';

/** A registered runner's runner.yaml, with comments that must survive every edit. */
function registeredHome(core: FakeCore): { home: string; config: string; runnerId: string; accessToken: string; text: string } {
  const home = appHome();
  const { id, accessToken } = core.addRunner({ name: 'desk' });
  const config = join(home, 'cfg', 'runner.yaml');
  mkdirSync(join(home, 'cfg'), { recursive: true });
  const text = [
    '# my runner',
    `server_url: ${core.url}`,
    `runner_id: ${id}`,
    'name: desk',
    '# how many agents at once',
    'max_concurrent_agents: 2',
    `worktree_base: ${join(home, 'wt')}`,
    `log_dir: ${join(home, 'logs')}`,
    `state_dir: ${join(home, 'state')}`,
    '',
  ].join('\n');
  writeFileSync(config, text);
  return { home, config, runnerId: id, accessToken, text };
}

function ports(loginSet: (on: boolean) => Promise<void>): DesktopPorts & { login: boolean } {
  const p = {
    login: false,
    openPath: async () => undefined,
    openExternal: async () => undefined,
    pickFolder: async () => null,
    coreLauncher: testCoreLauncher(),
    loginItem: {
      get: async () => p.login,
      set: async (on: boolean) => {
        await loginSet(on);
        p.login = on;
      },
    },
  };
  return p;
}

async function start(core: FakeCore, loginSet: (on: boolean) => Promise<void> = async () => undefined) {
  const fx = registeredHome(core);
  const p = ports(loginSet);
  const s = await testAppService(fx.home, { configPath: fx.config, env: { SIBYL_ACCESS_TOKEN: fx.accessToken }, ports: p });
  await core.until(() => core.connected(fx.runnerId), 5000, 'runner connects');
  await until(() => s.state().daemon?.link.state === 'open', 'daemon open');
  return { ...fx, s, p };
}

test('settings: a bad value changes nothing, not even the settings before it in the patch', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const { s, p, config, text } = await start(core);
  const r = await dispatch(s.handlers, 'settings:set', { startAtLogin: true, notifications: false, worktreeBase: 'relative/wt' });
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.error.remedy, 'fixConfig');
  assert.match(!r.ok ? r.error.message : '', /worktree_base/);
  assert.equal(p.login, false, 'login item untouched');
  assert.equal(readFileSync(config, 'utf8'), text, 'runner.yaml untouched');
  const now = await dispatch(s.handlers, 'settings:get', {});
  assert.ok(now.ok);
  assert.equal((now.value as Settings).notifications, true, 'notification preference untouched');
});

test('settings: when a later step fails, runner.yaml and the live capacity are put back', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const { s, p, config, text } = await start(core, async () => {
    throw new Error('the OS refused the login item');
  });
  const r = await dispatch(s.handlers, 'settings:set', { maxAgents: 7, startAtLogin: true });
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.error.message : '', /refused the login item/);
  assert.equal(readFileSync(config, 'utf8'), text, 'runner.yaml restored byte for byte');
  assert.equal(p.login, false);
  assert.equal(s.state().daemon?.runner.maxAgents, 2, 'live capacity restored');
  const now = await dispatch(s.handlers, 'settings:get', {});
  assert.equal(now.ok && (now.value as Settings).maxAgents, 2);
});

test('settings: a good patch is applied whole and runner.yaml keeps its comments', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const { s, p, config } = await start(core);
  const r = await dispatch(s.handlers, 'settings:set', { maxAgents: 5, startAtLogin: true, historyMaxTasks: 500 });
  assert.ok(r.ok, !r.ok ? r.error.message : '');
  assert.deepEqual(
    [(r.value as Settings).maxAgents, (r.value as Settings).historyMaxTasks, (r.value as Settings).startAtLogin],
    [5, 500, true],
  );
  assert.equal(p.login, true);
  assert.equal(s.state().daemon?.runner.maxAgents, 5);
  const after_ = readFileSync(config, 'utf8');
  for (const comment of ['# my runner', '# how many agents at once']) assert.ok(after_.includes(comment), `kept "${comment}"`);
  assert.match(after_, /max_concurrent_agents: 5/);
  assert.match(after_, /history_max_tasks: 500/);
});

test('wizard:register with a relative worktree folder fails before the server creates a runner; runner.yaml untouched', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0, deviceIntervalS: 0.1 });
  after(() => core.stop());
  const home = appHome();
  const config = join(home, 'cfg', 'runner.yaml');
  const s = await testAppService(home, { configPath: config, ports: ports(async () => undefined) });
  const pair = core.issueTokenPair();
  const signIn = await dispatch(s.handlers, 'wizard:useToken', { serverUrl: core.url, token: pair.access_token });
  assert.ok(signIn.ok, !signIn.ok ? signIn.error.message : '');
  const runnersBefore = core.requests.filter((r) => r.path === '/api/runners/register').length;
  const r = await dispatch(s.handlers, 'wizard:register', {
    serverUrl: core.url,
    name: 'desk',
    maxAgents: 2,
    capabilities: [],
    worktreeBase: 'relative/wt',
  });
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.error.remedy, 'fixConfig');
  assert.match(!r.ok ? r.error.message : '', /worktree_base/);
  assert.equal(core.requests.filter((q) => q.path === '/api/runners/register').length, runnersBefore, 'no runner was created');
  assert.equal(s.state().registered, false);
});
