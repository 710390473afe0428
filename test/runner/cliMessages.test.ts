import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FakeCore } from '../helpers/fakeCore.ts';
import { BIN, cli, cliRun, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

/** What the CLI prints when something goes wrong: the facts once, the advice once, blamed on the right source. */

const core = await FakeCore.start({ heartbeatIntervalMs: 0, deviceIntervalS: 0.1 });
after(() => core.stop());

/** A port nothing listens on (just freed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** One line on stderr, `sibyl-runner <command>: …`, that does not name the command twice. */
function oneLine(r: { stderr: string }, command: string): string {
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  const line = lines[0]!;
  assert.ok(line.startsWith(`sibyl-runner ${command}: `), line);
  assert.ok(!line.startsWith(`sibyl-runner ${command}: ${command}:`), `the command named twice: ${line}`);
  return line;
}

describe('server trouble: the facts in the message, the advice in one place', () => {
  test('nothing answers: "Nothing is answering at host:port — is Sibyl running?", once', async () => {
    const home = tempDir();
    const port = await closedPort();
    const r = await cliRun(['register', '--server', `http://127.0.0.1:${port}`, '--token', 't', '--config', join(home, 'r.yaml')], {
      HOME: home,
    });
    assert.equal(r.code, 1);
    assert.equal(oneLine(r, 'register'), `sibyl-runner register: Nothing is answering at 127.0.0.1:${port} — is Sibyl running?`);
  });

  test('TLS trouble and a missing route carry their own advice and no generic hint', async () => {
    const home = tempDir();
    const config = join(home, 'r.yaml');
    const https = core.url.replace('http:', 'https:');
    const tls = oneLine(await cliRun(['register', '--server', https, '--token', 't', '--config', config], { HOME: home }), 'register');
    assert.equal(
      tls,
      `sibyl-runner register: 127.0.0.1:${core.port} does not speak HTTPS; use http:// for a server without TLS, or the HTTPS port`,
    );
    core.failNext('POST', '/api/runners/register', 404, { detail: 'Not Found' });
    const route = oneLine(
      await cliRun(['register', '--server', core.url, '--token', core.mintAccessToken(), '--config', config], { HOME: home }),
      'register',
    );
    assert.equal(
      route,
      `sibyl-runner register: That server has no POST /api/runners/register (HTTP 404); is ${core.url} the site root of a Sibyl server with runners enabled?`,
    );
    for (const line of [tls, route]) assert.doesNotMatch(line, / — /, 'no second piece of advice');
  });

  test("a 404 the server explains is its reason, not 'check the address'", async () => {
    const home = tempDir();
    core.failNext('POST', '/api/runners/register', 404, { detail: 'Organization not found' });
    const r = await cliRun(['register', '--server', core.url, '--token', core.mintAccessToken(), '--config', join(home, 'r.yaml')], {
      HOME: home,
    });
    assert.equal(r.code, 1);
    assert.equal(oneLine(r, 'register'), `sibyl-runner register: POST ${core.url}/api/runners/register: Organization not found (HTTP 404)`);
  });

  test('login and register refuse a server address ending in /api with the words runner.yaml uses', async () => {
    const home = tempDir();
    const config = join(home, 'r.yaml');
    const words = `"${core.url}/api" ends in /api: use the site root, without the trailing /api`;
    const login = await cliRun(['login', '--server', `${core.url}/api`, '--token', 't', '--config', config], { HOME: home });
    assert.equal(login.code, 2);
    assert.equal(oneLine(login, 'login'), `sibyl-runner login: --server: ${words}`);
    const register = await cliRun(['register', '--server', `${core.url}/api`, '--token', 't', '--config', config], { HOME: home });
    assert.equal(oneLine(register, 'register'), `sibyl-runner register: --server: ${words}`);
    writeFileSync(config, `server_url: ${core.url}/api\n`);
    const status = await cliRun(['status', '--config', config], { HOME: home });
    assert.equal(status.code, 2);
    assert.equal(oneLine(status, 'status'), `sibyl-runner status: key "server_url": ${words} — edit ${config}`);
  });

  test('a denied device login says how to sign in again to the same server', async () => {
    const home = tempDir();
    const login = cli(['login', '--server', core.url, '--config', join(home, 'r.yaml')], { HOME: home });
    const code = await until(() => /enter the code:\s+([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(login.output().stderr)?.[1], 'user code on stderr');
    core.denyDevice(code);
    assert.equal(await new Promise<number | null>((r) => login.on('close', r)), 1);
    const last = login.output().stderr.trimEnd().split('\n').at(-1);
    assert.equal(last, `sibyl-runner login: the login request was denied in the browser — run \`sibyl-runner login --server ${core.url}\``);
  });
});

describe('configuration errors name where the bad value came from', () => {
  test('an environment variable, a flag, or the file (with "edit <file>" once)', async () => {
    const home = tempDir();
    const config = join(home, 'r.yaml');
    writeYaml(config, { name: 'box' });
    const env = await cliRun(['status', '--config', config], { HOME: home, SIBYL_SERVER_URL: 'nope' });
    assert.equal(env.code, 2);
    assert.equal(
      oneLine(env, 'status'),
      'sibyl-runner status: environment variable SIBYL_SERVER_URL: "nope" is not an http(s) URL of a Sibyl site root (e.g. https://sibyl.example.com)',
    );
    const flag = await cliRun(['run', '--server', 'nope', '--config', config], { HOME: home });
    assert.match(oneLine(flag, 'run'), /^sibyl-runner run: --server: "nope" is not an http\(s\) URL/);
    const logDir = await cliRun(['status', '--config', config], { HOME: home, SIBYL_LOG_DIR: 'logs' });
    assert.match(oneLine(logDir, 'status'), /^sibyl-runner status: environment variable SIBYL_LOG_DIR: expected an absolute path/);

    writeYaml(config, { log_dir: 'logs' });
    const relative = await cliRun(['status', '--config', config], { HOME: home });
    assert.equal(
      oneLine(relative, 'status'),
      `sibyl-runner status: key "log_dir": expected an absolute path (or one starting with ~/), got "logs" — edit ${config}`,
    );
    writeYaml(config, { max_concurrent_agents: 'x' });
    const schema = oneLine(await cliRun(['status', '--config', config], { HOME: home }), 'status');
    assert.match(schema, /key "max_concurrent_agents"/);
    assert.equal(schema.split(config).length - 1, 1, `the file named once: ${schema}`);
  });
});

describe('usage errors', () => {
  test('name the command once', async () => {
    const home = tempDir();
    const none = join(home, 'none.yaml');
    const cases: [string, string[], RegExp][] = [
      ['register', ['register', '--config', none], /^sibyl-runner register: --server URL is required$/],
      ['history', ['history', '--limit', '0', '--config', none], /^sibyl-runner history: --limit must be an integer from 1 to 200/],
      ['history', ['history', '--status', 'odd', '--config', none], /^sibyl-runner history: --status must be one of/],
      ['run', ['run', '--bogus'], /^sibyl-runner run: unknown option --bogus \(see `sibyl-runner run --help`\)$/],
      ['logs', ['logs', 'a', 'b'], /^sibyl-runner logs: unexpected argument "b"/],
      ['login', ['login', '--config', none], /^sibyl-runner login: --server URL is required/],
    ];
    for (const [command, argv, expected] of cases) {
      const r = await cliRun(argv, { HOME: home });
      assert.equal(r.code, 2, r.stderr);
      assert.match(oneLine(r, command), expected);
    }
  });
});

describe('projects', () => {
  test('errors go through the same printer, with its remedy hints', async () => {
    const home = tempDir();
    const config = join(home, 'r.yaml');
    const missing = await cliRun(['projects', 'link', join(home, 'nowhere'), 'project_x', '--config', config], { HOME: home });
    assert.equal(missing.code, 1);
    assert.match(oneLine(missing, 'projects'), /^sibyl-runner projects: cannot link .*nowhere does not exist$/);
    const usage = await cliRun(['projects', 'link', home, '--config', config], { HOME: home });
    assert.equal(usage.code, 2);
    assert.equal(oneLine(usage, 'projects'), 'sibyl-runner projects: link needs PATH and PROJECT_ID (see `sibyl-runner projects --help`)');
    writeYaml(config, { worktree_base: 'wt' });
    const bad = await cliRun(['projects', 'list', '--config', config], { HOME: home });
    assert.equal(bad.code, 2);
    assert.equal(
      oneLine(bad, 'projects'),
      `sibyl-runner projects: key "worktree_base": expected an absolute path (or one starting with ~/), got "wt" — edit ${config}`,
    );
  });
});

test('a reader that leaves early (`| head`, `| grep -q`) ends the command quietly', async () => {
  const home = tempDir();
  const config = join(home, 'r.yaml');
  writeYaml(config, { server_url: core.url, runner_id: core.addRunner().id });
  for (const argv of [['status', '--config', config], ['--help']]) {
    const child = spawn(process.execPath, [BIN, ...argv], {
      env: { PATH: process.env.PATH, HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The read end closes before the CLI has started: its first write meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(stderr, '', `${argv.join(' ')}: ${stderr}`);
    assert.equal(code, 0);
  }
});

test('status: the runner status only while the link is open; a refused SIBYL_ACCESS_TOKEN is to fix or unset, not a login', async () => {
  const home = tempDir();
  const config = join(home, 'runner.yaml');
  const { id } = core.addRunner({ name: 'env-token' });
  writeYaml(config, {
    server_url: core.url,
    runner_id: id,
    worktree_base: join(home, 'wt'),
    log_dir: join(home, 'logs'),
    reconnect_interval: 0.1,
  });
  const env = { HOME: home, SIBYL_ACCESS_TOKEN: 'garbage' };
  const run = cli(['run', '--config', config], env);
  after(() => run.kill('SIGKILL'));
  let out = '';
  await until(async () => {
    const st = await cliRun(['status', '--config', config], env);
    out = st.stdout;
    return /^Link +Signed out/m.test(out);
  }, 'status to show the refused token');
  assert.match(out, /^Next +fix or unset SIBYL_ACCESS_TOKEN: it is used instead of the stored login$/m);
  assert.match(out, /^Status +signed out, not receiving tasks$/m);
  assert.doesNotMatch(out, /online|sibyl-runner login/);
  run.kill('SIGTERM');
  await new Promise((r) => run.on('close', r));
});
