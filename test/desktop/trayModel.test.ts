import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Snapshot } from '../../main/runner/control/contract.ts';
import { trayModel } from '../../main/desktop/trayModel.ts';
import type { AppState } from '../../preload/contract.ts';

function snap(over: Partial<Snapshot> = {}, link: Partial<Snapshot['link']> = {}): Snapshot {
  return {
    version: 1,
    pid: 1,
    startedAt: 0,
    configPath: '/c/runner.yaml',
    runner: { id: 'r1', name: 'laptop', serverUrl: 'https://s.example', maxAgents: 3, sandboxMode: false },
    status: 'online',
    paused: false,
    link: { state: 'open', since: 0, attempts: 0, ...link },
    running: [],
    outboxPending: 0,
    ...over,
  };
}

function state(daemon: Snapshot | null, registered = true, signedIn = true): AppState {
  return {
    version: 1,
    registered,
    serverUrl: registered ? 'https://s.example' : '',
    runnerName: 'laptop',
    runnerId: registered ? 'r1' : '',
    attached: false,
    signedIn,
    daemon,
  };
}

const task = (id: string) => ({
  taskId: id,
  agentId: 'a',
  projectId: 'project_x',
  prompt: `Fix bug ${id}\nmore`,
  phase: 'running' as const,
  assignedAt: 0,
});

test('icon, status line and tooltip for every state', () => {
  const cases: [string, AppState, string, RegExp][] = [
    ['not registered', state(null, false), 'offline', /Not registered/],
    ['registered, not running', state(null), 'offline', /not running/],
    ['signed out', state(null, true, false), 'error', /Signed out — sign in again/],
    ['connecting', state(snap({}, { state: 'connecting' })), 'connecting', /Connecting/],
    ['waiting briefly', state(snap({}, { state: 'waiting', attempts: 1, reason: 'refused' })), 'connecting', /Connecting/],
    [
      'unreachable',
      state(snap({}, { state: 'waiting', attempts: 5, reason: 'server refused the connection' })),
      'error',
      /unreachable — server refused/,
    ],
    ['auth failed', state(snap({}, { state: 'auth_failed' })), 'error', /Authentication failed — sign in again/],
    ['stopped', state(snap({}, { state: 'stopped', reason: 'gave up' })), 'offline', /Offline — gave up/],
    ['online idle', state(snap()), 'online', /Online — idle/],
    ['busy', state(snap({ running: [task('t1'), task('t2')], status: 'online' })), 'busy', /Busy — 2 of 3 agents/],
    ['paused', state(snap({ paused: true, status: 'draining' })), 'paused', /Paused — not taking new tasks/],
    ['draining with work', state(snap({ status: 'draining', running: [task('t1')] })), 'paused', /finishing 1 of 3/],
  ];
  for (const [name, s, icon, text] of cases) {
    const m = trayModel(s, { startAtLogin: false });
    assert.equal(m.icon, icon, name);
    assert.match(m.menu[0]!.label ?? '', text, name);
    assert.equal(m.menu[0]!.enabled, false, `${name}: the status line is not clickable`);
    assert.match(m.tooltip, /Sibyl Runner — laptop/, name);
  }
});

test('menu: running tasks open their detail; pause/resume; start at login; register; quit', () => {
  const busy = trayModel(state(snap({ running: [task('t1')] })), { startAtLogin: true });
  const ids = busy.menu.map((i) => i.id);
  assert.deepEqual(
    ids.filter((i) => !i.startsWith('sep')),
    ['status', 'task:t1', 'open', 'pause', 'startAtLogin', 'register', 'quit'],
  );
  assert.equal(busy.menu.find((i) => i.id === 'task:t1')?.label, 'project_x: Fix bug t1');
  assert.equal(busy.menu.find((i) => i.id === 'startAtLogin')?.checked, true);
  assert.equal(busy.menu.find((i) => i.id === 'register')?.label, 'Re-register…');
  assert.match(busy.menu.find((i) => i.id === 'quit')?.label ?? '', /stops 1 running/);
  assert.match(busy.tooltip, /1 running/);
  const paused = trayModel(state(snap({ paused: true })), { startAtLogin: false });
  assert.ok(paused.menu.some((i) => i.id === 'resume'));
  const fresh = trayModel(state(null, false), { startAtLogin: false });
  assert.equal(fresh.menu.find((i) => i.id === 'register')?.label, 'Register…');
  assert.ok(!fresh.menu.some((i) => i.id === 'pause' || i.id === 'resume'));
});

test('at most ten tasks are listed', () => {
  const many = trayModel(state(snap({ running: Array.from({ length: 14 }, (_, i) => task(`t${i}`)) })), { startAtLogin: false });
  assert.equal(many.menu.filter((i) => i.id.startsWith('task:')).length, 10);
  assert.ok(many.menu.some((i) => i.label === '…and 4 more'));
});
