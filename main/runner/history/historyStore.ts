import { realpathSync, statSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { RunnerError } from '../errors.ts';
import { activityDays, localDays } from './activity.ts';
import { inTransaction, openHistoryDb, rebuildSearchIndex, suspendSearchIndex } from './historyDb.ts';
import { COLUMNS, ITEM_COLS, num, str, toItem, toRecord } from './historyRows.ts';
import {
  DailyTotalsQuery as DailyTotalsQuerySchema,
  type ActivityDay,
  HistoryQuery as HistoryQuerySchema,
  LIVE_STATUSES,
  PruneOptions as PruneOptionsSchema,
  type DailyTotal,
  type DailyTotalsQuery,
  type HistoryFilter,
  type HistoryPage,
  type HistoryPatch,
  type HistoryQuery,
  type HistoryRecord,
  type HistoryStatus,
  type PruneOptions,
  type PruneResult,
} from './schema.ts';

export { finishedPatch } from './historyRows.ts';

/** The local task history, for the CLI (`history`, `logs`) and the desktop app alike. */
export interface TaskHistory {
  /** Insert or update by task id; only the given fields change. */
  upsert(patch: HistoryPatch): void;
  get(taskId: string): HistoryRecord | undefined;
  /** Newest first (most recently assigned). */
  page(query?: HistoryQuery): HistoryPage;
  count(filter?: HistoryFilter): number;
  /**
   * Per local day, oldest first and ending today: finished tasks and what their agents reported
   * (cost, tokens). `now` (epoch ms) says which day is today; days without tasks are there with 0.
   */
  dailyTotals(query: DailyTotalsQuery & { now?: number }): DailyTotal[];
  /**
   * Per local day, oldest first and ending today, in one query: finished tasks by outcome
   * (completed; failed or timed out; cancelled) and their cost and tokens. Days without tasks are
   * there with 0 (cost and tokens null). Raises RunnerError `invalid_query` for days outside 1–90.
   */
  activity(query: DailyTotalsQuery & { now?: number }): ActivityDay[];
  /**
   * Delete finished tasks older than `maxAgeDays` or beyond the newest `maxTasks` finished ones,
   * and their log files inside the log dir. Tasks still assigned or running are never deleted.
   */
  prune(opts?: PruneOptions): Promise<PruneResult>;
  close(): void;
}

export const HISTORY_FILE = 'history.sqlite';
/** Tasks that ran and ended; rejected ones never ran, so they cost nothing and count for nothing per day. */
const FINISHED_STATUSES: readonly HistoryStatus[] = ['completed', 'failed', 'timeout', 'cancelled'];
/** Below this many rows of one status, a status-filtered search scans those rows (see #filter). */
const FEW_ROWS = 5000;

export interface HistoryStoreOptions {
  /** the SQLite file, e.g. `<state_dir>/history.sqlite` (':memory:' for a throwaway store) */
  dbPath: string;
  /** the runner's task log folder: prune deletes log files inside it and nowhere else */
  logDir: string;
  /** false: search by scanning (as on a SQLite build without FTS5); default: the index when available */
  fullTextSearch?: boolean;
  /**
   * The daemon's store: the write-ahead log is checkpointed once writes have paused for
   * CHECKPOINT_IDLE_MS (or it passed WAL_CAP_BYTES), not by SQLite inside a write. An automatic
   * checkpoint syncs the database file in the middle of whatever write crosses 1000 pages: a 2–6 ms
   * stall of the event loop that answers the server, the slowest task_ack of a run (issue 16).
   */
  checkpointWhenIdle?: boolean;
}

/** Writes paused this long (ms): the log is checkpointed. */
export const CHECKPOINT_IDLE_MS = 2000;
/** A log grown past this (bytes) is checkpointed at the next write even while writes go on. */
export const WAL_CAP_BYTES = 16 * 1024 * 1024;
/** The log file is cut back to this (bytes) when it starts over after a checkpoint. */
const WAL_KEEP_BYTES = 4 * 1024 * 1024;

export class HistoryStore implements TaskHistory {
  readonly #db: DatabaseSync;
  readonly #logDir: string;
  readonly #statements = new Map<string, StatementSync>();
  /** false when this SQLite build has no FTS5 trigram tokenizer: search then scans with LIKE */
  readonly fullTextSearch: boolean;
  /** the write-ahead log's file, when this store checkpoints it itself (checkpointWhenIdle) */
  readonly #walPath: string | undefined;
  readonly #idleCheckpoint: NodeJS.Timeout | undefined;

  constructor(opts: HistoryStoreOptions) {
    this.#logDir = resolve(opts.logDir);
    const { db, fullTextSearch } = openHistoryDb(opts.dbPath, opts.fullTextSearch ?? true);
    this.#db = db;
    this.fullTextSearch = fullTextSearch;
    if (opts.checkpointWhenIdle && opts.dbPath !== ':memory:') {
      db.exec(`PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = ${WAL_KEEP_BYTES};`);
      this.#walPath = `${opts.dbPath}-wal`;
      this.#idleCheckpoint = setTimeout(() => this.checkpoint(), CHECKPOINT_IDLE_MS);
      this.#idleCheckpoint.unref();
    }
  }

  /**
   * Copies the write-ahead log into the database (PASSIVE: never waits for a reader such as a
   * `history` command). Returns false when SQLite refused (busy); the next pause tries again.
   */
  checkpoint(): boolean {
    if (!this.#db.isOpen) return false;
    try {
      this.#db.exec('PRAGMA wal_checkpoint(PASSIVE)');
      return true;
    } catch {
      return false;
    }
  }

  /** After a write (committed): the idle checkpoint starts counting again; a log past its cap goes now. */
  #written(): void {
    if (this.#walPath === undefined || this.#db.isTransaction) return;
    this.#idleCheckpoint?.refresh();
    if ((statSync(this.#walPath, { throwIfNoEntry: false })?.size ?? 0) > WAL_CAP_BYTES) this.checkpoint();
  }

  upsert(patch: HistoryPatch): void {
    if (patch.result === undefined || this.#db.isTransaction) {
      this.#upsert(patch);
      this.#written();
      return;
    }
    inTransaction(this.#db, () => this.#upsert(patch));
    this.#written();
  }

  #upsert(patch: HistoryPatch): void {
    const keys = (Object.keys(COLUMNS) as (keyof typeof COLUMNS)[]).filter((k) => patch[k] !== undefined);
    const insertKeys = [...keys];
    if (!insertKeys.includes('status')) insertKeys.push('status');
    if (!insertKeys.includes('assignedAt')) insertKeys.push('assignedAt');
    const cols = insertKeys.map((k) => COLUMNS[k].col);
    const sql =
      `INSERT INTO tasks (task_id, ${cols.join(', ')}) VALUES (?${', ?'.repeat(cols.length)}) ON CONFLICT(task_id) DO ` +
      (keys.length === 0 ? 'NOTHING' : `UPDATE SET ${keys.map((k) => `${COLUMNS[k].col} = excluded.${COLUMNS[k].col}`).join(', ')}`);
    const values = insertKeys.map((k): SQLInputValue => {
      if (k === 'status') return patch.status ?? 'assigned';
      if (k === 'assignedAt') return patch.assignedAt ?? Date.now();
      const v = patch[k];
      const store = COLUMNS[k].store;
      return store ? store(v) : (v as SQLInputValue);
    });
    this.#stmt(sql).run(patch.taskId, ...values);
    if (patch.result === null) this.#stmt('DELETE FROM task_results WHERE id = (SELECT id FROM tasks WHERE task_id = ?)').run(patch.taskId);
    else if (patch.result !== undefined) {
      this.#stmt(
        'INSERT INTO task_results (id, result) SELECT id, ? FROM tasks WHERE task_id = ? ON CONFLICT(id) DO UPDATE SET result = excluded.result',
      ).run(JSON.stringify(patch.result), patch.taskId);
    }
  }

  /**
   * Many upserts in one transaction (imports, tests, benchmarks). A batch larger than the table
   * rebuilds the search index once at the end instead of row by row.
   */
  upsertMany(patches: readonly HistoryPatch[]): void {
    const bulk = this.fullTextSearch && patches.length > 1000 && patches.length > this.#one('SELECT count(*) AS n FROM tasks');
    inTransaction(this.#db, () => {
      if (bulk) suspendSearchIndex(this.#db);
      for (const p of patches) this.upsert(p);
      if (bulk) rebuildSearchIndex(this.#db);
    });
    this.#written();
  }

  get(taskId: string): HistoryRecord | undefined {
    const row = this.#stmt('SELECT t.*, r.result FROM tasks t LEFT JOIN task_results r ON r.id = t.id WHERE t.task_id = ?').get(taskId);
    return row ? toRecord(row) : undefined;
  }

  /**
   * The ids of tasks whose id starts with `prefix` (case-insensitive, as people type the short ids
   * the faces show), newest first, at most `limit`: what `logs 1a2b3c4d` resolves an id with.
   */
  taskIdsStartingWith(prefix: string, limit = 10): string[] {
    const like = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.#stmt(`SELECT task_id FROM tasks WHERE task_id LIKE ? ESCAPE '\\' ORDER BY id DESC LIMIT ?`)
      .all(like, limit)
      .map((row) => str(row.task_id) ?? '');
  }

  page(query: HistoryQuery = {}): HistoryPage {
    const parsed = HistoryQuerySchema.safeParse(query);
    if (!parsed.success)
      throw new RunnerError(
        'invalid_query',
        `bad history query: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    const q = parsed.data;
    const before = q.cursor === undefined ? undefined : parseCursor(q.cursor);
    const { from, where, params, order } = this.#filter(q);
    if (before !== undefined) {
      where.push(`${order} < ?`);
      params.push(before);
    }
    const sql = `SELECT ${ITEM_COLS} FROM ${from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} DESC LIMIT ?`;
    const rows = this.#stmt(sql).all(...params, q.limit + 1);
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    return { items: page.map(toItem), nextCursor: more ? String(num(page[page.length - 1]!.id)) : null };
  }

  count(filter: HistoryFilter = {}): number {
    const { from, where, params } = this.#filter(filter);
    // Counting matches needs no join when there is nothing to check in the table.
    const fromSql = where.length === 1 && from.startsWith('tasks_fts') ? 'tasks_fts f' : from;
    return this.#one(`SELECT count(*) AS n FROM ${fromSql} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`, ...params);
  }

  /**
   * The query plan is chosen here, not left to the planner. With a search, rows are walked from
   * the FTS index newest first (CROSS JOIN fixes the order) and checked against the status, so
   * LIMIT stops early; the planner would rather start from the status index and sort every match.
   * A status with few rows is the exception: walking its rows with LIKE is cheaper than walking a
   * common term's matches to find them. (LIKE folds ASCII case only, the trigram index all of
   * Unicode: the two plans differ only there.) The trigram index needs 3+ characters.
   */
  #filter(f: HistoryFilter): { from: string; where: string[]; params: SQLInputValue[]; order: string } {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    const search = f.search?.trim() ?? '';
    let from = 'tasks t';
    let order = 't.id';
    const indexed = search !== '' && this.fullTextSearch && [...search].length >= 3;
    if (indexed && !(f.status !== undefined && this.#fewWithStatus(f.status))) {
      from = 'tasks_fts f CROSS JOIN tasks t ON t.id = f.rowid';
      order = 'f.rowid';
      where.push('tasks_fts MATCH ?');
      params.push(`"${search.replaceAll('"', '""')}"`);
    } else if (search !== '') {
      const like = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.push(`(t.task_id LIKE ? ESCAPE '\\' OR t.agent_id LIKE ? ESCAPE '\\' OR t.prompt LIKE ? ESCAPE '\\')`);
      params.push(like, like, like);
    }
    if (f.status !== undefined) {
      where.push('t.status = ?');
      params.push(f.status);
    }
    return { from, where, params, order };
  }

  dailyTotals(query: DailyTotalsQuery & { now?: number }): DailyTotal[] {
    const parsed = DailyTotalsQuerySchema.safeParse(query);
    if (!parsed.success)
      throw new RunnerError('invalid_query', `bad daily totals query: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    // Day bounds come from the JS clock (local midnight, DST included), so "today" is the day the
    // faces show. Each day is one range read from the index alone; the planner, left to itself,
    // may start from the status index and look up every finished task instead.
    const finished = FINISHED_STATUSES.map(() => '?').join(', ');
    const day = this.#stmt(
      `SELECT count(*) AS tasks, sum(cost_usd) AS cost, sum(input_tokens) AS input, sum(output_tokens) AS output
       FROM tasks INDEXED BY tasks_finished_totals WHERE finished_at >= ? AND finished_at < ? AND status IN (${finished})`,
    );
    return localDays(parsed.data.days, query.now ?? Date.now()).map((d) => {
      const r = day.get(d.start, d.end, ...FINISHED_STATUSES);
      return { day: d.day, tasks: num(r?.tasks) ?? 0, costUsd: num(r?.cost), inputTokens: num(r?.input), outputTokens: num(r?.output) };
    });
  }

  activity(query: DailyTotalsQuery & { now?: number }): ActivityDay[] {
    const parsed = DailyTotalsQuerySchema.safeParse(query);
    if (!parsed.success)
      throw new RunnerError('invalid_query', `bad activity query: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    return activityDays((sql) => this.#stmt(sql), parsed.data.days, query.now ?? Date.now());
  }

  #fewWithStatus(status: HistoryStatus): boolean {
    return this.#one('SELECT count(*) AS n FROM (SELECT 1 FROM tasks WHERE status = ? LIMIT ?)', status, FEW_ROWS + 1) <= FEW_ROWS;
  }

  async prune(opts: PruneOptions = {}): Promise<PruneResult> {
    const { maxAgeDays, maxTasks } = PruneOptionsSchema.parse(opts);
    const ageCut = maxAgeDays > 0 ? Date.now() - maxAgeDays * 86_400_000 : null;
    const live = LIVE_STATUSES.map(() => '?').join(', ');
    // The id of the maxTasks-th newest finished task: finished tasks older than it are over the count.
    const keepFrom =
      maxTasks > 0
        ? num(
            this.#stmt(`SELECT id FROM tasks WHERE status NOT IN (${live}) ORDER BY id DESC LIMIT 1 OFFSET ?`).get(
              ...LIVE_STATUSES,
              maxTasks - 1,
            )?.id,
          )
        : null;
    if (ageCut === null && keepFrom === null) return { rows: 0, logFiles: 0 };
    const doomed = this.#stmt(
      `SELECT id, log_path FROM tasks WHERE status NOT IN (${live}) AND (
         (? IS NOT NULL AND (finished_at < ? OR (finished_at IS NULL AND assigned_at < ?))) OR (? IS NOT NULL AND id < ?))`,
    ).all(...LIVE_STATUSES, ageCut, ageCut, ageCut, keepFrom, keepFrom);
    const del = this.#stmt('DELETE FROM tasks WHERE id = ?');
    inTransaction(this.#db, () => {
      for (const row of doomed) del.run(num(row.id));
    });
    this.#written();
    let logFiles = 0;
    for (const row of doomed) {
      const path = str(row.log_path);
      if (path === null || !this.#insideLogDir(path)) continue;
      try {
        await unlink(path);
        logFiles++;
      } catch {
        /* already gone */
      }
    }
    return { rows: doomed.length, logFiles };
  }

  /** Through symlinks too: a log path is deleted only if its real folder is inside the real log dir. */
  #insideLogDir(path: string): boolean {
    try {
      const root = realpathSync(this.#logDir);
      const file = join(realpathSync(dirname(resolve(path))), basename(path));
      const rel = relative(root, file);
      return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
    } catch {
      return false;
    }
  }

  /**
   * SQLite's `quick_check`: 'ok', or the first problem it found (a page damaged in the middle of
   * the file, which opening does not notice). Reads every page: ~0.7 ms per MB here.
   */
  quickCheck(): string {
    const row = this.#db.prepare('PRAGMA quick_check(1)').get() as Record<string, unknown> | undefined;
    const first = row ? Object.values(row)[0] : undefined;
    return typeof first === 'string' ? first : 'no answer from quick_check';
  }

  close(): void {
    clearTimeout(this.#idleCheckpoint);
    if (!this.#db.isOpen) return;
    this.#statements.clear();
    try {
      this.#db.exec('PRAGMA optimize');
    } finally {
      this.#db.close();
    }
  }

  #stmt(sql: string): StatementSync {
    let s = this.#statements.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  #one(sql: string, ...params: SQLInputValue[]): number {
    return num(this.#stmt(sql).get(...params)?.n ?? 0) ?? 0;
  }
}

/** The last `n` local days up to the one holding `now`, oldest first: label and [start, end) in epoch ms. */
function parseCursor(cursor: string): number {
  if (!/^\d{1,15}$/.test(cursor)) throw new RunnerError('invalid_query', `not a history cursor: ${JSON.stringify(cursor.slice(0, 40))}`);
  return Number(cursor);
}
