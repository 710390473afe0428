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

/** The size of `value` as a JSON frame, in bytes. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
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
  if (jsonBytes(text) - 2 <= maxBytes) return text;
  let kept = 0;
  let start = text.length;
  while (start > 0) {
    const code = text.charCodeAt(start - 1);
    // A low surrogate belongs with the high one before it: keep or cut them together.
    const width = code >= 0xdc00 && code <= 0xdfff && start >= 2 ? 2 : 1;
    const cost = jsonBytes(text.slice(start - width, start)) - 2;
    if (kept + cost > maxBytes) break;
    kept += cost;
    start -= width;
  }
  const cutBytes = Buffer.byteLength(text.slice(0, start));
  const where = logPath ? `; the whole output is in ${logPath}` : '';
  return `[sibyl-runner: the first ${cutBytes} bytes of ${field} were cut to fit the message limit${where}]\n${text.slice(start)}`;
}
