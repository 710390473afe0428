import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { FileCredentialStore } from '../../main/runner/config/credentials.ts';
import { defaultConfig, type RunnerConfig } from '../../main/runner/config/schema.ts';
import { RunnerError } from '../../main/runner/errors.ts';
import { configureLogging } from '../../main/runner/logger.ts';
import { LOCK_FILE, acquireStateLock } from '../../main/runner/stateLock.ts';
import { startRunner } from '../../main/runner/startRunner.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { tempDir, until } from '../helpers/tmp.ts';

configureLogging({ quiet: true });

const LOCK_MODULE = resolve(import.meta.dirname, '../../main/runner/stateLock.ts');

/** A pid that belonged to a process which has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

function held(stateDir: string): unknown {
  return JSON.parse(readFileSync(join(stateDir, LOCK_FILE), 'utf8'));
}

test('the lock is exclusive: a second taker gets already_running naming the owner, exit 2; after release it can be taken again', () => {
  const dir = join(tempDir(), 'state');
  const lock = acquireStateLock(dir, '/etc/a/runner.yaml');
  assert.ok(existsSync(join(dir, LOCK_FILE)));
  assert.throws(
    () => acquireStateLock(dir, '/etc/a/runner.yaml'),
    (err: unknown) =>
      err instanceof RunnerError &&
      err.code === 'already_running' &&
      err.exitCode === 2 &&
      err.message === `already running for this config (pid ${process.pid})` &&
      err.context.pid === process.pid,
  );
  // Another configuration pointed at the same folder is told to give each its own state_dir.
  assert.throws(
    () => acquireStateLock(dir, '/etc/b/runner.yaml'),
    (err: unknown) =>
      err instanceof RunnerError &&
      err.code === 'already_running' &&
      err.remedy === 'fixConfig' &&
      /\/etc\/a\/runner\.yaml/.test(err.message),
  );
  lock.release();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'released');
  lock.release(); // idempotent
  const again = acquireStateLock(dir, '/etc/a/runner.yaml');
  again.release();
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith(LOCK_FILE)),
    [],
    'no temp or takeover files left behind',
  );
});

test('a lock whose owner is gone, whose pid now names another process, or that is not ours to read is taken over', () => {
  const dir = tempDir();
  const gone = deadPid();
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: gone, configPath: '/c.yaml', since: 1 }));
  acquireStateLock(dir, '/c.yaml').release();

  // Our own pid with another start time: the pid was reused after the owner died.
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, startTime: 'another-boot:1', configPath: '/c.yaml', since: 1 }));
  const lock = acquireStateLock(dir, '/c.yaml');
  assert.equal((held(dir) as { pid: number }).pid, process.pid);
  assert.notEqual((held(dir) as { startTime?: string }).startTime, 'another-boot:1');
  lock.release();

  writeFileSync(join(dir, LOCK_FILE), 'garbage that is not a lock');
  acquireStateLock(dir, '/c.yaml').release();
});

test('a live owner in another process keeps the lock; its exit releases it, and a kill -9 leaves a lock the next taker takes over', async () => {
  const dir = tempDir();
  // A child that takes the lock, says so, and waits for stdin to close (then exits normally).
  const script = `
    const { acquireStateLock } = await import(${JSON.stringify(LOCK_MODULE)});
    acquireStateLock(${JSON.stringify(dir)}, '/c.yaml');
    process.stdout.write('locked\\n');
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));
  `;
  const start = (): ReturnType<typeof spawn> & { locked: Promise<void> } => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const locked = new Promise<void>((r) => child.stdout.on('data', (c: Buffer) => c.toString().includes('locked') && r()));
    return Object.assign(child, { locked });
  };

  const first = start();
  await first.locked;
  assert.throws(
    () => acquireStateLock(dir, '/c.yaml'),
    (err: unknown) => err instanceof RunnerError && err.message === `already running for this config (pid ${first.pid})`,
  );
  first.stdin!.end();
  await new Promise((r) => first.on('close', r));
  assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'a normal exit releases the lock');

  const killed = start();
  await killed.locked;
  killed.kill('SIGKILL');
  await new Promise((r) => killed.on('close', r));
  assert.equal((held(dir) as { pid: number }).pid, killed.pid, 'kill -9 leaves the file');
  await until(() => {
    try {
      process.kill(killed.pid!, 0);
      return false;
    } catch {
      return true;
    }
  }, 'the killed process to be reaped');
  const lock = acquireStateLock(dir, '/c.yaml');
  assert.equal((held(dir) as { pid: number }).pid, process.pid);
  lock.release();
});

test("startRunner (the desktop app's way in) refuses a second start on a locked state folder with the typed error, before touching it", async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const { id, accessToken } = core.addRunner({ name: 'desk' });
  const home = tempDir();
  const configPath = join(home, 'runner.yaml');
  const config: RunnerConfig = {
    ...defaultConfig(home, configPath),
    server_url: core.url,
    runner_id: id,
    access_token: accessToken,
    worktree_base: join(home, 'wt'),
    log_dir: join(home, 'logs'),
  };
  const opts = {
    configPath,
    home,
    credentials: new FileCredentialStore(join(home, 'credentials.json')),
    env: { PATH: process.env.PATH },
    tuning: { controlSocket: false as const },
  };
  const first = await startRunner(config, opts);
  const journal = join(config.state_dir, 'journal.jsonl');
  const before = statSync(journal);
  await assert.rejects(
    startRunner(config, opts),
    (err: unknown) =>
      err instanceof RunnerError &&
      err.code === 'already_running' &&
      err.exitCode === 2 &&
      err.message === `already running for this config (pid ${process.pid})`,
  );
  const now = statSync(journal);
  assert.deepEqual([now.ino, now.mtimeMs, now.size], [before.ino, before.mtimeMs, before.size], 'the journal is untouched');
  await first.stop();
  assert.equal(existsSync(join(config.state_dir, LOCK_FILE)), false, 'stop releases the lock');
  const again = await startRunner(config, opts);
  await again.stop();
});
