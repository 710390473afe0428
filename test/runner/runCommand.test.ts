import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FakeCore } from '../helpers/fakeCore.ts';
import { agentGate, assign, cli, cliRun, completionOf, registeredRunner, writeYaml } from '../helpers/runnerHarness.ts';
import { defaultConfig, defaultStateDir } from '../../main/runner/config/schema.ts';
import { LOCK_FILE } from '../../main/runner/stateLock.ts';
import { processAlive, tempDir, until } from '../helpers/tmp.ts';

/** The exit code, once the process has exited (null when a signal ended it). */
function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.on('close', (code) => r(code)));
}

/** The state folder `run` uses for `config` in `home` (no state_dir in the file). */
function stateDirOf(home: string, config: string): string {
  return defaultStateDir(home, config);
}

/** The pid of the task's agent, from the first daemon's journal, once it is there. */
function agentPid(journal: string, taskId: string): number | undefined {
  if (!existsSync(journal)) return undefined;
  for (const line of readFileSync(journal, 'utf8').split('\n')) {
    if (!line.includes('"k":"started"') || !line.includes(taskId)) continue;
    return (JSON.parse(line) as { pid: number }).pid;
  }
  return undefined;
}

test("a second `run` on the same configuration exits 2 naming the first one's pid, touching nothing; the first one finishes its task", async () => {
  const { core, id, home, config, env } = await registeredRunner();
  const first = cli(['run', '--config', config], env);
  await core.until(() => core.connected(id), 10_000, 'the first runner connects');
  const gate = agentGate();
  const taskId = assign(id, core, { command: ['/bin/sh', '-c', `${gate.waitScript}; echo finished`] });
  const journal = join(stateDirOf(home, config), 'journal.jsonl');
  const pid = await until(() => agentPid(journal, taskId), 'the agent started (journaled)');
  const stat = statSync(journal);
  const before = { text: readFileSync(journal, 'utf8'), inode: stat.ino, mtimeMs: stat.mtimeMs, size: stat.size };

  const second = await cliRun(['run', '--config', config], env);
  assert.equal(second.code, 2, second.stderr);
  assert.equal(second.stderr.trim(), `sibyl-runner run: already running for this config (pid ${first.pid}); see \`sibyl-runner status\``);
  // Only the first daemon writes it: same file, not compacted, replaced or appended to; its agent lives.
  const after_ = statSync(journal);
  assert.deepEqual(
    { text: readFileSync(journal, 'utf8'), inode: after_.ino, mtimeMs: after_.mtimeMs, size: after_.size },
    before,
    'the journal is untouched',
  );
  assert.ok(processAlive(pid), "the first daemon's agent was not killed");
  assert.equal(core.handshakes.length, 1, 'the second one never connected');

  gate.open();
  await until(() => completionOf(core, taskId).length > 0, 'the first runner reports its task');
  const done = completionOf(core, taskId);
  assert.equal(done.length, 1);
  assert.equal(done[0]!.success, true, done[0]!.error);
  first.kill('SIGTERM');
  assert.equal(await exitOf(first), 0);
  assert.equal(existsSync(join(stateDirOf(home, config), LOCK_FILE)), false, 'the lock is released on exit');
});

test('a daemon killed with SIGKILL leaves its lock behind, and the next `run` takes it over and starts', async () => {
  const { core, id, home, config, env } = await registeredRunner();
  const lockFile = join(stateDirOf(home, config), LOCK_FILE);
  const first = cli(['run', '--config', config, '--quiet'], env);
  await core.until(() => core.connected(id), 10_000, 'the first runner connects');
  first.kill('SIGKILL');
  await exitOf(first);
  assert.ok(existsSync(lockFile), 'kill -9 leaves the lock file');
  await core.until(() => !core.connected(id), 10_000, 'the server sees the first one gone');

  const next = cli(['run', '--config', config, '--quiet'], env);
  await core.until(() => core.connected(id), 10_000, 'the next runner connects');
  assert.equal((JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number }).pid, next.pid);
  next.kill('SIGTERM');
  assert.equal(await exitOf(next), 0, next.output().stderr);
});

test('two configurations in one HOME without folder settings get different state, worktree and log folders and run side by side', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const home = tempDir();
  const runners = ['a', 'b'].map((name) => {
    const { id, accessToken } = core.addRunner({ name });
    const config = join(home, name, 'runner.yaml');
    mkdirSync(join(home, name));
    writeYaml(config, { server_url: core.url, runner_id: id });
    return { id, config, proc: cli(['run', '--config', config, '--quiet'], { HOME: home, SIBYL_ACCESS_TOKEN: accessToken }) };
  });
  for (const r of runners) await core.until(() => core.connected(r.id), 10_000, `runner ${r.config} connects`);
  const [a, b] = runners.map((r) => defaultConfig(home, r.config));
  assert.notEqual(a!.state_dir, b!.state_dir);
  assert.notEqual(a!.worktree_base, b!.worktree_base);
  assert.notEqual(a!.log_dir, b!.log_dir);
  for (const [cfg, r] of [
    [a!, runners[0]!],
    [b!, runners[1]!],
  ] as const) {
    assert.ok(existsSync(join(cfg.state_dir, 'journal.jsonl')), `${cfg.state_dir} holds its runner's journal`);
    for (const dir of [cfg.state_dir, cfg.worktree_base])
      assert.equal(
        (JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number }).pid,
        r.proc.pid,
        `${dir} is locked by its runner`,
      );
  }
  for (const folder of ['state', 'worktrees'])
    assert.equal(existsSync(join(home, '.sibyl', folder)), false, `neither uses the default configuration's ${folder} folder`);
  for (const r of runners) {
    r.proc.kill('SIGTERM');
    assert.equal(await exitOf(r.proc), 0);
  }
});

test('two configurations given one worktree_base: the second `run` exits 2 naming the key and the first one (its sweep would rewrite the registry)', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const home = tempDir();
  const shared = join(home, 'shared-wt');
  const [first, second] = ['a', 'b'].map((name) => {
    const { id, accessToken } = core.addRunner({ name });
    const config = join(home, name, 'runner.yaml');
    mkdirSync(join(home, name));
    writeYaml(config, { server_url: core.url, runner_id: id, worktree_base: shared });
    return { id, config, env: { HOME: home, SIBYL_ACCESS_TOKEN: accessToken } };
  });
  const running = cli(['run', '--config', first!.config, '--quiet'], first!.env);
  await core.until(() => core.connected(first!.id), 10_000, 'the first runner connects');
  const refused = await cliRun(['run', '--config', second!.config], second!.env);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(
    refused.stderr,
    new RegExp(
      `worktree folder ${shared} is in use by another sibyl-runner \\(pid ${running.pid}, config ${first!.config}\\); give each configuration its own worktree_base`,
    ),
  );
  assert.equal(existsSync(join(defaultConfig(home, second!.config).state_dir, LOCK_FILE)), false, 'its state lock was released');
  assert.equal(core.connected(second!.id), false);
  running.kill('SIGTERM');
  assert.equal(await exitOf(running), 0);
});

test('`run` says on the terminal when the server refuses its credentials, with what to do', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const home = tempDir();
  const { id } = core.addRunner({ name: 'one' });
  const config = join(home, 'runner.yaml');
  writeYaml(config, { server_url: core.url, runner_id: id, worktree_base: join(home, 'wt'), log_dir: join(home, 'logs') });
  const run = cli(['run', '--config', config, '--quiet'], { HOME: home, SIBYL_ACCESS_TOKEN: 'garbage-token-value' });
  await until(
    // The token in the environment is used before a stored login: logging in again would not help.
    () =>
      /sibyl-runner run: .*refused.* — fix or unset SIBYL_ACCESS_TOKEN: it is used instead of the stored login/.test(run.output().stderr),
    'the refusal on stderr',
    10_000,
  );
  const lines = run
    .output()
    .stderr.split('\n')
    .filter((l) => l.startsWith('sibyl-runner run:'));
  assert.equal(lines.length, 1, `said once: ${JSON.stringify(lines)}`);
  run.kill('SIGTERM');
  await new Promise((r) => run.on('close', r));
});

test('one configuration reached through a symlink is one runner: the second `run` exits 2 naming the first', async () => {
  const { core, id, home, config, env } = await registeredRunner();
  const link = join(home, 'link.yaml');
  symlinkSync(config, link);
  const first = cli(['run', '--config', config, '--quiet'], env);
  await core.until(() => core.connected(id), 10_000, 'the first runner connects');
  const second = await cliRun(['run', '--config', link], env);
  assert.equal(second.code, 2, second.stderr);
  assert.match(second.stderr, new RegExp(`already running for this config \\(pid ${first.pid}\\)`));
  first.kill('SIGTERM');
  assert.equal(await exitOf(first), 0);
});

test('two configurations in one folder each get their own control socket: status shows each its own runner', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const home = tempDir();
  const runners = ['a', 'b'].map((name) => {
    const { id, accessToken } = core.addRunner({ name });
    const config = join(home, `${name}.yaml`);
    writeYaml(config, { server_url: core.url, runner_id: id });
    const env = { HOME: home, SIBYL_ACCESS_TOKEN: accessToken };
    return { id, config, env, proc: cli(['run', '--config', config, '--quiet'], env) };
  });
  for (const r of runners) await core.until(() => core.connected(r.id), 10_000, `runner ${r.config} connects`);
  for (const r of runners) {
    const status = await cliRun(['status', '--json', '--config', r.config], r.env);
    assert.equal((JSON.parse(status.stdout) as { daemon: { runner: { id: string } } | null }).daemon?.runner.id, r.id);
  }
  for (const r of runners) {
    r.proc.kill('SIGTERM');
    assert.equal(await exitOf(r.proc), 0);
  }
});
