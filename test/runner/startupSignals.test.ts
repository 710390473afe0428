import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultStateDir } from '../../main/runner/config/schema.ts';
import { LOCK_FILE } from '../../main/runner/stateLock.ts';
import { makeRepo } from '../helpers/gitRepo.ts';
import { assign, cli, completionOf, registeredRunner } from '../helpers/runnerHarness.ts';
import { until } from '../helpers/tmp.ts';

/** How the process ended: its exit code, or the signal that killed it. */
function ended(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
}

/** Whether process `pid` has `path` open (Linux; elsewhere false, and the test relies on order alone). */
function readsFifo(pid: number, path: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

test(
  'SIGTERM while `run` is still reading its configuration (nothing printed yet) ends it with exit 0, not by the signal',
  { skip: process.platform === 'win32' ? 'needs a named pipe' : false },
  async () => {
    const { core, config, env, home } = await registeredRunner();
    // runner.yaml is a named pipe: `run` blocks reading it until the test writes, so the signal
    // lands at a known point — after the handlers are installed, before anything else is done.
    const text = readFileSync(config, 'utf8');
    rmSync(config);
    execFileSync('mkfifo', [config]);
    const run = cli(['run', '--verbose', '--config', config], env);
    const pipe = await open(config, 'w'); // resolves once `run` opened it for reading
    run.kill('SIGTERM');
    await pipe.writeFile(text);
    await pipe.close();
    // The loader reads the file twice (raw mapping, then validated keys): the second write must
    // not reach the first read, so wait until that reader has closed the pipe (Linux: /proc).
    await until(() => !readsFifo(run.pid!, config), 'the first read to finish');
    const again = await open(config, 'w');
    await again.writeFile(text);
    await again.close();
    assert.deepEqual(await ended(run), { code: 0, signal: null }, run.output().stderr);
    assert.match(run.output().stderr, /stopped during start-up/);
    assert.equal(core.handshakes.length, 0, 'start-up stopped before the link');
    assert.equal(existsSync(join(defaultStateDir(home, config), LOCK_FILE)), false, 'no lock left behind');
  },
);

test('SIGTERM upon the first log line ends `run` with exit 0', async () => {
  const { config, env } = await registeredRunner();
  const run = cli(['run', '--verbose', '--config', config], env);
  await until(() => run.output().stderr.includes('\n'), 'the first log line');
  run.kill('SIGTERM');
  assert.deepEqual(await ended(run), { code: 0, signal: null }, run.output().stderr);
});

test('SIGTERM once connected drains: the running task is reported, then exit 0', async () => {
  const { core, id, config, env } = await registeredRunner();
  const run = cli(['run', '--verbose', '--config', config], env);
  await core.until(() => core.connected(id), 10_000, 'the runner connects');
  const taskId = assign(id, core, { command: ['/bin/sh', '-c', 'echo started; sleep 300'] });
  await core.waitFor((f) => f.message?.type === 'task_ack', 5000, 'ack');
  run.kill('SIGTERM');
  assert.deepEqual(await ended(run), { code: 0, signal: null }, run.output().stderr);
  assert.match(run.output().stderr, /draining/);
  assert.equal(completionOf(core, taskId).length, 1, 'the drained task is reported once');
});

test('SIGTERM while the start-up worktree sweep runs (linked checkouts being pruned) ends `run` with exit 0 and nothing connected', async () => {
  const { core, config, env, home } = await registeredRunner();
  // Real repositories linked through ~/.sibyl/config.toml: the start-up sweep prunes each of them.
  const repos = ['one', 'two', 'three'].map((name) => makeRepo(join(home, 'src', name)));
  mkdirSync(join(home, '.sibyl'), { recursive: true });
  writeFileSync(
    join(home, '.sibyl', 'config.toml'),
    `[paths]\n${repos.map((r, i) => `"${r}" = "project_${String(i).repeat(12)}"`).join('\n')}\n`,
  );
  // git on PATH is the real one, except that `worktree prune` says it started and waits for the test:
  // the sweep is held open for as long as the test needs, with no timing guess.
  const bin = join(home, 'bin');
  const started = join(home, 'prune-started');
  const gate = join(home, 'prune-gate');
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'git'),
    `#!/bin/sh\ncase " $* " in *" worktree prune "*) : > '${started}'; while [ ! -e '${gate}' ]; do sleep 0.02; done;; esac\nexec '${realGit}' "$@"\n`,
  );
  chmodSync(join(bin, 'git'), 0o755);

  const run = cli(['run', '--verbose', '--config', config], { ...env, PATH: `${bin}:${process.env.PATH}` });
  await until(() => existsSync(started), 'the start-up sweep to prune a linked checkout');
  await until(() => /start-up worktree sweep/.test(run.output().stderr), 'the sweep said in the log');
  run.kill('SIGTERM');
  // The handler runs now, while the sweep is held: the process is still there, waiting for it.
  await until(() => /signal received during start-up; stopping/.test(run.output().stderr), 'the signal to be handled');
  writeFileSync(gate, '');
  assert.deepEqual(await ended(run), { code: 0, signal: null }, run.output().stderr);
  assert.match(run.output().stderr, /stopped during start-up/);
  assert.equal(core.handshakes.length, 0, 'it never connected, so no task could be taken and orphaned');
  assert.equal(existsSync(join(defaultStateDir(home, config), LOCK_FILE)), false, 'the lock is released');
});
