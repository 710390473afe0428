import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { RepoLocks } from '../../main/runner/git/repoLock.ts';

describe('RepoLocks', () => {
  test('serialises one repository, runs different repositories in parallel', async () => {
    const locks = new RepoLocks();
    const log: string[] = [];
    const job = (repo: string, name: string, ms: number) =>
      locks.run(repo, async () => {
        log.push(`${name}+`);
        await sleep(ms);
        log.push(`${name}-`);
      });
    await Promise.all([job('/r/a', 'a1', 30), job('/r/a/', 'a2', 1), job('/r/b', 'b1', 5)]);
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
    const holder = locks.run('/r', async () => {
      await sleep(20);
      order.push('holder');
    });
    const ac = new AbortController();
    const aborted = locks.run('/r', async () => order.push('aborted'), ac.signal);
    const next = locks.run('/r', async () => order.push('next'));
    ac.abort(new Error('cancelled'));
    await assert.rejects(aborted, /cancelled/);
    await Promise.all([holder, next]);
    assert.deepEqual(order, ['holder', 'next']);
  });
});
