import assert from 'node:assert/strict';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import YAML from 'yaml';
import { FakeCore } from '../helpers/fakeCore.ts';
import { cli, cliRun, completionOf, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

async function core(opts = {}): Promise<FakeCore> {
  const c = await FakeCore.start({ heartbeatIntervalMs: 0, ...opts });
  after(() => c.stop());
  return c;
}

test('register: sends the fields, writes runner.yaml without any secret, prints JSON', async () => {
  const c = await core();
  const home = tempDir();
  const config = join(home, 'cfg', 'runner.yaml');
  const token = c.mintAccessToken();
  const r = await cliRun(
    [
      'register',
      '--server',
      c.url,
      '--name',
      'ci-box',
      '--max-agents',
      '4',
      '--capability',
      'gpu',
      '--token',
      token,
      '--json',
      '--config',
      config,
    ],
    { HOME: home },
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { runner_id: string; graph_runner_id: string; config_path: string };
  assert.equal(out.config_path, config);
  const req = c.requests.find((q) => q.path === '/api/runners/register')!;
  assert.equal(req.headers.authorization, `Bearer ${token}`);
  const body = req.body as Record<string, unknown>;
  assert.equal(body.name, 'ci-box');
  assert.equal(body.max_concurrent_agents, 4);
  assert.ok((body.capabilities as string[]).includes('gpu'));
  assert.equal(typeof body.hostname, 'string');
  assert.equal(typeof body.client_version, 'string');
  const text = readFileSync(config, 'utf8');
  assert.ok(!text.includes(token), 'no token in runner.yaml');
  const yaml = YAML.parse(text) as Record<string, unknown>;
  assert.equal(yaml.runner_id, out.runner_id);
  assert.equal(yaml.server_url, c.url);
  assert.equal(yaml.max_concurrent_agents, 4);
});

test('register with a bad token: exit 1 and says to log in; without any token and no TTY: exit 2', async () => {
  const c = await core();
  const home = tempDir();
  const bad = await cliRun(['register', '--server', c.url, '--token', 'garbage', '--config', join(home, 'r.yaml')], { HOME: home });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /rejected the token.*sibyl-runner login/);
  const none = await cliRun(['register', '--server', c.url, '--config', join(home, 'r.yaml')], { HOME: home });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--token|SIBYL_ACCESS_TOKEN|login/);
});

test('usage and config errors exit 2 with a clear message', async () => {
  const home = tempDir();
  const r1 = await cliRun(['run', '--bogus'], { HOME: home });
  assert.equal(r1.code, 2);
  assert.match(r1.stderr, /bogus/);
  writeYaml(join(home, 'r.yaml'), { max_concurrent_agents: 'x' });
  const r2 = await cliRun(['status', '--config', join(home, 'r.yaml')], { HOME: home });
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /r\.yaml: key "max_concurrent_agents"/);
  const r3 = await cliRun(['status', '--config', join(home, 'none.yaml')], { HOME: home });
  assert.equal(r3.code, 1);
  assert.match(r3.stdout, /not registered/);
  const r4 = await cliRun(['run', '--config', join(home, 'none.yaml')], { HOME: home });
  assert.equal(r4.code, 2);
  assert.match(r4.stderr, /register/);
});

test('login with the device flow stores 0600 credentials; run uses them; status --json shows the live daemon; SIGTERM drains', async () => {
  const c = await core({ deviceIntervalS: 0.2 });
  const home = tempDir();
  const config = join(home, 'runner.yaml');
  const login = cli(['login', '--server', c.url, '--config', config], { HOME: home });
  const code = await until(() => /enter the code:\s+([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(login.output().stderr)?.[1], 'user code on stderr');
  c.approveDevice(code);
  const loginExit = await new Promise<number | null>((r) => login.on('close', r));
  assert.equal(loginExit, 0, login.output().stderr);
  const credPath = join(home, 'credentials.json');
  assert.equal(statSync(credPath).mode & 0o777, 0o600);

  const { id } = c.addRunner({ name: 'cli-runner' });
  writeYaml(config, { server_url: c.url, runner_id: id, name: 'cli-runner', worktree_base: join(home, 'wt'), log_dir: join(home, 'logs') });
  const run = cli(['run', '--config', config], { HOME: home });
  await c.until(() => c.connected(id), 10_000, 'daemon to connect with the stored login');
  const taskId = crypto.randomUUID();
  c.send(id, {
    type: 'task_assign',
    task_id: taskId,
    agent_id: 'agent_cccccccccccc',
    project_id: 'project_1',
    prompt: 'long one',
    config: { command: ['sleep', '60'] },
  });
  await c.waitFor((f) => f.message?.type === 'task_ack', 5000, 'ack');

  const st = await cliRun(['status', '--json', '--config', config], { HOME: home });
  assert.equal(st.code, 0, st.stderr);
  const status = JSON.parse(st.stdout) as { daemon: { link: { state: string }; running: { taskId: string }[]; status: string } };
  assert.equal(status.daemon.link.state, 'open');
  assert.deepEqual(
    status.daemon.running.map((t) => t.taskId),
    [taskId],
  );
  assert.ok(!st.stdout.includes('eyJ'), 'no token in status output');

  const t0 = Date.now();
  run.kill('SIGTERM');
  const exit = await new Promise<number | null>((r) => run.on('close', r));
  assert.equal(exit, 0, run.output().stderr);
  assert.ok(Date.now() - t0 < 15_000);
  const done = completionOf(c, taskId);
  assert.equal(done.length, 1);
  assert.equal(done[0]!.result.status, 'cancelled');
  assert.equal(done[0]!.retryable, true);
  assert.ok(c.messagesOf('status').some((s) => s.status === 'draining'));
  assert.ok(existsSync(join(home, 'logs', 'runner.log')), 'structured log written');
  const firstLine = JSON.parse(readFileSync(join(home, 'logs', 'runner.log'), 'utf8').split('\n')[0]!) as Record<string, unknown>;
  assert.equal(typeof firstLine.msg, 'string');
});

test('the control socket is private to its owner and answers bad requests with errors', async () => {
  const { ControlServer, controlRequest } = await import('../../main/runner/control/controlSocket.ts');
  const { logger } = await import('../../main/runner/logger.ts');
  const { connect } = await import('node:net');
  const path = join(tempDir(), 'runner.sock');
  const server = await ControlServer.listen(path, async (req) => ({ echo: req.method }), logger('test'));
  after(() => server.close());
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(await controlRequest(path, { method: 'snapshot' }), { id: 1, ok: true, result: { echo: 'snapshot' } });
  const reply = await new Promise<string>((resolve) => {
    const sock = connect(path);
    let buf = '';
    sock.on('data', (c) => {
      buf += c.toString();
      if (buf.split('\n').length > 2) {
        sock.destroy();
        resolve(buf);
      }
    });
    sock.write('not json\n{"id":7,"method":"cancel"}\n');
  });
  const [a, b] = reply
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { ok: boolean; error: { code: string; message: string } });
  assert.equal(a!.error.code, 'bad_request');
  assert.match(b!.error.message, /taskId/);
});
