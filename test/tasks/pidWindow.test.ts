import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { DescendantTracker, PidWindow } from '../../main/runner/tasks/processTree.ts';

const LINUX_ONLY = process.platform === 'linux' ? false : 'the pid counter is read from /proc';

const sleeper = (): ChildProcess => spawn('sleep', ['30'], { stdio: 'ignore', detached: true });

test('a PidWindow holds the processes started at or after its first pid, never older ones', { skip: LINUX_ONLY }, async (t) => {
  const first = sleeper();
  const later: ChildProcess[] = [];
  t.after(() => {
    for (const c of [first, ...later]) c.kill('SIGKILL');
  });
  await once(first, 'spawn');
  const window = PidWindow.open(first.pid!);
  assert.ok(window, 'the counter is readable here');
  for (let i = 0; i < 5; i++) later.push(sleeper());
  await Promise.all(later.map((c) => once(c, 'spawn')));
  window.observe();
  const contains = window.contains;
  assert.ok(contains, 'trusted right after a look');
  assert.ok(contains(first.pid!), 'the first pid itself');
  for (const c of later) assert.ok(contains(c.pid!), `a process started after it (${c.pid})`);
  // This test's own process and pid 1 were started before: outside (unless the counter went round past them, which 6 processes cannot do).
  assert.equal(contains(process.pid), false);
  assert.equal(contains(1), false);
});

test('a PidWindow not looked at for more than two seconds is no longer trusted', { skip: LINUX_ONLY }, async (t) => {
  const first = sleeper();
  t.after(() => first.kill('SIGKILL'));
  await once(first, 'spawn');
  const window = PidWindow.open(first.pid!);
  assert.ok(window?.contains);
  await new Promise((r) => setTimeout(r, 2100));
  window.observe();
  assert.equal(window.contains, undefined, 'a whole lap of the counter could have gone unseen: the caller reads every process');
});

test('DescendantTracker.listRecent lists the root and what it started, not the processes before it', { skip: LINUX_ONLY }, async (t) => {
  const root = spawn('sh', ['-c', 'sleep 30 & sleep 30 & wait'], { stdio: 'ignore', detached: true });
  t.after(() => process.kill(-root.pid!, 'SIGKILL'));
  await once(root, 'spawn');
  const tracker = new DescendantTracker(root.pid!, 60_000);
  t.after(() => tracker.stop());
  let pids: number[] = [];
  for (let i = 0; i < 100 && pids.length < 3; i++) {
    await new Promise((r) => setTimeout(r, 20));
    pids = (tracker.listRecent() ?? []).filter((p) => p.pgid === root.pid).map((p) => p.pid);
  }
  assert.equal(pids.length, 3, 'the shell and its two sleeps');
  const all = tracker.listRecent() ?? [];
  assert.equal(
    all.some((p) => p.pid === process.pid || p.pid === 1),
    false,
  );
});
