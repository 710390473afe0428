import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AgentProcess } from '../../main/runner/tasks/agentProcess.ts';
import {
  DescendantTracker,
  findMarkedProcesses,
  freezeAndKill,
  watchListing,
  type ProcessEntry,
  markerTaskId,
  newTaskMarker,
  TASK_MARKER_VAR,
} from '../../main/runner/tasks/processTree.ts';
import { processAlive, processGone, sleep, tempDir, until } from '../helpers/tmp.ts';

const LINUX_ONLY = process.platform === 'linux' ? false : 'escaped processes are found through /proc here';
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

const gone = processGone;

function ppid(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Leaves the group, keeps our pipes, and outlives SIGTERM (each `sleep` dies, the loop goes on): only the drain ends the task. */
const DEAF_ESCAPEE = `setsid sh -c 'trap "" TERM; echo $$ > deaf.pid; while :; do sleep 1; done'`;

async function pidFrom(file: string): Promise<number> {
  const text = await until(() => existsSync(file) && readFileSync(file, 'utf8').trim(), file);
  return Number(text);
}

test('a marker names its task and is unique per run', () => {
  const a = newTaskMarker('task 1/ä');
  assert.notEqual(a, newTaskMarker('task 1/ä'));
  assert.equal(markerTaskId(a), 'task 1/ä');
  assert.ok(!/\s/.test(a), 'no spaces: ps output is split on them');
  assert.equal(markerTaskId('something-else'), undefined);
});

test('case 8: an escaped descendant holding the pipes does not keep the task running', { skip: LINUX_ONLY }, async () => {
  const dir = tempDir();
  const lines: string[] = [];
  const p = new AgentProcess({
    argv: ['/bin/sh', '-c', 'setsid sleep 40 & echo $! > escaped.pid; sleep 1; echo agent-done; exit 0'],
    cwd: dir,
    env,
    timeoutMs: 10_000,
    onLine: (_s, l) => lines.push(l),
  });
  const escaped = await pidFrom(`${dir}/escaped.pid`);
  assert.ok(!gone(escaped), 'the escaped sleep runs');
  const exit = await p.exited;
  assert.equal(exit.stoppedBy, undefined, 'not stopped by the timeout');
  assert.equal(exit.exitCode, 0);
  assert.deepEqual(lines, ['agent-done']);
  await until(() => gone(escaped), 'the escaped sleep to be killed when the task ends');
});

test(
  'case 8, deaf: an escaped descendant that ignores SIGTERM and keeps the pipes; the drain ends the task',
  { skip: LINUX_ONLY },
  async () => {
    const dir = tempDir();
    const p = new AgentProcess({
      argv: ['/bin/sh', '-c', `${DEAF_ESCAPEE} & sleep 1; echo agent-done; exit 7`],
      cwd: dir,
      env,
      timeoutMs: 10_000,
    });
    const deaf = await pidFrom(`${dir}/deaf.pid`);
    const exit = await p.exited;
    assert.equal(exit.stoppedBy, undefined, 'not stopped by the timeout');
    assert.equal(exit.exitCode, 7, "the leader's exit code");
    assert.equal(exit.stdout, 'agent-done');
    await until(() => gone(deaf), 'the deaf escapee to be killed');
  },
);

test('case 9: cancel kills a descendant that left the group, with or without our pipes', { skip: LINUX_ONLY }, async () => {
  for (const redirect of ['>/dev/null 2>&1', '']) {
    const dir = tempDir();
    const p = new AgentProcess({
      argv: ['/bin/sh', '-c', `setsid sleep 300 ${redirect} & echo $! > escaped.pid; sleep 300`],
      cwd: dir,
      env,
      timeoutMs: 60_000,
      cancelGraceMs: 2000,
    });
    const escaped = await pidFrom(`${dir}/escaped.pid`);
    assert.ok(!gone(escaped));
    p.stop('task_cancel');
    const exit = await p.exited;
    assert.equal(exit.stoppedBy, 'task_cancel');
    await until(() => gone(escaped), `escaped sleep (${redirect || 'holding the pipes'}) to be killed by the cancel`);
  }
});

test('timeout kills a double-forked daemon that ignores SIGTERM', { skip: LINUX_ONLY }, async () => {
  const dir = tempDir();
  // The subshell exits at once: the daemon's parent is gone, it is in its own session, ignores TERM.
  const p = new AgentProcess({
    argv: ['/bin/sh', '-c', `(setsid sh -c 'trap "" TERM; echo $$ > daemon.pid; while :; do sleep 1; done' >/dev/null 2>&1 &); sleep 300`],
    cwd: dir,
    env,
    timeoutMs: 500,
    timeoutGraceMs: 500,
  });
  const daemon = await pidFrom(`${dir}/daemon.pid`);
  const exit = await p.exited;
  assert.equal(exit.stoppedBy, 'timeout');
  await until(() => gone(daemon), 'the daemon to be killed by the timeout');
});

test('a process that cleared its environment is still found if the tree snapshot saw it', { skip: LINUX_ONLY }, async () => {
  const dir = tempDir();
  const p = new AgentProcess({
    argv: ['/bin/sh', '-c', `setsid env -i /bin/sh -c 'echo $$ > cleared.pid; exec sleep 300' >/dev/null 2>&1 & sleep 2; exit 0`],
    cwd: dir,
    env,
    timeoutMs: 60_000,
  });
  const cleared = await pidFrom(`${dir}/cleared.pid`);
  assert.deepEqual(findMarkedProcesses((m) => m === p.marker).includes(cleared), false, 'no marker in a cleared environment');
  const exit = await p.exited;
  assert.equal(exit.exitCode, 0);
  await until(() => gone(cleared), 'the tracked descendant to be killed');
});

test('findMarkedProcesses sees exactly the processes carrying the marker; freezeAndKill ends them', { skip: LINUX_ONLY }, async () => {
  const { spawn } = await import('node:child_process');
  const marker = newTaskMarker('t');
  const other = newTaskMarker('t');
  const mine = spawn('sleep', ['300'], { env: { ...env, [TASK_MARKER_VAR]: marker }, stdio: 'ignore', detached: true });
  const theirs = spawn('sleep', ['300'], { env: { ...env, [TASK_MARKER_VAR]: other }, stdio: 'ignore', detached: true });
  try {
    await until(() => findMarkedProcesses((m) => m === marker).length > 0, 'the marked sleep');
    assert.deepEqual(
      findMarkedProcesses((m) => m === marker),
      [mine.pid],
    );
    assert.deepEqual(await freezeAndKill(() => findMarkedProcesses((m) => m === marker)), [mine.pid]);
    await until(() => gone(mine.pid!), 'the marked sleep to die');
    assert.ok(!gone(theirs.pid!), 'another run of the same task is left alone');
  } finally {
    mine.kill('SIGKILL');
    theirs.kill('SIGKILL');
  }
});

test('a marker is found after an environment far larger than the buffer it is read into', { skip: LINUX_ONLY }, async () => {
  const { spawn } = await import('node:child_process');
  const marker = newTaskMarker('big-env');
  // 100 KiB before the marker: the environment is read into a 16 KiB buffer that has to grow.
  const big = { ...env, A_BIG_VALUE: 'x'.repeat(100 * 1024), [TASK_MARKER_VAR]: marker };
  const child = spawn('sleep', ['300'], { env: big, stdio: 'ignore', detached: true });
  try {
    await until(() => findMarkedProcesses((m) => m === marker).length > 0, 'the marked sleep with a large environment');
    assert.deepEqual(
      findMarkedProcesses((m) => m === marker),
      [child.pid],
    );
    // A small environment read after it still ends where that one does.
    assert.deepEqual(
      findMarkedProcesses((m) => m === 'no such marker'),
      [],
    );
  } finally {
    child.kill('SIGKILL');
  }
});

test('the periodic listing is read once per tick for every watcher, fresh each time', { skip: LINUX_ONLY }, async () => {
  const { spawn } = await import('node:child_process');
  const seen: { a: ProcessEntry[][]; b: ProcessEntry[][] } = { a: [], b: [] };
  let befores = 0;
  const stopA = watchListing(50, { before: () => befores++, absorb: (all) => seen.a.push(all) });
  const stopB = watchListing(50, { before: () => befores++, absorb: (all) => seen.b.push(all) });
  let child: ChildProcess | undefined;
  try {
    await until(() => seen.a.length >= 1 && seen.b.length >= 1, 'a first listing');
    assert.ok(
      seen.a[0]?.some((p) => p.pid === process.pid),
      'the listing holds this process',
    );
    child = spawn('sleep', ['300'], { stdio: 'ignore' });
    const pid = child.pid;
    await until(() => seen.b.at(-1)?.some((p) => p.pid === pid), 'a later listing to see the new sleep');
    assert.ok(seen.a.length === seen.b.length && seen.a.every((l, i) => l === seen.b[i]), 'both watchers get the one listing of each tick');
    assert.ok(befores >= seen.a.length + seen.b.length, 'each look runs its `before` first');
  } finally {
    stopA();
    stopB();
    child?.kill('SIGKILL');
  }
  const count = seen.a.length + seen.b.length;
  await sleep(200);
  assert.ok(seen.a.length + seen.b.length <= count + 2, 'no listing once both left (one in flight at most)');
});

test('DescendantTracker keeps a grandchild after its parent exits, never a recycled pid', { skip: LINUX_ONLY }, async () => {
  const { spawn } = await import('node:child_process');
  const dir = tempDir();
  const leader = spawn('/bin/sh', ['-c', `(sleep 300 & echo $! > gc.pid; sleep 0.5) ; sleep 300`], {
    cwd: dir,
    stdio: 'ignore',
    detached: true,
  });
  const tracker = new DescendantTracker(leader.pid!, 60_000);
  try {
    const gc = await pidFrom(`${dir}/gc.pid`);
    tracker.snapshot();
    const parent = ppid(gc);
    assert.notEqual(parent, leader.pid, 'a grandchild, under the subshell');
    await until(() => ppid(gc) !== parent, 'the subshell to exit and the grandchild to be reparented');
    tracker.snapshot();
    assert.ok(tracker.alive().includes(gc), 'still known after its parent exited');
    process.kill(gc, 'SIGKILL');
    await until(() => gone(gc), 'grandchild to die');
    await until(() => !tracker.alive().includes(gc), 'a dead grandchild to be forgotten');
  } finally {
    tracker.stop();
    process.kill(-leader.pid!, 'SIGKILL');
  }
});

test("the agent's marker is the one agentEnv made, never the runner's own", () => {
  const own = newTaskMarker('outer');
  const saved = process.env[TASK_MARKER_VAR];
  process.env[TASK_MARKER_VAR] = own;
  try {
    const given = newTaskMarker('t1');
    const a = new AgentProcess({
      argv: ['/bin/sh', '-c', 'exit 0'],
      cwd: tempDir(),
      env: { ...env, [TASK_MARKER_VAR]: given },
      timeoutMs: 5000,
    });
    assert.equal(a.marker, given);
    const b = new AgentProcess({
      argv: ['/bin/sh', '-c', 'exit 0'],
      cwd: tempDir(),
      env: { ...env, [TASK_MARKER_VAR]: own },
      timeoutMs: 5000,
    });
    assert.notEqual(b.marker, own);
    assert.match(b.marker, /^sibyl1\./);
    return Promise.all([a.exited, b.exited]).then(() => undefined);
  } finally {
    if (saved === undefined) delete process.env[TASK_MARKER_VAR];
    else process.env[TASK_MARKER_VAR] = saved;
  }
});

test('output paused by the caller at the agent exit is still read in full before the drain ends', { skip: LINUX_ONLY }, async () => {
  const lines: string[] = [];
  let resumed = false;
  const p: AgentProcess = new AgentProcess({
    // Less than a pipe's capacity after the first line: the leader can exit while we are paused.
    argv: ['/bin/sh', '-c', `${DEAF_ESCAPEE} & echo line0; sleep 0.2; seq -f line%g 1 5000; exit 0`],
    cwd: tempDir(),
    env,
    timeoutMs: 30_000,
    drainMs: 100,
    onLine: (_s, l) => {
      lines.push(l);
      if (lines.length === 1) {
        // Backpressure from a slow task log: reading stops until it catches up, past the drain window.
        p.pauseOutput();
        setTimeout(() => {
          resumed = true;
          p.resumeOutput();
        }, 1000);
      }
    },
  });
  const exit = await p.exited;
  assert.ok(resumed);
  assert.equal(exit.exitCode, 0);
  assert.equal(lines.length, 5001);
  assert.equal(lines.at(-1), 'line5000');
});

test('a cancel after the agent exited, while the drain waits, does not turn its result into cancelled', { skip: LINUX_ONLY }, async () => {
  const dir = tempDir();
  const p = new AgentProcess({
    argv: ['/bin/sh', '-c', `${DEAF_ESCAPEE} & while [ ! -s deaf.pid ]; do sleep 0.01; done; echo done; exit 0`],
    cwd: dir,
    env,
    timeoutMs: 30_000,
    // Long enough for the cancel below to land inside it even on a loaded machine.
    drainMs: 3000,
  });
  const deaf = await pidFrom(`${dir}/deaf.pid`);
  // The leader's exit: its pid is reaped, the deaf escapee still holds the pipes.
  await until(() => !processAlive(p.pid!), 'the leader to exit and be reaped');
  p.stop('task_cancel');
  const exit = await p.exited;
  assert.equal(exit.stoppedBy, undefined);
  assert.equal(exit.exitCode, 0);
  await until(() => gone(deaf), 'the deaf escapee to be killed');
});
