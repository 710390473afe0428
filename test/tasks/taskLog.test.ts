import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { configureLogging } from '../../main/runner/logger.ts';
import {
  followTaskLog,
  openTaskLog,
  partialLinePath,
  readTaskLog,
  taskLogPath,
  type TaskLogLine,
} from '../../main/runner/tasks/taskLog.ts';
import { tempDir, until } from '../helpers/tmp.ts';

configureLogging({ quiet: true });

const MARKER = /\[sibyl-runner\] log truncated at \d+ bytes; further output dropped/;

test('each line is stamped with time and stream, and reads back parsed', async () => {
  const path = join(tempDir(), 'logs', 't1.log');
  const log = openTaskLog(path);
  log.write('runner', 'starting /bin/sh -lc make');
  log.write('stdout', 'building…');
  log.write('stderr', 'warning: two\nlines');
  await log.close();

  const raw = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  assert.equal(raw.length, 4, 'an embedded newline becomes two stamped lines');
  for (const l of raw) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (stdout|stderr|runner) /);
  const { lines, truncated } = await readTaskLog(path);
  assert.equal(truncated, false);
  assert.deepEqual(
    lines.map((l) => [l.stream, l.text]),
    [
      ['runner', 'starting /bin/sh -lc make'],
      ['stdout', 'building…'],
      ['stderr', 'warning: two'],
      ['stderr', 'lines'],
    ],
  );
  assert.equal(log.bytes, statSync(path).size);
  assert.equal((statSync(path).mode & 0o777).toString(8), '600');
});

test('the cap writes the marker exactly once and the file stays within cap + marker', async () => {
  const path = join(tempDir(), 't2.log');
  const cap = 10_000;
  const log = openTaskLog(path, { maxBytes: cap });
  for (let i = 0; i < 1000; i++) log.write('stdout', `line ${i} ${'x'.repeat(80)}`);
  assert.equal(log.truncated, true);
  log.write('stderr', 'after the cap');
  await log.close();

  const text = readFileSync(path, 'utf8');
  const raw = text.split('\n').filter(Boolean);
  const markers = raw.filter((l) => MARKER.test(l));
  assert.equal(markers.length, 1);
  assert.equal(raw.at(-1), markers[0], 'the marker is the last line');
  assert.ok(statSync(path).size <= cap + Buffer.byteLength(markers[0]!) + 1, `size ${statSync(path).size}`);
  assert.ok(!text.includes('after the cap'));
  const read = await readTaskLog(path, { tail: 1 });
  assert.equal(read.truncated, true);
  assert.match(read.lines[0]!.text, MARKER);

  // Reopening a full log (a restarted runner) adds nothing, not even a second marker.
  const again = openTaskLog(path, { maxBytes: cap });
  again.write('stdout', 'more');
  await again.close();
  assert.equal(readFileSync(path, 'utf8'), text);
});

test('a 50 MB burst keeps memory bounded: lines are dropped and counted, never queued without limit', async () => {
  const path = join(tempDir(), 't3.log');
  const log = openTaskLog(path);
  const line = 'y'.repeat(100);
  // Synchronous: the disk gets no chance to drain, the worst case for the queue.
  for (let i = 0; i < 500_000; i++) log.write('stdout', line);
  assert.ok(log.peakPendingBytes <= 4 * 1024 * 1024 + 64 * 1024, `peak pending ${log.peakPendingBytes}`);
  assert.ok(log.droppedLines > 0);
  await log.close();
  const { lines } = await readTaskLog(path, { search: 'lines dropped' });
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.stream, 'runner');
  assert.match(lines[0]!.text, new RegExp(`${log.droppedLines} lines dropped`));
  assert.ok(statSync(path).size <= 50 * 1024 * 1024);
});

test('a huge single line is shortened, not held whole', async () => {
  const path = join(tempDir(), 't4.log');
  const log = openTaskLog(path, { maxLineChars: 1000 });
  log.write('stdout', 'z'.repeat(5000));
  await log.close();
  const { lines } = await readTaskLog(path);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!.text, /^z{1000} … \[4000 more characters\]$/);
});

test('readTaskLog: tail, search, and the last N matches', async () => {
  const path = join(tempDir(), 't5.log');
  const log = openTaskLog(path);
  for (let i = 1; i <= 300; i++) log.write(i % 3 === 0 ? 'stderr' : 'stdout', i % 10 === 0 ? `ERROR step ${i}` : `step ${i}`);
  await log.close();
  assert.deepEqual(
    (await readTaskLog(path, { tail: 3 })).lines.map((l) => l.text),
    ['step 298', 'step 299', 'ERROR step 300'],
  );
  const errors = await readTaskLog(path, { search: 'error' });
  assert.equal(errors.lines.length, 30, 'case-insensitive search');
  assert.deepEqual(
    (await readTaskLog(path, { search: 'ERROR', tail: 2 })).lines.map((l) => l.text),
    ['ERROR step 290', 'ERROR step 300'],
  );
  assert.equal((await readTaskLog(path, { tail: 1000 })).lines.length, 300);
  assert.deepEqual((await readTaskLog(path, { tail: 0 })).lines, []);
  await assert.rejects(readTaskLog(join(tempDir(), 'missing.log')), /no task log/);
});

test('followTaskLog prints the tail, then appended lines, until aborted', async () => {
  const path = join(tempDir(), 't6.log');
  const log = openTaskLog(path);
  for (let i = 1; i <= 5; i++) log.write('stdout', `old ${i}`);
  await log.close();

  const seen: TaskLogLine[] = [];
  const ac = new AbortController();
  const following = followTaskLog(path, (l) => seen.push(l), ac.signal, { tail: 2, pollMs: 20 });
  await until(() => seen.length === 2, 'the tail');
  const more = openTaskLog(path);
  more.write('stderr', 'new 1');
  more.write('stdout', 'new ✓ 2');
  await more.close();
  await until(() => seen.length === 4, 'appended lines');
  ac.abort();
  await following;
  assert.deepEqual(
    seen.map((l) => `${l.stream}:${l.text}`),
    ['stdout:old 4', 'stdout:old 5', 'stderr:new 1', 'stdout:new ✓ 2'],
  );
});

test('followTaskLog waits for a log that does not exist yet', async () => {
  const path = join(tempDir(), 'later.log');
  const seen: string[] = [];
  const ac = new AbortController();
  const following = followTaskLog(path, (l) => seen.push(l.text), ac.signal, { pollMs: 20 });
  // A fixed wait on purpose: the follower must have polled (every 20 ms) a log that is not there yet.
  await new Promise((r) => setTimeout(r, 60));
  writeFileSync(path, '2026-01-01T00:00:00.000Z stdout hello\n2026-01-01T00:00:00.001Z stdout part');
  await until(() => seen.length === 1, 'the first complete line');
  appendFileSync(path, 'ial\n');
  await until(() => seen.length === 2, 'the completed partial line');
  ac.abort();
  await following;
  assert.deepEqual(seen, ['hello', 'partial']);
});

test('taskLogPath refuses a task id that would leave the log dir', () => {
  const logDir = tempDir();
  assert.equal(taskLogPath(logDir, 'task-1'), join(logDir, 'task-1.log'));
  assert.throws(() => taskLogPath(logDir, '../escape'), RangeError);
});

test('a partial line is kept beside the log, not in it; a follower shows it once, and not after the line that ends it', async () => {
  const path = join(tempDir(), 'p1.log');
  // A long interval: the side file is rewritten once here, so it still holds the partial after the line ends.
  const log = openTaskLog(path, { partialIntervalMs: 60_000 });
  log.write('stdout', 'starting');
  log.partial('stdout', 'downloading 10%');
  await until(() => existsSync(partialLinePath(path)), 'the side file');

  const seen: string[] = [];
  const ac = new AbortController();
  const following = followTaskLog(path, (l) => seen.push(`${l.stream}:${l.text}`), ac.signal, {
    pollMs: 20,
    onPartial: (l) => seen.push(`partial ${l.stream}:${l.text}`),
  });
  await until(() => seen.includes('partial stdout:downloading 10%'), 'the partial line');
  log.write('stderr', 'a warning meanwhile');
  await until(() => seen.includes('stderr:a warning meanwhile'), 'the stderr line');
  assert.equal(seen.filter((s) => s.startsWith('partial')).length, 1, 'shown once, not on every poll');

  // The line ends; the side file (not rewritten yet) is now stale: a new follower must not show it.
  log.write('stdout', '\rdownloading 10%\rdownloading 100%');
  await until(() => readFileSync(path, 'utf8').includes('downloading 100%'), 'the line on disk');
  const late: string[] = [];
  const ac2 = new AbortController();
  const lateFollow = followTaskLog(path, (l) => late.push(`${l.stream}:${l.text}`), ac2.signal, {
    pollMs: 20,
    onPartial: (l) => late.push(`partial ${l.stream}:${l.text}`),
  });
  await until(() => late.includes('stdout:downloading 100%'), 'the full line');
  await until(() => seen.includes('stdout:downloading 100%'), 'the full line, first follower');
  assert.ok(existsSync(partialLinePath(path)), 'the side file still holds the old partial');
  assert.equal(late.filter((s) => s.startsWith('partial')).length, 0, JSON.stringify(late));

  await log.close();
  assert.equal(existsSync(partialLinePath(path)), false, 'removed with the log');
  ac.abort();
  ac2.abort();
  await Promise.all([following, lateFollow]);
  const { lines } = await readTaskLog(path);
  assert.deepEqual(
    lines.map((l) => `${l.stream}:${l.text}`),
    ['stdout:starting', 'stderr:a warning meanwhile', 'stdout:', 'stdout:downloading 10%', 'stdout:downloading 100%'],
    'the partial is stored once, as part of the line that ended it',
  );
});

test('a stderr line does not hide a newer stdout partial', async () => {
  const path = join(tempDir(), 'p2.log');
  const log = openTaskLog(path, { partialIntervalMs: 0 });
  log.write('stdout', 'one');
  log.write('stderr', 'two');
  log.partial('stdout', 'progress 50%');
  log.write('stderr', 'three');
  const seen: string[] = [];
  const ac = new AbortController();
  const following = followTaskLog(path, () => undefined, ac.signal, { pollMs: 20, onPartial: (l) => seen.push(l.text) });
  await until(() => seen.length === 1, 'the partial');
  ac.abort();
  await following;
  await log.close();
  assert.deepEqual(seen, ['progress 50%']);
});
