import { UsageError } from '../../runner/errors.ts';
import { RUNNER_VERSION } from '../../runner/version.ts';
import { parse, println, type Io } from '../args.ts';
import { commandTable, type CommandTable } from '../commandTable.ts';
import { bashCompletion } from '../completion/bash.ts';
import { fishCompletion } from '../completion/fish.ts';
import { zshCompletion } from '../completion/zsh.ts';
import { HELP } from '../help.ts';
import { didYouMean } from '../suggest.ts';

const SHELLS: Record<string, (table: CommandTable, version: string) => string> = {
  bash: bashCompletion,
  zsh: zshCompletion,
  fish: fishCompletion,
};

/**
 * `sibyl-runner completion bash|zsh|fish`: prints the shell's completion script, made from the
 * help texts (commandTable.ts), to stdout. Exit 2 for another shell.
 */
export async function completionCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('completion', argv, {}, 1);
  if (values.help) return (println(io.stdout, HELP.completion), 0);
  const shell = positionals[0];
  const script = shell === undefined ? undefined : SHELLS[shell];
  const hint = shell === undefined ? '' : didYouMean(shell, Object.keys(SHELLS));
  if (!script && hint) throw new UsageError(`no completion for "${shell}"${hint}`);
  if (!script)
    throw new UsageError(
      `${shell === undefined ? 'which shell?' : `no completion for "${shell}":`} ${Object.keys(SHELLS).join(', ')} (see \`sibyl-runner completion --help\`)`,
    );
  // A script for a shell to read, exactly as generated: it holds no text from outside this program.
  io.stdout.write(script(commandTable(), RUNNER_VERSION));
  return 0;
}
