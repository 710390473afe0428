import { RunnerError, type Remedy } from '../runner/errors.ts';
import { remedyHint } from './remedies.ts';
import { RUNNER_VERSION } from '../runner/version.ts';
import { println, type Io } from './args.ts';
import { HELP } from './help.ts';
import { loginCommand } from './commands/login.ts';
import { registerCommand } from './commands/register.ts';
import { runCommand } from './commands/run.ts';
import { statusCommand } from './commands/status.ts';
import { historyCommand } from './commands/history.ts';
import { logsCommand } from './commands/logs.ts';
import { doctorCommand } from './commands/doctor.ts';
import { projectsCommand } from './projects.ts';
import { serviceCommand } from './commands/service.ts';
import { completionCommand } from './commands/completion.ts';

type Command = (argv: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  register: registerCommand,
  login: loginCommand,
  run: runCommand,
  status: statusCommand,
  history: historyCommand,
  logs: logsCommand,
  doctor: doctorCommand,
  projects: projectsCommand,
  service: (argv, io) => serviceCommand(argv, io),
  completion: completionCommand,
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

/** `sibyl-runner <command>: <message> — <hint>`, the one way every command reports an error. */
function printError(io: Io, command: string, err: unknown): number {
  if (err instanceof RunnerError) {
    const hint = cliHint(err);
    println(io.stderr, `sibyl-runner ${command}: ${err.message}${hint ? ` — ${hint}` : ''}`);
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
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    println(command ? io.stdout : io.stderr, HELP.main);
    return command ? 0 : 2;
  }
  if (command === '--version' || command === '-v' || command === '-V') {
    println(io.stdout, RUNNER_VERSION);
    return 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    println(io.stderr, `sibyl-runner: unknown command "${command}". Commands: ${Object.keys(COMMANDS).join(', ')} (see --help)`);
    return 2;
  }
  try {
    return await run(rest, io);
  } catch (err) {
    return printError(io, command, err);
  }
}
