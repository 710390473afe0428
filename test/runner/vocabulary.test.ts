import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REMEDIES } from '../../main/runner/errors.ts';
import {
  duration,
  linkDescription,
  oneLine,
  promptSummary,
  remedyAction,
  taskPhaseLabel,
  UNREACHABLE_AFTER_ATTEMPTS,
  type LinkFacts,
  type RunnerFacts,
} from '../../main/runner/vocabulary.ts';

const NOW = 1_000_000;

function facts(link: Partial<LinkFacts> | null, over: Partial<Omit<RunnerFacts, 'daemon'>> = {}, paused = false): RunnerFacts {
  return {
    registered: true,
    signedIn: true,
    attached: false,
    daemon:
      link === null
        ? null
        : {
            paused,
            status: paused ? 'draining' : 'online',
            runner: { serverUrl: 'https://sibyl.example' },
            link: { state: 'open', attempts: 0, ...link },
          },
    ...over,
  };
}

test('every link state has one label, tone and remedy', () => {
  const cases: [string, RunnerFacts, { kind: string; tone: string; label: string; remedy: string; reason: RegExp }][] = [
    [
      'not registered',
      facts(null, { registered: false }),
      { kind: 'unregistered', tone: 'neutral', label: 'Not registered', remedy: 'register', reason: /not registered/ },
    ],
    [
      'signed out',
      facts(null, { signedIn: false }),
      { kind: 'signedOut', tone: 'danger', label: 'Signed out', remedy: 'signIn', reason: /stays registered/ },
    ],
    ['not running', facts(null), { kind: 'notRunning', tone: 'neutral', label: 'Not running', remedy: 'none', reason: /not running/ }],
    ['connected', facts({}), { kind: 'connected', tone: 'ok', label: 'Connected', remedy: 'none', reason: /^$/ }],
    ['paused', facts({}, {}, true), { kind: 'paused', tone: 'warn', label: 'Paused', remedy: 'none', reason: /not taking new tasks/ }],
    [
      'idle (not started yet)',
      facts({ state: 'idle' }),
      { kind: 'connecting', tone: 'info', label: 'Connecting…', remedy: 'none', reason: /^Reaching https:\/\/sibyl\.example\.$/ },
    ],
    [
      'connecting after a failure',
      facts({ state: 'connecting', reason: 'the connection dropped (1006)' }),
      { kind: 'connecting', tone: 'info', label: 'Connecting…', remedy: 'none', reason: /^The connection dropped \(1006\)\.$/ },
    ],
    [
      'waiting, first failures',
      facts({ state: 'waiting', attempts: 1, reason: 'the connection dropped (1006)', nextRetryAt: NOW + 8_000, remedy: 'checkServer' }),
      {
        kind: 'reconnecting',
        tone: 'warn',
        label: 'Reconnecting',
        remedy: 'none',
        reason: /^The connection dropped \(1006\)\. Retrying in 8s\.$/,
      },
    ],
    [
      'waiting, unreachable',
      facts({
        state: 'waiting',
        attempts: UNREACHABLE_AFTER_ATTEMPTS,
        reason: 'the server refused the connection at wss://sibyl.example/ws',
        nextRetryAt: NOW + 125_000,
        remedy: 'checkServer',
      }),
      {
        kind: 'unreachable',
        tone: 'danger',
        label: "Can't reach the server",
        remedy: 'checkServer',
        reason: /^The server refused the connection at wss:\/\/sibyl\.example\/ws\. Retrying in 2m 05s\.$/,
      },
    ],
    [
      'waiting, due now, server error',
      facts({ state: 'waiting', attempts: 5, reason: 'the server answered HTTP 503', nextRetryAt: NOW + 400, remedy: 'retry' }),
      { kind: 'unreachable', tone: 'danger', label: "Can't reach the server", remedy: 'retry', reason: /HTTP 503\. Retrying now…$/ },
    ],
    [
      'credentials refused',
      facts({ state: 'auth_failed', reason: 'the server refused the credentials (1008)', remedy: 'signIn' }),
      {
        kind: 'signedOut',
        tone: 'danger',
        label: 'Signed out',
        remedy: 'signIn',
        reason: /^The server refused the credentials \(1008\)\.$/,
      },
    ],
    [
      'stopped cleanly',
      facts({ state: 'stopped', reason: 'the runner was stopped' }),
      { kind: 'stopped', tone: 'neutral', label: 'Stopped', remedy: 'none', reason: /^The runner was stopped\.$/ },
    ],
    [
      'gave up reconnecting',
      facts({ state: 'stopped', reason: 'the connection dropped (1006); gave up after 5 attempts', remedy: 'checkServer' }),
      { kind: 'stopped', tone: 'neutral', label: 'Stopped', remedy: 'checkServer', reason: /gave up after 5 attempts\.$/ },
    ],
  ];
  for (const [name, input, want] of cases) {
    const got = linkDescription(input, NOW);
    assert.deepEqual(
      { kind: got.kind, tone: got.tone, label: got.label, remedy: got.remedy },
      { kind: want.kind, tone: want.tone, label: want.label, remedy: want.remedy },
      name,
    );
    assert.match(got.reason, want.reason, name);
    assert.doesNotMatch(got.reason, /sibyl-runner|`/, `${name}: no face's words in the shared reason`);
  }
});

test('the cause is the core reason as written, without the countdown, for one-line faces', () => {
  const d = linkDescription(
    facts({ state: 'waiting', attempts: 4, reason: 'the connection dropped (1006)', nextRetryAt: NOW + 8000 }),
    NOW,
  );
  assert.equal(d.cause, 'the connection dropped (1006)');
  assert.equal(linkDescription(facts({}), NOW).cause, '');
  // Without a reason from the core, the words still say what happened.
  assert.match(linkDescription(facts({ state: 'waiting', attempts: 1 }), NOW).reason, /^The connection dropped\.$/);
  assert.match(linkDescription(facts({ state: 'auth_failed' }), NOW).reason, /refused the credentials/);
  assert.equal(linkDescription(facts({ state: 'auth_failed' }), NOW).remedy, 'signIn');
});

test('unregistered and signed out win over whatever the daemon says; an attached daemon is not signed out', () => {
  assert.equal(linkDescription(facts({}, { registered: false, signedIn: false }), NOW).kind, 'unregistered');
  assert.equal(linkDescription(facts({}, { signedIn: false }), NOW).kind, 'signedOut');
  assert.equal(linkDescription(facts({}, { signedIn: false, attached: true }), NOW).kind, 'connected');
  assert.equal(linkDescription(facts({ state: 'waiting', attempts: UNREACHABLE_AFTER_ATTEMPTS - 1 }), NOW).kind, 'reconnecting');
});

test('every remedy has window words, and only `none` is silent', () => {
  for (const r of REMEDIES) assert.equal(remedyAction(r) === '', r === 'none', r);
  assert.equal(remedyAction('signIn'), 'Sign in again');
  assert.equal(remedyAction('register'), 'Register');
  assert.equal(remedyAction('checkServer'), 'Check the address');
  assert.equal(remedyAction('fixConfig'), 'Fix the configuration');
  assert.equal(remedyAction('freeDisk'), 'Free disk space');
  assert.equal(remedyAction('retry'), 'Try again');
});

test('task phases and statuses in words', () => {
  assert.equal(taskPhaseLabel('preparing'), 'Preparing worktree');
  assert.equal(taskPhaseLabel('running'), 'Running');
  assert.equal(taskPhaseLabel('finishing'), 'Finishing');
  assert.equal(taskPhaseLabel('assigned'), 'Assigned');
  assert.equal(taskPhaseLabel('completed'), 'Completed');
  assert.equal(taskPhaseLabel('failed'), 'Failed');
  assert.equal(taskPhaseLabel('timeout'), 'Timed out');
  assert.equal(taskPhaseLabel('cancelled'), 'Cancelled');
  assert.equal(taskPhaseLabel('rejected'), 'Rejected');
});

test('durations: one format at every boundary, "—" when unknown', () => {
  const cases: [number | null | undefined, string][] = [
    [0, '0s'],
    [0.9, '0s'],
    [-5, '0s'],
    [42, '42s'],
    [59.99, '59s'],
    [60, '1m 00s'],
    [185, '3m 05s'],
    [3599, '59m 59s'],
    [3600, '1h 00m'],
    [3720, '1h 02m'],
    [86_399, '23h 59m'],
    [90_000, '25h 00m'],
    [null, '—'],
    [undefined, '—'],
    [Number.NaN, '—'],
    [Number.POSITIVE_INFINITY, '—'],
  ];
  for (const [s, want] of cases) assert.equal(duration(s), want, String(s));
});

test('prompt summaries: first non-blank line, whitespace collapsed, cut to the limit with "…"', () => {
  assert.equal(promptSummary('Fix the upload bug', 48), 'Fix the upload bug');
  assert.equal(promptSummary('\n\n   \n  Fix the bug  \nthen the tests', 48), 'Fix the bug');
  assert.equal(promptSummary('Fix\r\nmore', 48), 'Fix');
  assert.equal(promptSummary('a\t\tb   c', 48), 'a b c');
  assert.equal(promptSummary('', 48), '(no prompt)');
  assert.equal(promptSummary('  \n \t\n', 48), '(no prompt)');
  const long = 'x'.repeat(100);
  assert.equal(promptSummary(long, 48), `${'x'.repeat(47)}…`);
  assert.equal(Array.from(promptSummary(long, 48)).length, 48);
  assert.equal(promptSummary('x'.repeat(48), 48), 'x'.repeat(48), 'exactly the limit is not cut');
  assert.equal(promptSummary('x'.repeat(49), 48), `${'x'.repeat(47)}…`);
  // Cut by characters, never inside a surrogate pair.
  assert.equal(promptSummary('🙂'.repeat(10), 5), `${'🙂'.repeat(4)}…`);
  assert.equal(promptSummary('abc', 0), '…', 'a degenerate limit still yields one character');
  assert.equal(oneLine('  \n', 10), '');
  assert.equal(oneLine('server refused\nsecond', 10), 'server re…');
});
