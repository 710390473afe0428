import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthError, ConfigError, ServerError } from '../../main/runner/errors.ts';
import { SibylApi, normalizeServerUrl, serverUrlProblem, wsUrlFor } from '../../main/runner/api/sibylApi.ts';
import { FakeCore } from '../helpers/fakeCore.ts';

const OPENSSL = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

async function serve(handler: RequestListener, server: Server = createServer(handler)): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function closedPort(): Promise<number> {
  const s = await serve(() => undefined);
  await s.close();
  return Number(new URL(s.url).port);
}

const registration = {
  name: 'ada-laptop',
  hostname: 'ada-laptop.local',
  capabilities: ['node'],
  max_concurrent_agents: 2,
  client_version: '0.1.0',
};

describe('SibylApi against the fake core', () => {
  let core: FakeCore;
  let api: SibylApi;
  before(async () => {
    core = await FakeCore.start({ heartbeatIntervalMs: 0 });
    api = new SibylApi(`${core.url}/`);
  });
  after(() => core.stop());

  it('reads health', async () => {
    assert.equal((await api.health()).status, 'healthy');
  });

  it('registers, reads and patches a runner', async () => {
    const token = core.mintAccessToken();
    const runner = await api.register(token, registration);
    assert.equal(runner.name, 'ada-laptop');
    assert.deepEqual(runner.capabilities, ['node']);
    assert.equal(runner.client_version, '0.1.0');
    assert.equal(runner.status, 'offline');
    const sent = core.requests.at(-1);
    assert.equal(sent?.headers.authorization, `Bearer ${token}`);
    assert.deepEqual(sent?.body, registration);
    assert.deepEqual(await api.getRunner(token, runner.id), runner);
    const patched = await api.patchRunner(token, runner.id, { capabilities: ['node', 'docker'], max_concurrent_agents: 4 });
    assert.deepEqual(patched.capabilities, ['node', 'docker']);
    assert.equal(patched.max_concurrent_agents, 4);
    assert.equal(patched.name, 'ada-laptop');
  });

  it('fills the server defaults when optional fields are omitted', async () => {
    const runner = await api.register(core.mintAccessToken(), { name: 'n', hostname: 'h' });
    assert.deepEqual(core.requests.at(-1)?.body, { name: 'n', hostname: 'h', capabilities: [], max_concurrent_agents: 3 });
    assert.equal(runner.max_concurrent_agents, 3);
  });

  it('validates values locally, before anything is sent (S14)', async () => {
    const count = core.requests.length;
    await assert.rejects(api.register('t', { ...registration, max_concurrent_agents: 21 }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /max_concurrent_agents/);
      return true;
    });
    await assert.rejects(api.register('t', { ...registration, name: '' }), ConfigError);
    await assert.rejects(api.getRunner('t', 'runner_abc'), ConfigError);
    await assert.rejects(api.startDeviceAuth({ client_name: 'x', interval: 0 }), ConfigError);
    assert.equal(core.requests.length, count);
  });

  it('turns 401 into an AuthError whose remedy is signing in to this server', async () => {
    await assert.rejects(api.register('not-a-token', registration), (err: unknown) => {
      assert.ok(err instanceof AuthError);
      assert.equal(err.status, 401);
      assert.equal(err.message, 'the server rejected the token (Not authenticated)');
      assert.equal(err.remedy, 'signIn');
      assert.equal(err.context.serverUrl, core.url);
      return true;
    });
    await assert.rejects(api.me(core.issueApiKey(['mcp'])), /Insufficient API key scope/);
  });

  it('renders a 422 list field by field', async () => {
    const raw = await fetch(`${core.url}/api/runners/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${core.mintAccessToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ hostname: 'h', max_concurrent_agents: 0 }),
    });
    // Replay what the fake (as FastAPI) answers, since the client itself never sends such a body.
    core.failNext('POST', '/api/runners/register', raw.status, await raw.json());
    await assert.rejects(api.register(core.mintAccessToken(), registration), (err: unknown) => {
      assert.ok(err instanceof ServerError);
      assert.equal(err.status, 422);
      assert.match(err.message, /body\.name: Field required; body\.max_concurrent_agents: Input should be greater than or equal to 1$/);
      return true;
    });
  });

  it('reports 404, 429 and 5xx with what the server said', async () => {
    // The server's own reason is the news: the address is right, so checking it is not the remedy.
    await assert.rejects(api.getRunner(core.mintAccessToken(), randomUUID()), {
      code: 'not_found',
      message: /Runner not found \(HTTP 404\)/,
      remedy: 'none',
    });
    core.failNext('GET', '/api/health', 404, { detail: 'Not Found' });
    await assert.rejects(api.health(), (err: unknown) => {
      assert.ok(err instanceof ServerError);
      assert.equal(err.remedy, 'checkServer');
      assert.match(err.message, new RegExp(`^That server has no GET /api/health \\(HTTP 404\\); is ${core.url} the site root`));
      assert.equal(err.context.serverUrl, core.url);
      return true;
    });
    core.failNext('GET', '/api/health', 429, { error: 'Rate limit exceeded: 10 per 1 minute' });
    await assert.rejects(api.health(), { code: 'rate_limited', message: /rate-limited .*10 per 1 minute/ });
    core.failNext('GET', '/api/health', 500, { detail: 'An internal error occurred. Please try again later. (ref: 1a2b3c4d)' });
    await assert.rejects(api.health(), { code: 'server_error', status: 500, message: /ref: 1a2b3c4d/ });
    core.failNext('GET', '/api/health', 502, '<html>Bad Gateway</html>');
    await assert.rejects(api.health(), { code: 'server_error', status: 502 });
    // FastAPI answers an unknown method with 405: a 501 comes from another kind of server (issue 15, item 17).
    core.failNext('POST', '/api/runners/register', 501, '<html>Unsupported method</html>');
    await assert.rejects(api.register(core.mintAccessToken(), registration), {
      code: 'bad_response',
      status: 501,
      remedy: 'checkServer',
      message:
        'That address is not a Sibyl server: POST /api/runners/register answered HTTP 501 (text/html); use the site root of Sibyl (without /api), e.g. https://sibyl.example.com',
    });
    core.failNext('GET', '/api/health', 404, '<html>nginx</html>');
    await assert.rejects(api.health(), {
      code: 'not_found',
      message: /^That address is not a Sibyl server: GET \/api\/health answered HTTP 404 \(text\/html\)/,
    });
  });

  it('deletes a runner (§3.6): refused while online, 404 once gone', async () => {
    const token = core.mintAccessToken();
    const { id } = core.addRunner();
    assert.deepEqual(await api.deleteRunner(token, id), { status: 'deleted', runner_id: id });
    await assert.rejects(api.deleteRunner(token, id), { code: 'not_found', status: 404, remedy: 'none' });
  });

  it('reads /api/auth/me', async () => {
    const me = await api.me(core.mintAccessToken());
    assert.equal(me.user.id, core.userId);
    assert.equal(me.organization?.id, core.orgId);
    assert.equal(me.org_role, 'owner');
  });

  it('refresh rotates; the old refresh token is refused afterwards', async () => {
    const pair = core.issueTokenPair();
    const next = await api.refresh(pair.refresh_token);
    assert.notEqual(next.refresh_token, pair.refresh_token);
    await assert.rejects(api.refresh(pair.refresh_token), (err: unknown) => {
      assert.ok(err instanceof AuthError);
      assert.match(err.message, /^authentication failed: .*Session not found or revoked/);
      assert.equal(err.remedy, 'signIn');
      return true;
    });
    await api.refresh(next.refresh_token);
  });
});

describe('SibylApi transport failures', () => {
  it('says in words that nothing answers, naming host and port; the code stays in the context', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    await assert.rejects(new SibylApi(url).health(), (err: unknown) => {
      assert.ok(err instanceof ServerError);
      assert.equal(err.code, 'network');
      assert.equal(err.message, `Nothing is answering at 127.0.0.1:${port} — is Sibyl running?`);
      assert.equal(err.remedy, 'checkServer');
      assert.deepEqual(
        err.context,
        { url: `${url}/api/health`, status: undefined, serverUrl: url, errorCode: 'ECONNREFUSED' },
        'the advice can name the site root',
      );
      return true;
    });
  });

  it('an unknown host', async () => {
    await assert.rejects(new SibylApi('https://sibyl-api-test.invalid').health(), {
      code: 'network',
      message: "Can't find sibyl-api-test.invalid: no such host",
    });
  });

  it('says "That address is not a Sibyl server" when the answer is not what Sibyl sends', async () => {
    const s = await serve((req, res) => {
      res.writeHead(200, { 'content-type': req.url === '/api/health' ? 'text/html' : 'application/json' });
      res.end(req.url === '/api/health' ? '<html>hello</html>' : '{"ok":true}');
    });
    try {
      const api = new SibylApi(s.url);
      await assert.rejects(api.health(), {
        code: 'bad_response',
        message: /^That address is not a Sibyl server: GET \/api\/health answered HTTP 200 \(text\/html\); use the site root of Sibyl/,
      });
      await assert.rejects(api.register('t', registration), (err: unknown) => {
        assert.ok(err instanceof ServerError);
        assert.equal(err.code, 'bad_response');
        assert.match(
          err.message,
          /^That address is not a Sibyl server: POST \/api\/runners\/register answered HTTP 200 \(application\/json\)/,
        );
        assert.match(String(err.context.detail), /^id: /, "the schema's complaint is kept for the details");
        return true;
      });
    } finally {
      await s.close();
    }
  });

  it('times out a server that never answers', async () => {
    const s = await serve(() => undefined);
    try {
      await assert.rejects(new SibylApi(s.url, { timeoutMs: 100 }).health(), {
        code: 'timeout',
        message: `No answer from ${new URL(s.url).host} within 0.1 s`,
      });
    } finally {
      await s.close();
    }
  });

  it('reports TLS trouble as such', async () => {
    const s = await serve((_req, res) => res.end('plain'));
    try {
      await assert.rejects(new SibylApi(s.url.replace('http:', 'https:')).health(), {
        code: 'tls',
        message: `${new URL(s.url).host} does not speak HTTPS; use http:// for a server without TLS, or the HTTPS port`,
      });
    } finally {
      await s.close();
    }
  });

  it(
    'reports a self-signed certificate as a TLS problem',
    { skip: OPENSSL ? false : 'openssl is not installed (it makes the certificate)' },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sibyl-tls-'));
      try {
        execFileSync(
          'openssl',
          [
            'req',
            '-x509',
            '-newkey',
            'ec',
            '-pkeyopt',
            'ec_paramgen_curve:prime256v1',
            '-nodes',
            '-days',
            '1',
            '-subj',
            '/CN=127.0.0.1',
            '-keyout',
            join(dir, 'k.pem'),
            '-out',
            join(dir, 'c.pem'),
          ],
          { stdio: 'ignore' },
        );
        const server = createTlsServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (_req, res) =>
          res.end('{}'),
        );
        const s = await serve(() => undefined, server);
        try {
          await assert.rejects(new SibylApi(s.url.replace('http:', 'https:')).health(), {
            code: 'tls',
            message: /DEPTH_ZERO_SELF_SIGNED_CERT/,
          });
        } finally {
          await s.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('server URLs', () => {
  it('derives the WebSocket URL as §1.1 does', () => {
    const id = '5b0f9d8e-2c61-4f0e-9a7b-1d2e3f4a5b6c';
    assert.equal(wsUrlFor('http://localhost:3334/', id), `ws://localhost:3334/api/runners/ws/${id}`);
    assert.equal(wsUrlFor('https://sibyl.example.com/prefix//', id), `wss://sibyl.example.com/prefix/api/runners/ws/${id}`);
  });

  it('normalises server_url to the site root and refuses non-HTTP schemes', () => {
    assert.equal(normalizeServerUrl(' https://Sibyl.example.com/x/ '), 'https://sibyl.example.com/x');
    assert.equal(new SibylApi('http://127.0.0.1:9/').serverUrl, 'http://127.0.0.1:9');
    assert.throws(() => normalizeServerUrl('ftp://x'), ConfigError);
    assert.throws(() => normalizeServerUrl('sibyl.example.com'), ConfigError);
  });

  it('refuses the API root in place of the site root, with the words runner.yaml uses', () => {
    for (const url of ['https://sibyl.example.com/api', 'https://sibyl.example.com/x/api/']) {
      assert.throws(() => normalizeServerUrl(url, '--server'), {
        name: 'ConfigError',
        message: `--server: ${JSON.stringify(url)} ends in /api: use the site root, without the trailing /api`,
      });
      assert.equal(serverUrlProblem(url), `${JSON.stringify(url)} ends in /api: use the site root, without the trailing /api`);
    }
    assert.equal(serverUrlProblem('https://sibyl.example.com/apis'), undefined);
  });
});
