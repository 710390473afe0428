import { openHistory } from '../../runner/services.ts';
import { RunnerError, UsageError } from '../../runner/errors.ts';
import { followTaskLog, readTaskLog, type TaskLogLine } from '../../runner/tasks/taskLog.ts';
import { linePrinter, parse, println, RAW_OPTION, type Io } from '../args.ts';
import { commandContext } from '../context.ts';
import { HELP } from '../help.ts';

type Print = typeof println;
const show = (io: Io, print: Print, l: TaskLogLine): void => print(io.stdout, `${l.at} ${l.stream.padEnd(6)} ${l.text}`);
/** An unterminated line (progress without a newline yet): shown while following, marked, never stored as a line. */
const showPartial = (io: Io, print: Print, l: TaskLogLine): void =>
  print(io.stdout, `${l.at} ${l.stream.padEnd(6)} ${l.text} ${PARTIAL_MARK}`);

/** What marks a partial line in `logs --follow` output. */
export const PARTIAL_MARK = '[partial]';

/**
 * `sibyl-runner logs TASK_ID [--follow] [--raw]`: a task's full output, its control characters
 * made visible unless `--raw` (an agent's output must not retitle, clear or write the clipboard of
 * the terminal that reads it).
 */
export async function logsCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
    'logs',
    argv,
    { config: { type: 'string', short: 'c' }, follow: { type: 'boolean', short: 'f' }, search: { type: 'string' }, ...RAW_OPTION },
    1,
  );
  if (values.help) return (println(io.stdout, HELP.logs), 0);
  const taskId = positionals[0];
  if (!taskId) throw new UsageError('which task? `sibyl-runner logs TASK_ID` (ids are in `sibyl-runner history`)');
  const ctx = commandContext(values.config !== undefined ? { config: values.config } : {}, io);
  const store = openHistory(ctx.config);
  const rec = store.get(taskId);
  store.close();
  if (!rec) throw new RunnerError('not_found', `no task ${taskId} in the history`);
  if (!rec.logPath) throw new RunnerError('not_found', `task ${taskId} has no log (it was ${rec.status} before its agent started)`);
  const print = linePrinter(values.raw);
  if (!values.follow) {
    const { lines } = await readTaskLog(rec.logPath, values.search ? { search: values.search } : {});
    for (const l of lines) show(io, print, l);
    return 0;
  }
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await followTaskLog(rec.logPath, (l) => show(io, print, l), ac.signal, { onPartial: (l) => showPartial(io, print, l) });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}
