import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RepoLocks } from '../../main/runner/git/repoLock.ts';

/** A promise the test settles when it chooses: a lock holder stays inside until then. */
function latch(): { done: Promise<void>; release(): void } {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { done, release };
}

describe('RepoLocks', () => {
  test('serialises one repository, runs different repositories in parallel', async () => {
    const locks = new RepoLocks();
    const log: string[] = [];
    const job = (repo: string, name: string, holdUntil: Promise<void> = Promise.resolve()) =>
      locks.run(repo, async () => {
        log.push(`${name}+`);
        await holdUntil;
        log.push(`${name}-`);
      });
    const a1Holds = latch();
    const a1 = job('/r/a', 'a1', a1Holds.done);
    const a2 = job('/r/a/', 'a2');
    await job('/r/b', 'b1');
    assert.equal(locks.busy('/r/a'), true, 'a1 still holds /r/a while b1 has come and gone');
    a1Holds.release();
    await Promise.all([a1, a2]);
    assert.deepEqual(log, ['a1+', 'b1+', 'b1-', 'a1-', 'a2+', 'a2-']);
    assert.equal(locks.busy('/r/a'), false);
  });

  test('a failing holder releases the lock; an aborted waiter gives up without breaking the order', async () => {
    const locks = new RepoLocks();
    await assert.rejects(
      locks.run('/r', async () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    const order: string[] = [];
    const holds = latch();
    const holder = locks.run('/r', async () => {
      await holds.done;
      order.push('holder');
    });
    const ac = new AbortController();
    const aborted = locks.run('/r', async () => order.push('aborted'), ac.signal);
    const next = locks.run('/r', async () => order.push('next'));
    ac.abort(new Error('cancelled'));
    await assert.rejects(aborted, /cancelled/);
    holds.release();
    await Promise.all([holder, next]);
    assert.deepEqual(order, ['holder', 'next']);
  });
});
