import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { RunnerError, errorMessage } from '../errors.ts';

/**
 * The history's SQLite file: WAL (the CLI and the window read while the daemon writes),
 * synchronous=NORMAL (a power cut may lose the last moments of history, never corrupt it; the
 * journal, not this file, is what must not lose a result), the schema, and the search index.
 */

/** 1: the first schema. 2: the agent's report in the row (agent, model, cost, tokens; issue 11). */
const SCHEMA_VERSION = 2;

const TABLES = `
CREATE TABLE IF NOT EXISTS tasks (
  id INTEGER PRIMARY KEY,
  task_id TEXT NOT NULL UNIQUE,
  agent_id TEXT,
  project_id TEXT,
  prompt TEXT NOT NULL DEFAULT '',
  command TEXT,
  status TEXT NOT NULL CHECK (status IN ('assigned','running','completed','failed','timeout','cancelled','rejected')),
  reject_reason TEXT,
  assigned_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  duration_s REAL,
  exit_code INTEGER,
  worktree_path TEXT,
  branch TEXT,
  commit_count INTEGER,
  log_path TEXT,
  error TEXT,
  agent TEXT,
  model TEXT,
  cost_usd REAL,
  input_tokens INTEGER,
  output_tokens INTEGER
);
-- The task_complete result (up to 200 lines of stdout and stderr, commits, diffstat) is tens of KB:
-- kept apart, it does not spread the rows a page or a search walks over ten times as many pages.
CREATE TABLE IF NOT EXISTS task_results (id INTEGER PRIMARY KEY, result TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS task_results_delete AFTER DELETE ON tasks BEGIN
  DELETE FROM task_results WHERE id = old.id;
END;
`;

/** Created after the migration: they may name columns an older file gains only then. */
const INDEXES = `
-- Secondary indexes end in the rowid, so (status) also serves "newest first within a status".
CREATE INDEX IF NOT EXISTS tasks_status ON tasks(status);
-- finished_at first for prune's age cut and a day's range; the rest are what a day's totals add
-- up, read from the index alone (a lookup per task into the table is 4-6x slower at 100k tasks).
CREATE INDEX IF NOT EXISTS tasks_finished_totals ON tasks(finished_at, status, cost_usd, input_tokens, output_tokens);
CREATE INDEX IF NOT EXISTS tasks_assigned ON tasks(assigned_at);
`;

/** What each version changed in a file of the version before: columns added, indexes superseded. */
const MIGRATIONS: readonly { version: number; columns: readonly [name: string, type: string][]; dropIndexes: readonly string[] }[] = [
  {
    version: 2,
    columns: [
      ['agent', 'TEXT'],
      ['model', 'TEXT'],
      ['cost_usd', 'REAL'],
      ['input_tokens', 'INTEGER'],
      ['output_tokens', 'INTEGER'],
    ],
    dropIndexes: ['tasks_finished'],
  },
];

/** Substring search in the text columns; the trigram tokenizer makes any 3+ character substring an index lookup. */
const FTS = `
CREATE VIRTUAL TABLE IF NOT EXISTS tasks_fts USING fts5(task_id, agent_id, prompt, content='tasks', content_rowid='id', tokenize='trigram');
CREATE TRIGGER IF NOT EXISTS tasks_fts_insert AFTER INSERT ON tasks BEGIN
  INSERT INTO tasks_fts(rowid, task_id, agent_id, prompt) VALUES (new.id, new.task_id, new.agent_id, new.prompt);
END;
CREATE TRIGGER IF NOT EXISTS tasks_fts_delete AFTER DELETE ON tasks BEGIN
  INSERT INTO tasks_fts(tasks_fts, rowid, task_id, agent_id, prompt) VALUES ('delete', old.id, old.task_id, old.agent_id, old.prompt);
END;
CREATE TRIGGER IF NOT EXISTS tasks_fts_update AFTER UPDATE OF task_id, agent_id, prompt ON tasks BEGIN
  INSERT INTO tasks_fts(tasks_fts, rowid, task_id, agent_id, prompt) VALUES ('delete', old.id, old.task_id, old.agent_id, old.prompt);
  INSERT INTO tasks_fts(rowid, task_id, agent_id, prompt) VALUES (new.id, new.task_id, new.agent_id, new.prompt);
END;
`;

/** SQLite result codes (the primary code is the low byte of node:sqlite's `errcode`). */
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_NOTADB = 26;

/** The SQLite result code an error from node:sqlite carries (through RunnerError causes), or undefined. */
export function sqliteCode(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as Error & { errcode?: unknown }).errcode;
    if (typeof code === 'number') return code & 0xff;
  }
  return undefined;
}

/** The file is not a database, or its structure is damaged: a new file is the only way on. */
export function isCorruptionError(err: unknown): boolean {
  const code = sqliteCode(err);
  return code === SQLITE_CORRUPT || code === SQLITE_NOTADB;
}

/**
 * Opens (creating if missing) the history file with its pragmas, schema, migrations and search
 * index. Raises RunnerError `history_unavailable` with the SQLite error as cause; a damaged file
 * is told apart by `isCorruptionError`. The connection is closed before raising.
 */
export function openHistoryDb(path: string, wantFullText: boolean): { db: DatabaseSync; fullTextSearch: boolean } {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path);
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    db.exec(TABLES);
    migrate(db);
    db.exec(INDEXES);
    return { db, fullTextSearch: setUpSearch(db, wantFullText) };
  } catch (err) {
    if (db?.isOpen) db.close();
    const code = sqliteCode(err);
    throw new RunnerError('history_unavailable', `cannot open the task history at ${path}: ${errorMessage(err)}`, {
      cause: err,
      remedy: code === SQLITE_FULL ? 'freeDisk' : 'none',
      context: { path, ...(code !== undefined ? { sqliteCode: code } : {}) },
    });
  }
}

/**
 * Runs `fn` between `begin` and COMMIT; on failure rolls back — unless SQLite already did: a full
 * disk or an I/O error can end the transaction by itself, and the ROLLBACK that follows then
 * fails with "no transaction is active". Either way the error raised is the one that made the
 * transaction fail: RunnerError `history_write_failed` (remedy `freeDisk` for SQLITE_FULL) with
 * it as cause and message, and a failed ROLLBACK in `context.rollbackError`. A RunnerError
 * raised by `fn` passes through unchanged (only the rollback's failure is added to its context).
 */
export function inTransaction<T>(db: DatabaseSync, fn: () => T, begin = 'BEGIN'): T {
  db.exec(begin);
  try {
    const out = fn();
    db.exec('COMMIT');
    return out;
  } catch (err) {
    const rollbackError = rollBack(db);
    if (err instanceof RunnerError) {
      if (rollbackError) err.context.rollbackError = rollbackError;
      throw err;
    }
    const code = sqliteCode(err);
    throw new RunnerError('history_write_failed', `history write failed: ${errorMessage(err)}`, {
      cause: err,
      remedy: code === SQLITE_FULL ? 'freeDisk' : 'none',
      context: { ...(code !== undefined ? { sqliteCode: code } : {}), ...(rollbackError ? { rollbackError } : {}) },
    });
  }
}

/** ROLLBACK if a transaction is still open; its own failure is returned as words, never thrown. */
function rollBack(db: DatabaseSync): string | undefined {
  if (!db.isOpen || !db.isTransaction) return undefined;
  try {
    db.exec('ROLLBACK');
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

function userVersion(db: DatabaseSync): number {
  return Number(db.prepare('SELECT user_version AS v FROM pragma_user_version').get()?.v ?? 0);
}

/**
 * Brings an older file up to SCHEMA_VERSION: ADD COLUMN and DROP INDEX only, so rows and the
 * search index stay as they are (INDEXES then builds what is new). Skipped once the version is
 * current, so a reader that opens the file later (the CLI beside the daemon) takes no write lock.
 * Under an immediate transaction, with the columns checked again inside it: two processes opening
 * the same old file add each column once. A file from a newer runner keeps its higher version.
 */
function migrate(db: DatabaseSync): void {
  if (userVersion(db) >= SCHEMA_VERSION) return;
  inTransaction(
    db,
    () => {
      const from = userVersion(db);
      if (from >= SCHEMA_VERSION) return;
      const have = new Set(
        db
          .prepare(`SELECT name FROM pragma_table_info('tasks')`)
          .all()
          .map((r) => r.name),
      );
      for (const step of MIGRATIONS.filter((m) => m.version > from)) {
        for (const [name, type] of step.columns) if (!have.has(name)) db.exec(`ALTER TABLE tasks ADD COLUMN ${name} ${type}`);
        for (const index of step.dropIndexes) db.exec(`DROP INDEX IF EXISTS ${index}`);
      }
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    },
    'BEGIN IMMEDIATE',
  );
}

/** The FTS index is derived data: create it (and fill it from the table) when missing, drop its triggers when unusable. */
function setUpSearch(db: DatabaseSync, wanted: boolean): boolean {
  const hadTriggers =
    db.prepare('SELECT count(*) AS n FROM sqlite_master WHERE type = ? AND name LIKE ?').get('trigger', 'tasks_fts_%')?.n === 3;
  try {
    db.exec('BEGIN');
    if (!wanted) throw new Error('full-text search turned off');
    db.exec(FTS);
    if (!hadTriggers) db.exec(`INSERT INTO tasks_fts(tasks_fts) VALUES ('rebuild')`);
    db.exec('COMMIT');
    return true;
  } catch {
    rollBack(db);
    // Triggers into a table this build cannot write would make every upsert fail.
    db.exec('DROP TRIGGER IF EXISTS tasks_fts_insert; DROP TRIGGER IF EXISTS tasks_fts_delete; DROP TRIGGER IF EXISTS tasks_fts_update;');
    return false;
  }
}

/** For a bulk load inside a transaction: stop indexing row by row... */
export function suspendSearchIndex(db: DatabaseSync): void {
  db.exec('DROP TRIGGER tasks_fts_insert; DROP TRIGGER tasks_fts_update;');
}

/** ...and index everything in one pass at the end (about 4× faster than row by row). */
export function rebuildSearchIndex(db: DatabaseSync): void {
  db.exec(FTS);
  db.exec(`INSERT INTO tasks_fts(tasks_fts) VALUES ('rebuild')`);
}
