import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relativeTime, shortId, taskReason } from '../../main/runner/vocabulary.ts';

test('shortId: the first 8 characters, as the sibyl/<id> branch shows', () => {
  assert.equal(shortId('1a2b3c4d-5e6f-7a8b-9c0d-112233445566'), '1a2b3c4d');
  assert.equal(shortId('abc'), 'abc');
});

test('relativeTime: whole units, rounded down; the future is "just now"', () => {
  const now = Date.UTC(2025, 5, 1, 12, 0, 0);
  const ago = (s: number): string => relativeTime(now - s * 1000, now);
  assert.equal(ago(0), 'just now');
  assert.equal(ago(44), 'just now');
  assert.equal(ago(45), '1m ago');
  assert.equal(ago(59 * 60 + 59), '59m ago');
  assert.equal(ago(3600), '1h ago');
  assert.equal(ago(23 * 3600 + 3599), '23h ago');
  assert.equal(ago(86400), '1d ago');
  assert.equal(ago(6 * 86400), '6d ago');
  assert.equal(ago(7 * 86400), '1w ago');
  assert.equal(ago(30 * 86400), '1mo ago');
  assert.equal(ago(400 * 86400), '1y ago');
  assert.equal(relativeTime(now + 60_000, now), 'just now');
});

test('taskReason: why a task did not complete, in a few words; nothing for one that did', () => {
  const r = (
    status: Parameters<typeof taskReason>[0]['status'],
    error: string | null,
    exitCode: number | null = null,
    rejectReason?: string,
  ) => taskReason({ status, error, exitCode, ...(rejectReason ? { rejectReason } : {}) });
  assert.equal(r('completed', null, 0), '');
  assert.equal(r('running', null), '');
  assert.equal(r('rejected', 'running 3 of 3 agents', null, 'at_capacity'), 'At capacity (3/3)');
  assert.equal(r('rejected', 'running 2 of 2 agents'), 'At capacity (2/2)');
  assert.equal(r('rejected', 'draining', null, 'runner_draining'), 'The runner was stopping');
  assert.equal(
    r('rejected', 'config.branch "x..y" is not a valid branch name', null, 'invalid_task'),
    'Invalid task: config.branch "x..y" is not a valid branch name',
  );
  assert.equal(r('failed', 'agent exited with code 3'), 'Exit code 3');
  assert.equal(r('failed', 'agent exited with code 1: npm ERR! missing script'), 'Exit code 1: npm ERR! missing script');
  assert.equal(r('failed', 'agent exited with code -15'), 'Killed by SIGTERM');
  assert.equal(r('failed', null, -9), 'Killed by SIGKILL');
  assert.equal(r('failed', null, 2), 'Exit code 2');
  assert.equal(r('failed', null, null), 'Failed');
  assert.equal(r('failed', 'command not found: claude'), 'Command not found: claude');
  assert.equal(r('timeout', 'timed out after 1800 s', -15), 'Timed out after 30m 00s');
  assert.equal(r('timeout', null), 'Timed out');
  assert.equal(r('cancelled', 'task_cancel', -15), 'Cancelled by Sibyl');
  assert.equal(r('cancelled', 'runner_draining'), 'The runner stopped');
});
