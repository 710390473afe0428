import { fdatasync } from 'node:fs';
import {
  closeSync,
  copyFileSync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { RunnerError, errorMessage } from '../errors.ts';
import { logger, type Logger } from '../logger.ts';
import type { OutboxStore } from '../link/outbox.ts';
import type { DurableMessage, TaskComplete } from '../protocol/messages.ts';
import { parseRecord, type JournalRecord } from './records.ts';
import { JournalState, type InterruptedTask } from './journalState.ts';

export type { InterruptedTask } from './journalState.ts';

/**
 * The runner's memory across crashes: an append-only JSON-lines file in the state dir recording
 * every task state change, plus the durable outbox (task_ack / task_reject / task_complete).
 *
 * Lines are written synchronously, in order (a killed runner loses none: they are in the page
 * cache). Flushing them to the disk (fdatasync) is a group commit off the event loop: one flush at
 * a time, covering every line written before it started, so ten tasks finishing together pay for
 * one or two flushes, and a pickup never waits for one. What must be on disk before it leaves —
 * a task_complete (finish) — is held back by the outbox until a flush covers it (whenDurable);
 * `started` and the outbox lines ask for a flush without anyone waiting (a power loss in that
 * window also ends the agent, and the server re-dispatches an unacked task after its lease); the
 * others (workspace, launch, sent) ride along with the next flush or close(). A lost `sent` line
 * only means a message is sent again, which the server tolerates (§10 item 4).
 */

export const JOURNAL_FILE = 'journal.jsonl';
const DEFAULT_COMPACT_AT = 4 * 1024 * 1024;
const PROMPT_EXCERPT = 200;
const COMMAND_ARG_MAX = 1000;
/** While the disk refuses journal lines, how often writing them is tried again (ms). */
const DEFER_RETRY_MS = 2000;

export interface AssignedTask {
  taskId: string;
  agentId: string;
  projectId: string;
  prompt: string;
  command: string[];
}

export interface StartedProcess {
  pid: number;
  /** the agent is spawned detached, so this is its pid on POSIX */
  pgid: number;
  /** processStartTime(pid), taken right after spawn */
  startTime: string | undefined;
  logPath: string | undefined;
  /** the run's SIBYL_TASK_MARKER: recovery also kills what left the group with it */
  marker?: string | undefined;
}

export type InterruptedRunningTask = InterruptedTask & { process: NonNullable<InterruptedTask['process']> };

export interface JournalOptions {
  /** Rewrite the file once it grows past this (default 4 MiB). */
  compactAtBytes?: number;
  log?: Logger;
}

export class Journal implements OutboxStore {
  readonly path: string;
  readonly #dir: string;
  readonly #log: Logger;
  readonly #compactAt: number;
  readonly #state = new JournalState();
  readonly #previousRun: ReadonlySet<string>;
  #fd: number | undefined;
  #bytes = 0;
  #compactedBytes = 0;

  /** Open (or create) `<stateDir>/journal.jsonl`, replay it and compact it. */
  static open(stateDir: string, opts: JournalOptions = {}): Journal {
    return new Journal(stateDir, opts);
  }

  private constructor(stateDir: string, opts: JournalOptions) {
    this.#dir = stateDir;
    this.path = join(stateDir, JOURNAL_FILE);
    this.#log = opts.log ?? logger('journal');
    this.#compactAt = opts.compactAtBytes ?? DEFAULT_COMPACT_AT;
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.#replay();
    this.#previousRun = new Set(this.#state.live.keys());
    // Rewriting at open also drops a torn last line and corrupt lines before anything is appended.
    this.compact();
  }

  // ---- task state ----------------------------------------------------------------------------

  /**
   * Not fsynced by itself: the task_ack enqueued right after it is, and one fdatasync makes both
   * durable. A crash between the two loses an assignment that was never acked, which the server
   * re-dispatches after its 300 s lease (§4.9.4).
   */
  assigned(task: AssignedTask): void {
    this.#append(
      {
        k: 'assigned',
        t: Date.now(),
        task_id: task.taskId,
        agent_id: task.agentId,
        project_id: task.projectId,
        prompt: task.prompt.slice(0, PROMPT_EXCERPT),
        command: task.command.map((a) => a.slice(0, COMMAND_ARG_MAX)),
      },
      false,
    );
  }

  workspaceReady(taskId: string, path: string, branch: string | undefined): void {
    this.#append({ k: 'workspace', t: Date.now(), task_id: taskId, path, branch: branch ?? null }, false);
  }

  /**
   * The run's process marker, before the agent is spawned. Not fsynced: only a power loss could
   * lose it, and that ends the agent too; a `kill -9` of the runner leaves it in the file.
   */
  launching(taskId: string, marker: string): void {
    this.#append({ k: 'launch', t: Date.now(), task_id: taskId, marker }, false);
  }

  /** Flushed in the background (see the class comment); synced() resolves once it is on disk. */
  started(taskId: string, proc: StartedProcess): void {
    this.#append(
      {
        k: 'started',
        t: Date.now(),
        task_id: taskId,
        pid: proc.pid,
        pgid: proc.pgid,
        start_time: proc.startTime ?? null,
        log_path: proc.logPath ?? null,
        ...(proc.marker ? { marker: proc.marker } : {}),
      },
      true,
    );
  }

  /**
   * The task is over: record it and queue its task_complete in one durable line. Once per run of a
   * task: a second, different one is refused (logged) and the first one's seq returned. Returns the
   * outbox seq; the line is on disk once whenDurable(seq) says so, which the outbox waits for
   * before sending it.
   */
  finish(msg: TaskComplete): number {
    const earlier = this.#state.finished.get(msg.task_id);
    if (earlier !== undefined) {
      // The same message again (finish() from an observer, then enqueue() from the outbox) is expected.
      const first = this.#state.outbox.get(earlier)?.msg;
      if (first !== msg && (first === undefined || JSON.stringify(first) !== JSON.stringify(msg))) {
        this.#log.warn('second task_complete for a task ignored', { taskId: msg.task_id, status: msg.result.status });
      }
      return earlier;
    }
    const seq = this.#state.nextSeq;
    // A line the disk refused is sent from memory (see #append): nothing to wait for then.
    if (this.#append({ k: 'finished', t: Date.now(), task_id: msg.task_id, seq, msg }, true)) this.#durableAt.set(seq, this.#appended);
    return seq;
  }

  /**
   * Undefined when the outbox message `seq` may be sent now; else a promise that resolves once the
   * line holding it is on disk (only a task_complete waits). Never rejects: a failed flush is
   * logged and the message goes out from memory, as when the disk refuses the write itself.
   */
  whenDurable(seq: number): Promise<void> | undefined {
    const upTo = this.#durableAt.get(seq);
    if (upTo === undefined) return undefined;
    if (upTo <= this.#synced) {
      this.#durableAt.delete(seq);
      return undefined;
    }
    return this.#syncedUpTo(upTo);
  }

  /** Resolves once every line written so far is on disk. */
  synced(): Promise<void> {
    return this.#appended <= this.#synced ? Promise.resolve() : this.#syncedUpTo(this.#appended);
  }

  // ---- durable outbox --------------------------------------------------------------------------

  /**
   * Written before the caller's first send attempt. A task_complete (the result) goes through
   * finish() and is fsynced before it leaves. An ack or reject is written (so it survives the
   * runner being killed) and fsynced in the background: only a power loss in that sub-millisecond
   * window could lose it, and then the server re-dispatches the task after its lease (§4.9.4) —
   * not worth holding every pickup for a disk flush.
   */
  enqueue(msg: DurableMessage): number {
    if (msg.type === 'task_complete') {
      const earlier = this.#state.finished.get(msg.task_id);
      // A result already delivered that the server asks for again (a re-sent task_assign) is queued once more below.
      if (earlier === undefined || this.#state.outbox.has(earlier)) return this.finish(msg);
    }
    const seq = this.#state.nextSeq;
    this.#append({ k: 'outbox', t: Date.now(), seq, msg }, true);
    return seq;
  }

  // ---- group commit ----------------------------------------------------------------------------

  /** Lines written since the journal was opened (compaction does not reset it). */
  #appended = 0;
  /** Of those, how many are known to be on disk. */
  #synced = 0;
  #syncing = false;
  readonly #syncWaiters: { upTo: number; resolve: () => void }[] = [];
  /** finished lines not yet known to be on disk: outbox seq → the line's number (#appended after it) */
  readonly #durableAt = new Map<number, number>();

  #syncedUpTo(upTo: number): Promise<void> {
    const done = new Promise<void>((resolve) => this.#syncWaiters.push({ upTo, resolve }));
    this.#syncSoon();
    return done;
  }

  /** One background fdatasync at a time, covering every line written before it started. */
  #syncSoon(): void {
    if (this.#syncing || this.#synced >= this.#appended) return;
    const fd = this.#fd;
    if (fd === undefined) return this.#markSynced(this.#appended);
    this.#syncing = true;
    const upTo = this.#appended;
    fdatasync(fd, (err) => {
      this.#syncing = false;
      // EBADF: compaction or close replaced the file meanwhile, and flushed it themselves.
      if (err && err.code !== 'EBADF')
        this.#log.error('journal flush to disk failed; results are still sent', { path: this.path, error: errorMessage(err) });
      this.#markSynced(upTo);
      this.#syncSoon();
    });
  }

  #markSynced(upTo: number): void {
    if (upTo > this.#synced) this.#synced = upTo;
    for (let i = this.#syncWaiters.length - 1; i >= 0; i--) {
      const w = this.#syncWaiters[i]!;
      if (w.upTo > this.#synced) continue;
      this.#syncWaiters.splice(i, 1);
      w.resolve();
    }
    for (const [seq, at] of this.#durableAt) if (at <= this.#synced) this.#durableAt.delete(seq);
  }

  markSent(seq: number): void {
    if (!this.#state.outbox.has(seq)) return;
    this.#append({ k: 'sent', t: Date.now(), seq }, false);
  }

  /** Unsent messages, oldest first. */
  pendingOutbox(): { seq: number; msg: DurableMessage }[] {
    return [...this.#state.outbox.values()].map((r) => ({ seq: r.seq, msg: r.msg }));
  }

  /** OutboxStore's name for pendingOutbox(), so the link's Outbox can use the journal directly. */
  pending(): { seq: number; msg: DurableMessage }[] {
    return this.pendingOutbox();
  }

  // ---- recovery --------------------------------------------------------------------------------

  /** Every task the previous run accepted and did not finish (including ones never started). */
  unfinishedFromPreviousRun(): InterruptedTask[] {
    return [...this.#previousRun].flatMap((id) => {
      const t = this.#state.live.get(id);
      return t ? [structuredClone(t)] : [];
    });
  }

  /** The previous run's tasks whose agent process was started and never reported finished. */
  runningFromPreviousRun(): InterruptedRunningTask[] {
    return this.unfinishedFromPreviousRun().filter((t): t is InterruptedRunningTask => t.process !== undefined);
  }

  get stats(): { bytes: number; liveTasks: number; pendingOutbox: number; nextSeq: number } {
    return { bytes: this.#bytes, liveTasks: this.#state.live.size, pendingOutbox: this.#state.outbox.size, nextSeq: this.#state.nextSeq };
  }

  /** Rewrite the file with only live state (unfinished tasks, unsent messages): temp file, fsync, rename. */
  compact(): void {
    const data = this.#state
      .snapshot(Date.now())
      .map((r) => JSON.stringify(r) + '\n')
      .join('');
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeAll(fd, Buffer.from(data));
      fdatasyncSync(fd);
    } catch (err) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw new RunnerError('journal_unwritable', `cannot write ${tmp}: ${errorMessage(err)} (is the disk full?)`, { cause: err });
    }
    closeSync(fd);
    renameSync(tmp, this.path);
    fsyncDir(this.#dir);
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = openSync(this.path, 'a', 0o600);
    // The new file holds all live state, flushed above: every line so far is on disk in it.
    this.#markSynced(this.#appended);
    this.#bytes = Buffer.byteLength(data);
    this.#compactedBytes = this.#bytes;
    // The snapshot was taken from memory, which already holds any lines the disk refused before.
    this.#deferred.length = 0;
    clearInterval(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  close(): void {
    if (this.#fd === undefined) return;
    clearInterval(this.#retryTimer);
    this.#retryTimer = undefined;
    if (!this.#writeDeferred())
      this.#log.error('the journal could not be written before closing; its last lines are lost', {
        lines: this.#deferred.length,
        path: this.path,
        remedy: 'freeDisk',
      });
    try {
      fdatasyncSync(this.#fd);
    } catch (err) {
      this.#log.warn('journal flush at close failed', { error: errorMessage(err) });
    } finally {
      closeSync(this.#fd);
      this.#fd = undefined;
      this.#markSynced(this.#appended);
    }
  }

  // ---- internals -------------------------------------------------------------------------------

  /**
   * Write one line (and start a flush to disk when `durable`: see the class comment) and apply it.
   * Returns false when the disk refuses the write (full, quota, I/O error): the line is not lost
   * but applied in memory, so the runner goes on (the result is sent from memory), kept in order
   * with every later line, and written when the disk takes it again (retried every DEFER_RETRY_MS
   * and before each later append). Only a restart before then loses those lines, which the error
   * logged here says.
   */
  #append(rec: JournalRecord, durable: boolean): boolean {
    if (this.#fd === undefined) throw new RunnerError('journal_closed', 'the journal is closed');
    const line = JSON.stringify(rec) + '\n';
    if (this.#deferred.length > 0 && !this.#writeDeferred()) {
      this.#deferred.push(line);
      this.#state.apply(rec);
      return false;
    }
    try {
      this.#write(Buffer.from(line), false);
    } catch (err) {
      this.#defer(line, err);
      this.#state.apply(rec);
      return false;
    }
    this.#appended++;
    this.#state.apply(rec);
    // Compact only when at least half the file is dead, so a large live state cannot make every append compact.
    if (this.#bytes > this.#compactAt && this.#bytes > 2 * this.#compactedBytes) this.#compactQuietly();
    if (durable) this.#syncSoon();
    return true;
  }

  /** Append bytes at the end, or leave the file as it was (a half-written line is cut off) and throw. */
  #write(buf: Buffer, durable: boolean): void {
    const fd = this.#fd;
    if (fd === undefined) throw new RunnerError('journal_closed', 'the journal is closed');
    try {
      writeAll(fd, buf);
      if (durable) fdatasyncSync(fd);
    } catch (err) {
      try {
        ftruncateSync(fd, this.#bytes);
      } catch {
        /* the replay will skip it as a corrupt line */
      }
      throw err;
    }
    this.#bytes += buf.length;
  }

  readonly #deferred: string[] = [];
  #retryTimer: NodeJS.Timeout | undefined;

  #defer(line: string, err: unknown): void {
    this.#deferred.push(line);
    this.#log.error('cannot write the journal; keeping its lines in memory until the disk takes them', {
      path: this.path,
      error: errorMessage(err),
      code: (err as NodeJS.ErrnoException).code,
      remedy: 'freeDisk',
    });
    this.#retryTimer ??= setInterval(() => {
      if (this.#fd !== undefined) this.#writeDeferred();
    }, DEFER_RETRY_MS);
    this.#retryTimer.unref();
  }

  /** Try to write the deferred lines, in order, durably. True when none are left. */
  #writeDeferred(): boolean {
    if (this.#deferred.length === 0) return true;
    try {
      this.#write(Buffer.from(this.#deferred.join('')), true);
    } catch {
      return false;
    }
    this.#log.info('the journal is written again', { lines: this.#deferred.length, path: this.path });
    this.#deferred.length = 0;
    clearInterval(this.#retryTimer);
    this.#retryTimer = undefined;
    return true;
  }

  /** Lines held in memory because the disk refused them (0 in normal operation). */
  get deferredLines(): number {
    return this.#deferred.length;
  }

  #compactQuietly(): void {
    try {
      this.compact();
    } catch (err) {
      // The appended file is intact; compaction is tried again at the next threshold.
      this.#log.warn('journal compaction failed', { error: errorMessage(err) });
    }
  }

  #replay(): void {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new RunnerError('journal_unreadable', `cannot read ${this.path}: ${errorMessage(err)}`, { cause: err });
    }
    const lines = text.split('\n');
    // Every complete line ends with "\n": what follows the last one was cut off by a crash.
    const tail = lines.pop() ?? '';
    const bad: number[] = [];
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      const rec = parseRecord(line);
      if (rec) this.#state.apply(rec);
      else bad.push(i + 1);
    });
    if (tail !== '') {
      const rec = parseRecord(tail);
      if (rec) this.#state.apply(rec);
      else this.#log.info('ignored a partial last journal line (interrupted write)', { bytes: Buffer.byteLength(tail) });
    }
    if (bad.length > 0) {
      const copy = `${this.path}.corrupt`;
      try {
        copyFileSync(this.path, copy);
      } catch {
        /* the warning below still says what happened */
      }
      this.#log.warn('skipped corrupt journal lines', { count: bad.length, lines: bad.slice(0, 10), copy });
    }
  }
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/** Make a rename durable. Windows cannot open a directory; there the rename is as durable as it gets. */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* see above */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
