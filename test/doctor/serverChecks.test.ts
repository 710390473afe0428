import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Credentials, FileCredentialStore, credentialsPathFor } from '../../main/runner/config/credentials.ts';
import { loadConfig } from '../../main/runner/config/loadConfig.ts';
import { runDoctor } from '../../main/runner/doctor/doctor.ts';
import { acquireStateLock } from '../../main/runner/stateLock.ts';
import { FakeCore, signJwt } from '../helpers/fakeCore.ts';
import { hangingServer } from '../helpers/hangingServer.ts';
import { registeredRunner, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir } from '../helpers/tmp.ts';
import { checkOf, doctor, doctorJson, fakeBin } from './doctorCli.ts';

/** No agent CLIs: these tests are about the server, the sign-in and the registration. */
const { PATH } = fakeBin();

test('a registered runner with a valid token: server, sign-in and registration are ok, exit 0', async () => {
  const { core, id, config, env } = await registeredRunner();
  const { code, report } = await doctorJson(['--config', config], { ...env, PATH });
  assert.equal(code, 0, JSON.stringify(report.checks.filter((c) => c.status === 'fail')));
  assert.equal(report.ok, true);
  assert.equal(report.configPath, config);
  assert.ok(!Number.isNaN(Date.parse(report.checkedAt)));
  const server = checkOf(report, 'server');
  assert.equal(server.status, 'ok');
  assert.equal(server.summary, `Sibyl 0.0.0-fake at ${core.url}`);
  assert.equal(server.detail.version, '0.0.0-fake');
  assert.equal(checkOf(report, 'clock').status, 'ok');
  // The fake's tokens live an hour: a token that is not renewed warns a day ahead.
  const token = checkOf(report, 'token');
  assert.equal(token.status, 'warn');
  assert.match(token.summary, /^Signed in as ada@example\.com in Ada \(owner\); the token from SIBYL_ACCESS_TOKEN expires in 1 hour$/);
  assert.match(token.fix ?? '', /SIBYL_ACCESS_TOKEN/);
  assert.match(token.detail.expiresAt as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const registration = checkOf(report, 'registration');
  assert.equal(registration.status, 'ok');
  assert.equal(registration.summary, `Registered as "one" (${id}); the server shows it offline`);
  assert.equal(registration.fix, null);
  // Asked the documented routes with the token; nothing else was sent.
  const asked = core.requests.map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(new Set(asked), new Set(['GET /api/health', 'GET /api/auth/me', `GET /api/runners/${id}`]));
});

test('people get a line per check with a mark, and the fix indented under a problem', async () => {
  const { core, id, config, env } = await registeredRunner();
  core.removeRunner(id);
  const run = await doctor(['--config', config], { ...env, PATH });
  assert.equal(run.code, 1);
  assert.match(run.stdout, /^✓ server +Sibyl 0\.0\.0-fake at http:\/\/127\.0\.0\.1:\d+$/m);
  assert.match(run.stdout, /^✗ registration +Runner [0-9a-f-]+ is not on the server: it was deleted there/m);
  assert.match(run.stdout, /^ +→ run `sibyl-runner register --server http:\/\/127\.0\.0\.1:\d+` to register this machine again/m);
  assert.match(run.stdout, /^1 problem, \d warnings?: the runner cannot work until the problems are fixed\.$/m);
  assert.ok(!run.stdout.includes('\x1b['), 'no colour into a pipe');
});

test('a runner deleted on the server: registration fails with the way back', async () => {
  const { core, id, config, env } = await registeredRunner();
  core.removeRunner(id);
  const { code, report } = await doctorJson(['--config', config], { ...env, PATH });
  assert.equal(code, 1);
  assert.equal(report.ok, false);
  const registration = checkOf(report, 'registration');
  assert.equal(registration.status, 'fail');
  assert.equal(registration.detail.httpStatus, 404);
  assert.match(registration.fix ?? '', new RegExp(`sibyl-runner register --server ${core.url.replace(/\./g, '\\.')}`));
  assert.equal(checkOf(report, 'server').status, 'ok');
});

test('an expired token fails without being sent; the registration is then not checked', async () => {
  const { core, config, env } = await registeredRunner();
  const expired = core.mintAccessToken({ ttlS: -3600 });
  const { code, report } = await doctorJson(['--config', config], { ...env, PATH, SIBYL_ACCESS_TOKEN: expired });
  assert.equal(code, 1);
  const token = checkOf(report, 'token');
  assert.equal(token.status, 'fail');
  assert.equal(token.summary, 'The token from SIBYL_ACCESS_TOKEN expired 1 hour ago');
  assert.match(token.fix ?? '', /SIBYL_ACCESS_TOKEN/);
  assert.equal(checkOf(report, 'registration').status, 'skip');
  assert.ok(!core.requests.some((r) => r.headers.authorization !== undefined), 'the expired token never left');
});

test('a token the server refuses: the sign-in fails naming where the token came from', async () => {
  const { config, env } = await registeredRunner();
  const now = Math.floor(Date.now() / 1000);
  const forged = signJwt(
    { typ: 'access', sub: crypto.randomUUID(), org: crypto.randomUUID(), iat: now, exp: now + 7 * 86400 },
    'another-secret',
  );
  const { code, report } = await doctorJson(['--config', config], { ...env, PATH, SIBYL_ACCESS_TOKEN: forged });
  assert.equal(code, 1);
  const token = checkOf(report, 'token');
  assert.equal(token.status, 'fail');
  assert.equal(token.summary, 'The server refused the token from SIBYL_ACCESS_TOKEN (HTTP 401)');
  assert.equal(token.detail.httpStatus, 401);
  // One problem, said once: the runner lookup with that token is not a second failure with another fix.
  const registration = checkOf(report, 'registration');
  assert.equal(registration.status, 'skip');
  assert.equal(registration.summary, 'Not checked: the server refused the token');
  assert.equal(registration.fix, null);
  assert.equal(report.checks.filter((c) => c.status === 'fail').length, 1);
});

test('signed out: no token anywhere fails, with the login command for this server', async () => {
  const { core, config, home } = await registeredRunner();
  const { code, report } = await doctorJson(['--config', config], { HOME: home, PATH });
  assert.equal(code, 1);
  const token = checkOf(report, 'token');
  assert.equal(token.status, 'fail');
  assert.match(token.summary, /^Signed out/);
  assert.equal(token.fix, `run \`sibyl-runner login --server ${core.url}\``);
  assert.equal(checkOf(report, 'registration').status, 'skip');
});

test('a stored sign-in with a long-lived token says when it expires', async () => {
  const { core, config, home } = await registeredRunner();
  const token = core.mintAccessToken({ ttlS: 3 * 86400 });
  writeFileSync(credentialsPathFor(config), JSON.stringify({ access_token: token, server_url: core.url }), { mode: 0o600 });
  const { code, report } = await doctorJson(['--config', config], { HOME: home, PATH });
  assert.equal(code, 0);
  const check = checkOf(report, 'token');
  assert.equal(check.status, 'ok');
  assert.match(check.summary, /; the stored token expires in 3 days$/);
  assert.equal(check.detail.source, 'stored login');
});

test('an expired stored access token is renewed with the refresh token, as the daemon would — but not while a daemon runs', async () => {
  const { core, config, home } = await registeredRunner();
  const pair = core.issueTokenPair({ ttlS: -60 });
  const path = credentialsPathFor(config);
  const stored = { access_token: pair.access_token, refresh_token: pair.refresh_token, server_url: core.url };
  writeFileSync(path, JSON.stringify(stored), { mode: 0o600 });
  const loaded = loadConfig({ flags: { config }, env: { HOME: home }, home, transport: 'unchecked' });
  const credentials = new FileCredentialStore(path);

  // A live daemon of this configuration: the stored login is left to it.
  const lock = acquireStateLock(loaded.config.state_dir, config);
  const whileRunning = await runDoctor({ loaded, env: { HOME: home, PATH }, home, credentials });
  lock.release();
  assert.equal(checkOf(whileRunning, 'stateLock').detail.held, true);
  assert.equal(checkOf(whileRunning, 'token').status, 'skip');
  assert.deepEqual(Credentials.parse(JSON.parse(readFileSync(path, 'utf8'))), stored, 'untouched while the daemon runs');
  assert.ok(!core.requests.some((r) => r.path === '/api/auth/refresh'));

  const report = await runDoctor({ loaded, env: { HOME: home, PATH }, home, credentials });
  const token = checkOf(report, 'token');
  assert.equal(token.status, 'ok', token.summary);
  assert.match(token.summary, /the stored sign-in lasts 30 days more/);
  const saved = Credentials.parse(JSON.parse(readFileSync(path, 'utf8')));
  assert.notEqual(saved.refresh_token, pair.refresh_token, 'the rotated pair was saved (§2.6)');
  assert.equal(checkOf(report, 'registration').status, 'ok');
});

test('nothing listening: "Nothing is answering at host:port", and what needs the server is skipped', async () => {
  const { config, env } = await registeredRunner();
  const closed = await FakeCore.start({ heartbeatIntervalMs: 0 });
  const port = closed.port;
  await closed.stop();
  writeYaml(config, { server_url: `http://127.0.0.1:${port}`, runner_id: crypto.randomUUID() });
  const { code, report } = await doctorJson(['--config', config], { ...env, PATH });
  assert.equal(code, 1);
  const server = checkOf(report, 'server');
  assert.equal(server.status, 'fail');
  assert.equal(server.summary, `Nothing is answering at 127.0.0.1:${port} — is Sibyl running?`);
  assert.equal(server.detail.errorCode, 'ECONNREFUSED');
  for (const id of ['clock', 'token', 'registration']) assert.equal(checkOf(report, id).status, 'skip', id);
});

test('a host that does not exist: "Can\'t find <host>"', async () => {
  const { config, env } = await registeredRunner();
  // .invalid never resolves (RFC 2606); offline resolvers answer EAI_AGAIN instead of ENOTFOUND.
  writeYaml(config, { server_url: 'https://sibyl-doctor-test.invalid', runner_id: crypto.randomUUID() });
  const { report } = await doctorJson(['--config', config], { ...env, PATH });
  const server = checkOf(report, 'server');
  assert.equal(server.status, 'fail');
  assert.match(server.summary, /^Can't find sibyl-doctor-test\.invalid/);
});

test('another web server at the address: "That address is not a Sibyl server"', async () => {
  const web = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>Welcome to nginx!</title>');
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  after(() => new Promise((r) => web.close(r)));
  const { config, env } = await registeredRunner();
  writeYaml(config, { server_url: `http://127.0.0.1:${(web.address() as AddressInfo).port}`, runner_id: crypto.randomUUID() });
  const { code, report } = await doctorJson(['--config', config], { ...env, PATH });
  assert.equal(code, 1);
  const server = checkOf(report, 'server');
  assert.equal(server.summary, 'That address is not a Sibyl server: GET /api/health answered HTTP 200 (text/html)');
  assert.match(server.fix ?? '', /site root/);
});

test('a server that never answers is given up on after the request timeout', async () => {
  const hang = await hangingServer();
  const home = tempDir();
  const config = join(home, 'runner.yaml');
  writeYaml(config, { server_url: `http://127.0.0.1:${hang.port}`, runner_id: crypto.randomUUID() });
  const env = { HOME: home, PATH, SIBYL_ACCESS_TOKEN: 'x'.repeat(40) };
  const loaded = loadConfig({ flags: { config }, env, home, transport: 'unchecked' });
  const report = await runDoctor({
    loaded,
    env,
    home,
    credentials: new FileCredentialStore(credentialsPathFor(config)),
    requestTimeoutMs: 300,
  });
  const server = checkOf(report, 'server');
  assert.equal(server.status, 'fail');
  assert.equal(server.summary, `No answer from 127.0.0.1:${hang.port} within 0.3 s`);
  assert.equal(checkOf(report, 'token').status, 'skip');
  assert.ok(hang.connections() >= 1);
});

test("a server whose clock is 10 minutes ahead of this machine's: the clock warns, doctor still passes", async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0, dateOffsetMs: 10 * 60_000 });
  after(() => core.stop());
  const home = tempDir();
  const { id, accessToken } = core.addRunner({ name: 'one' });
  const config = join(home, 'runner.yaml');
  writeYaml(config, { server_url: core.url, runner_id: id });
  const { code, report } = await doctorJson(['--config', config], { HOME: home, PATH, SIBYL_ACCESS_TOKEN: accessToken });
  const clock = checkOf(report, 'clock');
  assert.equal(clock.status, 'warn');
  assert.equal(clock.summary, "This machine's clock is 10 minutes behind the server's");
  assert.ok(Math.abs((clock.detail.skewMs as number) - 600_000) < 3_000, String(clock.detail.skewMs));
  assert.match(clock.fix ?? '', /NTP/);
  assert.equal(code, 0, 'a warning does not fail doctor');
});

test('plain HTTP to another machine is refused like `run` refuses it', async () => {
  const { config, env } = await registeredRunner();
  writeYaml(config, { server_url: 'http://sibyl.example.com', runner_id: crypto.randomUUID() });
  const { code, report } = await doctorJson(['--config', config], { ...env, PATH });
  assert.equal(code, 1);
  const server = checkOf(report, 'server');
  assert.match(server.summary, /plain HTTP to another machine/);
  assert.match(server.fix ?? '', /allow_insecure_http/);
});
