import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Journal } from '../../main/runner/journal/journal.ts';
import { configureLogging } from '../../main/runner/logger.ts';
import type { DurableMessage, TaskComplete } from '../../main/runner/protocol/messages.ts';
import { groupAlive, isOurProcessGroup, killProcessGroup, processStartTime } from '../../main/runner/tasks/processIdentity.ts';
import { tempDir, until } from '../helpers/tmp.ts';

configureLogging({ quiet: true });

const FIXTURE = join(import.meta.dirname, 'fixtures', 'crashWriter.ts');
const POSIX_ONLY = process.platform === 'win32' ? 'POSIX only: SIGKILL, process groups, and a file standing in for a folder' : false;

function complete(taskId: string, status: 'completed' | 'failed' = 'completed'): TaskComplete {
  return {
    type: 'task_complete',
    task_id: taskId,
    success: status === 'completed',
    retryable: false,
    result: { status, exit_code: status === 'completed' ? 0 : 1, worktree_path: `/w/${taskId}`, duration_s: 1.5 },
  };
}
const ack = (taskId: string): DurableMessage => ({ type: 'task_ack', task_id: taskId, agent_id: 'agent_000000000001' });
const reject = (taskId: string): DurableMessage => ({ type: 'task_reject', task_id: taskId, reason: 'at_capacity' });
const assign = (taskId: string) => ({
  taskId,
  agentId: 'agent_000000000001',
  projectId: 'project_1',
  prompt: `do ${taskId}`,
  command: ['/bin/sh', '-lc', 'true'],
});

function lines(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

test('a task round trip is journalled and only what is unsent survives a reopen', () => {
  const dir = tempDir();
  const j = Journal.open(dir);
  j.assigned(assign('t1'));
  j.markSent(j.enqueue(ack('t1')));
  j.workspaceReady('t1', '/w/t1', 'sibyl/t1');
  j.started('t1', { pid: 100, pgid: 100, startTime: 'boot:1', logPath: '/logs/t1.log' });
  const seq = j.finish(complete('t1'));
  assert.deepEqual(j.pendingOutbox(), [{ seq, msg: complete('t1') }]);
  j.close();

  const again = Journal.open(dir);
  assert.deepEqual(again.pendingOutbox(), [{ seq, msg: complete('t1') }]);
  assert.deepEqual(again.unfinishedFromPreviousRun(), [], 'a finished task is not interrupted');
  again.markSent(seq);
  again.close();

  const third = Journal.open(dir);
  assert.deepEqual(third.pendingOutbox(), [], 'markSent survives a reopen');
  assert.equal(third.stats.liveTasks, 0);
  third.close();
  for (const l of lines(join(dir, 'journal.jsonl'))) JSON.parse(l);
});

test('outbox order is kept across reopens and sequence numbers keep growing', () => {
  const dir = tempDir();
  const j = Journal.open(dir);
  const seqs = [j.enqueue(ack('a')), j.enqueue(reject('b')), j.enqueue(ack('c')), j.finish(complete('a')), j.enqueue(reject('d'))];
  j.markSent(seqs[1]!);
  j.close();

  const again = Journal.open(dir);
  assert.deepEqual(
    again.pendingOutbox().map((p) => [p.seq, p.msg.type, p.msg.task_id]),
    [
      [seqs[0], 'task_ack', 'a'],
      [seqs[2], 'task_ack', 'c'],
      [seqs[3], 'task_complete', 'a'],
      [seqs[4], 'task_reject', 'd'],
    ],
  );
  assert.deepEqual(again.pending(), again.pendingOutbox(), 'the OutboxStore view is the same list');
  const next = again.enqueue(ack('e'));
  assert.ok(next > Math.max(...seqs), 'no sequence number is reused');
  again.close();
});

test('a torn last line is ignored, cut away, and later appends stay valid', () => {
  const dir = tempDir();
  const path = join(dir, 'journal.jsonl');
  const j = Journal.open(dir);
  j.assigned(assign('t1'));
  const s1 = j.enqueue(ack('t1'));
  j.close();
  // Power loss in the middle of a write: half a record and no newline.
  appendFileSync(path, '{"k":"outbox","t":1700000000000,"seq":99,"msg":{"type":"task_ack","task_');

  const again = Journal.open(dir);
  assert.deepEqual(
    again.pendingOutbox().map((p) => p.seq),
    [s1],
  );
  assert.equal(again.unfinishedFromPreviousRun().length, 1);
  const s2 = again.enqueue(reject('t2'));
  again.close();
  for (const l of lines(path)) assert.doesNotThrow(() => JSON.parse(l), `valid line: ${l}`);
  assert.ok(readFileSync(path, 'utf8').endsWith('\n'));

  const third = Journal.open(dir);
  assert.deepEqual(
    third.pendingOutbox().map((p) => p.seq),
    [s1, s2],
  );
  third.close();
});

test('a corrupt line in the middle is skipped, not fatal, and a copy is kept', () => {
  const dir = tempDir();
  const path = join(dir, 'journal.jsonl');
  const j = Journal.open(dir);
  const s1 = j.enqueue(ack('t1'));
  j.close();
  appendFileSync(path, 'this is not json\n{"k":"nonsense","t":1}\n\u0000\u0000\u0000\n');
  const j2 = Journal.open(dir);
  // Opening compacted the garbage away; write it again after a real record to corrupt the middle.
  j2.close();
  appendFileSync(path, '{"k":"sent","seq":"not a number"}\n');
  appendFileSync(path, `${JSON.stringify({ k: 'outbox', t: 1, seq: 50, msg: reject('t9') })}\n`);

  const again = Journal.open(dir);
  assert.deepEqual(
    again.pendingOutbox().map((p) => p.seq),
    [s1, 50],
  );
  assert.ok(existsSync(`${path}.corrupt`), 'the unreadable original is kept for a post-mortem');
  assert.ok(again.enqueue(ack('t10')) > 50);
  again.close();
});

test('compaction keeps unfinished tasks and unsent messages, and bounds the file', () => {
  const dir = tempDir();
  const path = join(dir, 'journal.jsonl');
  const j = Journal.open(dir, { compactAtBytes: 8 * 1024 });
  j.assigned(assign('long-running'));
  j.enqueue(ack('long-running'));
  j.started('long-running', { pid: 7, pgid: 7, startTime: 'boot:7', logPath: '/logs/long.log' });
  const keep: number[] = [];
  let maxSize = 0;
  for (let i = 0; i < 400; i++) {
    const id = `t${i}`;
    j.assigned(assign(id));
    j.markSent(j.enqueue(ack(id)));
    j.workspaceReady(id, `/w/${id}`, undefined);
    j.started(id, { pid: 1000 + i, pgid: 1000 + i, startTime: `boot:${i}`, logPath: undefined });
    const s = j.finish(complete(id));
    if (i % 100 === 7) keep.push(s);
    else j.markSent(s);
    maxSize = Math.max(maxSize, statSync(path).size);
  }
  assert.ok(maxSize < 3 * 8 * 1024, `file stayed small (max ${maxSize} bytes)`);
  const pendingBefore = j.pendingOutbox();
  assert.deepEqual(pendingBefore.map((p) => p.seq).slice(1), keep, 'the long task ack plus the kept results');
  j.close();

  const again = Journal.open(dir);
  assert.deepEqual(again.pendingOutbox(), pendingBefore);
  const [running] = again.runningFromPreviousRun();
  assert.equal(again.runningFromPreviousRun().length, 1);
  assert.equal(running?.taskId, 'long-running');
  assert.equal(running?.acked, true);
  assert.deepEqual(running?.process, { pid: 7, pgid: 7, startTime: 'boot:7', startedAt: running?.process.startedAt });
  assert.equal(running?.logPath, '/logs/long.log');
  again.close();
});

test('a second task_complete for the same run is refused; a re-assigned task may finish again', () => {
  const dir = tempDir();
  const j = Journal.open(dir);
  j.assigned(assign('t1'));
  const first = j.finish(complete('t1'));
  assert.equal(j.enqueue(complete('t1', 'failed')), first, 'the duplicate returns the first one');
  assert.equal(j.pendingOutbox().length, 1);
  j.markSent(first);
  j.close();

  const again = Journal.open(dir);
  assert.equal(again.finish(complete('t1', 'failed')), first, 'still refused after a reopen');
  again.assigned(assign('t1')); // the server re-dispatched it (lease expiry)
  const second = again.finish(complete('t1'));
  assert.ok(second > first);
  assert.deepEqual(
    again.pendingOutbox().map((p) => p.seq),
    [second],
  );
  again.close();
});

test('after kill -9 the interrupted task and its agent process are recoverable', { skip: POSIX_ONLY }, async () => {
  const dir = tempDir();
  const child = spawn(process.execPath, [FIXTURE, 'hold', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  const agentPid = Number(/ready (\d+)/.exec(chunk.toString())?.[1]);
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;

  const j = Journal.open(dir);
  const [task] = j.runningFromPreviousRun();
  assert.ok(task, 'the task is reported as interrupted');
  assert.equal(task.taskId, 'task-held');
  assert.equal(task.agentId, 'agent_aaaaaaaaaaaa');
  assert.equal(task.acked, true);
  assert.equal(task.worktreePath, '/w/held');
  assert.equal(task.branch, 'sibyl/held');
  assert.equal(task.logPath, '/logs/task-held.log');
  assert.equal(task.process.pid, agentPid);
  assert.deepEqual(
    j.pendingOutbox().map((p) => p.msg.type),
    ['task_ack'],
  );

  // What the daemon does with it: the agent survived its parent; end it only if it is still ours.
  assert.ok(task.process.startTime, 'the start time was recorded');
  assert.equal(processStartTime(task.process.pid), task.process.startTime, 'the recorded process is the live agent');
  assert.equal(isOurProcessGroup(task.process.pgid, task.process.startTime), true);
  killProcessGroup(task.process.pgid, 'SIGKILL');
  await until(() => !groupAlive(task.process.pgid), 'the orphaned agent to be killed');
  const seq = j.finish({ ...complete(task.taskId, 'failed'), retryable: true, error: 'runner restarted' });
  assert.deepEqual(
    j
      .pendingOutbox()
      .map((p) => p.seq)
      .at(-1),
    seq,
  );
  assert.deepEqual(j.runningFromPreviousRun(), [], 'finished now');
  j.close();
});

test('kill -9 in the middle of appends never makes the journal unreadable', { skip: POSIX_ONLY }, async () => {
  const dir = tempDir();
  const path = join(dir, 'journal.jsonl');
  for (let round = 0; round < 3; round++) {
    const child = spawn(process.execPath, [FIXTURE, 'spin', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    const startSize = existsSync(path) ? statSync(path).size : 0;
    await until(() => existsSync(path) && statSync(path).size > startSize + 4096, 'the writer to get going');
    // A fixed wait on purpose, different each round, so the kill lands at a different point of the appends.
    await new Promise((r) => setTimeout(r, 20 + round * 37));
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;

    const j = Journal.open(dir);
    const interrupted = j.unfinishedFromPreviousRun();
    assert.ok(interrupted.length <= 1 + round, `at most one task per killed run is interrupted (${interrupted.length})`);
    const pending = j.pendingOutbox();
    const seqs = pending.map((p) => p.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'outbox in sequence order',
    );
    for (const p of pending) assert.ok(p.msg.type === 'task_complete' || p.msg.type === 'task_ack');
    // Settle what the crash left behind, as the daemon would, so the next round starts clean.
    for (const t of interrupted) j.finish(complete(t.taskId, 'failed'));
    for (const p of j.pendingOutbox()) j.markSent(p.seq);
    j.close();
    for (const l of lines(path)) JSON.parse(l);
  }
});

test('an unwritable state dir fails loudly at open', { skip: POSIX_ONLY }, () => {
  const dir = tempDir();
  const file = join(dir, 'not-a-dir');
  writeFileSync(file, '');
  assert.throws(() => Journal.open(join(file, 'state')));
});

test("a run's process marker survives a reopen and a compaction, for recovery to find processes that left the group", () => {
  const dir = tempDir();
  const j = Journal.open(dir);
  j.assigned(assign('m1'));
  j.started('m1', { pid: 42, pgid: 42, startTime: 'boot:42', logPath: undefined, marker: 'sibyl1.abc.m1' });
  j.close();
  const again = Journal.open(dir); // opening compacts
  assert.equal(again.runningFromPreviousRun()[0]?.process.marker, 'sibyl1.abc.m1');
  again.close();
  assert.equal(Journal.open(dir).runningFromPreviousRun()[0]?.process.marker, 'sibyl1.abc.m1');
});

test('the marker journaled just before the spawn is known to recovery even when the runner died before the start was written', () => {
  const dir = tempDir();
  const j = Journal.open(dir);
  j.assigned(assign('m2'));
  j.launching('m2', 'sibyl1.def.m2');
  j.close();
  const again = Journal.open(dir);
  assert.equal(again.unfinishedFromPreviousRun()[0]?.marker, 'sibyl1.def.m2');
  again.close();
});
