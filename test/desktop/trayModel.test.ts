import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Snapshot } from '../../main/runner/control/contract.ts';
import { trayModel } from '../../main/desktop/trayModel.ts';
import { linkDescription, promptSummary } from '../../main/runner/vocabulary.ts';
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

test('icon, status line and tooltip for every state, in the shared words', () => {
  const cases: [string, AppState, string, RegExp][] = [
    ['not registered', state(null, false), 'offline', /^Not registered$/],
    ['registered, not running', state(null), 'offline', /^Not running$/],
    ['signed out', state(null, true, false), 'error', /^Signed out — sign in again$/],
    ['connecting', state(snap({}, { state: 'connecting' })), 'connecting', /^Connecting…$/],
    ['waiting briefly', state(snap({}, { state: 'waiting', attempts: 1, reason: 'refused' })), 'connecting', /^Reconnecting$/],
    [
      'unreachable',
      state(snap({}, { state: 'waiting', attempts: 5, reason: 'the server refused the connection', remedy: 'checkServer' })),
      'error',
      /^Can't reach the server — the server refused the connection$/,
    ],
    [
      'unreachable, long reason cut to one short line',
      state(snap({}, { state: 'waiting', attempts: 5, reason: `cannot connect to wss://${'x'.repeat(200)}/ws` })),
      'error',
      /^Can't reach the server — cannot connect to wss:\/\/x+…$/,
    ],
    ['credentials refused', state(snap({}, { state: 'auth_failed', remedy: 'signIn' })), 'error', /^Signed out — sign in again$/],
    ['stopped', state(snap({}, { state: 'stopped', reason: 'gave up' })), 'offline', /^Stopped — gave up$/],
    ['connected, idle', state(snap()), 'online', /^Connected — idle$/],
    ['busy', state(snap({ running: [task('t1'), task('t2')], status: 'online' })), 'busy', /^Connected — 2 of 3 agents busy$/],
    ['paused', state(snap({ paused: true, status: 'draining' })), 'paused', /^Paused — not taking new tasks$/],
    ['draining with work', state(snap({ status: 'draining', running: [task('t1')] })), 'paused', /^Paused — finishing 1 of 3 agents$/],
  ];
  for (const [name, s, icon, text] of cases) {
    const m = trayModel(s, { startAtLogin: false });
    assert.equal(m.icon, icon, name);
    assert.match(m.menu[0]!.label ?? '', text, name);
    assert.equal(m.menu[0]!.enabled, false, `${name}: the status line is not clickable`);
    assert.match(m.tooltip, /Sibyl Runner — laptop/, name);
    assert.doesNotMatch(m.menu[0]!.label ?? '', /sibyl-runner|`/, `${name}: no CLI words in the tray`);
    assert.ok((m.menu[0]!.label ?? '').length <= 110, `${name}: the status line stays short`);
  }
});

test('the status line starts with the label the window shows for the same state', () => {
  const states = [
    state(null, false),
    state(null, true, false),
    state(snap({}, { state: 'waiting', attempts: 9, reason: 'x' })),
    state(snap({}, { state: 'auth_failed' })),
    state(snap({ paused: true })),
    state(snap()),
  ];
  for (const s of states) assert.ok(trayModel(s, { startAtLogin: false }).menu[0]!.label!.startsWith(linkDescription(s).label));
});

test("a task's menu item is its project and prompt summary, cut to fit", () => {
  const long = { ...task('t1'), prompt: `\n  ${'word '.repeat(30)}\nsecond line` };
  const label = trayModel(state(snap({ running: [long] })), { startAtLogin: false }).menu.find((i) => i.id === 'task:t1')?.label ?? '';
  assert.equal(label, `project_x: ${promptSummary(long.prompt, 48)}`);
  assert.ok(label.endsWith('…'));
  const empty = { ...task('t2'), prompt: '  ' };
  assert.equal(
    trayModel(state(snap({ running: [empty] })), { startAtLogin: false }).menu.find((i) => i.id === 'task:t2')?.label,
    'project_x: (no prompt)',
  );
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
