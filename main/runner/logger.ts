import { chmodSync, closeSync, constants, lstatSync, mkdirSync, openSync, renameSync, statSync, writeSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { redactUrlsIn } from './redact.ts';
import { terminalSafe } from './terminalText.ts';

/**
 * One logger factory: scoped, structured, redacting. JSON lines go to `<log_dir>/runner.log`
 * (rotated by size; the folder 0700, the files 0600, like the task logs and the state folder), a
 * readable line goes to stderr with control characters made visible (terminalText.ts). Tokens and
 * the password of any `scheme://user:password@` URL never reach a log line.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(scope: string): Logger;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /token|secret|password|authorization|api_key|apikey/i;
const SECRET_VALUE = /\b(eyJ[\w-]+\.[\w-]+\.[\w-]+|sk_(live|test)_[\w-]{20,})/g;

interface Sink {
  stderrLevel: number;
  file: string | undefined;
  maxBytes: number;
  keep: number;
  written: number;
  /** runner.log, open for appending, and when it was opened (performance.now() ms) */
  fd: number | undefined;
  openedAt: number;
}

const sink: Sink = {
  stderrLevel: LEVELS.info,
  file: undefined,
  maxBytes: 10 * 1024 * 1024,
  keep: 3,
  written: 0,
  fd: undefined,
  openedAt: 0,
};

/**
 * How long runner.log stays open between lines (ms). Opening it for every line was two opens and
 * closes per task (issue 16); reopening it this often still follows a rotation made by another
 * process writing the same folder (a CLI command beside the daemon) within a second.
 */
export const REOPEN_AFTER_MS = 1000;

/** What the log files' modes must not allow: anything for group or others (task output and prompts are in there). */
const LOOSE = 0o077;
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
/**
 * How runner.log is opened for each line: append, create, and never through a symlink — in a
 * shared log folder another user could plant `runner.log -> ~/file` and have us write (and chmod)
 * there. O_NOFOLLOW is POSIX; Windows has no such flag (0) and no such folder by default.
 */
const APPEND_NOFOLLOW = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0);

/**
 * Where the logs go and what reaches stderr. With `logDir`: the folder is created 0700 and
 * `runner.log` 0600 whatever the umask; a folder or log file left looser by an earlier version is
 * tightened when it is ours (a shared folder, e.g. one with the sticky bit like /tmp, and one owned
 * by another user are left as they are, with a warning). Raises what mkdir raises.
 */
export function configureLogging(opts: { logDir?: string; stderrLevel?: LogLevel; quiet?: boolean; maxBytes?: number }): void {
  if (opts.stderrLevel) sink.stderrLevel = LEVELS[opts.stderrLevel];
  if (opts.quiet) sink.stderrLevel = LEVELS.error + 1;
  if (opts.maxBytes) sink.maxBytes = opts.maxBytes;
  if (opts.logDir) {
    mkdirSync(opts.logDir, { recursive: true, mode: DIR_MODE });
    closeLogFile();
    sink.file = join(opts.logDir, 'runner.log');
    const left = [tighten(opts.logDir, DIR_MODE)];
    for (let i = 0; i <= sink.keep; i++) left.push(tighten(i ? `${sink.file}.${i}` : sink.file, FILE_MODE, 'file'));
    try {
      sink.written = statSync(sink.file).size;
    } catch {
      sink.written = 0;
    }
    for (const why of left) if (why) logger('logging').warn(why.message, { path: why.path, mode: why.mode });
  }
}

/**
 * Take group and other permissions off `path` when it is ours and grants some. Returns why it was left
 * looser, if it was; a missing file is fine (it is created with the right mode). POSIX only: on
 * Windows the modes mean nothing.
 */
function tighten(
  path: string,
  mode: number,
  kind: 'folder' | 'file' = 'folder',
): { message: string; path: string; mode: string } | undefined {
  if (process.platform === 'win32') return undefined;
  let st: Stats;
  try {
    // The folder may be a link the user made (log_dir elsewhere); a log file never is one of ours.
    st = kind === 'file' ? lstatSync(path) : statSync(path);
  } catch {
    return undefined;
  }
  if (st.isSymbolicLink())
    return { message: 'a log file is a symbolic link: not followed, nothing is written through it; remove it', path, mode: 'link' };
  if ((st.mode & LOOSE) === 0) return undefined;
  const shown = (st.mode & 0o7777).toString(8).padStart(4, '0');
  if (st.uid !== process.getuid?.())
    return { message: 'the log folder or file is open to other users and owned by another user: left as it is', path, mode: shown };
  // A folder with the sticky bit is a shared one (/tmp): closing it would break other programs.
  if (st.isDirectory() && st.mode & 0o1000)
    return { message: 'the log folder is a shared folder (sticky bit): left as it is; runner.log itself is 0600', path, mode: shown };
  try {
    chmodSync(path, mode);
    return undefined;
  } catch (err) {
    return { message: `could not tighten the log's permissions: ${(err as Error).message}`, path, mode: shown };
  }
}

/** A string without tokens (`eyJ…` JWTs, `sk_live_…`) and without the user-info of any `scheme://user:password@`. */
function redactText(text: string): string {
  return redactUrlsIn(text.replace(SECRET_VALUE, '[redacted]'));
}

/** `value` with secrets taken out: redactText on every string, `[redacted]` for keys named like secrets (4 levels deep). */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: redact(value.message) };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && v ? '[redacted]' : redact(v, depth + 1);
  return out;
}

function closeLogFile(): void {
  if (sink.fd === undefined) return;
  try {
    closeSync(sink.fd);
  } catch {
    /* closed already */
  }
  sink.fd = undefined;
}

/** runner.log's descriptor, opened again after REOPEN_AFTER_MS. Raises what open raises. */
function logFd(file: string): number {
  const now = performance.now();
  if (sink.fd !== undefined && now - sink.openedAt < REOPEN_AFTER_MS) return sink.fd;
  closeLogFile();
  // The mode applies when the file is created (first line, or after a rotation).
  sink.fd = openSync(file, APPEND_NOFOLLOW, FILE_MODE);
  sink.openedAt = now;
  return sink.fd;
}

function rotate(file: string): void {
  closeLogFile();
  for (let i = sink.keep - 1; i >= 1; i--) {
    try {
      renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    } catch {
      /* missing generation */
    }
  }
  try {
    renameSync(file, `${file}.1`);
  } catch {
    /* nothing to rotate */
  }
  sink.written = 0;
}

function write(level: LogLevel, scope: string, msg: string, fields?: LogFields): void {
  const safe = fields ? (redact(fields) as LogFields) : undefined;
  // A message is written by us, but may quote what it reports (a URL, a server's reason).
  const text = redactText(msg);
  if (sink.file) {
    const line = JSON.stringify({ t: new Date().toISOString(), level, scope, msg: text, ...safe }) + '\n';
    try {
      if (sink.written + line.length > sink.maxBytes) rotate(sink.file);
      writeSync(logFd(sink.file), line);
      sink.written += line.length;
    } catch {
      // A full disk must not take the runner down; stderr still has it. Opened afresh next time.
      closeLogFile();
    }
  }
  if (LEVELS[level] >= sink.stderrLevel) {
    const extra =
      safe && Object.keys(safe).length
        ? ' ' +
          Object.entries(safe)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ')
        : '';
    // Values quote agents and the server: a terminal must show their escape sequences, not act on them.
    process.stderr.write(
      terminalSafe(`${new Date().toISOString().slice(11, 19)} ${level.toUpperCase().padEnd(5)} [${scope}] ${text}${extra}`) + '\n',
    );
  }
}

export function logger(scope: string): Logger {
  return {
    debug: (m, f) => write('debug', scope, m, f),
    info: (m, f) => write('info', scope, m, f),
    warn: (m, f) => write('warn', scope, m, f),
    error: (m, f) => write('error', scope, m, f),
    child: (s) => logger(`${scope}.${s}`),
  };
}

/** For promises deliberately not awaited: their failure is logged, never unhandled. */
export function background(log: Logger, what: string, p: Promise<unknown>): void {
  p.catch((err: unknown) => log.error(`${what} failed`, { error: err }));
}
