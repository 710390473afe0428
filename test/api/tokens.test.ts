import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { FileCredentialStore, type CredentialStore, type Credentials } from '../../main/runner/config/credentials.ts';
import { AuthError, ServerError } from '../../main/runner/errors.ts';
import { SibylApi } from '../../main/runner/api/sibylApi.ts';
import { TokenProvider, decodeJwtExp, saveLogin } from '../../main/runner/api/tokens.ts';
import { FakeCore, signJwt } from '../helpers/fakeCore.ts';

async function closedPortUrl(): Promise<string> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** The real file store, plus a log of what was saved when. */
class RecordingStore implements CredentialStore {
  readonly inner: FileCredentialStore;
  readonly saved: Credentials[] = [];
  constructor(path: string) {
    this.inner = new FileCredentialStore(path);
  }
  load(): Promise<Credentials> {
    return this.inner.load();
  }
  async save(creds: Credentials): Promise<void> {
    await this.inner.save(creds);
    this.saved.push(creds);
  }
  describe(): string {
    return this.inner.describe();
  }
}

describe('decodeJwtExp', () => {
  it('reads exp without verifying, and tolerates garbage', () => {
    assert.equal(decodeJwtExp(signJwt({ exp: 1767225600 }, 'any secret')), 1767225600);
    assert.equal(decodeJwtExp('sk_test_abc'), undefined);
    assert.equal(decodeJwtExp('a.%%%.c'), undefined);
    assert.equal(decodeJwtExp(signJwt({ sub: 'x' })), undefined);
  });
});

describe('TokenProvider', () => {
  let core: FakeCore;
  let api: SibylApi;
  let dir: string;
  let store: RecordingStore;
  const refreshes = (): number => core.requests.filter((r) => r.path === '/api/auth/refresh').length;

  before(async () => {
    core = await FakeCore.start({ heartbeatIntervalMs: 0 });
    api = new SibylApi(core.url);
    dir = mkdtempSync(join(tmpdir(), 'sibyl-tokens-'));
  });
  after(async () => {
    await core.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach((t) => {
    store = new RecordingStore(join(dir, `${t.name.replace(/\W+/g, '_')}.json`));
  });

  it('saveLogin computes the expiry and keeps a runner token only for the same server', async () => {
    await store.save({ runner_token: 'rt', server_url: core.url });
    const now = 1_700_000_000_000;
    const creds = await saveLogin(store, { access_token: 'a', refresh_token: 'r', expires_in: 3600 }, core.url, now);
    assert.deepEqual(creds, {
      access_token: 'a',
      refresh_token: 'r',
      access_token_expires_at: 1_700_003_600,
      server_url: core.url,
      runner_token: 'rt',
    });
    assert.deepEqual(await store.load(), creds);
    const other = await saveLogin(store, { access_token: 'a', refresh_token: 'r', expires_in: 60 }, 'https://elsewhere.example', now);
    assert.equal(other.runner_token, undefined);
  });

  it('prefers an injected runner token and never refreshes it', async () => {
    await store.save({ runner_token: 'runner-token', access_token: 'x' });
    const provider = new TokenProvider(store, api);
    assert.equal(await provider.accessToken(), 'runner-token');
    await assert.rejects(provider.refreshNow(), AuthError);
  });

  it('never sends a login saved for another server', async () => {
    await saveLogin(store, core.issueTokenPair(), 'https://elsewhere.example');
    await assert.rejects(new TokenProvider(store, api).accessToken(), /stored login is for https:\/\/elsewhere.example, not http:\/\/127/);
  });

  it('returns a fresh access token as is', async () => {
    const pair = core.issueTokenPair();
    await saveLogin(store, pair, core.url);
    const before = refreshes();
    assert.equal(await new TokenProvider(store, api).accessToken(), pair.access_token);
    assert.equal(refreshes(), before);
  });

  it('refreshes within 60 s of expiry, saving the rotated pair before returning it', async () => {
    const pair = core.issueTokenPair({ ttlS: 30 });
    await saveLogin(store, pair, core.url);
    const token = await new TokenProvider(store, api).accessToken();
    assert.notEqual(token, pair.access_token);
    const stored = await store.load();
    assert.equal(stored.access_token, token);
    assert.notEqual(stored.refresh_token, pair.refresh_token);
    assert.ok((stored.access_token_expires_at ?? 0) > Date.now() / 1000 + 3000);
    assert.equal(store.saved.at(-1)?.access_token, token);
    // The rotated-out refresh token is dead on the server.
    await assert.rejects(api.refresh(pair.refresh_token), /Session not found or revoked/);
  });

  it('shares one refresh between concurrent callers', async () => {
    await saveLogin(store, core.issueTokenPair({ ttlS: 10 }), core.url);
    const provider = new TokenProvider(store, api);
    const before = refreshes();
    const tokens = await Promise.all([provider.accessToken(), provider.accessToken(), provider.refreshNow(), provider.accessToken()]);
    assert.equal(new Set(tokens).size, 1);
    assert.equal(refreshes() - before, 1);
    assert.equal(await provider.accessToken(), tokens[0]);
    assert.equal(refreshes() - before, 1);
  });

  it('refreshNow forces a refresh (e.g. after a 1008 close)', async () => {
    const pair = core.issueTokenPair();
    await saveLogin(store, pair, core.url);
    const before = refreshes();
    const token = await new TokenProvider(store, api).refreshNow();
    assert.equal(refreshes() - before, 1);
    const stored = await store.load();
    assert.equal(stored.access_token, token);
    assert.notEqual(stored.refresh_token, pair.refresh_token);
  });

  it('a refused refresh says to log in again', async () => {
    await saveLogin(store, core.issueTokenPair({ ttlS: 10 }), core.url);
    core.revokeSessions();
    await assert.rejects(new TokenProvider(store, api).accessToken(), (err: unknown) => {
      assert.ok(err instanceof AuthError);
      assert.match(err.message, /^authentication failed: the server refused the refresh token/);
      assert.equal(err.remedy, 'signIn');
      assert.equal(err.context.serverUrl, core.url);
      return true;
    });
    await store.save({});
    await assert.rejects(new TokenProvider(store, api).accessToken(), (err: unknown) => {
      assert.ok(err instanceof AuthError);
      assert.deepEqual([err.message, err.remedy, err.context.serverUrl], ['not logged in', 'signIn', core.url]);
      return true;
    });
  });

  it('keeps using a still-valid token when the server is unreachable, but reports a network error once it expires', async () => {
    const down = new SibylApi(await closedPortUrl());
    const pair = core.issueTokenPair({ ttlS: 30 });
    await saveLogin(store, pair, down.serverUrl);
    assert.equal(await new TokenProvider(store, down).accessToken(), pair.access_token);
    const late = new TokenProvider(store, down, { now: () => Date.now() + 3_600_000 });
    await assert.rejects(late.accessToken(), (err: unknown) => err instanceof ServerError && err.code === 'network');
  });
});
