import { setTimeout as sleep } from 'node:timers/promises';
import { openHistory } from '../../runner/services.ts';
import { RunnerError, UsageError } from '../../runner/errors.ts';
import type { HistoryStore } from '../../runner/history/historyStore.ts';
import { LIVE_STATUSES, type HistoryRecord } from '../../runner/history/schema.ts';
import { followTaskLog, readTaskLog, type TaskLogLine } from '../../runner/tasks/taskLog.ts';
import { duration, shortId, taskPhaseLabel, taskReason } from '../../runner/vocabulary.ts';
import { linePrinter, parse, println, RAW_OPTION, type Io } from '../args.ts';
import { commandContext } from '../context.ts';
import { HELP } from '../help.ts';
import { resolveTaskId } from '../idPrefix.ts';

type Print = typeof println;
const show = (io: Io, print: Print, l: TaskLogLine): void => print(io.stdout, `${l.at} ${l.stream.padEnd(6)} ${l.text}`);
/** An unterminated line (progress without a newline yet): shown while following, marked, never stored as a line. */
const showPartial = (io: Io, print: Print, l: TaskLogLine): void =>
  print(io.stdout, `${l.at} ${l.stream.padEnd(6)} ${l.text} ${PARTIAL_MARK}`);

/** What marks a partial line in `logs --follow` output. */
export const PARTIAL_MARK = '[partial]';

/** How often `--follow` asks the history whether the task has ended (and, before its log exists, whether it has one yet). */
const POLL_MS = 250;

/**
 * `sibyl-runner logs TASK_ID [--follow] [--raw]`: a task's full output, its control characters
 * made visible unless `--raw` (an agent's output must not retitle, clear or write the clipboard of
 * the terminal that reads it). TASK_ID is any unique start of the id (idPrefix.ts). `--follow`
 * ends with the task: exit 0 when it completed, 1 otherwise (its end said on stderr).
 */
export async function logsCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
    'logs',
    argv,
    { config: { type: 'string', short: 'c' }, follow: { type: 'boolean', short: 'f' }, search: { type: 'string' }, ...RAW_OPTION },
    1,
  );
  if (values.help) return (println(io.stdout, HELP.logs), 0);
  const typed = positionals[0];
  if (!typed) throw new UsageError('which task? `sibyl-runner logs TASK_ID` (ids are in `sibyl-runner history`)');
  const ctx = commandContext(values.config !== undefined ? { config: values.config } : {}, io);
  const store = openHistory(ctx.config);
  try {
    const taskId = resolveTaskId(store, typed);
    const print = linePrinter(values.raw);
    if (values.follow) return await follow(io, store, taskId, print);
    const rec = store.get(taskId);
    if (!rec?.logPath) throw new RunnerError('not_found', noLog(taskId, rec));
    const { lines } = await readTaskLog(rec.logPath, values.search ? { search: values.search } : {});
    for (const l of lines) show(io, print, l);
    return 0;
  } finally {
    store.close();
  }
}

/** Why a task has no log: it is still being prepared (and `--follow` waits), or it ended before its agent started. */
function noLog(taskId: string, rec: HistoryRecord | undefined): string {
  if (rec && LIVE_STATUSES.includes(rec.status))
    return `task ${shortId(taskId)} has no log yet: its workspace is being prepared (--follow waits for it)`;
  return `task ${shortId(taskId)} has no log: it was ${rec ? taskPhaseLabel(rec.status).toLowerCase() : 'removed'} before its agent started`;
}

/**
 * Prints the log as it grows until the task ends (or SIGINT/SIGTERM), then says how it ended.
 * A task still being prepared has no log yet: it is waited for. Exit 0 for a completed task, 1
 * for any other end, 0 when interrupted.
 */
async function follow(io: Io, store: HistoryStore, taskId: string, print: Print): Promise<number> {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const record = (): HistoryRecord | undefined => store.get(taskId);
  const ended = (): boolean => {
    const status = record()?.status;
    return status === undefined || !LIVE_STATUSES.includes(status);
  };
  try {
    let rec = record();
    while (rec && !rec.logPath && !ended() && !ac.signal.aborted) {
      await sleep(POLL_MS, undefined, { signal: ac.signal }).catch(() => undefined);
      rec = record();
    }
    if (rec?.logPath && !ac.signal.aborted)
      await followTaskLog(rec.logPath, (l) => show(io, print, l), ac.signal, {
        onPartial: (l) => showPartial(io, print, l),
        until: ended,
        pollMs: POLL_MS,
      });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  if (ac.signal.aborted) return 0;
  const done = record();
  if (!done) throw new RunnerError('not_found', `task ${shortId(taskId)} is no longer in the history`);
  println(io.stderr, endLine(done));
  return done.status === 'completed' ? 0 : 1;
}

/**
 * How the task ended, in one sentence: "Task 1a2b3c4d completed after 1m 05s.", "Task 1a2b3c4d
 * failed after 2s: Exit code 3.", "Task 1a2b3c4d cancelled by Sibyl after 4s.", "Task 1a2b3c4d
 * timed out after 30m 00s."
 */
function endLine(t: HistoryRecord): string {
  const reason = taskReason(t);
  const label = taskPhaseLabel(t.status).toLowerCase();
  // A reason that starts with the status ("Cancelled by Sibyl", "Timed out after 30m 00s") says it better than the label.
  const lead = reason.toLowerCase().startsWith(label) ? reason.charAt(0).toLowerCase() + reason.slice(1) : label;
  const detail = reason && lead === label ? `: ${reason}` : '';
  const took = t.durationS === null || (lead !== label && t.status === 'timeout') ? '' : ` after ${duration(t.durationS)}`;
  return `Task ${shortId(t.taskId)} ${lead}${took}${detail}.`;
}
