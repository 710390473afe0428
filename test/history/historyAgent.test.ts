import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, test } from 'node:test';
import { historyHandlers } from '../../main/app/handlers/history.ts';
import type { Logger } from '../../main/runner/logger.ts';
import { historyBackend } from '../../main/runner/history/historyBackend.ts';
import { historyRecorder } from '../../main/runner/history/historyObserver.ts';
import { finishedPatch, HistoryStore } from '../../main/runner/history/historyStore.ts';
import type { TaskComplete } from '../../main/runner/protocol/messages.ts';
import type { TaskSpec } from '../../main/runner/tasks/taskSpec.ts';
import { tempDir } from '../helpers/tmp.ts';
import { spec as fixtureSpec } from '../helpers/workspaceFixture.ts';

// Local days are the point of dailyTotals: fix the zone, one with a DST change inside the test's days.
process.env.TZ = 'America/New_York';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

function store(dir = tempDir()): HistoryStore {
  return new HistoryStore({ dbPath: join(dir, 'history.sqlite'), logDir: join(dir, 'logs') });
}

function spec(taskId: string, prompt = 'Fix the login form'): TaskSpec {
  return fixtureSpec({
    taskId,
    agentId: 'agent_1',
    projectId: 'project_1',
    prompt,
    command: [],
    commandSource: 'agent',
    timeoutSeconds: 600,
  });
}

function complete(taskId: string, fields: Record<string, unknown>, status: 'completed' | 'failed' = 'completed'): TaskComplete {
  return {
    type: 'task_complete',
    task_id: taskId,
    success: status === 'completed',
    retryable: false,
    result: { status, exit_code: status === 'completed' ? 0 : 1, worktree_path: `/w/${taskId}`, duration_s: 42.5, ...fields },
  };
}

/** What taskRun.ts `agentFields` puts in a Claude Code result. */
const CLAUDE = {
  agent: 'claude-code',
  model: 'claude-sonnet-4-5',
  summary: 'Fixed the login form: the submit button now waits for validation.',
  usage: { input_tokens: 1234, output_tokens: 567, cache_read_input_tokens: 40_000, cache_creation_input_tokens: 1200 },
  cost_usd: 0.4213,
  num_turns: 7,
  session_id: 'sess-0001',
  permission_denials: [{ tool: 'Bash', input: 'rm -rf node_modules' }],
};

describe('the agent in the history', () => {
  test('a finished task carries agent, model, cost and tokens in its row and its record', () => {
    const h = store();
    const recorder = historyRecorder(h, quiet, () => undefined);
    void recorder.observer.assigned?.(spec('t1'), 1000);
    void recorder.observer.started?.('t1', 4242, 2000);
    const msg = complete('t1', CLAUDE);
    void recorder.observer.finished?.('t1', msg.result, msg);
    recorder.flush();

    const item = h.page().items[0]!;
    assert.deepEqual(
      { agent: item.agent, model: item.model, costUsd: item.costUsd, inputTokens: item.inputTokens, outputTokens: item.outputTokens },
      { agent: 'claude-code', model: 'claude-sonnet-4-5', costUsd: 0.4213, inputTokens: 1234, outputTokens: 567 },
    );
    const rec = h.get('t1')!;
    assert.equal(rec.agent, 'claude-code');
    assert.equal(rec.summary, CLAUDE.summary);
    assert.equal(rec.numTurns, 7);
    assert.equal(rec.sessionId, 'sess-0001');
    assert.equal(rec.cacheReadTokens, 40_000);
    assert.equal(rec.cacheCreationTokens, 1200);
    assert.deepEqual(rec.permissionDenials, [{ tool: 'Bash', input: 'rm -rf node_modules' }]);
    assert.equal(rec.result?.cost_usd, 0.4213, 'the result itself is kept as sent');

    // A later result without the agent's report (recovery's runner_restarted) does not erase what was reported.
    h.upsert({ taskId: 't1', status: 'failed', error: 'runner_restarted', result: complete('t1', {}, 'failed').result });
    assert.equal(h.get('t1')?.costUsd, 0.4213);
    assert.equal(h.get('t1')?.agent, 'claude-code');
    h.close();
  });

  test('what the agent did not report, or reported in a shape we do not know, is null', () => {
    const h = store();
    h.upsert({ taskId: 'plain', prompt: 'echo hi', assignedAt: 1000 });
    const msg = complete('plain', { agent: 'command' });
    h.upsert(finishedPatch(msg));
    const odd = complete('odd', {
      agent: 42,
      model: null,
      cost_usd: 'free',
      usage: { input_tokens: -5, output_tokens: 1.5 },
      num_turns: 'many',
      permission_denials: [{ tool: 'Edit', input: { file_path: 'a.ts' } }, 'junk'],
    });
    h.upsert(finishedPatch(odd));
    const plain = h.get('plain')!;
    assert.equal(plain.agent, 'command');
    assert.deepEqual(
      [plain.model, plain.costUsd, plain.inputTokens, plain.outputTokens, plain.summary, plain.numTurns, plain.sessionId],
      [null, null, null, null, null, null, null],
    );
    assert.deepEqual(plain.permissionDenials, []);
    const o = h.get('odd')!;
    assert.deepEqual([o.agent, o.model, o.costUsd, o.inputTokens, o.outputTokens, o.numTurns], [null, null, null, null, null, null]);
    assert.deepEqual(o.permissionDenials, [{ tool: 'Edit', input: '{"file_path":"a.ts"}' }]);
    h.close();
  });
});

/** The schema of version 1 as it shipped, with its search index: what a runner before issue 11 left on disk. */
const V1 = `
CREATE TABLE tasks (
  id INTEGER PRIMARY KEY, task_id TEXT NOT NULL UNIQUE, agent_id TEXT, project_id TEXT, prompt TEXT NOT NULL DEFAULT '',
  command TEXT,
  status TEXT NOT NULL CHECK (status IN ('assigned','running','completed','failed','timeout','cancelled','rejected')),
  reject_reason TEXT, assigned_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, duration_s REAL, exit_code INTEGER,
  worktree_path TEXT, branch TEXT, commit_count INTEGER, log_path TEXT, error TEXT
);
CREATE TABLE task_results (id INTEGER PRIMARY KEY, result TEXT NOT NULL);
CREATE TRIGGER task_results_delete AFTER DELETE ON tasks BEGIN DELETE FROM task_results WHERE id = old.id; END;
CREATE INDEX tasks_status ON tasks(status);
CREATE INDEX tasks_finished ON tasks(finished_at);
CREATE INDEX tasks_assigned ON tasks(assigned_at);
CREATE VIRTUAL TABLE tasks_fts USING fts5(task_id, agent_id, prompt, content='tasks', content_rowid='id', tokenize='trigram');
CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN
  INSERT INTO tasks_fts(rowid, task_id, agent_id, prompt) VALUES (new.id, new.task_id, new.agent_id, new.prompt);
END;
CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN
  INSERT INTO tasks_fts(tasks_fts, rowid, task_id, agent_id, prompt) VALUES ('delete', old.id, old.task_id, old.agent_id, old.prompt);
END;
CREATE TRIGGER tasks_fts_update AFTER UPDATE OF task_id, agent_id, prompt ON tasks BEGIN
  INSERT INTO tasks_fts(tasks_fts, rowid, task_id, agent_id, prompt) VALUES ('delete', old.id, old.task_id, old.agent_id, old.prompt);
  INSERT INTO tasks_fts(rowid, task_id, agent_id, prompt) VALUES (new.id, new.task_id, new.agent_id, new.prompt);
END;
INSERT INTO tasks (task_id, agent_id, project_id, prompt, status, assigned_at, finished_at, duration_s, exit_code)
  VALUES ('old-1', 'agent_1', 'project_1', 'Upgrade the billing export', 'completed', 1000, 5000, 4, 0);
INSERT INTO task_results (id, result) VALUES (1, '{"status":"completed","exit_code":0,"worktree_path":"/w/old-1","duration_s":4}');
PRAGMA user_version = 1;
`;

function writeV1(path: string, extra = ''): void {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL;');
  db.exec(V1 + extra);
  db.close();
}

function fileFacts(path: string): { version: number; columns: string[]; indexes: string[] } {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const version = Number(db.prepare('SELECT user_version AS v FROM pragma_user_version').get()?.v);
    const columns = db
      .prepare(`SELECT name FROM pragma_table_info('tasks')`)
      .all()
      .map((r) => String(r.name));
    const indexes = db
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks' AND sql IS NOT NULL ORDER BY name`)
      .all()
      .map((r) => String(r.name));
    return { version, columns, indexes };
  } finally {
    db.close();
  }
}

const NEW_COLUMNS = ['agent', 'model', 'cost_usd', 'input_tokens', 'output_tokens'];

describe('schema migration v1 → v2', () => {
  test('a version 1 file gains the columns, keeps its rows and search index, and opens again unchanged', () => {
    const dir = tempDir();
    const dbPath = join(dir, 'history.sqlite');
    writeV1(dbPath);
    assert.deepEqual(fileFacts(dbPath).version, 1);

    const h = new HistoryStore({ dbPath, logDir: join(dir, 'logs') });
    const facts = fileFacts(dbPath);
    assert.equal(facts.version, 2);
    for (const c of NEW_COLUMNS) assert.ok(facts.columns.includes(c), `column ${c}`);
    assert.deepEqual(facts.indexes, ['tasks_assigned', 'tasks_finished_totals', 'tasks_status'], 'finished_at now with the totals');
    const old = h.get('old-1')!;
    assert.equal(old.prompt, 'Upgrade the billing export');
    assert.equal(old.result?.duration_s, 4);
    assert.deepEqual([old.agent, old.model, old.costUsd, old.inputTokens, old.outputTokens], [null, null, null, null, null]);
    assert.deepEqual(
      h.page({ search: 'billing' }).items.map((i) => i.taskId),
      ['old-1'],
      'the search index survived the migration',
    );
    h.upsert({ taskId: 'new-1', prompt: 'Speed up the billing export', assignedAt: 6000 });
    h.upsert(finishedPatch(complete('new-1', CLAUDE)));
    assert.equal(h.get('new-1')?.costUsd, 0.4213);
    h.close();

    const again = new HistoryStore({ dbPath, logDir: join(dir, 'logs') });
    assert.deepEqual(fileFacts(dbPath), facts, 'idempotent: nothing added twice');
    assert.deepEqual(
      again.page({ search: 'billing' }).items.map((i) => [i.taskId, i.agent]),
      [
        ['new-1', 'claude-code'],
        ['old-1', null],
      ],
    );
    again.close();
  });

  test('a version 1 file that already has some of the columns (another process got there first) migrates without error', () => {
    const dir = tempDir();
    const dbPath = join(dir, 'history.sqlite');
    writeV1(dbPath, 'ALTER TABLE tasks ADD COLUMN agent TEXT; ALTER TABLE tasks ADD COLUMN cost_usd REAL;');
    const h = new HistoryStore({ dbPath, logDir: join(dir, 'logs') });
    const facts = fileFacts(dbPath);
    assert.equal(facts.version, 2);
    assert.deepEqual(facts.columns.filter((c) => NEW_COLUMNS.includes(c)).sort(), [...NEW_COLUMNS].sort(), 'each column once');
    assert.equal(h.get('old-1')?.agent, null);
    h.close();
  });

  test('a file from a newer runner keeps its version', () => {
    const dir = tempDir();
    const dbPath = join(dir, 'history.sqlite');
    store(dir).close();
    const db = new DatabaseSync(dbPath);
    db.exec('PRAGMA user_version = 3');
    db.close();
    store(dir).close();
    assert.equal(fileFacts(dbPath).version, 3);
  });
});

describe('daily totals', () => {
  const at = (d: number, h: number, m = 0): number => new Date(2024, 2, d, h, m).getTime(); // March 2024, local time
  const now = at(11, 15); // the day after clocks went forward (10 March, 02:00 → 03:00 in New York)

  function seeded(): HistoryStore {
    const h = store();
    let n = 0;
    const done = (
      finishedAt: number | null,
      status: 'completed' | 'failed' | 'rejected' | 'running',
      fields: Record<string, unknown> = {},
    ): void => {
      const taskId = `t${n++}`;
      h.upsert({ taskId, status: status === 'rejected' ? 'rejected' : 'assigned', assignedAt: (finishedAt ?? now) - 60_000 });
      if (status === 'running') return h.upsert({ taskId, status: 'running', startedAt: now - 1000 });
      if (status === 'rejected') return h.upsert({ taskId, finishedAt });
      const msg = complete(taskId, fields, status);
      h.upsert(finishedPatch(msg, finishedAt ?? now));
    };
    const usage = (input: number, output: number): Record<string, unknown> => ({
      agent: 'claude-code',
      usage: { input_tokens: input, output_tokens: output, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    });
    done(at(11, 0, 0), 'completed', { ...usage(1000, 100), cost_usd: 0.25 }); // today, first minute
    done(at(11, 14), 'failed', { ...usage(500, 50), cost_usd: 0.5 });
    done(at(11, 14, 30), 'completed', { agent: 'aider' }); // reported nothing: counts, adds nothing
    done(at(11, 10), 'rejected'); // never ran
    done(null, 'running'); // not finished
    done(at(10, 23, 59), 'completed', { ...usage(10, 1), cost_usd: 0.01 }); // yesterday, last minute
    done(at(10, 1, 30), 'completed', { ...usage(20, 2), cost_usd: 0.02 }); // yesterday, before the clock change
    done(at(8, 12), 'completed', { ...usage(7, 7), cost_usd: 7 }); // three days ago: outside days = 3
    return h;
  }

  test('per local day, oldest first, ending today; DST days are whole days; rejected and running tasks are not counted', () => {
    const h = seeded();
    assert.deepEqual(h.dailyTotals({ days: 3, now }), [
      { day: '2024-03-09', tasks: 0, costUsd: null, inputTokens: null, outputTokens: null },
      { day: '2024-03-10', tasks: 2, costUsd: 0.03, inputTokens: 30, outputTokens: 3 },
      { day: '2024-03-11', tasks: 3, costUsd: 0.75, inputTokens: 1500, outputTokens: 150 },
    ]);
    const week = h.dailyTotals({ days: 7, now });
    assert.equal(week.length, 7);
    assert.equal(week[0]!.day, '2024-03-05');
    assert.deepEqual(week[3], { day: '2024-03-08', tasks: 1, costUsd: 7, inputTokens: 7, outputTokens: 7 });
    assert.deepEqual(h.dailyTotals({ days: 1, now: at(12, 0, 0) }), [
      { day: '2024-03-12', tasks: 0, costUsd: null, inputTokens: null, outputTokens: null },
    ]);
    assert.throws(() => h.dailyTotals({ days: 0 }), /bad daily totals query/);
    assert.throws(() => h.dailyTotals({ days: 91 }), /bad daily totals query/);
    h.close();
  });

  test('through the backend and the window handler: today by default, empty before registration', async () => {
    const h = seeded();
    const backend = historyBackend(h);
    const today = await backend.dailyTotals({ days: 1 });
    assert.equal(today.length, 1);
    const d = new Date();
    assert.equal(today[0]!.day, `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`);
    assert.deepEqual(
      await historyHandlers({ history: () => backend })['history:daily']({ days: 2 }),
      await backend.dailyTotals({ days: 2 }),
    );
    assert.deepEqual(await historyHandlers({ history: () => undefined })['history:daily']({ days: 7 }), []);
    h.close();
  });
});
