import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../runner/errors.ts';
import { terminalSafe } from '../runner/terminalText.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with usage errors that point at the command's --help (the printer names the command). */
export function parse<O extends Options>(command: string, argv: string[], options: O, positionals = 0) {
  try {
    const out = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: positionals > 0,
      strict: true,
    });
    if (out.positionals.length > positionals)
      throw new UsageError(`unexpected argument "${out.positionals[positionals]}" (see \`sibyl-runner ${command} --help\`)`);
    return out;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${(err as Error).message} (see \`sibyl-runner ${command} --help\`)`);
  }
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
