import assert from 'node:assert/strict';
import { readFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import YAML from 'yaml';
import { FakeCore } from '../helpers/fakeCore.ts';
import { cli, cliRun } from '../helpers/runnerHarness.ts';
import { tempDir } from '../helpers/tmp.ts';

/** `register` on a machine that is registered already: refused naming the runner, or replaced with --replace (issue 15, item 15). */

const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
after(() => core.stop());

function runnerIdIn(config: string): string {
  const id = (YAML.parse(readFileSync(config, 'utf8')) as { runner_id?: unknown }).runner_id;
  return typeof id === 'string' ? id : '';
}

/** A fresh HOME with this machine registered as "box" through the real CLI. */
async function registered(): Promise<{ home: string; config: string; id: string; token: string }> {
  const home = tempDir();
  const config = join(home, 'runner.yaml');
  const token = core.mintAccessToken();
  const r = await cliRun(['register', '--server', core.url, '--name', 'box', '--token', token, '--config', config], { HOME: home });
  assert.equal(r.code, 0, r.stderr);
  return { home, config, id: runnerIdIn(config), token };
}

const registrations = (): number => core.requests.filter((q) => q.method === 'POST' && q.path === '/api/runners/register').length;

test('registering again is refused, naming the runner, the server and the file; nothing is sent to the server', async () => {
  const { home, config, id, token } = await registered();
  const before = registrations();
  const again = await cliRun(['register', '--server', core.url, '--token', token, '--config', config], { HOME: home });
  assert.equal(again.code, 2, again.stderr);
  assert.equal(
    again.stderr.trim(),
    `sibyl-runner register: this machine is already registered as runner ${id} ("box") with ${core.url} (runner_id in ${config}); pass --replace to unregister it and register again, or --config PATH for a second runner`,
  );
  assert.equal(again.stdout, '');
  assert.equal(registrations(), before, 'no second runner was created');
  assert.equal(runnerIdIn(config), id);
  assert.ok(core.runner(id), 'the runner is still on the server');
});

test('--replace unregisters the old runner on the server first, then registers anew and writes the new id', async () => {
  const { home, config, id, token } = await registered();
  const r = await cliRun(['register', '--server', core.url, '--token', token, '--replace', '--config', config], { HOME: home });
  assert.equal(r.code, 0, r.stderr);
  const newId = runnerIdIn(config);
  assert.notEqual(newId, id);
  assert.equal(core.runner(id), undefined, 'the old runner is gone from the server');
  assert.equal(core.runner(newId)?.name, 'box', 'the new runner keeps the configured name');
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0], `Unregistered the old runner ${id} on the server.`);
  assert.equal(lines[1], `Registered runner "box" with ${core.url}`);
  // The delete went out before the registration.
  const calls = core.requests.filter((q) => q.path === `/api/runners/${id}` || q.path === '/api/runners/register').slice(-2);
  assert.deepEqual(
    calls.map((q) => `${q.method} ${q.path}`),
    [`DELETE /api/runners/${id}`, 'POST /api/runners/register'],
  );

  // Replacing again, with --json: the old id and what became of it.
  const json = await cliRun(['register', '--server', core.url, '--token', token, '--replace', '--json', '--config', config], {
    HOME: home,
  });
  assert.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout) as { runner_id: string; replaced_runner_id: string; replaced: string };
  assert.equal(out.replaced_runner_id, newId);
  assert.equal(out.replaced, 'deleted');
  assert.equal(out.runner_id, runnerIdIn(config));
});

test('--replace when the server no longer has the old runner says so and registers', async () => {
  const { home, config, id, token } = await registered();
  core.removeRunner(id);
  const r = await cliRun(['register', '--server', core.url, '--token', token, '--replace', '--config', config], { HOME: home });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split('\n')[0], `The old runner ${id} was no longer on the server.`);
  assert.ok(core.runner(runnerIdIn(config)));
});

test('--replace while this configuration runs is refused with the pid, before anything is sent', async () => {
  const { home, config, id, token } = await registered();
  const run = cli(['run', '--config', config], { HOME: home, SIBYL_ACCESS_TOKEN: token });
  await core.until(() => core.connected(id), 10_000, 'the runner connects');
  const changes = (): number => core.requests.filter((q) => q.method === 'DELETE' || q.path === '/api/runners/register').length;
  const before = changes();
  const r = await cliRun(['register', '--server', core.url, '--token', token, '--replace', '--config', config], { HOME: home });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    r.stderr.trim(),
    `sibyl-runner register: runner ${id} ("box") with ${core.url} is running (pid ${run.pid}); stop it first (Ctrl+C, or \`sibyl-runner service stop\`), then register again`,
  );
  assert.equal(changes(), before, 'nothing was deleted or registered');
  assert.ok(core.runner(id));
  run.kill('SIGTERM');
  await new Promise((r) => run.on('close', r));
});

test('--replace while the server still sees the old runner online (a copy of the config runs elsewhere): exit 1, runner.yaml unchanged', async () => {
  const { home, config, id, token } = await registered();
  // The same registration, run from another folder (its own state): the server sees the runner online.
  const elsewhere = join(home, 'elsewhere');
  mkdirSync(elsewhere);
  copyFileSync(config, join(elsewhere, 'runner.yaml'));
  const run = cli(['run', '--config', join(elsewhere, 'runner.yaml')], { HOME: home, SIBYL_ACCESS_TOKEN: token });
  await core.until(() => core.runner(id)?.status === 'online', 10_000, 'the server sees the runner online');
  const r = await cliRun(['register', '--server', core.url, '--token', token, '--replace', '--config', config], { HOME: home });
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr.trim(),
    new RegExp(`^sibyl-runner register: the server still sees runner ${id} connected, and deletes only an offline runner`),
  );
  assert.equal(runnerIdIn(config), id, 'runner.yaml keeps the registration');
  assert.ok(core.runner(id));
  run.kill('SIGTERM');
  await new Promise((r) => run.on('close', r));
});

test('--replace into another server leaves the old runner there and says so', async () => {
  const { home, config, id } = await registered();
  const other = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => other.stop());
  const r = await cliRun(['register', '--server', other.url, '--token', other.mintAccessToken(), '--replace', '--config', config], {
    HOME: home,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split('\n')[0], `The old runner ${id} stays on ${core.url}: it is another server; remove it there.`);
  assert.ok(core.runner(id), 'nothing was deleted on the first server');
  assert.ok(other.runner(runnerIdIn(config)));
});
