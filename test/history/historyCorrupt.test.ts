import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultStateDir } from '../../main/runner/config/schema.ts';
import { RunnerError } from '../../main/runner/errors.ts';
import { openHistoryOrStartAfresh } from '../../main/runner/history/historyRecovery.ts';
import { HISTORY_FILE, HistoryStore } from '../../main/runner/history/historyStore.ts';
import { cli, registeredRunner } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';
import { quiet } from '../helpers/workspaceFixture.ts';

/** A real history file with one task, then 100 bytes of garbage over its header. */
function corruptHistory(stateDir: string): string {
  mkdirSync(stateDir, { recursive: true });
  const dbPath = join(stateDir, HISTORY_FILE);
  const store = new HistoryStore({ dbPath, logDir: join(stateDir, 'logs') });
  store.upsert({ taskId: 'old-task', status: 'completed', assignedAt: 1 });
  store.close();
  const fd = openSync(dbPath, 'r+');
  writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, 0);
  closeSync(fd);
  return dbPath;
}

test('`run` with a corrupt history database sets it aside, starts a new one, warns naming both files, and keeps running', async () => {
  const { core, id, home, config, env } = await registeredRunner();
  const logDir = join(home, 'logs');
  const stateDir = defaultStateDir(home, config);
  const dbPath = corruptHistory(stateDir);

  const run = cli(['run', '--config', config, '--quiet'], env);
  await core.until(() => core.connected(id), 10_000, 'the runner connects despite the damaged history');

  const warning = await until(
    () =>
      readFileSync(join(logDir, 'runner.log'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { level: string; msg: string; file?: string; setAside?: string; error?: string })
        .find((l) => l.msg.includes('task history was damaged')),
    'the warning in runner.log',
  );
  assert.equal(warning.level, 'warn');
  assert.equal(warning.file, dbPath);
  assert.match(warning.setAside ?? '', new RegExp(`^${dbPath.replaceAll('.', '\\.')}\\.corrupt-\\d{4}-\\d\\d-\\d\\dT[\\d-]+Z$`));
  assert.match(warning.error ?? '', /not a database/);
  const setAside = warning.setAside!;
  assert.equal(readFileSync(setAside).subarray(0, 100).toString(), 'Z'.repeat(100), 'the damaged file is kept as it was');
  assert.deepEqual(
    readdirSync(stateDir)
      .filter((f) => f.startsWith(HISTORY_FILE) && !f.startsWith(`${HISTORY_FILE}.corrupt-`))
      .sort(),
    [HISTORY_FILE, `${HISTORY_FILE}-shm`, `${HISTORY_FILE}-wal`],
    'a new history beside the one set aside',
  );

  run.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => run.on('close', (c) => r(c)));
  assert.equal(code, 0, run.output().stderr);
  // The new file is a working history (empty: the old rows are in the file set aside).
  const fresh = new HistoryStore({ dbPath, logDir });
  assert.equal(fresh.get('old-task'), undefined);
  assert.equal(fresh.count(), 0);
  fresh.close();
});

test('a history that fails to open for another reason is not moved: the error is raised', () => {
  const stateDir = tempDir();
  const dbPath = join(stateDir, HISTORY_FILE);
  mkdirSync(dbPath); // a folder where the file should be
  assert.throws(
    () => openHistoryOrStartAfresh({ dbPath, logDir: stateDir }, quiet),
    (err: unknown) => err instanceof RunnerError && err.code === 'history_unavailable',
  );
  assert.ok(existsSync(dbPath));
  assert.deepEqual(
    readdirSync(stateDir).filter((f) => f.includes('corrupt')),
    [],
  );
});

test('a page damaged in the middle of the file (header intact) is found by the start-up check: set aside, a new history started', () => {
  const dir = tempDir();
  const dbPath = join(dir, HISTORY_FILE);
  const store = new HistoryStore({ dbPath, logDir: join(dir, 'logs') });
  for (let i = 0; i < 200; i++) store.upsert({ taskId: `task-${i}`, status: 'completed', assignedAt: i, prompt: 'p'.repeat(500) });
  store.close();
  const fd = openSync(dbPath, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0x41), 0, 4096, 4096); // page 2 of 4 KiB pages: a b-tree page
  closeSync(fd);
  const warnings: string[] = [];
  const log = { ...quiet, warn: (msg: string) => void warnings.push(msg) };
  const fresh = openHistoryOrStartAfresh({ dbPath, logDir: join(dir, 'logs') }, log);
  try {
    assert.equal(fresh.quickCheck(), 'ok');
    assert.equal(fresh.get('task-1'), undefined, 'a new, empty history');
    assert.ok(
      readdirSync(dir).some((f) => f.startsWith(`${HISTORY_FILE}.corrupt-`)),
      'the damaged file is set aside',
    );
    assert.match(warnings.join('\n'), /damaged/);
  } finally {
    fresh.close();
  }
});
