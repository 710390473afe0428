import { StringDecoder } from 'node:string_decoder';

/** The longest visible partial line reported (characters; ~2 KiB of ASCII). */
export const PARTIAL_MAX_CHARS = 2048;

/** What a terminal shows of a line redrawn with `\r`: the text after its last carriage return (a trailing `\r` ignored). */
export function visibleText(line: string): string {
  const text = line.replace(/\r+$/, '');
  return text.slice(text.lastIndexOf('\r') + 1);
}

/**
 * Splits a byte stream into lines without unbounded buffering: a line longer than `maxLine`
 * characters is emitted in pieces (the original runner's reader died on lines > 64 KiB, R15).
 * Trailing whitespace is stripped and empty lines skipped, as the original did (§5.13).
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #maxLine: number;
  readonly #emit: (line: string) => void;
  #partial = '';

  constructor(emit: (line: string) => void, maxLine = 64 * 1024) {
    this.#emit = emit;
    this.#maxLine = maxLine;
  }

  /**
   * What a terminal would show of the unterminated line: the text after its last carriage return
   * (progress bars redraw with `\r`), a trailing `\r` ignored, whitespace trimmed, at most
   * `PARTIAL_MAX_CHARS` characters (the end of it). '' when there is none.
   */
  visiblePartial(): string {
    const visible = visibleText(this.#partial).trim();
    return visible.length > PARTIAL_MAX_CHARS ? visible.slice(-PARTIAL_MAX_CHARS) : visible;
  }

  push(chunk: Buffer): void {
    let text = this.#partial + this.#decoder.write(chunk);
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      this.#line(text.slice(start, nl));
      start = nl + 1;
    }
    text = text.slice(start);
    while (text.length > this.#maxLine) {
      this.#line(text.slice(0, this.#maxLine));
      text = text.slice(this.#maxLine);
    }
    this.#partial = text;
  }

  end(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    if (rest) this.#line(rest);
  }

  #line(raw: string): void {
    const line = raw.trimEnd();
    if (line) this.#emit(line);
  }
}

/** The last N lines of a stream, in constant memory. */
export class LineTail {
  readonly #max: number;
  readonly #lines: string[] = [];
  #next = 0;
  total = 0;

  constructor(max = 200) {
    this.#max = max;
  }

  push(line: string): void {
    this.total++;
    if (this.#lines.length < this.#max) this.#lines.push(line);
    else {
      this.#lines[this.#next] = line;
      this.#next = (this.#next + 1) % this.#max;
    }
  }

  lines(): string[] {
    return this.#lines.length < this.#max ? [...this.#lines] : [...this.#lines.slice(this.#next), ...this.#lines.slice(0, this.#next)];
  }

  toString(): string {
    return this.lines().join('\n');
  }
}

/**
 * Reports a splitter's visible partial line (see `LineSplitter.visiblePartial`) at most once per
 * `intervalMs` (ms), the latest value winning, and only when it changed and is not empty: a
 * progress bar redrawn with `\r` a thousand times a second costs one callback per interval.
 * Call `changed()` after each push, `lineEnded()` when the splitter emitted a line (the partial
 * then starts afresh), `close()` when the stream ends (a pending report is dropped).
 */
export class PartialLineReporter {
  readonly #splitter: LineSplitter;
  readonly #report: (text: string) => void;
  readonly #intervalMs: number;
  #last = '';
  #lastAt = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(splitter: LineSplitter, report: (text: string) => void, intervalMs = 250) {
    this.#splitter = splitter;
    this.#report = report;
    this.#intervalMs = intervalMs;
  }

  changed(): void {
    if (this.#closed || this.#timer) return;
    const wait = this.#lastAt + this.#intervalMs - performance.now();
    if (wait <= 0) this.#flush();
    else {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#flush();
      }, wait);
      this.#timer.unref();
    }
  }

  lineEnded(): void {
    this.#last = '';
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #flush(): void {
    if (this.#closed) return;
    const text = this.#splitter.visiblePartial();
    if (text === '' || text === this.#last) return;
    this.#last = text;
    this.#lastAt = performance.now();
    this.#report(text);
  }
}
