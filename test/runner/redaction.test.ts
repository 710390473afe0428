import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { dispatch } from '../../main/app/dispatch.ts';
import { redactUrl, redactUrlsIn } from '../../main/runner/redact.ts';
import type { AppState } from '../../preload/contract.ts';
import { testAppService } from '../helpers/appHarness.ts';
import { cli, cliRun, registeredRunner, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

/** A password nothing else in the output could contain by chance. */
const PASSWORD = 'Pa55-xyzzy-9Q';

/** `http://host:port` → `http://alice:<PASSWORD>@host:port`: the password a proxy in front of the server asks for. */
function withPassword(url: string): string {
  return url.replace('://', `://alice:${PASSWORD}@`);
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.on('close', (code) => r(code)));
}

/** Every runner.log generation in `logDir`, concatenated ('' when there is none). */
function runnerLogs(logDir: string): string {
  if (!existsSync(logDir)) return '';
  return readdirSync(logDir)
    .filter((f) => f.startsWith('runner.log'))
    .map((f) => readFileSync(join(logDir, f), 'utf8'))
    .join('');
}

function assertNoPassword(text: string, where: string): void {
  assert.ok(!text.includes(PASSWORD), `the password is in ${where}:\n${text}`);
}

type Output = { stdout: string; stderr: string };

/** The password is in none of what `run`, `status` and `status --json` printed, nor in runner.log. */
function assertNoPasswordAnywhere(run: Output, status: Output, statusJson: Output, logDir: string): void {
  for (const [where, t] of [
    ['run stdout', run.stdout],
    ['run stderr', run.stderr],
    ['status', status.stdout + status.stderr],
    ['status --json', statusJson.stdout + statusJson.stderr],
    ['runner.log', runnerLogs(logDir)],
  ] as const)
    assertNoPassword(t, where);
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

test('redactUrl keeps the user and hides the password; redactUrlsIn hides every user-info in a text, also one with a raw @', () => {
  assert.equal(redactUrl(`http://alice:${PASSWORD}@proxy.example:8080/x`), 'http://alice:***@proxy.example:8080/x');
  assert.equal(redactUrl('https://ghp_token@github.com/o/r.git'), 'https://***@github.com/o/r.git');
  assert.equal(redactUrl('https://sibyl.example.com'), 'https://sibyl.example.com');
  assert.equal(redactUrl(`http://alice:se@${PASSWORD}@proxy/x`), 'http://alice:***@proxy/x');
  assert.equal(
    redactUrlsIn(`cannot connect to ws://alice:${PASSWORD}@h/api and 'https://tok:x-oauth-basic@github.com/a' or http://a:b@c@d/`),
    "cannot connect to ws://***@h/api and 'https://***@github.com/a' or http://***@d/",
  );
  // Twice is once: a URL redactUrl already showed keeps its user.
  assert.equal(redactUrlsIn('see https://alice:***@h/x'), 'see https://alice:***@h/x');
  assert.equal(redactUrlsIn('mail alice@example.com, see https://h/a@b'), 'mail alice@example.com, see https://h/a@b');
});

test('status and status --json show server_url without its password, also in the register hint of an unregistered runner', async () => {
  const home = tempDir();
  const config = join(home, 'runner.yaml');
  writeYaml(config, { server_url: withPassword('http://127.0.0.1:9'), runner_id: crypto.randomUUID() });
  const text = await cliRun(['status', '--config', config], { HOME: home });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Server +http:\/\/alice:\*\*\*@127\.0\.0\.1:9$/m);
  const json = await cliRun(['status', '--json', '--config', config], { HOME: home });
  assert.equal(json.code, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as { runner: { serverUrl: string } }).runner.serverUrl, 'http://alice:***@127.0.0.1:9');

  const unregistered = join(home, 'new.yaml');
  writeYaml(unregistered, { server_url: withPassword('http://127.0.0.1:9') });
  const hint = await cliRun(['status', '--config', unregistered], { HOME: home });
  assert.equal(hint.code, 1);
  assert.match(hint.stdout, /register --server http:\/\/alice:\*\*\*@127\.0\.0\.1:9/);
  for (const r of [text, json, hint]) {
    assertNoPassword(r.stdout, 'stdout');
    assertNoPassword(r.stderr, 'stderr');
  }
});

test('`run` with a password in server_url connects (the password is used, not shown): not in stdout, stderr, status, status --json or runner.log', async () => {
  const { core, id, home, config, env: runEnv } = await registeredRunner();
  const logDir = join(home, 'logs');
  writeYaml(config, { server_url: withPassword(core.url), runner_id: id, worktree_base: join(home, 'wt'), log_dir: logDir });
  const run = cli(['run', '--config', config, '--verbose'], runEnv);
  await core.until(() => core.connected(id), 10_000, 'the runner connects through the URL with a password');
  await until(() => runnerLogs(logDir).includes('"connected"'), 'the connection is logged');
  const text = await cliRun(['status', '--config', config], runEnv);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Server +http:\/\/alice:\*\*\*@127\.0\.0\.1:\d+$/m);
  assert.match(text.stdout, /^Daemon +running/m);
  const json = await cliRun(['status', '--json', '--config', config], runEnv);
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { runner: { serverUrl: string }; daemon: { runner: { serverUrl: string } } | null };
  assert.match(parsed.runner.serverUrl, /^http:\/\/alice:\*\*\*@/);
  assert.match(parsed.daemon?.runner.serverUrl ?? '', /^http:\/\/alice:\*\*\*@/);
  run.kill('SIGTERM');
  assert.equal(await exitOf(run), 0);
  const out = run.output();
  assertNoPasswordAnywhere(out, text, json, logDir);
  // The log still says where it connected to.
  assert.match(runnerLogs(logDir), /ws:\/\/\*\*\*@127\.0\.0\.1:\d+\/api\/runners\/ws\//);
});

test('a server that cannot be reached: the reasons that quote its URL (run on the terminal, status, status --json, runner.log) hide the password', async () => {
  const home = tempDir();
  const config = join(home, 'runner.yaml');
  const logDir = join(home, 'logs');
  const server = withPassword(`http://127.0.0.1:${await closedPort()}`);
  const yaml = (maxAttempts: number): void =>
    writeYaml(config, {
      server_url: server,
      runner_id: crypto.randomUUID(),
      worktree_base: join(home, 'wt'),
      log_dir: logDir,
      reconnect_interval: 0.05,
      max_reconnect_attempts: maxAttempts,
    });
  const env = { HOME: home, SIBYL_ACCESS_TOKEN: 'a-token-for-nobody' };
  // Reconnecting forever: status and status --json say why, while run retries.
  yaml(0);
  const run = cli(['run', '--config', config, '--verbose'], env);
  const linkReason = async (): Promise<string> => {
    const json = await cliRun(['status', '--json', '--config', config], env);
    return (JSON.parse(json.stdout) as { daemon: { link: { reason?: string } } | null }).daemon?.link.reason ?? '';
  };
  // The link names host and port only (api/networkError.ts): no user, password or path.
  await until(async () => /^Nothing is answering at 127\.0\.0\.1:\d+ — is Sibyl running\?/.test(await linkReason()), 'status to say why');
  const text = await cliRun(['status', '--config', config], env);
  const json = await cliRun(['status', '--json', '--config', config], env);
  assert.match(text.stdout, /Nothing is answering at 127\.0\.0\.1:\d+ — is Sibyl running\?/);
  run.kill('SIGTERM');
  assert.equal(await exitOf(run), 0);
  // Giving up (max_reconnect_attempts) is said on the terminal with the address to check, and ends run (exit 1).
  yaml(3);
  const givingUp = cli(['run', '--config', config, '--verbose'], env);
  assert.equal(await exitOf(givingUp), 1);
  assert.match(givingUp.output().stderr, /check that http:\/\/alice:\*\*\*@127\.0\.0\.1:\d+ is the right address/);
  const out = { stdout: run.output().stdout + givingUp.output().stdout, stderr: run.output().stderr + givingUp.output().stderr };
  assertNoPasswordAnywhere(out, text, json, logDir);
});

test("the desktop window's state names the server without its password, also in the link's reason", async () => {
  const home = tempDir();
  const configPath = join(home, 'runner.yaml');
  writeYaml(configPath, {
    server_url: withPassword(`http://127.0.0.1:${await closedPort()}`),
    runner_id: crypto.randomUUID(),
    worktree_base: join(home, 'wt'),
    log_dir: join(home, 'logs'),
    reconnect_interval: 0.05,
  });
  const service = await testAppService(home, { configPath, env: { SIBYL_ACCESS_TOKEN: 'a-token-for-nobody' } });
  const state = async (): Promise<AppState> => {
    const r = await dispatch(service.handlers, 'app:state', {});
    if (!r.ok) throw new Error(r.error.message);
    return r.value as AppState;
  };
  const s = await until(async () => {
    const st = await state();
    return st.daemon?.link.reason?.includes('Nothing is answering') ? st : undefined;
  }, "the link's reason in the window's state");
  assert.match(s.serverUrl, /^http:\/\/alice:\*\*\*@127\.0\.0\.1:\d+$/);
  assert.match(s.daemon?.runner.serverUrl ?? '', /^http:\/\/alice:\*\*\*@/);
  assertNoPassword(JSON.stringify(s), "the window's state");
});
