import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';

/**
 * The agent's unterminated lines (progress redrawn with `\r`, no newline yet), for `logs --follow`.
 * They are not log records: the log stores each line once, when it ends. They live in a small
 * side file, `<log>.partial`, rewritten at most once per interval (latest wins) and removed when
 * the log closes, as JSON `{ "stdout"?: PartialLine, "stderr"?: PartialLine }`.
 */

export interface PartialLine {
  /** ISO time the text was seen */
  at: string;
  /** what a terminal would show: the text after the line's last `\r` */
  text: string;
  /**
   * Byte offset in the log just past the stream's last full line when the text was seen. A reader
   * that has read a line of the same stream ending beyond it knows the partial is stale.
   */
  after: number;
}

export type PartialStream = 'stdout' | 'stderr';
export type PartialLines = Partial<Record<PartialStream, PartialLine>>;

export function partialLinePath(logPath: string): string {
  return `${logPath}.partial`;
}

/** The side file's content; {} when there is none (no partial line, or the task ended). */
export async function readPartialLines(logPath: string): Promise<PartialLines> {
  let text: string;
  try {
    text = await readFile(partialLinePath(logPath), 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(text);
    const out: PartialLines = {};
    for (const stream of ['stdout', 'stderr'] as const) {
      const p = (parsed as Record<string, unknown> | null)?.[stream] as Partial<PartialLine> | undefined;
      if (typeof p?.at === 'string' && typeof p.text === 'string' && typeof p.after === 'number')
        out[stream] = { at: p.at, text: p.text, after: p.after };
    }
    return out;
  } catch {
    return {}; // written by rename, so never half; anything else is not ours to show
  }
}

/** Writer of the side file. Never throws: a partial line is a courtesy, the log is the record. */
export class PartialLineFile {
  readonly #path: string;
  readonly #intervalMs: number;
  readonly #current: PartialLines = {};
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #lastWriteAt = Number.NEGATIVE_INFINITY;
  #removed = false;

  /** `intervalMs`: minimum gap between two rewrites (ms). */
  constructor(logPath: string, intervalMs: number) {
    this.#path = partialLinePath(logPath);
    this.#intervalMs = intervalMs;
  }

  set(stream: PartialStream, line: PartialLine): void {
    if (this.#removed) return;
    this.#current[stream] = line;
    this.#schedule();
  }

  clear(stream: PartialStream): void {
    if (this.#removed || this.#current[stream] === undefined) return;
    delete this.#current[stream];
    this.#schedule();
  }

  /** Stop writing and delete the file (waits for a write under way). */
  async remove(): Promise<void> {
    this.#removed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#writing;
    // Also one a crashed earlier run of this task left behind.
    await rm(this.#path, { force: true }).catch(() => undefined);
  }

  #schedule(): void {
    if (this.#removed) return;
    this.#dirty = true;
    if (this.#timer || this.#writing) return;
    const wait = this.#lastWriteAt + this.#intervalMs - performance.now();
    if (wait <= 0) this.#write();
    else {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#write();
      }, wait);
      this.#timer.unref();
    }
  }

  #write(): void {
    if (this.#removed || !this.#dirty) return;
    this.#dirty = false;
    this.#lastWriteAt = performance.now();
    const tmp = `${this.#path}.${randomBytes(4).toString('hex')}`;
    // Renamed into place, so a reader never sees half a file.
    this.#writing = writeFile(tmp, JSON.stringify(this.#current), { mode: 0o600 })
      .then(() => rename(tmp, this.#path))
      .catch(() => rm(tmp, { force: true }).catch(() => undefined))
      .finally(() => {
        this.#writing = undefined;
        if (this.#dirty) this.#schedule();
      });
  }
}
