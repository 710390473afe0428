import { createReadStream } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { RunnerError } from '../errors.ts';
import { readPartialLines } from './partialLineFile.ts';

/** Reading task logs for `sibyl-runner logs` and the task window: whole, tail, search, follow. */

/** The start of the one line taskLog.ts writes when a log reaches its cap. */
export const TRUNCATED_MARKER = '[sibyl-runner] log truncated at';

export interface TaskLogLine {
  /** ISO time; '' for a line not written by this module */
  at: string;
  stream: string;
  text: string;
}

export function parseLogLine(line: string): TaskLogLine {
  const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) (\S+) ?(.*)$/s.exec(line);
  return m ? { at: m[1]!, stream: m[2]!, text: m[3]! } : { at: '', stream: '', text: line };
}

/**
 * Read a task's log: all of it, the last `tail` lines, or (with `search`, case-insensitive on the
 * text) the last `tail` matching lines. Streams the file, so memory follows the answer, not the file.
 */
export async function readTaskLog(
  path: string,
  opts: { tail?: number; search?: string } = {},
): Promise<{ lines: TaskLogLine[]; truncated: boolean }> {
  try {
    await lstat(path);
  } catch (err) {
    throw new RunnerError('not_found', `no task log at ${path}`, { cause: err });
  }
  const tail = opts.tail !== undefined ? Math.max(0, Math.floor(opts.tail)) : undefined;
  const needle = opts.search?.toLowerCase();
  const start = tail !== undefined && !needle ? await tailOffset(path, tail) : 0;
  let lines: TaskLogLine[] = [];
  const input = createReadStream(path, { start, encoding: 'utf8' });
  for await (const raw of createInterface({ input, crlfDelay: Infinity })) {
    const line = parseLogLine(raw);
    if (needle && !line.text.toLowerCase().includes(needle)) continue;
    lines.push(line);
    if (tail !== undefined && lines.length > 2 * tail + 1024) lines = lines.slice(-tail);
  }
  if (tail !== undefined) lines = tail === 0 ? [] : lines.slice(-tail);
  return { lines, truncated: await endsWithMarker(path) };
}

/** Whether the log was cut at its cap (the marker is its last line). */
async function endsWithMarker(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, 512);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    const last = parseLogLine(buf.toString('utf8').trimEnd().split('\n').pop() ?? '');
    return last.stream === 'runner' && last.text.startsWith(TRUNCATED_MARKER);
  } finally {
    await fh.close();
  }
}

/** Byte offset where the last `n` lines of the file begin (reads backwards in blocks). */
export async function tailOffset(path: string, n: number): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (n <= 0) return size;
    const block = Buffer.alloc(64 * 1024);
    let pos = size;
    let newlines = 0;
    // A final "\n" ends the last line rather than starting an empty one.
    let skipFinal = true;
    while (pos > 0) {
      const len = Math.min(block.length, pos);
      pos -= len;
      await fh.read(block, 0, len, pos);
      for (let i = len - 1; i >= 0; i--) {
        if (block[i] !== 0x0a) {
          skipFinal = false;
          continue;
        }
        if (skipFinal) {
          skipFinal = false;
          continue;
        }
        if (++newlines === n) return pos + i + 1;
      }
    }
    return 0;
  } finally {
    await fh.close();
  }
}

/**
 * `logs TASK_ID --follow`: the last `tail` lines (all with no `tail`), then every line as it is
 * appended, until `signal` aborts or `until` says the task has ended. `until` is asked before each
 * read: once it is true, that read goes to the end of the file and the follow returns — the task
 * log is complete before a task is recorded as ended (taskRun.ts closes it first). Polls (fs.watch misses appends on some network and container
 * file systems); waits for a file that does not exist yet; starts over if the file shrinks.
 *
 * With `onPartial`, a stream's unterminated line (progress without a newline, from the
 * `<log>.partial` side file the writer keeps) is passed on each time it changes, unless a newer
 * full line of that stream has been read already: it is transient, never part of the log itself.
 */
export async function followTaskLog(
  path: string,
  onLine: (line: TaskLogLine) => void,
  signal: AbortSignal,
  opts: { tail?: number; pollMs?: number; onPartial?: (line: TaskLogLine) => void; until?: () => boolean } = {},
): Promise<void> {
  const pollMs = opts.pollMs ?? 250;
  let offset: number | undefined;
  let decoder = new StringDecoder('utf8');
  let partial = '';
  /** byte offset where `partial` (the file's incomplete last line) starts */
  let lineStart = 0;
  /** per stream, the byte offset just past the last full line read */
  let streamEnd = new Map<string, number>();
  /** per stream, the partial last shown (`at` + text), so each is shown once */
  const shown = new Map<string, string>();
  const buf = Buffer.alloc(256 * 1024);
  while (!signal.aborted) {
    const last = opts.until?.() === true;
    let size: number | undefined;
    try {
      size = (await lstat(path)).size;
    } catch {
      size = undefined;
    }
    if (size !== undefined) {
      if (offset === undefined) {
        offset = opts.tail !== undefined ? await tailOffset(path, opts.tail) : 0;
        lineStart = offset;
      }
      if (size < offset) {
        offset = 0;
        lineStart = 0;
        partial = '';
        decoder = new StringDecoder('utf8');
        streamEnd = new Map();
      }
      if (size > offset) {
        const fh = await open(path, 'r');
        try {
          while (offset < size && !signal.aborted) {
            const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - offset), offset);
            if (bytesRead === 0) break;
            offset += bytesRead;
            const parts = (partial + decoder.write(buf.subarray(0, bytesRead))).split('\n');
            partial = parts.pop() ?? '';
            for (const p of parts) {
              const line = parseLogLine(p);
              lineStart += Buffer.byteLength(p) + 1;
              streamEnd.set(line.stream, lineStart);
              onLine(line);
            }
          }
        } finally {
          await fh.close();
        }
      }
      if (opts.onPartial && !last) {
        const partials = await readPartialLines(path);
        for (const [stream, p] of Object.entries(partials)) {
          if ((streamEnd.get(stream) ?? 0) > p.after || shown.get(stream) === `${p.at} ${p.text}`) continue;
          shown.set(stream, `${p.at} ${p.text}`);
          opts.onPartial({ at: p.at, stream, text: p.text });
        }
      }
    }
    if (last) return;
    try {
      await sleep(pollMs, undefined, { signal });
    } catch {
      return; // aborted
    }
  }
}
