import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Snapshot } from '../../main/runner/control/contract.ts';
import { elapsed, projectLabel, STATUS_MAX, TASK_LABEL_MAX, TOOLTIP_MAX, trayModel, type TrayModel } from '../../main/desktop/trayModel.ts';
import { linkDescription } from '../../main/runner/vocabulary.ts';
import type { AppState } from '../../preload/contract.ts';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const MIN = 60_000;
const PROJECT = '3f2a9c1e-7b4d-4e0a-9c5f-1a2b3c4d5e6f';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

function snap(over: Partial<Snapshot> = {}, link: Partial<Snapshot['link']> = {}): Snapshot {
  return {
    version: 1,
    pid: 1,
    startedAt: 0,
    configPath: '/c/runner.yaml',
    runner: {
      id: 'r1',
      name: 'laptop',
      serverUrl: 'https://sibyl.example.com',
      maxAgents: 3,
      sandboxMode: false,
    },
    status: 'online',
    paused: false,
    link: { state: 'open', since: 0, attempts: 0, ...link },
    running: [],
    outboxPending: 0,
    ...over,
  };
}

function state(daemon: Snapshot | null, over: Partial<AppState> = {}): AppState {
  const registered = over.registered ?? true;
  return {
    version: 1,
    registered,
    serverUrl: registered ? 'https://sibyl.example.com' : '',
    runnerName: 'laptop',
    runnerId: registered ? '9d8c7b6a-1111-4222-8333-444455556666' : '',
    attached: false,
    signedIn: true,
    daemon,
    ...over,
  };
}

const task = (id: string, minutesAgo = 3, projectId = PROJECT): Snapshot['running'][number] => ({
  taskId: id,
  agentId: 'a',
  projectId,
  prompt: `Fix bug ${id}\nmore`,
  phase: 'running',
  assignedAt: NOW - minutesAgo * MIN - 5000,
  startedAt: NOW - minutesAgo * MIN,
});

const model = (s: AppState, projects?: { projectId: string; path: string }[]): TrayModel =>
  trayModel(s, { startAtLogin: false, now: NOW, projects });
const ids = (m: TrayModel): string[] => m.menu.filter((i) => i.type !== 'separator').map((i) => i.id);
const labelOf = (m: TrayModel, id: string): string | undefined => m.menu.find((i) => i.id === id)?.label;

const wsUrl = `wss://sibyl.example.com/api/runners/${PROJECT}/ws?token=${'x'.repeat(40)}`;

/** [name, state, icon, the status line, the menu's action items after the status line] */
const CASES: [string, AppState, string, string, string[]][] = [
  ['not registered', state(null, { registered: false }), 'offline', 'Not registered', ['register', 'open', 'startAtLogin', 'quit']],
  [
    'registered, not running',
    state(null),
    'offline',
    'Not running',
    ['dashboard', 'history', 'settings', 'startAtLogin', 'copyRunnerId', 'register', 'quit'],
  ],
  [
    'signed out',
    state(null, { signedIn: false }),
    'error',
    'Signed out — sign in again',
    ['signIn', 'dashboard', 'history', 'settings', 'startAtLogin', 'copyRunnerId', 'register', 'quit'],
  ],
  [
    'credentials refused by the server',
    state(snap({}, { state: 'auth_failed', reason: `the server rejected the token (Not authenticated) at ${wsUrl}`, remedy: 'signIn' })),
    'error',
    'Signed out — sign in again',
    ['signIn', 'dashboard', 'history', 'settings', 'startAtLogin', 'copyRunnerId', 'register', 'quit'],
  ],
  [
    'connecting',
    state(snap({}, { state: 'connecting', reason: `dialling ${wsUrl}` })),
    'connecting',
    'Connecting…',
    ['dashboard', 'history', 'settings', 'pause', 'startAtLogin', 'copyRunnerId', 'register', 'quit'],
  ],
  [
    'reconnecting after a drop',
    state(snap({}, { state: 'waiting', attempts: 1, reason: 'connection closed (1006)', nextRetryAt: NOW + 4000 })),
    'connecting',
    'Reconnecting…',
    ['retry', 'dashboard', 'history', 'settings', 'pause', 'startAtLogin', 'copyRunnerId', 'register', 'quit'],
  ],
  [
    'unreachable, with a long cause naming the URL',
    state(snap({}, { state: 'waiting', attempts: 5, reason: `cannot connect to ${wsUrl} (ECONNREFUSED)`, remedy: 'checkServer' })),
    'error',
    "Can't reach the server — retrying",
    ['retry', 'dashboard', 'history', 'settings', 'pause', 'startAtLogin', 'copyRunnerId', 'register', 'quit'],
  ],
  [
    'stopped',
    state(snap({}, { state: 'stopped', reason: 'gave up after 12 attempts' })),
    'offline',
    'Stopped',
    ['dashboard', 'history', 'settings', 'startAtLogin', 'copyRunnerId', 'register', 'quit'],
  ],
  [
    'connected, idle',
    state(snap()),
    'online',
    'Connected — waiting for tasks',
    ['dashboard', 'history', 'settings', 'pause', 'startAtLogin', 'copyRunnerId', 'register', 'quit'],
  ],
  [
    'busy',
    state(snap({ running: [task('t1'), task('t2')] })),
    'busy',
    'Connected — 2 of 3 agents busy',
    ['task:t1', 'task:t2', 'dashboard', 'history', 'settings', 'pause', 'startAtLogin', 'copyRunnerId', 'register', 'quit'],
  ],
  [
    'paused',
    state(snap({ paused: true, status: 'draining' })),
    'paused',
    'Paused — not taking new tasks',
    ['dashboard', 'history', 'settings', 'resume', 'startAtLogin', 'copyRunnerId', 'register', 'quit'],
  ],
  [
    'paused, finishing work',
    state(snap({ paused: true, status: 'draining', running: [task('t1')] })),
    'paused',
    'Paused — finishing 1 task',
    ['task:t1', 'dashboard', 'history', 'settings', 'resume', 'startAtLogin', 'copyRunnerId', 'register', 'quit'],
  ],
  [
    'runner.yaml invalid',
    state(null, {
      startError: { code: 'config_invalid', message: `runner.yaml: server_url must be a URL, got ${wsUrl}`, remedy: 'fixConfig' },
    }),
    'error',
    'Needs attention — fix the configuration',
    ['details', 'dashboard', 'history', 'settings', 'startAtLogin', 'copyRunnerId', 'register', 'quit'],
  ],
  [
    'keyring locked',
    state(null, {
      signedIn: false,
      credentialsError: { code: 'keyring_unavailable', message: 'the OS keyring is locked', remedy: 'retry' },
    }),
    'error',
    "Can't read credentials — try again",
    ['details', 'dashboard', 'history', 'settings', 'startAtLogin', 'copyRunnerId', 'register', 'quit'],
  ],
  [
    'credentials that no longer decrypt',
    state(null, { signedIn: false, credentialsError: { code: 'keyring_decrypt_failed', message: 'cannot decrypt', remedy: 'signIn' } }),
    'error',
    "Can't read credentials — sign in again",
    ['details', 'signIn', 'dashboard', 'history', 'settings', 'startAtLogin', 'copyRunnerId', 'register', 'quit'],
  ],
];

test('every state: icon, a status line of at most 40 characters in plain words, and its menu', () => {
  for (const [name, s, icon, text, items] of CASES) {
    const m = model(s);
    assert.equal(m.icon, icon, name);
    const status = m.menu[0]!;
    assert.deepEqual([status.id, status.label, status.enabled], ['status', text, false], name);
    assert.ok(text.length <= STATUS_MAX, `${name}: ${text.length} characters`);
    assert.deepEqual(ids(m).slice(1), items, name);
  }
});

test('no label or tooltip carries a URL, a UUID, a close code or a CLI command; the tooltip fits Windows', () => {
  for (const [name, s] of CASES) {
    const m = model(s);
    for (const text of [m.tooltip, ...m.menu.map((i) => i.label ?? '')]) {
      assert.doesNotMatch(text, /:\/\/|sibyl-runner|`|\(\d{4}\)/, `${name}: ${text}`);
      assert.doesNotMatch(text, UUID, `${name}: ${text}`);
    }
    assert.ok(m.tooltip.length <= TOOLTIP_MAX, `${name}: tooltip of ${m.tooltip.length} characters`);
    assert.equal(m.tooltip, `Sibyl Runner — laptop\n${m.menu[0]!.label}`, name);
  }
});

test('the status line starts with the label the window shows for the same state', () => {
  for (const [name, s] of CASES) assert.ok(model(s).menu[0]!.label!.startsWith(linkDescription(s, NOW).label), name);
});

test('a task item is "project — prompt · elapsed", named after the linked folder', () => {
  const s = state(snap({ running: [task('t1', 3)] }));
  assert.equal(labelOf(model(s, [{ projectId: PROJECT, path: '/home/ana/code/webapp' }]), 'task:t1'), 'webapp — Fix bug t1 · 3m');
  // A Windows path, with a trailing separator.
  assert.equal(
    labelOf(model(s, [{ projectId: PROJECT, path: 'C:\\Users\\ana\\api-server\\' }]), 'task:t1'),
    'api-server — Fix bug t1 · 3m',
  );
  // Not linked here: the id's first 8 characters, like the window's ids and the sibyl/<id> branches.
  assert.equal(labelOf(model(s), 'task:t1'), '3f2a9c1e — Fix bug t1 · 3m');
  assert.equal(labelOf(model(s, [{ projectId: 'other', path: '/x/other' }]), 'task:t1'), '3f2a9c1e — Fix bug t1 · 3m');
  // A readable id stays as it is.
  assert.equal(labelOf(model(state(snap({ running: [task('t2', 0, 'project_webapp')] }))), 'task:t2'), 'project_webapp — Fix bug t2 · <1m');
});

test('a long prompt gives way so the item fits; a blank one says so', () => {
  const long = { ...task('t1', 75), prompt: `\n  ${'word '.repeat(40)}\nsecond line` };
  const label =
    labelOf(
      model(state(snap({ running: [long] })), [{ projectId: PROJECT, path: `/p/${'very-long-folder-name-'.repeat(3)}` }]),
      'task:t1',
    ) ?? '';
  assert.ok(label.length <= TASK_LABEL_MAX, `${label.length}: ${label}`);
  assert.match(label, /^very-long-folder-na… — word word .*… · 1h 15m$/);
  const blank = { ...task('t2', 1), prompt: '  ' };
  assert.equal(labelOf(model(state(snap({ running: [blank] }))), 'task:t2'), '3f2a9c1e — (no prompt) · 1m');
});

test('elapsed time, to the minute; a task not started yet counts from its assignment', () => {
  assert.deepEqual([0, 59_999, MIN, 59 * MIN + 59_000, 60 * MIN, 125 * MIN, -5].map(elapsed), [
    '<1m',
    '<1m',
    '1m',
    '59m',
    '1h 00m',
    '2h 05m',
    '<1m',
  ]);
  const { startedAt: _, ...preparing } = task('t1', 2);
  assert.equal(labelOf(model(state(snap({ running: [{ ...preparing, phase: 'preparing' }] }))), 'task:t1'), '3f2a9c1e — Fix bug t1 · 2m');
});

test('project labels: folder name, UUID-like ids cut to 8, readable ids kept', () => {
  assert.equal(projectLabel(PROJECT), '3f2a9c1e');
  assert.equal(projectLabel('3f2a9c1e7b4d4e0a9c5f1a2b3c4d5e6f'), '3f2a9c1e');
  assert.equal(projectLabel('proj_webapp'), 'proj_webapp');
  assert.equal(projectLabel(PROJECT, [{ projectId: PROJECT, path: '/srv/repos/billing/' }]), 'billing');
});

test('signing in is offered only where the window can do it: not for a daemon the window attached to', () => {
  const refused = snap({}, { state: 'auth_failed', remedy: 'signIn' });
  assert.ok(ids(model(state(refused))).includes('signIn'));
  assert.ok(!ids(model(state(refused, { attached: true }))).includes('signIn'), 'an attached daemon signs in from its CLI');
  const unreachable = snap({}, { state: 'waiting', attempts: 4 });
  assert.ok(!ids(model(state(unreachable, { attached: true }))).includes('retry'), 'Retry now dials our own link only');
  // "Sign in…" and "Re-register…" are different things: the first keeps this runner.
  const signedOut = model(state(null, { signedIn: false }));
  assert.equal(labelOf(signedOut, 'signIn'), 'Sign in…');
  assert.equal(labelOf(signedOut, 'register'), 'Re-register…');
});

test('menu details: separators between groups only, start at login, quit with running tasks', () => {
  const busy = trayModel(state(snap({ running: [task('t1')] })), {
    startAtLogin: true,
    loginItemHint: 'approve in System Settings',
    now: NOW,
  });
  const kinds = busy.menu.map((i) => (i.type === 'separator' ? '-' : 'x')).join('');
  assert.doesNotMatch(kinds, /--|^-|-$/, 'no doubled or dangling separators');
  assert.equal(busy.menu.find((i) => i.id === 'startAtLogin')?.checked, true);
  assert.equal(labelOf(busy, 'startAtLogin'), 'Start at login — approve in System Settings');
  assert.equal(labelOf(busy, 'quit'), 'Quit (stops 1 running)');
  assert.equal(labelOf(busy, 'copyRunnerId'), 'Copy runner ID');
  assert.equal(labelOf(model(state(snap())), 'quit'), 'Quit');
});

test('at most ten tasks are listed; the rest open the dashboard', () => {
  const many = model(state(snap({ running: Array.from({ length: 14 }, (_, i) => task(`t${i}`)) })));
  assert.equal(many.menu.filter((i) => i.id.startsWith('task:')).length, 10);
  assert.equal(labelOf(many, 'moreTasks'), '…and 4 more');
});

test('a long runner name is cut in the tooltip', () => {
  const m = model(state(snap(), { runnerName: 'n'.repeat(300) }));
  assert.ok(m.tooltip.length <= TOOLTIP_MAX);
  assert.match(m.tooltip, /^Sibyl Runner — n+…\n/);
});
