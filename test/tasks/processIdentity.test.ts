import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { groupAlive, isOurProcessGroup, killProcessGroup, processStartTime } from '../../main/runner/tasks/processIdentity.ts';
import { until } from '../helpers/tmp.ts';

const POSIX_ONLY = process.platform === 'win32' ? 'process groups are POSIX-only' : false;

/** A detached leader (new process group) with one grandchild in the same group. */
function spawnGroup(leaderExits: boolean): ChildProcess {
  const script = leaderExits ? 'sleep 30 & echo started; exit 0' : 'sleep 30 & echo started; wait';
  const child = spawn('/bin/sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  child.stdout?.resume();
  return child;
}

async function started(child: ChildProcess): Promise<number> {
  await once(child.stdout!, 'data');
  return child.pid!;
}

test('processStartTime is stable for a process and absent for a pid that is gone', async () => {
  const mine = processStartTime(process.pid);
  assert.ok(mine, 'own start time');
  assert.equal(processStartTime(process.pid), mine);

  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid!;
  await once(child, 'exit');
  await until(() => processStartTime(pid) === undefined, 'the exited child to be reaped');
  assert.equal(processStartTime(-5), undefined);
});

test('killProcessGroup ends the leader and its grandchildren; a gone group is not an error', { skip: POSIX_ONLY }, async () => {
  const child = spawnGroup(false);
  const pgid = await started(child);
  assert.equal(groupAlive(pgid), true);
  assert.equal(isOurProcessGroup(pgid, processStartTime(pgid)), true);
  assert.equal(isOurProcessGroup(pgid, 'someone-else'), false, 'leader alive with another start time');
  assert.equal(isOurProcessGroup(pgid, undefined), false, 'an unknown start time never matches a live leader');
  const exited = once(child, 'exit');
  assert.equal(killProcessGroup(pgid, 'SIGKILL'), true);
  await exited;
  await until(() => !groupAlive(pgid), 'the whole group to be gone');

  // A group with no process left at all (not even a zombie): ESRCH is an answer, not an error.
  const lone = spawn(process.execPath, ['-e', ''], { detached: true, stdio: 'ignore' });
  await once(lone, 'exit');
  await until(() => processStartTime(lone.pid!) === undefined, 'the lone leader to be reaped');
  assert.equal(killProcessGroup(lone.pid!, 'SIGKILL'), false);
  assert.equal(groupAlive(lone.pid!), false);
});

test('a group whose leader exited is still ours while members remain', { skip: POSIX_ONLY }, async () => {
  const child = spawnGroup(true);
  const exited = once(child, 'exit');
  const pgid = await started(child);
  await exited;
  await until(() => processStartTime(pgid) === undefined, 'the leader to be reaped');
  assert.equal(groupAlive(pgid), true, 'the sleeping grandchild keeps the group');
  assert.equal(isOurProcessGroup(pgid, 'leader-start-time-no-longer-readable'), true);
  killProcessGroup(pgid, 'SIGKILL');
  await until(() => !groupAlive(pgid), 'the orphan to be killed');
  assert.equal(isOurProcessGroup(pgid, 'x'), false);
});

test('refuses to signal group 0 or 1 (our own group, or everything)', () => {
  assert.throws(() => killProcessGroup(0, 'SIGTERM'), RangeError);
  assert.throws(() => killProcessGroup(1, 'SIGTERM'), RangeError);
  assert.throws(() => groupAlive(-3), RangeError);
});
