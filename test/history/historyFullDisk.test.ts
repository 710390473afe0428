import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RunnerError } from '../../main/runner/errors.ts';
import type { LogFields, Logger } from '../../main/runner/logger.ts';
import { historyRecorder } from '../../main/runner/history/historyObserver.ts';
import { HistoryStore } from '../../main/runner/history/historyStore.ts';
import type { HistoryPatch } from '../../main/runner/history/schema.ts';
import { tempDir } from '../helpers/tmp.ts';
import { spec } from '../helpers/workspaceFixture.ts';

const isRoot = process.getuid?.() === 0 && process.platform === 'linux';

/** A logger that keeps what it is told. */
function capture(): Logger & { lines: { level: string; msg: string; fields?: LogFields }[] } {
  const lines: { level: string; msg: string; fields?: LogFields }[] = [];
  const at =
    (level: string) =>
    (msg: string, fields?: LogFields): void =>
      void lines.push({ level, msg, ...(fields ? { fields } : {}) });
  const log: Logger & { lines: typeof lines } = {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => log,
  };
  return log;
}

/** Fill the filesystem at `dir` to the last byte: returns the filler file. */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  // dd stops at ENOSPC (exit 1) with the disk full; that is the point.
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4096'], { stdio: 'ignore' });
  } catch {
    /* No space left on device */
  }
  return filler;
}

function patches(n: number, prefix: string): HistoryPatch[] {
  return Array.from({ length: n }, (_, i) => ({
    taskId: `${prefix}-${i}`,
    prompt: 'p'.repeat(400),
    status: 'assigned' as const,
    assignedAt: Date.now(),
  }));
}

test(
  'a history write on a full disk raises SQLite\'s "database or disk is full", not the failed ROLLBACK; the recorder logs it, keeps the batch and writes it once there is room',
  { skip: isRoot ? false : 'needs root on Linux to mount a 1 MB tmpfs' },
  () => {
    const mnt = tempDir('lock-hist-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    try {
      mkdirSync(join(mnt, 'logs'));
      const store = new HistoryStore({ dbPath: join(mnt, 'history.sqlite'), logDir: join(mnt, 'logs') });
      store.upsert({ taskId: 'before', status: 'completed', assignedAt: 1 });
      const filler = fill(mnt);

      assert.throws(
        () => store.upsertMany(patches(500, 'full')),
        (err: unknown) => {
          assert.ok(err instanceof RunnerError, String(err));
          assert.equal(err.code, 'history_write_failed');
          assert.match(err.message, /database or disk is full/);
          assert.doesNotMatch(err.message, /rollback/i);
          assert.equal(err.remedy, 'freeDisk');
          assert.equal(err.context.sqliteCode, 13);
          return true;
        },
      );

      // The daemon's recorder: the write fails, nothing is thrown at the task, the error is logged.
      const log = capture();
      const recorder = historyRecorder(store, log, () => undefined);
      const specs = Array.from({ length: 200 }, () => spec({ prompt: 'x'.repeat(500) }));
      for (const s of specs) void recorder.observer.assigned?.(s, Date.now());
      assert.doesNotThrow(() => recorder.flush());
      const warn = log.lines.find((l) => l.msg === 'history write failed');
      assert.ok(warn, JSON.stringify(log.lines));
      assert.match(String(warn.fields?.error), /database or disk is full/);
      assert.equal(warn.fields?.code, 'history_write_failed');
      assert.equal(warn.fields?.kept, true);

      unlinkSync(filler);
      recorder.flush();
      assert.ok(
        specs.every((s) => store.get(s.taskId)?.status === 'assigned'),
        'the kept batch is written once there is room',
      );
      assert.equal(store.get('before')?.status, 'completed', 'what was there before is intact');
      store.upsertMany(patches(50, 'after'));
      assert.equal(store.count(), 1 + specs.length + 50);
      store.close();
    } finally {
      execFileSync('umount', [mnt]);
    }
  },
);

test('a failed statement in a transaction surfaces its own error and rolls the whole batch back', () => {
  const store = new HistoryStore({ dbPath: join(tempDir(), 'history.sqlite'), logDir: tempDir() });
  // A CHECK failure inside upsertMany: the ROLLBACK that follows works; the error is the CHECK's.
  assert.throws(
    () =>
      store.upsertMany([
        { taskId: 'a', status: 'assigned', assignedAt: 1 },
        { taskId: 'b', status: 'bogus' as never, assignedAt: 1 },
      ]),
    (err: unknown) => err instanceof RunnerError && err.code === 'history_write_failed' && /CHECK constraint failed/.test(err.message),
  );
  assert.equal(store.get('a'), undefined, 'rolled back');
  store.close();
});
