import { isCmdScriptArgv } from './taskSpec.ts';

/** How one argv is handed to `child_process.spawn` on the platform it runs on. */
export interface SpawnPlan {
  file: string;
  args: string[];
  /** the args are one command line already quoted for cmd.exe; Node must not quote them again */
  windowsVerbatimArguments: boolean;
}

/** Whether `file` is a batch file, which Windows runs only through cmd.exe (`.cmd`/`.bat`, any case). */
export function isBatchFile(file: string): boolean {
  return /\.(?:cmd|bat)$/i.test(file);
}

/** What cmd.exe and the C runtime both read as plain text outside quotes (Rust's list); anything else is quoted, non-ASCII too (cmd also splits arguments at 0xFF). */
const BARE = /^[A-Za-z0-9#$*+\-./:?@\\_]+$/;

/**
 * One argument for a batch file's command line, quoted so that cmd.exe (twice: once for the
 * `/c` line, once more when the script forwards `%*`) and then the C runtime of the program the
 * script starts read back exactly `arg`: the scheme Rust's standard library adopted for batch
 * files after BatBadBut (CVE-2024-24576).
 * - Anything but plain characters is put in double quotes, inside which `& | < > ( ) ^` are text.
 * - An embedded `"` is written `""`: two toggles that leave cmd's quote state as it was, which the
 *   C runtime reads as one `"`. (`\"`, as cross-spawn writes it, ends cmd's quoted region, and the
 *   second parse of `%*` then runs what follows as a command; cross-spawn doubles its carets only
 *   for shims under node_modules\.bin, not npm's global ones.) Backslashes before a `"` or the
 *   closing quote are doubled for the C runtime.
 * - `%` is expanded before quotes are considered; `%%cd:~,%` leaves one literal `%` (an empty
 *   substring of the always-defined `cd`) and keeps any `%NAME%` from forming.
 * - A line break would end cmd's command, so each one becomes a space: nothing can pass one to a
 *   `.cmd` program (prompts travel on stdin, where they are kept).
 * Throws RangeError for a NUL, which no command line can hold.
 */
export function quoteBatchArgument(arg: string): string {
  if (arg.includes('\0')) throw new RangeError('an argument for a batch file contains a NUL byte');
  const text = arg.replace(/\r\n|\r|\n/g, ' ');
  const quote = text === '' || text.endsWith('\\') || !BARE.test(text);
  let out = quote ? '"' : '';
  let backslashes = 0;
  for (const ch of text) {
    if (ch === '\\') {
      backslashes++;
      continue;
    }
    out += '\\'.repeat(ch === '"' ? backslashes * 2 : backslashes);
    backslashes = 0;
    if (ch === '"') out += '""';
    else if (ch === '%') out += '%%cd:~,%';
    else out += ch;
  }
  out += '\\'.repeat(quote ? backslashes * 2 : backslashes);
  return quote ? `${out}"` : out;
}

/**
 * The cmd.exe command line that runs batch file `script` with `args`: the script's path in quotes
 * (a Windows path holds no `"`; a `%` in it is kept as in quoteBatchArgument), then each argument.
 * Throws RangeError for a path with `"` or NUL.
 */
export function batchCommandLine(script: string, args: readonly string[]): string {
  if (/["\0]/.test(script)) throw new RangeError(`not a Windows file name: ${script}`);
  return [`"${script.replaceAll('%', '%%cd:~,%')}"`, ...args.map(quoteBatchArgument)].join(' ');
}

/**
 * How `argv` is spawned on `platform`. On Windows a batch file (npm's `claude.cmd`, `codex.cmd`,
 * `gemini.cmd`) cannot be spawned directly since Node 18.20.2/20.12 (EINVAL, CVE-2024-27980): it
 * runs through `%SystemRoot%\System32\cmd.exe` by full path (a `cmd.exe` in the task's worktree
 * must not stand in for it) with AutoRun off (/d), command extensions on (/e:on, which the `%`
 * quoting needs), delayed expansion off (/v:off, so `!` is text) and the line from
 * batchCommandLine, passed verbatim. shellArgv's cmd form is passed verbatim as it is. Everything
 * else, and every argv elsewhere, is spawned as given. Throws RangeError as batchCommandLine.
 */
export function spawnPlan(argv: readonly string[], platform: NodeJS.Platform, systemRoot = process.env.SystemRoot): SpawnPlan {
  const [file = '', ...args] = argv;
  if (platform !== 'win32') return { file, args, windowsVerbatimArguments: false };
  if (isCmdScriptArgv(argv)) return { file, args, windowsVerbatimArguments: true };
  if (!isBatchFile(file)) return { file, args, windowsVerbatimArguments: false };
  const cmd = systemRoot ? `${systemRoot}\\System32\\cmd.exe` : 'cmd.exe';
  return { file: cmd, args: ['/d', '/e:on', '/v:off', '/s', '/c', `"${batchCommandLine(file, args)}"`], windowsVerbatimArguments: true };
}
