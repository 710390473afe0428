import { createWriteStream, mkdirSync, statSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { errorMessage } from '../errors.ts';
import { logger } from '../logger.ts';
import { PartialLineFile } from './partialLineFile.ts';
import { TRUNCATED_MARKER } from './taskLogReader.ts';

export { followTaskLog, parseLogLine, readTaskLog, tailOffset, type TaskLogLine } from './taskLogReader.ts';
export { partialLinePath } from './partialLineFile.ts';

/**
 * Writing a task's log (reading it: taskLogReader.ts). One file per task: every line of the
 * agent's stdout/stderr plus the runner's own notes, as `<ISO time> <stream> <text>`. Bounded
 * twice: the file stops at `maxBytes` with one marker line, and memory stops at `maxPendingBytes`
 * — when the disk cannot keep up with a burst, lines are dropped and counted (a marker says how
 * many) rather than queued without limit. `write` never blocks: it runs in the pipes' handlers.
 */

export type LogStream = 'stdout' | 'stderr' | 'runner';

export interface TaskLogWriter {
  write(stream: LogStream, line: string): void;
  /**
   * The agent's unterminated line on `stream` is now `text` (progress redrawn with `\r`). Not
   * stored in the log — the full line is, once it ends — but kept in a transient side file
   * (`<log>.partial`, see partialLineFile.ts) that `logs --follow` shows; removed on close.
   */
  partial(stream: 'stdout' | 'stderr', text: string): void;
  /** Flush, say how many lines were dropped (if any), and close the file. */
  close(): Promise<void>;
  /** bytes in the file, including what is still being flushed */
  readonly bytes: number;
  readonly truncated: boolean;
  /** lines dropped because the disk fell behind (not counting those after truncation) */
  readonly droppedLines: number;
  /** high-water mark of bytes held in memory waiting for the disk */
  readonly peakPendingBytes: number;
  /** more than half the pending budget is waiting for the disk: the producer should pause */
  readonly congested: boolean;
  /** calls `cb` once the disk has caught up (at once when not congested) */
  whenDrained(cb: () => void): void;
}

export interface TaskLogOptions {
  maxBytes?: number;
  maxPendingBytes?: number;
  maxLineChars?: number;
  /** minimum gap between two rewrites of the partial-line side file (ms); default 1000 */
  partialIntervalMs?: number;
}

export const DEFAULT_MAX_LOG_BYTES = 50 * 1024 * 1024;
const DEFAULT_MAX_PENDING = 2 * 1024 * 1024;
const DEFAULT_MAX_LINE_CHARS = 64 * 1024;
const BATCH_BYTES = 64 * 1024;
/**
 * The buffers a log's batches are encoded into and written from, reused once written (bytes each,
 * and how many at most). Writing the joined string made a new buffer per batch, held until the
 * disk took it: long enough to reach V8's old generation, where it is freed only by a full
 * collection, so an agent printing 50 MB grew the runner by ~35 MB of dead buffers (issue 16).
 * A batch that does not fit (one very long line) is written as a string.
 */
const WRITE_BUFFER_BYTES = 2 * BATCH_BYTES;
const WRITE_BUFFERS = 8;

/** `<logDir>/<taskId>.log`. Task ids are checked as safe names before a task is accepted (taskSpec.ts). */
export function taskLogPath(logDir: string, taskId: string): string {
  if (taskId === '' || /[/\\\0]/.test(taskId) || taskId.includes('..'))
    throw new RangeError(`not a usable task id for a file name: ${JSON.stringify(taskId)}`);
  return join(logDir, `${taskId}.log`);
}

export function openTaskLog(path: string, opts: TaskLogOptions = {}): TaskLogWriter {
  return new TaskLogFile(path, opts);
}

class TaskLogFile implements TaskLogWriter {
  readonly #maxBytes: number;
  readonly #maxPending: number;
  readonly #maxLine: number;
  readonly #out: WriteStream;
  readonly #closed: Promise<void>;
  #chunks: string[] = [];
  #chunkBytes = 0;
  /** write buffers free for the next batch, and how many were made */
  readonly #freeBuffers: Buffer[] = [];
  #buffersMade = 0;
  #flushScheduled = false;
  #bytes: number;
  #truncated = false;
  #dropped = 0;
  #droppedUnreported = 0;
  #peakPending = 0;
  #ended = false;
  #failed = false;
  /** byte offset just past each stream's last entry: a partial line is newer than that line */
  readonly #streamEnd = new Map<string, number>();
  readonly #partials: PartialLineFile;
  /** the file's size when opened: a reopened log's earlier lines are older than any partial */
  readonly #openedAt: number;

  constructor(path: string, opts: TaskLogOptions) {
    this.#maxBytes = opts.maxBytes ?? DEFAULT_MAX_LOG_BYTES;
    this.#maxPending = opts.maxPendingBytes ?? DEFAULT_MAX_PENDING;
    this.#maxLine = opts.maxLineChars ?? DEFAULT_MAX_LINE_CHARS;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    let existing = 0;
    try {
      existing = statSync(path).size;
    } catch {
      /* a new log */
    }
    this.#bytes = existing;
    this.#openedAt = existing;
    // Appending: a log reopened after a restart keeps what the previous run wrote, and its cap.
    this.#truncated = existing >= this.#maxBytes;
    this.#out = createWriteStream(path, { flags: 'a', mode: 0o600 });
    this.#partials = new PartialLineFile(path, opts.partialIntervalMs ?? 1000);
    this.#closed = new Promise((resolve) => this.#out.once('close', resolve));
    this.#out.on('error', (err) => {
      // A full disk must not take the task down: the log stops, the task goes on.
      if (!this.#failed) logger('tasklog').warn('task log write failed; further output is not logged', { path, error: errorMessage(err) });
      this.#failed = true;
    });
  }

  get bytes(): number {
    return this.#bytes;
  }
  get truncated(): boolean {
    return this.#truncated;
  }
  get droppedLines(): number {
    return this.#dropped;
  }
  get peakPendingBytes(): number {
    return this.#peakPending;
  }
  get congested(): boolean {
    return !this.#ended && !this.#failed && !this.#truncated && this.#pending() > this.#maxPending / 2;
  }
  whenDrained(cb: () => void): void {
    if (!this.congested) return cb();
    this.#flush();
    let called = false;
    const once = (): void => {
      if (called) return;
      called = true;
      this.#out.off('drain', retry);
      this.#out.off('close', once);
      cb();
    };
    const retry = (): void => {
      if (this.congested) return this.#flush(); // more is queued: write it and wait for the next drain
      once();
    };
    this.#out.on('drain', retry);
    // A failed or closed file never drains: never leave the producer paused on it.
    this.#out.once('close', once);
  }

  partial(stream: 'stdout' | 'stderr', text: string): void {
    if (this.#ended || this.#truncated || this.#failed) return;
    this.#partials.set(stream, { at: new Date().toISOString(), text, after: this.#streamEnd.get(stream) ?? this.#openedAt });
  }

  write(stream: LogStream, line: string): void {
    if (this.#ended || this.#truncated || this.#failed) return;
    // The line that ends a partial is stored whole: the partial it replaces is no longer shown.
    if (stream !== 'runner') this.#partials.clear(stream);
    for (const part of line.split(/\r?\n|\r/)) {
      const text =
        part.length > this.#maxLine ? `${part.slice(0, this.#maxLine)} … [${part.length - this.#maxLine} more characters]` : part;
      const entry = `${new Date().toISOString()} ${stream} ${text}\n`;
      const len = Buffer.byteLength(entry);
      if (this.#pending() + len > this.#maxPending) {
        this.#dropped++;
        this.#droppedUnreported++;
        continue;
      }
      if (this.#droppedUnreported > 0 && !this.#reportDropped()) return;
      if (!this.#add(entry, len)) return;
      this.#streamEnd.set(stream, this.#bytes);
    }
  }

  async close(): Promise<void> {
    await this.#partials.remove();
    if (!this.#ended) {
      this.#ended = true;
      if (!this.#truncated && !this.#failed) this.#reportDropped();
      this.#flush();
      this.#out.end();
    }
    await this.#closed;
  }

  #pending(): number {
    return this.#out.writableLength + this.#chunkBytes;
  }

  /** Adds one line within the cap; at the cap writes the marker instead and stops. */
  #add(entry: string, len: number): boolean {
    if (this.#bytes + len > this.#maxBytes) {
      const marker = `${new Date().toISOString()} runner ${TRUNCATED_MARKER} ${this.#bytes} bytes; further output dropped\n`;
      this.#truncated = true;
      this.#push(marker, Buffer.byteLength(marker));
      this.#flush();
      return false;
    }
    this.#push(entry, len);
    return true;
  }

  #reportDropped(): boolean {
    if (this.#droppedUnreported === 0) return true;
    const note = `${new Date().toISOString()} runner [sibyl-runner] ${this.#droppedUnreported} lines dropped: output came faster than the disk took it\n`;
    this.#droppedUnreported = 0;
    return this.#add(note, Buffer.byteLength(note));
  }

  #push(entry: string, len: number): void {
    this.#chunks.push(entry);
    this.#chunkBytes += len;
    this.#bytes += len;
    this.#peakPending = Math.max(this.#peakPending, this.#pending());
    if (this.#chunkBytes >= BATCH_BYTES) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#chunkBytes === 0 || this.#out.destroyed) return;
    const text = this.#chunks.join('');
    const bytes = this.#chunkBytes;
    this.#chunks = [];
    this.#chunkBytes = 0;
    const buffer = bytes <= WRITE_BUFFER_BYTES ? this.#writeBuffer() : undefined;
    if (!buffer) {
      this.#out.write(text);
      return;
    }
    buffer.write(text, 0, bytes, 'utf8');
    // Free again once written (or failed): the stream holds it until then.
    this.#out.write(buffer.subarray(0, bytes), () => this.#freeBuffers.push(buffer));
  }

  #writeBuffer(): Buffer | undefined {
    const free = this.#freeBuffers.pop();
    if (free) return free;
    if (this.#buffersMade >= WRITE_BUFFERS) return undefined;
    this.#buffersMade++;
    return Buffer.allocUnsafeSlow(WRITE_BUFFER_BYTES);
  }
}
