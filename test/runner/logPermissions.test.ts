import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { Server } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ControlServer } from '../../main/runner/control/controlSocket.ts';
import { configureLogging, logger, REOPEN_AFTER_MS } from '../../main/runner/logger.ts';
import { BIN, registeredRunner } from '../helpers/runnerHarness.ts';
import { sleep, tempDir, until } from '../helpers/tmp.ts';

const posix = process.platform !== 'win32';
const mode = (path: string): number => statSync(path).mode & 0o7777;
const octal = (m: number): string => m.toString(8).padStart(4, '0');

/** `sibyl-runner run` started with umask 000: whatever mode the runner does not set itself is wide open. */
function runWithOpenUmask(config: string, env: Record<string, string>): ChildProcess {
  const child = spawn('/bin/sh', ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, BIN, 'run', '--config', config, '--quiet'], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.on('close', (code) => r(code)));
}

test('a new log folder is 0700 and runner.log 0600, even under umask 000', { skip: !posix && 'POSIX modes' }, async () => {
  const { core, id, home, config, env } = await registeredRunner();
  const logDir = join(home, 'logs');
  assert.equal(existsSync(logDir), false);
  const run = runWithOpenUmask(config, env);
  await core.until(() => core.connected(id), 10_000, 'the runner connects');
  await until(() => existsSync(join(logDir, 'runner.log')), 'runner.log is written');
  assert.equal(octal(mode(logDir)), '0700');
  assert.equal(octal(mode(join(logDir, 'runner.log'))), '0600');
  run.kill('SIGTERM');
  assert.equal(await exitOf(run), 0);
});

test(
  'a log folder and log files left readable by an earlier version are tightened at start',
  { skip: !posix && 'POSIX modes' },
  async () => {
    const { core, id, home, config, env } = await registeredRunner();
    const logDir = join(home, 'logs');
    mkdirSync(logDir, { mode: 0o755 });
    chmodSync(logDir, 0o755);
    for (const f of ['runner.log', 'runner.log.1', 'runner.log.3']) {
      writeFileSync(join(logDir, f), '{"msg":"from before"}\n');
      chmodSync(join(logDir, f), 0o644);
    }
    const run = runWithOpenUmask(config, env);
    await core.until(() => core.connected(id), 10_000, 'the runner connects');
    assert.equal(octal(mode(logDir)), '0700');
    for (const f of ['runner.log', 'runner.log.1', 'runner.log.3']) assert.equal(octal(mode(join(logDir, f))), '0600', f);
    run.kill('SIGTERM');
    assert.equal(await exitOf(run), 0);
  },
);

test('a rotated runner.log is created 0600 again', { skip: !posix && 'POSIX modes' }, () => {
  const logDir = join(tempDir('sibyl-logperm-'), 'logs');
  const before = process.umask(0);
  try {
    configureLogging({ logDir, quiet: true, maxBytes: 200 });
    const log = logger('rotation');
    for (let i = 0; i < 10; i++) log.info('a line long enough to rotate the file after a few of them', { i });
  } finally {
    process.umask(before);
    configureLogging({ quiet: true });
  }
  assert.ok(existsSync(join(logDir, 'runner.log.1')), 'rotated');
  for (const f of ['runner.log', 'runner.log.1']) assert.equal(octal(mode(join(logDir, f))), '0600', f);
  assert.equal(octal(mode(logDir)), '0700');
});

test('runner.log moved away by another process (its rotation) is followed: later lines go to a new runner.log', () => {
  const logDir = join(tempDir('sibyl-logrotate-'), 'logs');
  const log = logger('moved');
  try {
    configureLogging({ logDir, quiet: true, maxBytes: 1024 * 1024 }); // no rotation of its own
    log.info('first line');
    // A CLI command beside the daemon rotates the same file.
    renameSync(join(logDir, 'runner.log'), join(logDir, 'runner.log.1'));
    log.info('second line');
    // The file is kept open between lines, and opened again after at most a second.
    const until = performance.now() + 1100;
    while (performance.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    log.info('third line');
  } finally {
    configureLogging({ quiet: true });
  }
  const moved = readFileSync(join(logDir, 'runner.log.1'), 'utf8');
  const current = readFileSync(join(logDir, 'runner.log'), 'utf8');
  assert.match(moved, /first line/);
  assert.match(moved + current, /second line/, 'no line is lost');
  assert.match(current, /third line/);
  assert.doesNotMatch(moved, /third line/);
});

test(
  'a shared log folder (sticky bit, like /tmp) is left as it is; runner.log inside is still 0600',
  { skip: !posix && 'POSIX modes' },
  () => {
    const shared = tempDir('sibyl-logperm-');
    chmodSync(shared, 0o1777);
    configureLogging({ logDir: shared, quiet: true });
    logger('shared').info('hello');
    configureLogging({ quiet: true });
    assert.equal(octal(mode(shared)), '1777');
    assert.equal(octal(mode(join(shared, 'runner.log'))), '0600');
  },
);

test('the control socket is owner-only from the moment it exists, not after a chmod', { skip: !posix && 'POSIX sockets' }, async () => {
  const dir = tempDir('sibyl-sock-');
  const path = join(dir, 'runner.sock');
  // What the socket file's mode is the instant listen() has bound it (Node binds a Unix socket
  // synchronously inside listen): anything a chmod does later comes after this look.
  const seen: number[] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as it was, and called with apply
  const listen = Server.prototype.listen;
  Server.prototype.listen = function (this: Server, ...args: Parameters<Server['listen']>): Server {
    const server = listen.apply(this, args);
    if (args[0] === path) seen.push(lstatSync(path).mode & 0o777);
    return server;
  } as Server['listen'];
  const before = process.umask(0);
  let control: ControlServer | undefined;
  let umaskAfter: number;
  try {
    control = await ControlServer.listen(path, () => ({}), logger('control'));
    umaskAfter = process.umask(0);
  } finally {
    process.umask(before);
    Server.prototype.listen = listen;
  }
  after(() => control?.close());
  assert.deepEqual(seen.map(octal), ['0700'], 'no access for group or others at bind, even under umask 000');
  assert.equal(lstatSync(path).mode & 0o077, 0, 'nor after');
  assert.equal(umaskAfter, 0, "listen put the process's umask back as it was");
});

test('a runner.log planted as a symlink is not followed: its target keeps its mode and content', { skip: !posix && 'POSIX modes' }, () => {
  const shared = tempDir('sibyl-logperm-');
  chmodSync(shared, 0o1777);
  const victim = join(tempDir('sibyl-logperm-victim-'), 'victim.txt');
  writeFileSync(victim, 'mine\n', { mode: 0o644 });
  chmodSync(victim, 0o644);
  symlinkSync(victim, join(shared, 'runner.log'));
  configureLogging({ logDir: shared, quiet: true });
  logger('planted').info('must not land in the victim');
  configureLogging({ quiet: true });
  assert.equal(readFileSync(victim, 'utf8'), 'mine\n');
  assert.equal(octal(mode(victim)), '0644');
});

test(
  'a symlink planted in place of runner.log while it is open is not followed when the log opens it again',
  { skip: !posix && 'POSIX modes' },
  async () => {
    const shared = tempDir('sibyl-logperm-');
    chmodSync(shared, 0o1777);
    const victim = join(tempDir('sibyl-logperm-victim-'), 'victim.txt');
    writeFileSync(victim, 'mine\n', { mode: 0o644 });
    configureLogging({ logDir: shared, quiet: true });
    try {
      logger('planted').info('the first line opens runner.log');
      rmSync(join(shared, 'runner.log'));
      symlinkSync(victim, join(shared, 'runner.log'));
      await sleep(REOPEN_AFTER_MS + 100);
      logger('planted').info('must not land in the victim');
    } finally {
      configureLogging({ quiet: true });
    }
    assert.equal(readFileSync(victim, 'utf8'), 'mine\n');
    assert.ok(lstatSync(join(shared, 'runner.log')).isSymbolicLink(), 'the planted link is left for the user to see');
  },
);
