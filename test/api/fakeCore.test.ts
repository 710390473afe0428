import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { FakeCore, signJwt } from '../helpers/fakeCore.ts';

interface Client {
  ws: WebSocket;
  received: unknown[];
  opened: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  /** HTTP status when the upgrade was refused. */
  refused: Promise<number>;
}

function dial(url: string, token?: string): Client {
  const ws = new WebSocket(url, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  const received: unknown[] = [];
  ws.on('message', (data) => received.push(JSON.parse((data as Buffer).toString('utf8'))));
  ws.on('error', () => undefined);
  return {
    ws,
    received,
    opened: new Promise((resolve) => ws.once('open', () => resolve())),
    closed: new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
    refused: new Promise((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))),
  };
}

const post = (url: string, body: unknown, token?: string): Promise<Response> =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('fake core REST', () => {
  let core: FakeCore;
  before(async () => {
    core = await FakeCore.start();
  });
  after(() => core.stop());

  it('answers health without auth and records requests', async () => {
    const res = await fetch(`${core.url}/api/health`);
    assert.deepEqual(await res.json(), { status: 'healthy', version: '0.0.0-fake' });
    assert.equal(core.requests.at(-1)?.path, '/api/health');
  });

  it('refuses registration without a valid bearer', async () => {
    const res = await post(`${core.url}/api/runners/register`, { name: 'a', hostname: 'b' }, 'nope');
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { detail: 'Not authenticated' });
  });

  it('reports invalid bodies in FastAPI list form', async () => {
    const res = await post(`${core.url}/api/runners/register`, { hostname: 'h', max_concurrent_agents: 21 }, core.mintAccessToken());
    assert.equal(res.status, 422);
    const body = (await res.json()) as { detail: { type: string; loc: unknown[]; msg: string }[] };
    assert.deepEqual(
      body.detail.map((d) => [d.type, d.loc, d.msg]),
      [
        ['missing', ['body', 'name'], 'Field required'],
        ['less_than_equal', ['body', 'max_concurrent_agents'], 'Input should be less than or equal to 20'],
      ],
    );
  });

  it('registers, fetches and lists runners; 422 for a non-UUID id, 404 for an unknown one', async () => {
    const token = core.mintAccessToken();
    const res = await post(`${core.url}/api/runners/register`, { name: 'n', hostname: 'h' }, token);
    assert.equal(res.status, 200);
    const runner = (await res.json()) as { id: string; graph_runner_id: string; max_concurrent_agents: number; created_at: string };
    assert.match(runner.graph_runner_id, /^runner_[0-9a-f]{16}$/);
    assert.equal(runner.max_concurrent_agents, 3);
    assert.match(runner.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const auth = { headers: { authorization: `Bearer ${token}` } };
    assert.equal((await fetch(`${core.url}/api/runners/${runner.id}`, auth)).status, 200);
    assert.equal((await fetch(`${core.url}/api/runners/not-a-uuid`, auth)).status, 422);
    const missing = await fetch(`${core.url}/api/runners/${randomUUID()}`, auth);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { detail: 'Runner not found' });
  });

  it('accepts its API keys on REST, scope-gated', async () => {
    const write = core.issueApiKey();
    const mcpOnly = core.issueApiKey(['mcp']);
    assert.equal((await post(`${core.url}/api/runners/register`, { name: 'k', hostname: 'h' }, write)).status, 200);
    const refused = await post(`${core.url}/api/runners/register`, { name: 'k', hostname: 'h' }, mcpOnly);
    assert.equal(refused.status, 403);
    assert.deepEqual(await refused.json(), { detail: 'Insufficient API key scope' });
  });

  it('rotates refresh tokens: the used one dies', async () => {
    const pair = core.issueTokenPair();
    const first = await post(`${core.url}/api/auth/refresh`, { refresh_token: pair.refresh_token });
    assert.equal(first.status, 200);
    const again = await post(`${core.url}/api/auth/refresh`, { refresh_token: pair.refresh_token });
    assert.equal(again.status, 401);
    assert.deepEqual(await again.json(), { detail: 'Session not found or revoked' });
    const wrongType = await post(`${core.url}/api/auth/refresh`, { refresh_token: pair.access_token });
    assert.deepEqual(await wrongType.json(), { detail: 'Invalid refresh token: Invalid token type (expected refresh)' });
  });

  it('checks device polls in the documented order', async () => {
    const poll = async (body: unknown): Promise<unknown> => (await post(`${core.url}/api/auth/device/token`, body)).json();
    assert.deepEqual(await poll({ device_code: 'x'.repeat(20), grant_type: 'password' }), { error: 'unsupported_grant_type' });
    assert.deepEqual(await poll({ device_code: 'x'.repeat(20) }), { error: 'invalid_grant', error_description: 'Invalid device_code' });
    assert.equal((await post(`${core.url}/api/auth/device/token`, { device_code: 'short' })).status, 500);
    assert.equal((await post(`${core.url}/api/auth/device`, { interval: 0 })).status, 500);
  });
});

describe('fake core runner WebSocket', () => {
  let core: FakeCore;
  before(async () => {
    core = await FakeCore.start({ heartbeatIntervalMs: 40 });
  });
  after(() => core.stop());
  const wsUrl = (id: string): string => `${core.url.replace('http', 'ws')}/api/runners/ws/${id}`;

  it('rejects a non-UUID path with HTTP 403', async () => {
    assert.equal(await dial(wsUrl('abc'), core.mintAccessToken()).refused, 403);
  });

  it('closes 1008 for a missing, forged or API-key credential', async () => {
    const { id } = core.addRunner();
    const forged = signJwt({ sub: core.userId, org: core.orgId, typ: 'access', iat: 0, exp: 9e9 }, 'other-secret');
    for (const token of [undefined, forged, core.issueApiKey(), core.mintAccessToken({ ttlS: -10 })]) {
      const c = dial(wsUrl(id), token);
      await c.opened;
      assert.deepEqual(await c.closed, { code: 1008, reason: 'Authentication required' });
    }
  });

  it('closes 1008 for a runner that is not in the org', async () => {
    const c = dial(wsUrl(randomUUID()), core.mintAccessToken());
    assert.deepEqual(await c.closed, { code: 1008, reason: 'Runner not found or not in your organization' });
  });

  it('accepts, sends heartbeats, and closes the older of two connections', async () => {
    const { id, accessToken } = core.addRunner();
    const first = dial(wsUrl(id), accessToken);
    await first.opened;
    await core.until(() => first.received.length > 0, 2000, 'a heartbeat');
    assert.match((first.received[0] as { server_time: string }).server_time, /\+00:00$/);
    assert.equal(core.runner(id)?.status, 'online');
    const second = dial(wsUrl(id), accessToken);
    assert.deepEqual(await first.closed, { code: 1000, reason: 'Replaced by new connection' });
    await second.opened;
    assert.ok(core.connected(id));
    second.ws.close();
    await second.closed;
    await core.until(() => core.runner(id)?.status === 'offline', 2000, 'the runner marked offline');
    assert.equal(core.connected(id), false);
  });

  it('records and validates frames, and answers like the server', async () => {
    const { id, accessToken } = core.addRunner();
    const c = dial(wsUrl(id), accessToken);
    await c.opened;
    c.ws.send(JSON.stringify({ type: 'status', status: 'busy', agent_count: 2 }));
    c.ws.send(JSON.stringify({ type: 'heartbeat' }));
    c.ws.send(JSON.stringify({ type: 'project_register', project_id: 'project_abc', worktree_path: '/w', worktree_branch: null }));
    const project = randomUUID();
    c.ws.send(JSON.stringify({ type: 'project_register', project_id: project, worktree_path: '/w', worktree_branch: 'b' }));
    const status = await core.waitFor((f) => f.runnerId === id && f.message?.type === 'status', 2000, 'status');
    assert.deepEqual(status.message, { type: 'status', status: 'busy', agent_count: 2 });
    await core.until(() => c.received.some((m) => (m as { type: string }).type === 'project_registered'), 2000, 'project_registered');
    const replies = c.received.filter((m) => (m as { type: string }).type !== 'heartbeat');
    assert.deepEqual(replies, [
      { type: 'error', message: 'Unknown message type: heartbeat' },
      { type: 'error', message: 'Invalid JSON' },
      { type: 'project_registered', project_id: project },
    ]);
    assert.equal(core.runner(id)?.status, 'busy');
    assert.deepEqual(core.messagesOf('status', id), [{ type: 'status', status: 'busy', agent_count: 2 }]);
    assert.ok(core.invalidFrames.some((f) => f.runnerId === id && f.raw.includes('"heartbeat"')));
    c.ws.close();
  });

  it('silence: no heartbeats, no pongs, nothing read, but the socket stays open', async () => {
    const { id, accessToken } = core.addRunner();
    const c = dial(wsUrl(id), accessToken);
    await c.opened;
    await core.until(() => c.received.length > 0, 2000, 'a heartbeat');
    core.silence(id);
    // Frames arrive in order: once this marker is in, no heartbeat sent before the silence is still on its way.
    core.send(id, { type: 'marker' });
    await core.until(() => c.received.some((m) => (m as { type: string }).type === 'marker'), 2000, 'the marker');
    const before = c.received.length;
    let ponged = false;
    c.ws.on('pong', () => (ponged = true));
    c.ws.ping();
    c.ws.send(JSON.stringify({ type: 'heartbeat_ack' }));
    // A negative check: nothing may arrive for three heartbeat periods (40 ms each), so a fixed wait is the test.
    await sleep(120);
    assert.equal(c.received.length, before);
    assert.equal(ponged, false);
    assert.equal(core.messagesOf('heartbeat_ack', id).length, 0);
    assert.equal(c.ws.readyState, WebSocket.OPEN);
    c.ws.terminate();
  });

  it('waitFor names what it waited for on timeout', async () => {
    await assert.rejects(
      core.waitFor(() => false, 30, 'the impossible'),
      /waiting for the impossible/,
    );
  });
});

describe('fake core lifecycle', () => {
  it('rejects upgrades with upgradeStatus (S1) and restarts on the same port with its state', async () => {
    const core = await FakeCore.start({ upgradeStatus: 500, heartbeatIntervalMs: 0 });
    try {
      const { id, accessToken } = core.addRunner();
      const url = `${core.url.replace('http', 'ws')}/api/runners/ws/${id}`;
      assert.equal(await dial(url, accessToken).refused, 500);
      core.options.upgradeStatus = undefined;
      const c = dial(url, accessToken);
      await c.opened;
      const port = core.port;
      await core.restart();
      assert.equal((await c.closed).code, 1006);
      assert.equal(core.port, port);
      const again = dial(url, accessToken);
      await again.opened;
      assert.equal(core.connectionCount, 1);
      again.ws.close();
      await again.closed;
    } finally {
      await core.stop();
    }
  });
});
