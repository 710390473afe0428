import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { AppService, FinishedTask } from '../../main/app/appService.ts';
import { dispatch } from '../../main/app/dispatch.ts';
import type { Credentials, CredentialStore } from '../../main/runner/config/credentials.ts';
import { acquireStateLock } from '../../main/runner/stateLock.ts';
import { linkDescription } from '../../main/runner/vocabulary.ts';
import type { AppState, EventPayload } from '../../preload/contract.ts';
import { testAppService, testPorts } from '../helpers/appHarness.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { assign, cli, writeYaml } from '../helpers/runnerHarness.ts';
import { processGone, tempDir, until } from '../helpers/tmp.ts';

/**
 * The app's runner core in its own process (issue 14, item 7), end to end: the app layer forks the
 * real `sibyl-runner run` and follows it over the control socket. One app service and its core are
 * shared by the first tests of this file, in order.
 */

/** The app's own credential store, in memory: what the vault would hold. */
function appStore(creds: Credentials): CredentialStore & { loads: number; saved: Credentials[] } {
  let current = creds;
  const s = {
    loads: 0,
    saved: [] as Credentials[],
    load: async () => (s.loads++, current),
    save: async (c: Credentials) => void (s.saved.push(c), (current = c)),
    describe: () => 'the test vault',
  };
  return s;
}

async function call<T>(s: AppService, channel: string, input: unknown = {}): Promise<T> {
  const r = await dispatch(s.handlers, channel, input);
  if (!r.ok) throw new Error(`${channel}: ${r.error.code} ${r.error.message}`);
  return r.value as T;
}

/** A registered runner.yaml in a fresh home (no token in it or the environment) and the fake core that knows it. */
async function registered(): Promise<{ core: FakeCore; id: string; home: string; config: string; token: string }> {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const home = tempDir('sibyl-core-');
  const { id, accessToken } = core.addRunner({ name: 'desk' });
  mkdirSync(join(home, 'cfg'), { recursive: true });
  const config = join(home, 'cfg', 'runner.yaml');
  writeYaml(config, {
    server_url: core.url,
    runner_id: id,
    name: 'desk',
    worktree_base: join(home, 'wt'),
    log_dir: join(home, 'logs'),
    state_dir: join(home, 'state'),
  });
  return { core, id, home, config, token: accessToken };
}

const QUICK_RESTART = { firstMs: 300, maxMs: 2000, resetAfterMs: 60_000 };

const shared = await registered();
// The CLI's own login beside runner.yaml holds a token the server refuses: the app's core must never use it.
writeFileSync(join(shared.home, 'cfg', 'credentials.json'), JSON.stringify({ access_token: 'the-cli-token-the-app-must-not-use' }), {
  mode: 0o600,
});
const store = appStore({ access_token: shared.token });
const states: AppState[] = [];
const lines: EventPayload<'task:lines'>[] = [];
const finished: FinishedTask[] = [];
const service = await testAppService(shared.home, {
  configPath: shared.config,
  ports: testPorts({ credentials: store }),
  core: { restart: QUICK_RESTART },
});
service.onEvent((event, payload) => {
  if (event === 'app:state') states.push(payload as AppState);
  if (event === 'task:lines') lines.push(payload as EventPayload<'task:lines'>);
});
service.onTaskFinished((t) => finished.push(t));

test('the core runs in its own process, signed in with the app’s credentials (never credentials.json)', async () => {
  const { core, id } = shared;
  await core.until(() => core.connected(id), 15_000, 'the core connects');
  const st = service.state();
  assert.equal(st.core?.state, 'running');
  assert.equal(st.core?.owner, 'app');
  assert.equal(st.attached, false);
  assert.notEqual(st.daemon?.pid, process.pid, 'not this process');
  assert.equal(st.daemon?.pid, st.core?.pid);
  assert.ok(store.loads > 0, 'the core asked the app for its credentials');
  assert.deepEqual(
    core.handshakes.map((h) => h.outcome),
    ['accepted'],
    'the refused file token was never tried',
  );
});

test('live lines arrive batched and a finished task is announced, from the core process', async () => {
  const { core, id } = shared;
  const taskId = assign(id, core, { command: ['/bin/sh', '-c', 'seq 1 3000'] }, { prompt: 'count to three thousand' });
  await until(() => finished.some((t) => t.taskId === taskId), 'the finished notification');
  const mine = lines.filter((b) => b.taskId === taskId);
  assert.deepEqual(
    mine.flatMap((b) => b.lines.map((l) => l.text)),
    Array.from({ length: 3000 }, (_, i) => String(i + 1)),
  );
  assert.ok(mine.length <= 30, `3000 lines reached the window in ${mine.length} events`);
  assert.deepEqual(
    finished.find((t) => t.taskId === taskId),
    {
      taskId,
      projectId: 'project_1a2b3c4d5e6f',
      prompt: 'count to three thousand',
      status: 'completed',
      error: undefined,
    },
  );
  // The history is read from the state folder while the core writes it.
  await until(
    async () =>
      (await call<{ items: { taskId: string; status: string }[] }>(service, 'history:page', { limit: 5 })).items[0]?.status === 'completed',
    'the history row',
  );
});

test('a killed core is restarted with back-off, and the state says so meanwhile', async () => {
  const { core, id } = shared;
  const before = service.state().core!;
  assert.ok(before.pid);
  const seen = states.length;
  process.kill(before.pid, 'SIGKILL');
  const restarting = await until(() => states.slice(seen).find((s) => s.core?.state === 'restarting'), 'a restarting state');
  assert.equal(restarting.core?.attempt, 1);
  assert.equal(restarting.core?.lastExit?.signal ?? String(restarting.core?.lastExit?.code), 'SIGKILL');
  assert.ok((restarting.core?.nextRetryAt ?? 0) > Date.now() - 1000, 'when the next try is');
  assert.equal(restarting.daemon, null, 'no live state while it is down');
  // What the window and the tray say meanwhile.
  const said = linkDescription(restarting, Date.now());
  assert.deepEqual([said.label, said.tone], ['Restarting', 'warn']);
  assert.match(said.reason, /stopped unexpectedly\. Retrying (in|now)/);
  await until(() => service.state().core?.state === 'running' && service.state().core?.pid !== before.pid, 'running again', 20_000);
  await core.until(() => core.handshakes.filter((h) => h.outcome === 'accepted').length === 2, 15_000, 'the new core connects');
  // It works as before: a task runs and is announced.
  const taskId = assign(id, core, { command: ['/bin/sh', '-c', 'echo after the restart'] });
  await until(() => finished.some((t) => t.taskId === taskId), 'a task on the restarted core');
  assert.ok(lines.some((b) => b.taskId === taskId && b.lines.some((l) => l.text === 'after the restart')));
});

test('closing the app asks the core to drain: the running task is stopped and reported, the process ends', async () => {
  const { core, id } = shared;
  const pid = service.state().core!.pid!;
  const taskId = assign(id, core, { command: ['/bin/sh', '-c', 'sleep 30'] });
  await until(() => service.state().daemon?.running.some((t) => t.taskId === taskId && t.phase === 'running'), 'the task runs');
  await service.close();
  assert.ok(processGone(pid), 'the core process has ended');
  const done = core.messagesOf('task_complete').find((m) => m.task_id === taskId);
  assert.equal(done?.result.status, 'cancelled');
  assert.equal(service.state().core?.state, 'stopped');
});

test('attached to a headless `sibyl-runner run`: live lines and notifications; when it stops, the app starts its own core', async () => {
  const { core, id, home, config, token } = await registered();
  const headless = cli(['run', '--config', config], { HOME: home, SIBYL_ACCESS_TOKEN: token });
  await core.until(() => core.connected(id), 15_000, 'the headless daemon connects');
  const app = await testAppService(home, {
    configPath: config,
    ports: testPorts({ credentials: appStore({ access_token: token }) }),
    core: { restart: QUICK_RESTART },
  });
  const got: EventPayload<'task:lines'>[] = [];
  const ended: FinishedTask[] = [];
  const seen: AppState[] = [];
  app.onEvent((event, payload) => {
    if (event === 'task:lines') got.push(payload as EventPayload<'task:lines'>);
    if (event === 'app:state') seen.push(payload as AppState);
  });
  app.onTaskFinished((t) => ended.push(t));
  assert.equal(app.state().attached, true);
  assert.equal(app.state().core?.owner, 'headless');
  assert.equal(app.state().core?.pid, headless.pid);
  const taskId = assign(id, core, { command: ['/bin/sh', '-c', 'echo from the headless runner'] });
  await until(() => ended.some((t) => t.taskId === taskId && t.status === 'completed'), 'the finished notification');
  assert.ok(
    got.some((b) => b.taskId === taskId && b.lines.some((l) => l.text === 'from the headless runner')),
    'its live lines',
  );
  headless.kill('SIGTERM');
  await new Promise((r) => headless.once('close', r));
  // Recorded, not polled: the restart may be over by the time the headless process has closed its pipes.
  await until(() => seen.some((s) => s.core?.state === 'restarting'), 'restarting after the headless daemon left');
  await until(() => app.state().core?.state === 'running' && app.state().core?.owner === 'app', 'the app runs its own core', 20_000);
  assert.equal(app.state().attached, false, 'runner.yaml is the app’s again');
  await core.until(() => core.handshakes.filter((h) => h.outcome === 'accepted').length === 2, 15_000, 'its own core connects');
});

test('a core that cannot start: its own words become the start error, nothing is retried', async () => {
  const { home, config } = await registered();
  // Another runner holds this configuration's state folder: `run` exits 2 saying so.
  const lock = acquireStateLock(join(home, 'state'), config);
  after(() => lock.release());
  const app = await testAppService(home, {
    configPath: config,
    ports: testPorts({ credentials: appStore({}) }),
    core: { restart: QUICK_RESTART },
  });
  const st = await call<AppState>(app, 'app:state');
  assert.equal(st.startError?.code, 'core_start_failed');
  assert.match(st.startError?.message ?? '', /already running/);
  assert.equal(st.core?.state, 'stopped');
  assert.equal(st.core?.lastExit?.code, 2);
});
