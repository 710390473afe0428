import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Credentials, CredentialStore } from '../../main/runner/config/credentials.ts';
import { KeyringError } from '../../main/runner/config/credentials.ts';
import { answerCredentialRequest, PARENT_CREDENTIALS_ENV, ParentCredentialStore } from '../../main/runner/config/parentCredentials.ts';
import { BIN, cliRun, registeredRunner } from '../helpers/runnerHarness.ts';

/** A store in memory that records what was asked of it. */
function memoryStore(initial: Credentials): CredentialStore & { ops: string[]; saved: Credentials[] } {
  let current = initial;
  const s = {
    ops: [] as string[],
    saved: [] as Credentials[],
    load: async () => (s.ops.push('load'), current),
    save: async (c: Credentials) => {
      s.ops.push('save');
      s.saved.push(c);
      current = c;
    },
    describe: () => 'memory',
  };
  return s;
}

test('a core started with SIBYL_CREDENTIALS_FROM=parent signs in with what its parent answers, never with credentials.json', async () => {
  const { core, id, home, config, env } = await registeredRunner();
  // The CLI's own login beside runner.yaml: a token the server refuses. Reading it would fail the handshake.
  writeFileSync(join(home, 'credentials.json'), JSON.stringify({ access_token: 'the-cli-face-token-not-for-the-app' }), { mode: 0o600 });
  const store = memoryStore({ access_token: env.SIBYL_ACCESS_TOKEN });
  const child = fork(BIN, ['run', '--config', config], {
    env: { PATH: process.env.PATH, HOME: home, [PARENT_CREDENTIALS_ENV]: 'parent' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  after(() => void child.kill('SIGKILL'));
  child.on('message', (msg) => void answerCredentialRequest(store, msg).then((a) => a && child.send(a)));
  await core.until(() => core.connected(id), 15_000, 'the core connects with the parent-given token');
  assert.ok(store.ops.includes('load'), 'the parent was asked');
  assert.deepEqual(
    core.handshakes.map((h) => h.outcome),
    ['accepted'],
    'one handshake, accepted: the file token was never tried',
  );
  // The parent leaving ends the core (no orphan running without the app's credentials).
  child.disconnect();
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 0);
});

test('the variable without a parent channel is a clear error (exit 2) naming it', async () => {
  const { config, home } = await registeredRunner();
  const r = await cliRun(['run', '--config', config], { HOME: home, [PARENT_CREDENTIALS_ENV]: 'parent' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /SIBYL_CREDENTIALS_FROM=parent is set, but this process was not started by the desktop app/);
});

test('load and save cross the channel; a store error keeps its code and remedy', async () => {
  const store = memoryStore({ access_token: 'a' });
  const listeners = new Set<(m: unknown) => void>();
  const channel = {
    send: (msg: unknown) => void answerCredentialRequest(store, msg).then((a) => a && [...listeners].forEach((l) => l(a))),
    listen: (fn: (m: unknown) => void) => (listeners.add(fn), () => void listeners.delete(fn)),
  };
  const child = new ParentCredentialStore(channel);
  assert.deepEqual(await child.load(), { access_token: 'a' });
  await child.save({ access_token: 'b', refresh_token: 'r' });
  assert.deepEqual(store.saved, [{ access_token: 'b', refresh_token: 'r' }]);
  assert.equal(listeners.size, 0, 'no listener is left (it would keep the process alive)');
  store.load = async () => {
    throw new KeyringError('keyring_unavailable', 'the keyring is locked');
  };
  await assert.rejects(child.load(), (err: { code: string; remedy: string; message: string }) => {
    assert.deepEqual([err.code, err.remedy, err.message], ['keyring_unavailable', 'retry', 'the keyring is locked']);
    return true;
  });
  assert.equal(await answerCredentialRequest(store, { something: 'else' }), undefined, 'other messages are not answered');
  const silent = new ParentCredentialStore({ send: () => undefined, listen: () => () => undefined }, 50);
  await assert.rejects(silent.load(), { code: 'credentials_unanswered' });
});
