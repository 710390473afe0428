import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../runner/errors.ts';
import { terminalSafe } from '../runner/terminalText.ts';
import { commandTable } from './commandTable.ts';
import { didYouMean } from './suggest.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** `(see \`sibyl-runner history --help\`)`: where a usage error sends the reader. */
export function seeHelp(command: string): string {
  return `(see \`sibyl-runner ${command} --help\`)`;
}

/**
 * node:util parseArgs, with usage errors in the CLI's words rather than node's ("Option '-m,
 * --max-agents <value>' argument missing"): an unknown option with the closest one it may have
 * meant, an option without its value named with its placeholder from the help, a flag given a
 * value, an argument too many. The printer (index.ts) adds `sibyl-runner <command>: ` in front.
 * `-h, --help` is added to every command. Throws UsageError (exit 2).
 */
export function parse<O extends Options>(command: string, argv: string[], options: O, positionals = 0) {
  const all = { ...options, help: { type: 'boolean', short: 'h' } } as const;
  checkArguments(command, argv, all, positionals);
  try {
    return parseArgs({ args: argv, options: all, allowPositionals: positionals > 0, strict: true });
  } catch (err) {
    // checkArguments reports every case node's strict mode refuses; this is a safety net, not a path.
    throw new UsageError(`${err instanceof Error ? err.message : String(err)} ${seeHelp(command)}`);
  }
}

/** The same checks as parseArgs' strict mode, each worded for people; silent when all is well. */
function checkArguments(command: string, argv: string[], options: Options, positionals: number): void {
  const { tokens } = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  let seen = 0;
  for (const token of tokens) {
    if (token.kind === 'positional') {
      if (++seen > positionals) throw new UsageError(`unexpected argument "${token.value}" ${seeHelp(command)}`);
      continue;
    }
    if (token.kind !== 'option') continue;
    const spec = options[token.name];
    if (!spec) {
      const known = token.rawName.startsWith('--') ? Object.keys(options).map((name) => `--${name}`) : [];
      const hint = didYouMean(token.rawName, known);
      throw new UsageError(`unknown option ${token.rawName}${hint || ` ${seeHelp(command)}`}`);
    }
    const name = `--${token.name}`;
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${name} takes no value (got ${token.rawName}=${token.value})`);
      continue;
    }
    const usage = `${name} ${placeholder(command, token.name)}`;
    if (token.value === undefined) throw new UsageError(`${token.rawName} needs a value: ${usage}`);
    // `--server --json`: node would take the next option as the value; a value starting with "-" is written `--search=-x`.
    if (!token.inlineValue && token.value.startsWith('-') && token.value !== '-')
      throw new UsageError(`${token.rawName} needs a value: ${usage} (a value starting with "-" is written ${name}=${token.value})`);
  }
}

/** The option's placeholder in the command's help (`URL`, `N`, `PATH`); `VALUE` when the help shows none. */
function placeholder(command: string, long: string): string {
  const spec = commandTable().commands.find((c) => c.name === command);
  return spec?.options.find((o) => o.long === long)?.value ?? 'VALUE';
}

export function intOption(command: string, name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  return n;
}

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
  isTTY: boolean;
}

/**
 * One line of the CLI's output, its control characters made visible (terminalText.ts): whatever a
 * line quotes — a server's error text, a device code, an agent's output — cannot act on the
 * terminal. Tabs and newlines are kept. `printlnRaw` is for `--raw` only.
 */
export function println(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(terminalSafe(text) + '\n');
}

/** One line exactly as given: `--raw` output for files and tools. */
export function printlnRaw(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(text + '\n');
}

/**
 * `--raw` for commands that print what agents wrote (logs, history): without it, control
 * characters are made visible (terminalText.ts), also into a pipe — `logs ID | grep x` still ends
 * on a terminal; with it the text is printed exactly as stored, for files and tools.
 */
export const RAW_OPTION = { raw: { type: 'boolean' } } as const;

/** How a command shows text from agents or the server: as stored with `--raw`, else terminal-safe. */
export function shownText(raw: boolean | undefined): (text: string) => string {
  return raw ? (text) => text : terminalSafe;
}

/** How a command prints lines that quote agents or the server: `printlnRaw` with `--raw`, else `println`. */
export function linePrinter(raw: boolean | undefined): typeof println {
  return raw ? printlnRaw : println;
}
