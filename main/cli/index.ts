import { RunnerError, type Remedy } from '../runner/errors.ts';
import { remedyHint } from './remedies.ts';
import { RUNNER_VERSION } from '../runner/version.ts';
import { println, type Io } from './args.ts';
import { didYouMean } from './suggest.ts';
import { configureLogging } from '../runner/logger.ts';
import { HELP } from './help.ts';
type Command = (argv: string[], io: Io) => Promise<number>;

/**
 * Each command's module is loaded when it runs: the daemon (`run`) then never evaluates the other
 * commands' code, schemas and texts, which it would keep in memory for days (issue 16).
 */
const COMMANDS: Record<string, Command> = {
  register: async (argv, io) => (await import('./commands/register.ts')).registerCommand(argv, io),
  login: async (argv, io) => (await import('./commands/login.ts')).loginCommand(argv, io),
  run: async (argv, io) => (await import('./commands/run.ts')).runCommand(argv, io),
  status: async (argv, io) => (await import('./commands/status.ts')).statusCommand(argv, io),
  history: async (argv, io) => (await import('./commands/history.ts')).historyCommand(argv, io),
  logs: async (argv, io) => (await import('./commands/logs.ts')).logsCommand(argv, io),
  doctor: async (argv, io) => (await import('./commands/doctor.ts')).doctorCommand(argv, io),
  projects: async (argv, io) => (await import('./projects.ts')).projectsCommand(argv, io),
  service: async (argv, io) => (await import('./commands/service.ts')).serviceCommand(argv, io),
  completion: async (argv, io) => (await import('./commands/completion.ts')).completionCommand(argv, io),
};

/** The commands `main` dispatches; the main help lists the same (a test holds them together, and completion reads the help). */
export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

/** Remedies whose words add to the message; a usage or config message already says what to change. */
const HINTED: ReadonlySet<Remedy> = new Set(['signIn', 'register', 'checkServer', 'freeDisk']);

/**
 * Server errors whose message says what to check (is Sibyl running, the server's certificate or
 * CA, the site root: api/networkError.ts): the generic words would repeat it.
 */
const ADVISED_BY_MESSAGE: ReadonlySet<string> = new Set(['network', 'tls', 'bad_response', 'not_found']);

function cliHint(err: RunnerError): string {
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const file = str(err.context.file);
  // Errors of a file's syntax or schema start with the file; the hint names it only when the message does not.
  if (err.remedy === 'fixConfig') return file && !err.message.includes(file) ? remedyHint('fixConfig', { file }) : '';
  if (!HINTED.has(err.remedy)) return '';
  if (err.remedy === 'checkServer' && ADVISED_BY_MESSAGE.has(err.code)) return '';
  return remedyHint(err.remedy, { serverUrl: str(err.context.serverUrl), file, path: str(err.context.path) });
}

/**
 * `sibyl-runner <command>: <message> — <hint>`, the one way every command reports an error. A
 * message that starts with the command's name already (a core error worded for a log) does not
 * name it twice.
 */
function printError(io: Io, command: string, err: unknown): number {
  if (err instanceof RunnerError) {
    const hint = cliHint(err);
    const message = err.message.startsWith(`${command}: `) ? err.message.slice(command.length + 2) : err.message;
    println(io.stderr, `sibyl-runner ${command}: ${message}${hint ? ` — ${hint}` : ''}`);
    return err.exitCode;
  }
  println(io.stderr, `sibyl-runner ${command}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return 1;
}

/** Entry point of `sibyl-runner`: returns the exit code (0 ok, 1 runtime failure, 2 usage/config). */
export async function main(
  argv: string[],
  io: Io = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    isTTY: Boolean(process.stdin.isTTY && process.stderr.isTTY),
  },
): Promise<number> {
  const [command, ...rest] = withGlobalConfig(argv);
  if (!command || command === '--help' || command === '-h') {
    println(command ? io.stdout : io.stderr, HELP.main);
    return command ? 0 : 2;
  }
  if (command === 'help') return help(io, rest);
  if (command === '--version' || command === '-v' || command === '-V') {
    println(io.stdout, RUNNER_VERSION);
    return 0;
  }
  const run = COMMANDS[command];
  if (!run) return unknownCommand(io, command);
  // A one-shot command says what it did itself: info log lines would only repeat it (`run` sets its own levels).
  if (command !== 'run') configureLogging({ stderrLevel: 'warn' });
  try {
    return await run(rest, io);
  } catch (err) {
    return printError(io, command, err);
  }
}

/** `sibyl-runner help [COMMAND]`: the command's help, or the main help. */
function help(io: Io, [topic, ...extra]: string[]): number {
  if (topic === undefined) return (println(io.stdout, HELP.main), 0);
  const text = HELP[topic];
  if (!text || !COMMANDS[topic]) return unknownCommand(io, topic);
  if (extra.length > 0) {
    println(io.stderr, `sibyl-runner help: unexpected argument "${extra[0]}" (see \`sibyl-runner --help\`)`);
    return 2;
  }
  println(io.stdout, text);
  return 0;
}

/** `sibyl-runner: unknown command "regster"; did you mean register?`, exit 2. */
function unknownCommand(io: Io, word: string): number {
  const option = word.startsWith('-');
  const hint = didYouMean(word, option ? ['--help', '--version'] : COMMAND_NAMES);
  const list = option ? '' : `commands: ${COMMAND_NAMES.join(', ')}; `;
  println(
    io.stderr,
    `sibyl-runner: unknown ${option ? `option ${word}` : `command "${word}"`}${hint || ` (${list}see \`sibyl-runner --help\`)`}`,
  );
  return 2;
}

/**
 * `sibyl-runner --config PATH status` as the main help's "Global options" allow: `-c PATH`,
 * `--config PATH` or `--config=PATH` before the command moves behind it, where every command
 * reads it. A missing value is left for the command to report.
 */
function withGlobalConfig(argv: string[]): string[] {
  const [first, second, ...rest] = argv;
  if (first?.startsWith('--config=')) return second === undefined ? argv : [second, first, ...rest];
  const [command, ...after] = rest;
  if ((first === '-c' || first === '--config') && second !== undefined && command !== undefined) return [command, first, second, ...after];
  return argv;
}
