import { homedir } from 'node:os';
import { locateConfig } from '../../runner/config/loadConfig.ts';
import type { CheckStatus, DoctorReport } from '../../runner/doctor/check.ts';
import { configErrorReport, runDoctor } from '../../runner/doctor/doctor.ts';
import { ConfigError } from '../../runner/errors.ts';
import { configureLogging } from '../../runner/logger.ts';
import { jsonSafe, terminalSafe } from '../../runner/terminalText.ts';
import { parse, println, printlnRaw, type Io } from '../args.ts';
import { commandContext } from '../context.ts';
import { HELP } from '../help.ts';
import { colourOn, painter, SGR, type Sgr } from '../colour.ts';

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗', skip: '–' };
const COLOUR: Record<CheckStatus, Sgr> = { ok: SGR.green, warn: SGR.yellow, fail: SGR.red, skip: SGR.dim };

/** The report for people: a line per check (mark, title, finding), its fix indented below, then a tally. */
function printReport(io: Io, report: DoctorReport): void {
  const colour = painter(colourOn(io));
  const paint = (status: CheckStatus, text: string): string => colour(COLOUR[status], text);
  const width = Math.max(...report.checks.map((c) => c.title.length));
  // The findings quote paths, server answers and versions: made terminal-safe before any colour is added.
  for (const c of report.checks) {
    printlnRaw(io.stdout, `${paint(c.status, MARK[c.status])} ${c.title.padEnd(width)}  ${terminalSafe(c.summary)}`);
    if (c.fix) printlnRaw(io.stdout, `${' '.repeat(width + 4)}${paint(c.status, '→')} ${terminalSafe(c.fix)}`);
  }
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  println(io.stdout);
  if (failed)
    println(
      io.stdout,
      `${plural(failed, 'problem')}${warned ? `, ${plural(warned, 'warning')}` : ''}: the runner cannot work until the problems are fixed.`,
    );
  else if (warned) println(io.stdout, `No problems, ${plural(warned, 'warning')}.`);
  else println(io.stdout, 'No problems found.');
}

/**
 * `sibyl-runner doctor [--json] [--config PATH]`: every check (runner/doctor/), printed for people
 * or as JSON. Exit 1 when any check fails, 0 otherwise; a configuration that cannot be read is
 * itself a failed check.
 */
export async function doctorCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('doctor', argv, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } });
  if (values.help) return (println(io.stdout, HELP.doctor), 0);
  // The report says what went wrong; log lines (a token renewal, a warning) would only interleave with it.
  configureLogging({ quiet: true });
  const startedAt = Date.now();
  let report: DoctorReport;
  try {
    const ctx = commandContext(values.config !== undefined ? { config: values.config } : {}, io);
    report = await runDoctor({ loaded: ctx, env: io.env, home: ctx.home, credentials: ctx.credentials });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const path = locateConfig(values.config, io.env, io.env.HOME || homedir());
    const file = typeof err.context.file === 'string' ? err.context.file : undefined;
    const summary = file && !err.message.includes(file) ? `${file}: ${err.message}` : err.message;
    report = configErrorReport(path, summary, file ? `edit ${file}` : 'correct the environment variable or option named above', startedAt);
  }
  if (values.json) printlnRaw(io.stdout, jsonSafe(JSON.stringify(report, null, 2)));
  else printReport(io, report);
  return report.ok ? 0 : 1;
}
