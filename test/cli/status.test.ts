// Issue 15, item 14: `status` never says "online" while the link is down, and `--json` is one
// interface: camelCase keys, ISO-8601 UTC times, absent values null (statusReport.ts, documented in
// the help).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StatusJson } from '../../main/cli/statusReport.ts';
import { HELP } from '../../main/cli/help.ts';
import YAML from 'yaml';
import { cliInProcess } from '../helpers/cliInProcess.ts';
import { agentGate, cli, cliRun, registeredRunner, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.on('close', (code) => r(code)));
}

/** Every key of a JSON value, at any depth, with the value it holds. */
function entries(value: unknown, path = ''): [string, unknown][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => entries(v, `${path}[${i}]`));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => [[`${path}.${k}`, v] as [string, unknown], ...entries(v, `${path}.${k}`)]);
  return [];
}

/** The keys are camelCase and every time is an ISO-8601 UTC string (or null), nowhere epoch milliseconds. */
function assertOneStyle(json: unknown): void {
  for (const [path, v] of entries(json)) {
    const key =
      path
        .split('.')
        .at(-1)
        ?.replace(/\[\d+\]$/, '') ?? '';
    assert.match(key, /^[a-z][a-zA-Z0-9]*$/, `camelCase key: ${path}`);
    if (/At$|^since$/.test(key))
      assert.ok(v === null || (typeof v === 'string' && ISO.test(v)), `${path} is an ISO time: ${JSON.stringify(v)}`);
  }
}

async function status(config: string, env: Record<string, string>): Promise<{ text: string; json: StatusJson; raw: unknown }> {
  const text = await cliRun(['status', '--config', config], env);
  const json = await cliRun(['status', '--json', '--config', config], env);
  assert.equal(json.code, 0, json.stderr);
  const raw = JSON.parse(json.stdout) as unknown;
  return { text: text.stdout, json: StatusJson.parse(raw), raw };
}

test('status: online while connected; "reconnecting" and not receiving tasks while the link is down, in text and JSON', async () => {
  const { core, id, config, env } = await registeredRunner({ reconnect_interval: 0.1 });
  const run = cli(['run', '--config', config, '--quiet'], env);
  after(() => run.kill('SIGKILL'));
  await core.until(() => core.connected(id), 10_000, 'the runner to connect');
  const gate = agentGate();
  const taskId = crypto.randomUUID();
  core.send(id, {
    type: 'task_assign',
    task_id: taskId,
    agent_id: 'agent_aaaaaaaaaaaa',
    project_id: 'project_1',
    prompt: 'Fix the upload bug',
    config: { command: ['/bin/sh', '-c', gate.waitScript] },
  });
  const up = await until(async () => {
    const s = await status(config, env);
    // The text is read first: once it says Running (not Preparing worktree), so does the JSON.
    const shown = s.json.daemon?.running.length === 1 && s.json.daemon.link.state === 'open' && / {2}Running {2}/.test(s.text);
    return shown ? s : undefined;
  }, 'status to show the running task');
  assert.equal(up.json.state, 'connected');
  assert.equal(up.json.daemon?.status, 'online', 'online: a free slot of three');
  assert.match(up.text, /^Status +online, 1\/3 agents$/m);
  assert.match(up.text, new RegExp(`^  • ${taskId.slice(0, 8)}  Running  \\S+  Fix the upload bug$`, 'm'));
  assertOneStyle(up.raw);
  const running = up.json.daemon?.running[0];
  assert.equal(running?.taskId, taskId, '--json keeps the whole id');
  assert.match(running?.assignedAt ?? '', ISO);
  assert.match(up.json.daemon?.link.connectedAt ?? '', ISO);
  assert.ok(Date.parse(up.json.daemon?.startedAt ?? '') <= Date.now());

  await core.stop();
  const down = await until(async () => {
    const s = await status(config, env);
    return s.json.daemon?.link.state === 'waiting' ? s : undefined;
  }, 'status to show the link down');
  assert.equal(down.json.daemon?.status, 'reconnecting');
  assert.ok(['reconnecting', 'unreachable'].includes(down.json.state), down.json.state);
  assert.match(down.text, /^Status +reconnecting, not receiving tasks \(1\/3 agents still running\)$/m);
  assert.match(down.text, /^Link +(?:Reconnecting|Can't reach the server) — /m);
  assert.doesNotMatch(down.text, /online|busy/);
  assert.doesNotMatch(JSON.stringify(down.raw), /"online"|"busy"/);
  assertOneStyle(down.raw);
  assert.match(down.json.daemon?.link.since ?? '', ISO);

  await core.listen();
  await core.until(() => core.connected(id), 10_000, 'the runner to reconnect');
  gate.open();
  run.kill('SIGTERM');
  assert.equal(await exitOf(run), 0);
});

test('status --json without a daemon: camelCase runner fields, nulls for what is not set, state notRunning or unregistered', async () => {
  const home = tempDir();
  const config = join(home, 'runner.yaml');
  writeYaml(config, { server_url: 'https://sibyl.example.com', runner_id: 'r-1', graph_runner_id: 'g-1', name: 'box' });
  const r = await cliRun(['status', '--json', '--config', config], { HOME: home });
  assert.equal(r.code, 0, r.stderr);
  const raw = JSON.parse(r.stdout) as unknown;
  const json = StatusJson.parse(raw);
  assertOneStyle(raw);
  assert.equal(json.state, 'notRunning');
  assert.equal(json.configPath, config);
  assert.deepEqual(
    { id: json.runner.id, graphRunnerId: json.runner.graphRunnerId, name: json.runner.name, serverUrl: json.runner.serverUrl },
    { id: 'r-1', graphRunnerId: 'g-1', name: 'box', serverUrl: 'https://sibyl.example.com' },
  );
  assert.equal(json.daemon, null);

  const fresh = join(home, 'fresh.yaml');
  const unregistered = await cliRun(['status', '--json', '--config', fresh], { HOME: home });
  assert.equal(unregistered.code, 1);
  const u = StatusJson.parse(JSON.parse(unregistered.stdout));
  assert.deepEqual([u.registered, u.state, u.runner.id, u.runner.serverUrl], [false, 'unregistered', null, null]);
});

test('the help documents the JSON: every top-level and runner key it prints', () => {
  for (const key of [...Object.keys(StatusJson.shape), ...Object.keys(StatusJson.shape.runner.shape)])
    assert.ok(HELP.status?.includes(`"${key}"`), `status --help names "${key}"`);
  assert.match(HELP.status ?? '', /camelCase/);
  assert.match(HELP.status ?? '', /ISO-8601 UTC/);
});

test("status without a name in runner.yaml names the runner as register and run do: the machine's name", async () => {
  const home = tempDir();
  const config = join(home, 'runner.yaml');
  writeYaml(config, { server_url: 'https://sibyl.example.com', runner_id: 'r-1' });
  const r = await cliRun(['status', '--config', config], { HOME: home });
  assert.equal(r.code, 0, r.stderr);
  const row = r.stdout.split('\n').find((l) => l.startsWith('Runner'));
  assert.equal(row?.replace(/^Runner +/, ''), `${hostname()} (r-1)`, r.stdout);
});

test('status names the credentials the runner uses: a token from the environment or runner.yaml before the stored login, else the file, else none', async () => {
  const { home, config } = await registeredRunner();
  const file = join(home, 'credentials.json');
  const row = async (env: Record<string, string>): Promise<string> => {
    const r = await cliInProcess(['status', '--config', config], { HOME: home, ...env });
    const json = await cliInProcess(['status', '--json', '--config', config], { HOME: home, ...env });
    const text = /^Credentials +(.*)$/m.exec(r.stdout)?.[1] ?? `(no Credentials row in ${r.stdout}${r.stderr})`;
    assert.equal((JSON.parse(json.stdout) as { credentials: string }).credentials, text, 'the same words in --json');
    return text;
  };
  assert.equal(await row({}), 'none stored (sign in with `sibyl-runner login`)');
  assert.equal(await row({ SIBYL_ACCESS_TOKEN: 'tok' }), 'SIBYL_ACCESS_TOKEN from the environment (used instead of a stored login)');
  writeFileSync(file, '{}\n', { mode: 0o600 });
  assert.equal(await row({}), `file ${file} (mode 0600)`);
  writeYaml(config, { ...(YAML.parse(readFileSync(config, 'utf8')) as Record<string, unknown>), access_token: 'in-the-file' });
  assert.equal(await row({}), `access_token in ${config} (used instead of a stored login)`);
});
