import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHECKPOINT_IDLE_MS, HistoryStore } from '../../main/runner/history/historyStore.ts';
import type { HistoryPatch } from '../../main/runner/history/schema.ts';
import { tempDir, until } from '../helpers/tmp.ts';

const size = (path: string): number => statSync(path, { throwIfNoEntry: false })?.size ?? 0;

/** Tasks with prompts of 500 characters, as the recorder writes them. */
function tasks(from: number, n: number): HistoryPatch[] {
  return Array.from({ length: n }, (_, i) => ({
    taskId: `00000000-0000-4000-8000-${String(from + i).padStart(12, '0')}`,
    agentId: 'agent',
    projectId: 'project',
    prompt: `task ${from + i} `.padEnd(500, 'x'),
    status: 'completed' as const,
    assignedAt: Date.now(),
  }));
}

test("the daemon's history is checkpointed when its writes pause, never inside a write", async () => {
  const dir = tempDir('sibyl-checkpoint-');
  const dbPath = join(dir, 'history.sqlite');
  const store = new HistoryStore({ dbPath, logDir: join(dir, 'logs'), checkpointWhenIdle: true });
  try {
    const empty = size(dbPath);
    // Past SQLite's automatic checkpoint (1000 pages, ~4 MB of log), in many small writes.
    let n = 0;
    while (size(`${dbPath}-wal`) < 5 * 1024 * 1024) {
      store.upsertMany(tasks(n, 50));
      n += 50;
    }
    assert.equal(size(dbPath), empty, 'no write copied the log into the database');
    await until(() => size(dbPath) > empty, 'a checkpoint once the writes paused', CHECKPOINT_IDLE_MS + 5000);
    assert.equal(store.get(tasks(0, 1)[0]!.taskId)?.status, 'completed');
  } finally {
    store.close();
  }
});

test("a reader's store (history, logs, the window) keeps SQLite's own checkpoints", () => {
  const dir = tempDir('sibyl-checkpoint-');
  const dbPath = join(dir, 'history.sqlite');
  const store = new HistoryStore({ dbPath, logDir: join(dir, 'logs') });
  try {
    let n = 0;
    while (size(dbPath) < 1024 * 1024 && n < 20_000) {
      store.upsertMany(tasks(n, 50));
      n += 50;
    }
    assert.ok(size(dbPath) >= 1024 * 1024, 'SQLite checkpointed inside the writes');
  } finally {
    store.close();
  }
});
