import { statSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as z from 'zod';
import { writeFileAtomic } from '../config/atomicWrite.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';

/**
 * What the runner remembers about the worktrees it created, so a failed task's worktree can be
 * removed when its inspection period ends even after a restart, and so the disk cap knows which
 * worktrees finished first. One JSON file in the worktree base, rewritten atomically.
 */

const RecordSchema = z.object({
  /** Absent in files written before plain folders were recorded. */
  kind: z.literal('worktree').optional(),
  /** The worktree's root folder. */
  path: z.string(),
  /** Where to run git for this worktree's repository (the linked folder or the mirror). */
  repo: z.string(),
  /** The repository lock this worktree's add/remove takes. */
  lockKey: z.string(),
  projectId: z.string(),
  taskId: z.string(),
  branch: z.string(),
  createdAt: z.number(),
  /** null while the task runs. */
  finishedAt: z.number().nullable(),
  /** Remove after this time; null while running. */
  keepUntil: z.number().nullable(),
  reason: z.string().nullable(),
  /** The runner created `branch` for this task (absent: it existed, or went to another task). */
  createdBranch: z.boolean().optional(),
  /** The commit `branch` was created at: while it still points there, it goes with the worktree. */
  baseCommit: z.string().optional(),
});
export type WorktreeRecord = z.infer<typeof RecordSchema>;

/**
 * A plain-folder workspace (no link, no repo_url): no repository and no branch holds its files, so
 * it is kept for the keep period after every outcome, then removed by a plain delete.
 */
const FolderRecordSchema = z.object({
  kind: z.literal('folder'),
  path: z.string(),
  projectId: z.string(),
  taskId: z.string(),
  createdAt: z.number(),
  finishedAt: z.number().nullable(),
  keepUntil: z.number().nullable(),
  reason: z.string().nullable(),
});
export type FolderRecord = z.infer<typeof FolderRecordSchema>;

/** Either kind of workspace the registry remembers. */
export type WorkspaceRecord = WorktreeRecord | FolderRecord;

export function isFolderRecord(r: WorkspaceRecord): r is FolderRecord {
  return r.kind === 'folder';
}

export const isWorktreeRecord = (r: WorkspaceRecord): r is WorktreeRecord => !isFolderRecord(r);

const FileSchema = z.object({ version: z.literal(1), worktrees: z.array(z.union([FolderRecordSchema, RecordSchema])) });

/** While the file cannot be written, how often the pending records are tried again (ms). */
const RETRY_MS = 2000;

interface Waiter {
  version: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The registry file, held in memory once read. Every task start and end changes it, and it grows
 * with the kept folders (24 h of tasks by default): reading, validating and rewriting all of it
 * for each change made task throughput fall as the day went on. Changes apply to the copy in
 * memory at once, in order; the file is rewritten (temp file, fsync, rename) with every change
 * made meanwhile, one write at a time. A failed write loses nothing: the records stay in memory
 * and go with the next write, tried again every RETRY_MS until one succeeds.
 *
 * The runner is the file's only writer (its worktree_base lock, stateLock.ts); still, a file that
 * changed on disk since it was last read or written here (another process, a person) is read
 * again before the next change, when no change of ours is waiting to be written.
 */
export class WorktreeRegistry {
  readonly file: string;
  readonly #log: Logger;
  #records: WorkspaceRecord[] | undefined;
  /** the file as last read or written here: mtime, size, inode ('' when it did not exist) */
  #stamp: string | undefined;
  #loading: Promise<void> | undefined;
  /** bumped by every change; #written is the last one on disk */
  #version = 0;
  #written = 0;
  #flushing: Promise<void> | undefined;
  #flushScheduled = false;
  readonly #waiters: Waiter[] = [];
  #retry: NodeJS.Timeout | undefined;

  constructor(file: string, log: Logger) {
    this.file = file;
    this.#log = log;
  }

  /** The git worktrees only (plain folders: readAll). */
  async read(): Promise<WorktreeRecord[]> {
    return (await this.readAll()).filter(isWorktreeRecord);
  }

  /** Every record, worktrees and plain folders. */
  async readAll(): Promise<WorkspaceRecord[]> {
    return [...(await this.#current())];
  }

  /** Change the git worktrees (plain-folder records stay as they are); as updateAll. */
  async update(fn: (records: WorktreeRecord[]) => WorktreeRecord[], opts: { wait?: boolean } = {}): Promise<WorktreeRecord[]> {
    const all = await this.updateAll((rs) => [...rs.filter(isFolderRecord), ...fn(rs.filter(isWorktreeRecord))], opts);
    return all.filter(isWorktreeRecord);
  }

  /**
   * Change every record. With `wait` (the default) it resolves once the change is on disk and
   * rejects when it could not be written (it is kept and written later all the same); without,
   * it resolves once the change is made in memory, where every later read sees it.
   */
  async updateAll(fn: (records: WorkspaceRecord[]) => WorkspaceRecord[], opts: { wait?: boolean } = {}): Promise<WorkspaceRecord[]> {
    const next = fn([...(await this.#current())]);
    this.#records = next;
    const version = ++this.#version;
    const written = new Promise<void>((resolve, reject) => this.#waiters.push({ version, resolve, reject }));
    this.#flushSoon();
    if (opts.wait === false)
      written.catch(() => undefined); // logged by #flush
    else await written;
    return [...next];
  }

  /** Resolves once every change made so far is on disk (or its write failed: it is tried again later). */
  async written(): Promise<void> {
    if (this.#written === this.#version) return;
    const version = this.#version;
    await new Promise<void>((resolve) => this.#waiters.push({ version, resolve, reject: () => resolve() }));
  }

  /** The records in memory, read from the file first when there are none yet or it changed on disk. */
  async #current(): Promise<WorkspaceRecord[]> {
    while (this.#loading) await this.#loading;
    const settled = this.#written === this.#version && this.#flushing === undefined;
    if (this.#records === undefined || (settled && stampOf(this.file) !== this.#stamp)) {
      this.#loading ??= this.#load().finally(() => (this.#loading = undefined));
      await this.#loading;
    }
    return this.#records ?? [];
  }

  async #load(): Promise<void> {
    const stamp = stampOf(this.file);
    let records: WorkspaceRecord[] = [];
    let readable = false;
    let text: string | undefined;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      try {
        // Paths as the runner writes them (absolute, normalised), so they compare as text.
        records = FileSchema.parse(JSON.parse(text)).worktrees.map((r) => ({ ...r, path: resolve(r.path) }));
        readable = true;
      } catch (err) {
        // Runtime state, not settings: set the bad file aside; sweep() rediscovers worktrees on disk.
        const aside = `${this.file}.corrupt-${Date.now()}`;
        await rename(this.file, aside).catch(() => undefined);
        this.#log.warn('worktree registry unreadable, set aside', { file: aside, error: errorMessage(err) });
      }
    }
    // A change made here while the file was read is newer than the file: it stays.
    if (this.#records !== undefined && this.#written !== this.#version) return;
    this.#records = records;
    this.#stamp = readable ? stamp : '';
  }

  /**
   * The write starts after the current turn of the event loop: serialising every record takes
   * ~0.3 ms with a day of kept folders, and a task start (which changes the registry just before
   * it spawns its agent) should not wait for it; changes made meanwhile go in the same write.
   */
  #flushSoon(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  /** One write at a time, each with every change made before it started. */
  #flush(): void {
    if (this.#flushing) return;
    clearTimeout(this.#retry);
    this.#flushing = (async () => {
      while (this.#written < this.#version) {
        const version = this.#version;
        try {
          await writeFileAtomic(this.file, JSON.stringify({ version: 1, worktrees: this.#records ?? [] }, null, 1) + '\n');
          this.#stamp = stampOf(this.file);
          this.#written = version;
          this.#settle(version, undefined);
        } catch (err) {
          this.#log.warn('worktree registry not written; kept in memory and tried again', { file: this.file, error: errorMessage(err) });
          this.#settle(version, err);
          this.#retry = setTimeout(() => this.#flush(), RETRY_MS);
          this.#retry.unref();
          return;
        }
      }
    })().finally(() => (this.#flushing = undefined));
  }

  #settle(upTo: number, err: unknown): void {
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i]!;
      if (w.version > upTo) continue;
      this.#waiters.splice(i, 1);
      if (err === undefined) w.resolve();
      else w.reject(err);
    }
  }
}

/**
 * A file's identity for "did it change on disk": mtime, size and inode; '' when it does not exist.
 * One synchronous stat: it runs at every task start, where a thread-pool round trip costs more.
 */
function stampOf(file: string): string {
  const s = statSync(file, { throwIfNoEntry: false });
  return s ? `${s.mtimeMs}:${s.size}:${s.ino}` : '';
}
