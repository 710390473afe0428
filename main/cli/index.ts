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
import { projectsCommand } from './projects.ts';
import { commandContext } from './context.ts';
import { dirname } from 'node:path';

type Command = (argv: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  register: registerCommand,
  login: loginCommand,
  run: runCommand,
  status: statusCommand,
  history: historyCommand,
  logs: logsCommand,
  projects: async (argv, io) => {
    // `--config` selects which runner's projects.yaml; the rest is the projects command's own.
    const at = argv.findIndex((a) => a === '--config' || a === '-c');
    const config = at >= 0 ? argv[at + 1] : undefined;
    const rest = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 2)] : argv;
    const ctx = commandContext(config !== undefined ? { config } : {}, io);
    return projectsCommand(rest, {
      configDir: dirname(ctx.path),
      homeDir: ctx.home,
      stdout: io.stdout,
      stderr: io.stderr,
      worktreeBase: ctx.config.worktree_base,
    });
  },
};

/** Remedies whose words add to the message; a usage or config message already says what to change. */
const HINTED: ReadonlySet<Remedy> = new Set(['signIn', 'register', 'checkServer', 'freeDisk']);

function cliHint(err: RunnerError): string {
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const file = str(err.context.file);
  if (!HINTED.has(err.remedy) && !(err.remedy === 'fixConfig' && file)) return '';
  return remedyHint(err.remedy, { serverUrl: str(err.context.serverUrl), file, path: str(err.context.path) });
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
  if (command === '--version' || command === '-v') {
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
    if (err instanceof RunnerError) {
      const hint = cliHint(err);
      println(io.stderr, `sibyl-runner ${command}: ${err.message}${hint ? ` — ${hint}` : ''}`);
      return err.exitCode;
    }
    println(io.stderr, `sibyl-runner ${command}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }
}
