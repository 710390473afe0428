import { StringDecoder } from 'node:string_decoder';

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
