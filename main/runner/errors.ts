import { redactUrlsIn } from './redact.ts';

/**
 * What a user can do about an error. The core names the remedy; each face words it for its user:
 * the CLI prints a command ("run `sibyl-runner login`"), the window shows a button ("Sign in
 * again"), the tray a short line ("Signed out — sign in"). No face parses another face's sentence.
 */
export const REMEDIES = [
  /** sign in again (device login or a new token) */
  'signIn',
  /** register this machine as a runner first */
  'register',
  /** check the server address, the network or the server itself */
  'checkServer',
  /** fix the configuration file, flag or environment value named in the message */
  'fixConfig',
  /** free disk space where the runner keeps its worktrees, logs or state */
  'freeDisk',
  /** correct what was typed or sent (a bad argument, field or request) */
  'checkInput',
  /** nothing to fix: wait, or try again */
  'retry',
  /** no action helps; the message says what happened */
  'none',
] as const;
export type Remedy = (typeof REMEDIES)[number];

/** Values that say where an error happened (file, key, url, task id…): logged, shown under "Details". */
export type ErrorContext = Record<string, string | number | boolean | undefined>;

export interface RunnerErrorOptions {
  cause?: unknown;
  /** process exit code for the CLI (default 1) */
  exitCode?: number;
  remedy?: Remedy;
  context?: ErrorContext;
}

/**
 * Typed errors that carry a stable `code`, a `remedy` and `context`. The message says what
 * happened in plain words, without naming a command or a button: faces add those from `remedy`.
 * Every face shows the message and the context, so the password of a `scheme://user:password@`
 * URL in either is redacted here, once (redact.ts).
 */
export class RunnerError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly remedy: Remedy;
  readonly context: ErrorContext;
  constructor(code: string, message: string, options?: RunnerErrorOptions) {
    super(redactUrlsIn(message), options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options?.exitCode ?? 1;
    this.remedy = options?.remedy ?? 'none';
    this.context = Object.fromEntries(
      Object.entries(options?.context ?? {}).map(([k, v]) => [k, typeof v === 'string' ? redactUrlsIn(v) : v]),
    );
  }
}

/** A bad config file, flag or environment value: exit 2, naming the file and key. */
export class ConfigError extends RunnerError {
  constructor(message: string, options?: Omit<RunnerErrorOptions, 'exitCode'>) {
    super('config_invalid', message, { remedy: 'fixConfig', ...options, exitCode: 2 });
  }
}

/** Wrong command-line usage: exit 2. */
export class UsageError extends RunnerError {
  constructor(message: string) {
    super('usage', message, { exitCode: 2, remedy: 'checkInput' });
  }
}

/** The server refused our credentials, or there are none: the remedy is signing in. */
export class AuthError extends RunnerError {
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: Omit<RunnerErrorOptions, 'exitCode'> & { code?: string }) {
    super(options?.code ?? 'auth_failed', message, { remedy: 'signIn', ...options });
    this.status = status;
  }
}

/** Server errors that another try, or a corrected request, fixes; the rest point at the server's address. */
const SERVER_REMEDIES: Partial<Record<string, Remedy>> = { validation: 'checkInput', rate_limited: 'retry', server_error: 'retry' };

/** Any other failed HTTP exchange with the server (network, TLS, 4xx/5xx, bad body). */
export class ServerError extends RunnerError {
  readonly status: number | undefined;
  readonly url: string;
  constructor(code: string, message: string, url: string, status?: number, cause?: unknown) {
    super(code, message, { cause, remedy: SERVER_REMEDIES[code] ?? 'checkServer', context: { url, status } });
    this.url = url;
    this.status = status;
  }
}

/** A task the runner refuses: `reason` is what goes into `task_reject`. */
export class TaskRejected extends RunnerError {
  readonly reason: 'at_capacity' | 'runner_draining' | 'invalid_task';
  constructor(reason: 'at_capacity' | 'runner_draining' | 'invalid_task', message: string) {
    super('task_rejected', message);
    this.reason = reason;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The remedy an error carries; `none` for errors that are not ours. */
export function remedyOf(err: unknown): Remedy {
  return err instanceof RunnerError ? err.remedy : 'none';
}
