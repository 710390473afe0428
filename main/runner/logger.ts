import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One logger factory: scoped, structured, redacting. JSON lines go to `<log_dir>/runner.log`
 * (rotated by size), a readable line goes to stderr. Tokens never reach a log line.
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
}

const sink: Sink = { stderrLevel: LEVELS.info, file: undefined, maxBytes: 10 * 1024 * 1024, keep: 3, written: 0 };

export function configureLogging(opts: { logDir?: string; stderrLevel?: LogLevel; quiet?: boolean; maxBytes?: number }): void {
  if (opts.stderrLevel) sink.stderrLevel = LEVELS[opts.stderrLevel];
  if (opts.quiet) sink.stderrLevel = LEVELS.error + 1;
  if (opts.maxBytes) sink.maxBytes = opts.maxBytes;
  if (opts.logDir) {
    mkdirSync(opts.logDir, { recursive: true });
    sink.file = join(opts.logDir, 'runner.log');
    try {
      sink.written = statSync(sink.file).size;
    } catch {
      sink.written = 0;
    }
  }
}

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(SECRET_VALUE, '[redacted]');
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: redact(value.message) };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && v ? '[redacted]' : redact(v, depth + 1);
  return out;
}

function rotate(file: string): void {
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
  if (sink.file) {
    const line = JSON.stringify({ t: new Date().toISOString(), level, scope, msg, ...safe }) + '\n';
    try {
      if (sink.written + line.length > sink.maxBytes) rotate(sink.file);
      appendFileSync(sink.file, line);
      sink.written += line.length;
    } catch {
      // A full disk must not take the runner down; stderr still has it.
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
    process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${level.toUpperCase().padEnd(5)} [${scope}] ${msg}${extra}\n`);
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
