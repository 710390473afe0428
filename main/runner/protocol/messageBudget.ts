import type { DurableMessage, TaskComplete } from './messages.ts';

/**
 * Every frame the runner sends fits this many bytes of UTF-8 JSON. The server's frame limit is
 * 16 MiB (uvicorn's default; a bigger frame is closed with 1009 and lost): 1 MiB keeps far under
 * it, and under what a server wants to store as one task's result JSON.
 */
export const MESSAGE_BUDGET_BYTES = 1024 * 1024;

/** Each output tail in a task_complete keeps at most this many bytes of JSON (its end, the useful part). */
export const TAIL_BUDGET_BYTES = 256 * 1024;

/** Any other text field of a result (error, output, …) keeps at most this many bytes of JSON. */
const FIELD_BUDGET_BYTES = 16 * 1024;

/**
 * The size of `value` (plain JSON data) as JSON.stringify's UTF-8 output, in bytes. Long strings
 * are counted, not stringified: escaping megabytes of control characters takes V8 about a second.
 */
export function jsonBytes(value: unknown): number {
  if (typeof value === 'string') return value.length > 4096 ? jsonStringBytes(value) : Buffer.byteLength(JSON.stringify(value));
  if (Array.isArray(value)) {
    const items: unknown[] = value;
    return 2 + Math.max(0, items.length - 1) + items.reduce<number>((n, v) => n + (v === undefined ? 4 : jsonBytes(v)), 0);
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return 2 + Math.max(0, entries.length - 1) + entries.reduce((n, [k, v]) => n + jsonBytes(k) + 1 + jsonBytes(v), 0);
  }
  return Buffer.byteLength(JSON.stringify(value) ?? 'null');
}

/** jsonBytes of a string, counted character by character (quotes included). */
function jsonStringBytes(text: string): number {
  let n = 2;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    if (code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      n += 4;
      i++;
    } else n += jsonCharBytes(code);
  }
  return n;
}

/**
 * The message as it may go on the wire: a task_complete whose output tails or text fields would
 * push it past MESSAGE_BUDGET_BYTES gets them cut by bytes of JSON (a NUL byte costs six), keeping
 * their ends, with a marker saying how much was cut and where the whole log is. Other messages and
 * messages within budget come back unchanged. Returns undefined when even a cut message cannot fit
 * (only an absurd server-given id could do that): such a message can never be delivered.
 */
export function fitToBudget<M extends DurableMessage>(msg: M, budget = MESSAGE_BUDGET_BYTES): M | undefined {
  if (jsonBytes(msg) <= budget) return msg;
  if (msg.type !== 'task_complete') return undefined;
  const fitted = cutResult(msg, Math.min(TAIL_BUDGET_BYTES, budget / 4), Math.min(FIELD_BUDGET_BYTES, budget / 16));
  // Same type as the input: only a task_complete is ever cut.
  return jsonBytes(fitted) <= budget ? (fitted as M) : undefined;
}

function cutResult(msg: TaskComplete, tailBytes: number, fieldBytes: number): TaskComplete {
  const logPath = msg.result.log_path;
  const result: Record<string, unknown> = { ...msg.result };
  for (const [key, value] of Object.entries(result)) {
    if (typeof value !== 'string') continue;
    const isTail = key === 'stdout' || key === 'stderr';
    result[key] = keepEnd(value, isTail ? tailBytes : fieldBytes, key, logPath);
  }
  // Structured extras (commits, steps, denials) are bounded where they are made; an unbounded one is dropped whole.
  for (const [key, value] of Object.entries(result)) {
    if (typeof value === 'object' && value !== null && jsonBytes(value) > fieldBytes * 4) {
      result[key] = undefined;
      result[`${key}_cut`] = `${jsonBytes(value)} bytes of JSON left out to fit the message limit`;
    }
  }
  const error = msg.error === undefined ? undefined : keepEnd(msg.error, fieldBytes, 'error', logPath);
  return {
    ...msg,
    ...(error !== undefined ? { error } : {}),
    result: { ...(result as TaskComplete['result']), truncated: true },
  };
}

/**
 * The longest end of `text` whose JSON encoding (quotes aside) fits `maxBytes`, after a marker line
 * naming how many bytes of `field` were cut and where the whole log is.
 */
export function keepEnd(text: string, maxBytes: number, field: string, logPath: string | undefined): string {
  if (text.length * 6 <= maxBytes || jsonBytes(text) - 2 <= maxBytes) return text;
  let kept = 0;
  let start = text.length;
  while (start > 0) {
    const code = text.charCodeAt(start - 1);
    const high = start >= 2 ? text.charCodeAt(start - 2) : 0;
    // A low surrogate belongs with the high one before it: keep or cut them together.
    const pair = code >= 0xdc00 && code <= 0xdfff && high >= 0xd800 && high <= 0xdbff;
    const cost = pair ? 4 : jsonCharBytes(code);
    if (kept + cost > maxBytes) break;
    kept += cost;
    start -= pair ? 2 : 1;
  }
  const cutBytes = Buffer.byteLength(text.slice(0, start));
  const where = logPath ? `; the whole output is in ${logPath}` : '';
  // Of this field as it was (a tail of the output already): not of everything the agent printed.
  return `[sibyl-runner: ${cutBytes} bytes cut from the start of ${field} to fit the message limit${where}]\n${text.slice(start)}`;
}

/** Bytes one UTF-16 unit (not part of a surrogate pair) takes in JSON.stringify's UTF-8 output. */
function jsonCharBytes(code: number): number {
  if (code === 0x22 || code === 0x5c) return 2; // \" and \\
  if (code < 0x20) return code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d ? 2 : 6;
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  if (code >= 0xd800 && code <= 0xdfff) return 6; // a lone surrogate is escaped as \udxxx
  return 3;
}
