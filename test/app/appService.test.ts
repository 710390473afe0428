import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { AppService } from '../../main/app/appService.ts';
import { dispatch } from '../../main/app/dispatch.ts';
import type { AppState, DeviceLoginEvent } from '../../preload/contract.ts';
import { testAppService, appHome } from '../helpers/appHarness.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { cli, writeYaml } from '../helpers/runnerHarness.ts';
import { until } from '../helpers/tmp.ts';

const service = (home: string): Promise<AppService> => testAppService(home);

async function call<T>(s: AppService, channel: string, input: unknown = {}): Promise<T> {
  const r = await dispatch(s.handlers, channel, input);
  if (!r.ok) throw new Error(`${channel}: ${r.error.code} ${r.error.message}`);
  return r.value as T;
}

test('wizard end to end: check, device login, register, connect, run a task', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0, deviceIntervalS: 0.1 });
  after(() => core.stop());
  const home = appHome();
  const s = await service(home);
  const states: AppState[] = [];
  const device: DeviceLoginEvent[] = [];
  s.onEvent((e, p) => {
    if (e === 'app:state') states.push(p as AppState);
    if (e === 'wizard:device') device.push(p as DeviceLoginEvent);
  });
  assert.equal((await call<AppState>(s, 'app:state')).registered, false);
  const bad = await call<{ ok: boolean; kind: string }>(s, 'wizard:checkServer', { url: 'http://127.0.0.1:1' });
  assert.deepEqual([bad.ok, bad.kind], [false, 'unreachable']);
  assert.equal((await call<{ kind: string }>(s, 'wizard:checkServer', { url: 'not a url' })).kind, 'invalid');
  assert.equal((await call<{ ok: boolean }>(s, 'wizard:checkServer', { url: core.url })).ok, true);
  const code = await call<{ userCode: string }>(s, 'wizard:startDeviceLogin', { serverUrl: core.url });
  core.approveDevice(code.userCode);
  await until(() => device.some((d) => d.state === 'approved'), 'approval event');
  const detected = await call<{ hostname: string; worktreeBase: string }>(s, 'wizard:detect');
  const { runnerId } = await call<{ runnerId: string }>(s, 'wizard:register', {
    serverUrl: core.url,
    name: 'desk',
    maxAgents: 2,
    capabilities: ['node'],
    worktreeBase: join(home, 'wt'),
  });
  assert.equal(core.runner(runnerId)?.name, 'desk');
  void detected;
  await core.until(() => core.connected(runnerId), 5000, 'desktop runner connects');
  await until(() => states.at(-1)?.daemon?.link.state === 'open', 'state pushed as connected');
  core.send(runnerId, {
    type: 'task_assign',
    task_id: crypto.randomUUID(),
    agent_id: 'agent_dddddddddddd',
    project_id: 'project_1',
    config: { command: ['/bin/sh', '-c', 'echo working; sleep 0.5'] },
  });
  await until(() => states.some((x) => x.daemon?.running.length === 1), 'running task in a pushed state');
  await core.waitFor((f) => f.message?.type === 'task_complete', 5000, 'completion');
  const st = await call<AppState>(s, 'app:state');
  assert.equal(st.registered, true);
  assert.equal(st.runnerId, runnerId);
});

test('bad input from the renderer is rejected with a clear error naming the field', async () => {
  const s = await service(appHome());
  const r1 = await dispatch(s.handlers, 'wizard:register', {
    serverUrl: 'x',
    name: '',
    maxAgents: 99,
    capabilities: [],
    worktreeBase: '/x',
  });
  assert.equal(r1.ok, false);
  assert.match(!r1.ok ? r1.error.message : '', /name: name is required.*maxAgents/);
  const r2 = await dispatch(s.handlers, 'nope:channel', {});
  assert.equal(!r2.ok && r2.error.code, 'unknown_channel');
  const r3 = await dispatch(s.handlers, 'os:openExternal', { url: 'file:///etc/passwd' });
  assert.equal(r3.ok, false);
  const r4 = await dispatch(s.handlers, 'runner:pause', { extra: 1 });
  assert.equal(!r4.ok && r4.error.code, 'bad_input');
});

test('attaches to a running headless daemon instead of starting a second runner', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const home = appHome();
  const { id, accessToken } = core.addRunner({ name: 'headless' });
  const config = join(home, 'cfg', 'runner.yaml');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(home, 'cfg'), { recursive: true });
  writeYaml(config, {
    server_url: core.url,
    runner_id: id,
    name: 'headless',
    worktree_base: join(home, 'wt'),
    log_dir: join(home, 'logs'),
  });
  const daemon = cli(['run', '--config', config], { HOME: home, SIBYL_ACCESS_TOKEN: accessToken });
  await core.until(() => core.connected(id), 10_000, 'headless daemon connects');
  const s = await service(home);
  const st = await call<AppState>(s, 'app:state');
  assert.equal(st.attached, true);
  assert.equal(st.daemon?.link.state, 'open');
  assert.equal(core.handshakes.filter((h) => h.outcome === 'accepted').length, 1, 'no second connection');
  await call(s, 'runner:pause');
  await until(async () => (await call<AppState>(s, 'app:state')).daemon?.paused === true, 'paused through the control socket');
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.on('close', r));
});
