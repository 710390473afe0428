import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitToBudget, jsonBytes, keepEnd } from '../../main/runner/protocol/messageBudget.ts';
import type { TaskComplete } from '../../main/runner/protocol/messages.ts';

const complete = (stdout: string, stderr = '', error?: string): TaskComplete => ({
  type: 'task_complete',
  task_id: 't1',
  success: false,
  retryable: false,
  ...(error !== undefined ? { error } : {}),
  result: { status: 'failed', exit_code: 1, worktree_path: '/w', stdout, stderr, duration_s: 1, log_path: '/logs/t1.log' },
});

test('a message within budget comes back as it was', () => {
  const msg = complete('short');
  assert.equal(fitToBudget(msg), msg);
});

test('NUL bytes count six JSON bytes each: 3 MB of them are cut to the budget, the end kept, the marker names the log', () => {
  const msg = complete('\0'.repeat(3_000_000) + 'the end', 'e'.repeat(2_000_000), 'x'.repeat(100_000));
  const budget = 512 * 1024;
  const fitted = fitToBudget(msg, budget);
  assert.ok(fitted);
  assert.ok(jsonBytes(fitted) <= budget, `${jsonBytes(fitted)} bytes`);
  assert.match(
    fitted.result.stdout ?? '',
    /^\[sibyl-runner: \d+ bytes cut from the start of stdout to fit the message limit; the whole output is in \/logs\/t1\.log\]\n\0+the end$/,
  );
  assert.match(fitted.result.stderr ?? '', /^\[sibyl-runner: \d+ bytes cut from the start of stderr/);
  assert.match(fitted.error ?? '', /^\[sibyl-runner: \d+ bytes cut from the start of error/);
  assert.equal(fitted.result.truncated, true);
});

test('a cut never splits a surrogate pair', () => {
  const text = '😀'.repeat(1000);
  const kept = keepEnd(text, 101, 'stdout', undefined);
  const tail = kept.slice(kept.indexOf('\n') + 1);
  assert.equal(tail, '😀'.repeat(tail.length / 2));
  assert.ok(Buffer.byteLength(tail) <= 101);
});

test('an ack with an absurd task id cannot fit and is refused, not cut', () => {
  assert.equal(fitToBudget({ type: 'task_ack', task_id: 'x'.repeat(2_000_000), agent_id: 'a' }), undefined);
});

test('the kept end is exactly as large in JSON as counted, for every kind of character', () => {
  const sample = 'a"\\\n\t\u0001\u0000é€😀\ud800z'.repeat(5000);
  for (const max of [10, 1000, 50_000]) {
    const kept = keepEnd(sample, max, 'stdout', undefined);
    const tail = kept.slice(kept.indexOf(']\n') + 2);
    assert.ok(sample.endsWith(tail));
    assert.ok(jsonBytes(tail) - 2 <= max, `${jsonBytes(tail) - 2} > ${max}`);
    assert.ok(jsonBytes(sample.slice(sample.length - tail.length - 2)) - 2 > max - 6, 'not much more would have fit');
  }
});

test('jsonBytes counts what JSON.stringify writes', () => {
  const long = 'a"\\\n\t\u0001\u0000é€😀\ud800z'.repeat(1000);
  const value = { a: [1, 'two', null, undefined, { b: long, c: undefined }], d: true, e: 1.5, f: long.slice(0, 100) };
  assert.equal(jsonBytes(value), Buffer.byteLength(JSON.stringify(value)));
  assert.equal(jsonBytes(long), Buffer.byteLength(JSON.stringify(long)));
});
