import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import YAML from 'yaml';
import { dispatch } from '../../main/app/dispatch.ts';
import { SibylApi } from '../../main/runner/api/sibylApi.ts';
import { loadConfig } from '../../main/runner/config/loadConfig.ts';
import { InsecureHttpError, insecureTransport, isLoopbackHost } from '../../main/runner/config/serverUrl.ts';
import { ConfigError } from '../../main/runner/errors.ts';
import { Link } from '../../main/runner/link/link.ts';
import { testAppService } from '../helpers/appHarness.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { cli, cliRun, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

const WARNING = /plain HTTP to \S+: the runner's token travels unencrypted/g;

/** How often the insecure-HTTP warning was printed. */
function warnings(stderr: string): number {
  return stderr.match(WARNING)?.length ?? 0;
}

/** Runs the CLI from its sources (no bundle to rebuild), in `home`. */
function env(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { HOME: home, SIBYL_RUNNER_SOURCE: '1', ...extra };
}

/**
 * The fake core reached at a non-loopback address of this machine: a TCP relay on that address
 * that counts connections, so a test sees whether anything was sent at all. Undefined when the
 * machine has no non-loopback IPv4 address.
 */
async function remoteCore(): Promise<{ core: FakeCore; url: string; connections: () => number } | undefined> {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
  if (!address) return undefined;
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  let connections = 0;
  const open = new Set<Socket>();
  const relay: Server = createServer((client) => {
    connections++;
    const upstream = connect(core.port, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
    }
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, address, resolve));
  after(async () => {
    // Kept-alive connections (the in-process fetch pool) would hold close() open.
    for (const s of open) s.destroy();
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  });
  const port = (relay.address() as { port: number }).port;
  return { core, url: `http://${address}:${port}`, connections: () => connections };
}

test('loopback is localhost, 127.0.0.0/8 and ::1 (also IPv4-mapped); any other host is not, *.localhost included', () => {
  for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '[::1]', '[::ffff:7f00:1]'])
    assert.equal(isLoopbackHost(host), true, host);
  for (const host of [
    'a.localhost',
    'localhost.',
    '0.0.0.0',
    '[::]',
    '10.0.0.1',
    '128.0.0.1',
    'example.com',
    '[fd00::2]',
    '127.0.0.1.nip.io',
  ])
    assert.equal(isLoopbackHost(host), false, host);
  assert.equal(insecureTransport('http://127.1:3334'), undefined, 'URL forms of 127.0.0.1 are loopback');
  assert.equal(insecureTransport('ws://[::1]:3334/api/runners/ws/x'), undefined);
  assert.equal(insecureTransport('https://sibyl.example.com'), undefined);
  assert.equal(insecureTransport('wss://sibyl.example.com'), undefined);
  assert.deepEqual(insecureTransport('http://sibyl.example.com:8080/'), {
    origin: 'http://sibyl.example.com:8080',
    host: 'sibyl.example.com:8080',
  });
  assert.deepEqual(insecureTransport('ws://user:hunter2@sibyl.example.com/x'), {
    origin: 'ws://sibyl.example.com',
    host: 'sibyl.example.com',
  });
});

test('runner.yaml, SIBYL_SERVER_URL or --server with plain http:// to another host: a typed error naming its source and the way out', () => {
  const home = tempDir('sibyl-insecure-');
  const path = join(home, 'runner.yaml');
  const refused = (opts: Parameters<typeof loadConfig>[0]): InsecureHttpError => {
    try {
      loadConfig({ home, ...opts });
    } catch (err) {
      assert.ok(err instanceof InsecureHttpError, String(err));
      return err;
    }
    assert.fail('expected InsecureHttpError');
  };
  writeYaml(path, { server_url: 'http://user:hunter2@sibyl.example.com:8080' });
  const file = refused({ env: { SIBYL_CONFIG_FILE: path } });
  assert.equal(file.code, 'insecure_http');
  assert.equal(file.remedy, 'fixConfig');
  assert.equal(file.exitCode, 2);
  assert.deepEqual(file.context, { key: 'server_url', host: 'sibyl.example.com:8080', file: path });
  assert.equal(
    file.message,
    'key "server_url": http://sibyl.example.com:8080 would send the runner\'s token unencrypted (plain HTTP) to sibyl.example.com:8080, ' +
      'which is not this machine; use an https:// address, or, only on a network you trust, set allow_insecure_http: true in runner.yaml ' +
      '(or SIBYL_ALLOW_INSECURE_HTTP=true)',
  );
  assert.ok(!file.message.includes('hunter2'), 'the password in the URL is not repeated');
  writeYaml(path, {});
  assert.match(
    refused({ env: { SIBYL_CONFIG_FILE: path, SIBYL_SERVER_URL: 'http://10.1.2.3:3334' } }).message,
    /^environment variable SIBYL_SERVER_URL: http:\/\/10\.1\.2\.3:3334 would send/,
  );
  assert.match(
    refused({ env: { SIBYL_CONFIG_FILE: path }, flags: { server: 'http://a.localhost' } }).message,
    /^--server: http:\/\/a\.localhost would send/,
  );

  // Allowed by the file or the environment; https and loopback never need it.
  writeYaml(path, { server_url: 'http://sibyl.example.com', allow_insecure_http: true });
  assert.equal(loadConfig({ home, env: { SIBYL_CONFIG_FILE: path } }).config.server_url, 'http://sibyl.example.com');
  writeYaml(path, { server_url: 'http://sibyl.example.com' });
  assert.equal(loadConfig({ home, env: { SIBYL_CONFIG_FILE: path, SIBYL_ALLOW_INSECURE_HTTP: 'true' } }).config.allow_insecure_http, true);
  assert.throws(
    () => loadConfig({ home, env: { SIBYL_CONFIG_FILE: path, SIBYL_ALLOW_INSECURE_HTTP: 'maybe' } }),
    (err: unknown) => err instanceof ConfigError && /SIBYL_ALLOW_INSECURE_HTTP="maybe": expected true or false/.test(err.message),
  );
  for (const url of ['https://sibyl.example.com', 'http://127.0.0.1:3334', 'http://localhost:3334', 'http://[::1]:3334']) {
    writeYaml(path, { server_url: url });
    assert.equal(loadConfig({ home, env: { SIBYL_CONFIG_FILE: path } }).config.allow_insecure_http, false, url);
  }
  writeYaml(path, { allow_insecure_http: 'yes' });
  assert.throws(() => loadConfig({ home, env: { SIBYL_CONFIG_FILE: path } }), /key "allow_insecure_http"/);
});

test('the REST client and the WebSocket link refuse plain HTTP to another host themselves, whatever the caller checked', () => {
  assert.throws(() => new SibylApi('http://sibyl.example.com'), InsecureHttpError);
  assert.equal(new SibylApi('http://sibyl.example.com', { allowInsecureHttp: true }).serverUrl, 'http://sibyl.example.com');
  assert.equal(new SibylApi('http://127.0.0.1:9').serverUrl, 'http://127.0.0.1:9');
  const link = (url: string, allowInsecureHttp?: boolean): Link =>
    new Link({
      url,
      ...(allowInsecureHttp !== undefined ? { allowInsecureHttp } : {}),
      headers: async () => ({}),
      onMessage: () => undefined,
      onOpen: () => undefined,
    });
  assert.throws(() => link('ws://sibyl.example.com/api/runners/ws/x'), InsecureHttpError);
  assert.doesNotThrow(() => link('ws://sibyl.example.com/api/runners/ws/x', true));
  assert.doesNotThrow(() => link('ws://127.0.0.1:9/api/runners/ws/x'));
  assert.doesNotThrow(() => link('wss://sibyl.example.com/api/runners/ws/x'));
});

test('`register --server http://example.invalid` exits 2 with the message, before any token is looked for', async () => {
  const home = tempDir('sibyl-insecure-');
  // No --token and no login: had it gone on, it would have failed for the missing token (or DNS) instead.
  const r = await cliRun(['register', '--server', 'http://example.invalid', '--config', join(home, 'runner.yaml')], env(home));
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    r.stderr.trim(),
    "sibyl-runner register: --server: http://example.invalid would send the runner's token unencrypted (plain HTTP) to example.invalid, " +
      'which is not this machine; use an https:// address, or, only on a network you trust, set allow_insecure_http: true in runner.yaml ' +
      `(or SIBYL_ALLOW_INSECURE_HTTP=true) — edit ${join(home, 'runner.yaml')}`,
  );
  const login = await cliRun(
    ['login', '--server', 'http://example.invalid', '--token', 'abc', '--config', join(home, 'runner.yaml')],
    env(home),
  );
  assert.equal(login.code, 2, login.stderr);
  assert.match(login.stderr, /^sibyl-runner login: --server: http:\/\/example\.invalid would send the runner's token unencrypted/);
});

test('a remote plain-HTTP server: refused with nothing sent; with allow_insecure_http, register, login and run work and each warns once', async (t) => {
  const remote = await remoteCore();
  if (!remote) return t.skip('this machine has no non-loopback IPv4 address to stand for a remote host');
  const { core, url } = remote;
  const home = tempDir('sibyl-insecure-');
  const configDir = join(home, 'cfg');
  mkdirSync(configDir);
  const config = join(configDir, 'runner.yaml');
  const token = core.mintAccessToken();

  const refused = await cliRun(['register', '--server', url, '--token', token, '--config', config], env(home));
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /would send the runner's token unencrypted \(plain HTTP\)/);
  const refusedLogin = await cliRun(['login', '--server', url, '--token', token, '--config', config], env(home));
  assert.equal(refusedLogin.code, 2, refusedLogin.stderr);
  assert.equal(remote.connections(), 0, 'not even a connection was opened');
  assert.equal(core.requests.length, 0);

  // Allowed in the environment: login works, with one warning.
  const login = await cliRun(
    ['login', '--server', url, '--token', token, '--config', config],
    env(home, { SIBYL_ALLOW_INSECURE_HTTP: 'true' }),
  );
  assert.equal(login.code, 0, login.stderr);
  assert.equal(warnings(login.stderr), 1, login.stderr);

  // Allowed in runner.yaml: register and run work, one warning each.
  writeYaml(config, { allow_insecure_http: true, worktree_base: join(home, 'wt'), log_dir: join(home, 'logs') });
  const reg = await cliRun(['register', '--server', url, '--token', token, '--name', 'lan', '--json', '--config', config], env(home));
  assert.equal(reg.code, 0, reg.stderr);
  assert.equal(warnings(reg.stderr), 1, reg.stderr);
  const { runner_id: id } = JSON.parse(reg.stdout) as { runner_id: string };
  assert.equal((YAML.parse(readFileSync(config, 'utf8')) as { server_url: string }).server_url, url);

  const run = cli(['run', '--config', config], env(home, { SIBYL_ACCESS_TOKEN: token }));
  try {
    await core.until(() => core.connected(id), 15_000, 'the runner connects over plain HTTP');
    await until(() => warnings(run.output().stderr) > 0, 'the warning on the terminal');
    assert.equal(warnings(run.output().stderr), 1, 'once for the REST client and the WebSocket together');
    const log = readFileSync(join(home, 'logs', 'runner.log'), 'utf8');
    assert.equal(warnings(log), 1, 'and once in runner.log');
  } finally {
    run.kill('SIGTERM');
    await new Promise((r) => run.on('close', r));
  }

  // Loopback needs nothing and says nothing.
  const local = await cliRun(['login', '--server', core.url, '--token', token, '--config', join(home, 'other.yaml')], env(home));
  assert.equal(local.code, 0, local.stderr);
  assert.equal(warnings(local.stderr), 0, local.stderr);
});

test('the setup window gets plain HTTP to another host as a typed answer: check kind insecure_http, errors with code insecure_http', async (t) => {
  const home = tempDir('sibyl-insecure-');
  const s = await testAppService(home);
  const check = await dispatch(s.handlers, 'wizard:checkServer', { url: 'http://sibyl.example.com' });
  assert.ok(check.ok);
  assert.deepEqual(
    { ...(check.value as object), message: undefined },
    { ok: false, kind: 'insecure_http', message: undefined, serverUrl: 'http://sibyl.example.com' },
  );
  for (const [channel, input] of [
    ['wizard:useToken', { serverUrl: 'http://sibyl.example.com', token: 'abcdefgh-long-enough' }],
    ['wizard:startDeviceLogin', { serverUrl: 'http://sibyl.example.com' }],
  ] as const) {
    const r = await dispatch(s.handlers, channel, input);
    assert.ok(!r.ok, channel);
    assert.equal(r.error.code, 'insecure_http', channel);
    assert.equal(r.error.remedy, 'fixConfig', channel);
    assert.match(r.error.message, /allow_insecure_http: true/, channel);
  }

  const remote = await remoteCore();
  if (!remote) return t.skip('this machine has no non-loopback IPv4 address to stand for a remote host');
  const allowed = tempDir('sibyl-insecure-');
  mkdirSync(join(allowed, 'cfg'));
  writeYaml(join(allowed, 'cfg', 'runner.yaml'), { allow_insecure_http: true });
  const ok = await dispatch((await testAppService(allowed)).handlers, 'wizard:checkServer', { url: remote.url });
  assert.ok(ok.ok);
  assert.equal((ok.value as { ok: boolean }).ok, true, 'allowed in runner.yaml: the server is checked');
});

test('a plain-HTTP server_url of another machine in runner.yaml: run refuses it; status, history, logs and projects still work, and login --server fixes it', async (t) => {
  const core = await FakeCore.start();
  t.after(() => core.stop());
  const home = tempDir('sibyl-insecure-');
  const config = join(home, 'runner.yaml');
  writeYaml(config, { server_url: 'http://sibyl.example.com', runner_id: crypto.randomUUID(), worktree_base: join(home, 'wt') });
  const run = await cliRun(['run', '--config', config], env(home));
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /key "server_url": http:\/\/sibyl\.example\.com would send the runner's token unencrypted/);
  for (const argv of [['status'], ['history'], ['projects', 'list']]) {
    const r = await cliRun([...argv, '--config', config], env(home));
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  }
  const logs = await cliRun(['logs', 'no-such-task', '--config', config], env(home));
  assert.match(logs.stderr, /no task no-such-task in the history/);
  const login = await cliRun(['login', '--server', core.url, '--token', core.mintAccessToken(), '--config', config], env(home));
  assert.equal(login.code, 0, login.stderr);
});
