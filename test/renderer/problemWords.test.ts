import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { runDeviceFlow } from '../../main/runner/api/deviceFlow.ts';
import { SibylApi } from '../../main/runner/api/sibylApi.ts';
import { detailOf } from '../../main/app/dispatch.ts';
import { RunnerError } from '../../main/runner/errors.ts';
import type { AppState } from '../../preload/contract.ts';
import { connectionWords } from '../../renderer/src/connectionWords.ts';
import { describeProblem, plainCause, WORDED_CODES, type ProblemFacts } from '../../renderer/src/problemWords.ts';
import { FakeCore } from '../helpers/fakeCore.ts';

const REPO = join(import.meta.dirname, '..', '..');

/**
 * What the window's main text must never hold (issue 15, item 2): a command line or backtick, a
 * WebSocket close code, an HTTP status, an error code or an environment variable. Written here
 * on their own, not borrowed from the code under test.
 */
function assertPlain(text: string, what: string): void {
  const bad: [RegExp, string][] = [
    [/`/, 'a backtick'],
    [/sibyl-runner/, 'the CLI'],
    [/--[a-z]/, 'a command-line flag'],
    // (a port after a colon is an address, not a code)
    [/(?<!:)\b(10\d\d|4\d{3})\b/, 'a close code'],
    [/\bHTTP\b|(?<!:)\b[45]\d\d\b/, 'an HTTP status'],
    [/\bE[A-Z]{4,}\b|[A-Z]{2,}_[A-Z_]{2,}/, 'an error code or environment variable'],
    [/\/api\/|wss?:\/\//, 'a raw endpoint'],
  ];
  assert.ok(text.trim(), `${what}: empty main text`);
  for (const [re, name] of bad) assert.doesNotMatch(text, re, `${what}: main text has ${name}: ${JSON.stringify(text)}`);
  assert.match(text, /[.?!…]$/, `${what}: a sentence: ${JSON.stringify(text)}`);
}

/** An error as main hands it to the window (dispatch.ts). */
function asIpc(err: unknown): ProblemFacts {
  assert.ok(err instanceof RunnerError, `a typed error: ${String(err)}`);
  return { code: err.code, message: err.message, remedy: err.remedy, ...detailOf(err) };
}

async function failure(fn: () => Promise<unknown>): Promise<ProblemFacts> {
  try {
    await fn();
  } catch (err) {
    return asIpc(err);
  }
  throw new Error('expected a failure');
}

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

/** Every error code the core and the app layer raise (the CLI's own are never sent to the window). */
function codesInSource(): Set<string> {
  const codes = new Set(['auth_failed', 'http_error', 'not_found', 'bad_response', 'validation', 'rate_limited', 'server_error']);
  const pattern =
    /(?:new (?:RunnerError|ServerError|ServerRefusal|KeyringError|TaskRejected)|\bsuper|this\.serverError|loginFailed\(api,)\(?\s*'([a-z_]+)'|\bcode: '([a-z_]+)'/g;
  for (const file of [
    ...files(join(REPO, 'main', 'runner')),
    ...files(join(REPO, 'main', 'app')),
    ...files(join(REPO, 'main', 'desktop')),
  ]) {
    for (const m of readFileSync(file, 'utf8').matchAll(pattern)) codes.add((m[1] ?? m[2])!);
  }
  return codes;
}

test('every error code the window can show is one plain sentence, whatever the core wrote', () => {
  const codes = codesInSource();
  assert.ok(codes.size > 40, `found ${codes.size} codes`);
  // The core's worst: every kind of technical word the issue saw, in one message.
  const worst = [
    'the server rejected the token (Not authenticated); run `sibyl-runner login --server https://s.example`',
    'cannot reach http://127.0.0.1:1/api/health (bad port)',
    'Connection closed (1006)',
    'TLS problem (CERT_HAS_EXPIRED); trust its CA with NODE_EXTRA_CA_CERTS=/path/ca.pem',
    'POST https://s.example/api/runners/register: server error (HTTP 502)',
  ];
  for (const code of [...codes, 'an_unknown_code']) {
    for (const remedy of [
      undefined,
      'signIn',
      'checkServer',
      'fixConfig',
      'freeDisk',
      'checkInput',
      'retry',
      'none',
      'register',
    ] as const) {
      for (const message of worst) {
        const p = describeProblem({ code, message, remedy, detail: 'url: https://s.example/api/x\nstatus: 502' });
        assertPlain(p.text, `${code}/${remedy ?? '-'}`);
        assert.ok(p.details.includes(message), `${code}: the raw message is kept for Details`);
      }
    }
  }
  // The codes the window words on purpose are codes something raises.
  for (const code of WORDED_CODES)
    assert.ok(codes.has(code) || code === 'bad_input' || code === 'unknown_channel', `${code} is raised somewhere`);
});

test("the real core's errors, as the window receives them, in the window's words", async (t) => {
  const core = await FakeCore.start({ deviceIntervalS: 0.05 });
  t.after(() => core.stop());
  const token = core.mintAccessToken();
  const api = new SibylApi(core.url);

  // A registration the server refuses for its name: said next to the name field.
  core.failNext('POST', '/api/runners/register', 422, {
    detail: [{ type: 'value_error', loc: ['body', 'name'], msg: 'Value error, name already taken', input: 'desk' }],
  });
  const taken = describeProblem(await failure(() => api.register(token, { name: 'desk', hostname: 'h' })));
  assert.equal(taken.text, 'That name is already taken on this server.');
  assert.equal(taken.field, 'name');
  assert.equal(taken.remedy, 'checkInput');
  assert.match(taken.details, /Value error, name already taken/);

  // A token the server refuses: sign in again.
  const refused = describeProblem(await failure(() => api.me('not-a-token')));
  assert.equal(refused.remedy, 'signIn');
  assertPlain(refused.text, 'refused token');

  // A server error and a rate limit: try again.
  core.failNext('GET', '/api/health', 502, { detail: 'bad gateway' });
  const down = describeProblem(await failure(() => api.health()));
  assert.equal(down.remedy, 'retry');
  assertPlain(down.text, 'server error');

  // Device sign-in denied and expired in the browser.
  for (const [end, text] of [
    ['deny', 'The sign-in was denied in the browser.'],
    ['expire', 'The sign-in code expired before it was approved.'],
  ] as const) {
    const facts = await failure(() =>
      runDeviceFlow(api, {
        clientName: 'words test',
        onCode: (info) => (end === 'deny' ? core.denyDevice(info.userCode) : core.expireDevice(info.userCode)),
      }),
    );
    const p = describeProblem(facts);
    assert.equal(p.text, text);
    assert.equal(p.remedy, 'retry');
  }

  // Nothing listening, an HTTPS address on a plain server, a web page that is not Sibyl, an endless answer.
  const page = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not here</h1>'));
  await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
  t.after(() => page.close());
  const pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
  const endless = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const more = (): void => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', more);
    };
    more();
  });
  await new Promise<void>((r) => endless.listen(0, '127.0.0.1', r));
  t.after(() => endless.close());
  const endlessUrl = `http://127.0.0.1:${(endless.address() as AddressInfo).port}`;
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise<void>((r) => closed.close(() => r()));
  const cases: [string, string, RegExp][] = [
    ['nothing listening', closedUrl, /^Nothing is answering at 127\.0\.0\.1:\d+ — is Sibyl running\?$/],
    ['https to http', core.url.replace('http:', 'https:'), /^This machine doesn't trust|does not speak|closed the connection|Can't reach/],
    ['a web page', pageUrl, /isn't a Sibyl server/],
    ['an endless answer', endlessUrl, /isn't a Sibyl server/],
  ];
  for (const [what, url, expected] of cases) {
    const p = describeProblem(await failure(() => new SibylApi(url).health()));
    assertPlain(p.text, what);
    assert.match(p.text, expected, what);
    assert.equal(p.remedy, 'checkServer', what);
  }
});

test("the link's reasons in plain words, the core's kept for Details", () => {
  const reasons: [string, string][] = [
    ['the connection dropped (1006)', 'The connection to the server dropped.'],
    ['the server closed the connection (1011 internal error)', 'The server closed the connection.'],
    ['the server refused the credentials (4001 unauthorized)', "The server didn't accept this runner's sign-in."],
    ['the server refused the credentials (4001); retrying with refreshed credentials', "The server didn't accept this runner's sign-in."],
    ['no pong within 15000 ms (half-open connection)', 'The connection stopped answering.'],
    ['no server heartbeat for 75 s (the server may have dropped this runner)', 'The server stopped sending heartbeats.'],
    ['Nothing is answering at 127.0.0.1:45999 — is Sibyl running?', 'Nothing is answering at 127.0.0.1:45999 — is Sibyl running?'],
    [
      "TLS problem talking to s.example:443 (CERT_HAS_EXPIRED); check the server's certificate; for a private CA, trust it with NODE_EXTRA_CA_CERTS=/path/to/ca.pem",
      "This machine doesn't trust the server's certificate.",
    ],
    [
      'the connection dropped (1006); gave up after 5 attempts (max_reconnect_attempts)',
      'The connection to the server dropped. Gave up after 5 attempts.',
    ],
  ];
  for (const [raw, words] of reasons) {
    assert.equal(plainCause(raw), words, raw);
    assertPlain(plainCause(raw), raw);
  }
});

/** A registered, signed-in runner's state with this link; times are epoch ms. */
function stateWith(link: Partial<NonNullable<AppState['daemon']>['link']>, extra: Partial<AppState> = {}): AppState {
  return {
    version: 1,
    registered: true,
    serverUrl: 'https://sibyl.example.com',
    runnerName: 'desk',
    runnerId: '5b0f9d8e-2c61-4f0e-9a7b-1d2e3f4a5b6c',
    attached: false,
    signedIn: true,
    daemon: {
      version: 1,
      pid: 4242,
      startedAt: 0,
      configPath: '/c/runner.yaml',
      runner: { id: 'r', name: 'desk', serverUrl: 'https://sibyl.example.com', maxAgents: 3, sandboxMode: false },
      status: 'online',
      paused: false,
      link: { state: 'open', since: 0, attempts: 0, ...link },
      running: [],
      outboxPending: 0,
    },
    ...extra,
  };
}

test('the connection panel: each state its colour, its reason in words, the attempt, the next try and the last connection', () => {
  const now = Date.UTC(2026, 11, 1, 12, 0, 0);
  const reconnecting = connectionWords(
    stateWith({
      state: 'waiting',
      reason: 'the connection dropped (1006)',
      attempts: 2,
      nextRetryAt: now + 8000,
      connectedAt: now - 180_000,
    }),
    now,
  );
  assert.equal(reconnecting.tone, 'warn');
  assert.equal(reconnecting.reason, 'The connection to the server dropped.');
  assert.equal(reconnecting.timing, 'Attempt 2 · next try in 8s · last connected 3m ago');
  assert.deepEqual(reconnecting.actions, ['retryNow']);
  assert.equal(reconnecting.details, 'the connection dropped (1006)');
  assert.equal(reconnecting.receiving, false);

  const unreachable = connectionWords(
    stateWith({
      state: 'waiting',
      reason: 'Nothing is answering at sibyl.example.com:443 — is Sibyl running?',
      attempts: 4,
      nextRetryAt: now + 30_000,
    }),
    now,
  );
  assert.equal(unreachable.tone, 'danger');
  assert.deepEqual(unreachable.actions, ['retryNow', 'checkServer']);
  assert.equal(unreachable.timing, 'Attempt 4 · next try in 30s · not connected since the runner started');

  const paused = connectionWords(stateWith({ state: 'open' }, { daemon: { ...stateWith({}).daemon!, paused: true } }), now);
  assert.equal(paused.tone, 'neutral');
  const signedOut = connectionWords({ ...stateWith({}), signedIn: false, daemon: null }, now);
  assert.equal(signedOut.tone, 'danger');
  assert.deepEqual(signedOut.actions, ['signIn']);
  const broken = connectionWords(
    {
      ...stateWith({}),
      daemon: null,
      startError: { code: 'config_invalid', message: 'runner.yaml: max_concurrent_agents: expected ≤ 20', remedy: 'fixConfig' },
    },
    now,
  );
  assert.equal(broken.tone, 'danger');
  assert.match(broken.details, /max_concurrent_agents/);
  // The runner's own process died and is started again: amber, with the attempt and how it ended under Details.
  const restarting = connectionWords(
    {
      ...stateWith({}),
      daemon: null,
      core: {
        state: 'restarting',
        attempt: 2,
        nextRetryAt: now + 4000,
        lastExit: { code: null, signal: 'SIGKILL', at: now - 1000, stderr: 'boom' },
      },
    },
    now,
  );
  assert.equal(restarting.label, 'Restarting');
  assert.equal(restarting.tone, 'warn');
  assert.equal(restarting.timing, 'Attempt 2 · next try in 4s');
  assert.deepEqual(restarting.actions, ['start']);
  assert.match(restarting.details, /ended by SIGKILL/);
  assert.equal(restarting.receiving, false);
  for (const w of [reconnecting, unreachable, paused, signedOut, broken, restarting]) assertPlain(w.reason, w.kind);
  assert.equal(connectionWords(stateWith({}), now).tone, 'ok');
  assert.equal(connectionWords(stateWith({}), now).receiving, true);
});
