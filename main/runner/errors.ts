/** Typed errors that carry context and say what to do. The CLI maps `exitCode` to the process exit. */
export class RunnerError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** A bad config file, flag or environment value: exit 2, naming the file and key. */
export class ConfigError extends RunnerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('config_invalid', message, { ...options, exitCode: 2 });
  }
}

/** Wrong command-line usage: exit 2. */
export class UsageError extends RunnerError {
  constructor(message: string) {
    super('usage', message, { exitCode: 2 });
  }
}

/** The server refused our credentials: the message names the command that fixes it. */
export class AuthError extends RunnerError {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super('auth_failed', message);
    this.status = status;
  }
}

/** Any other failed HTTP exchange with the server (network, TLS, 4xx/5xx, bad body). */
export class ServerError extends RunnerError {
  readonly status: number | undefined;
  readonly url: string;
  constructor(code: string, message: string, url: string, status?: number, cause?: unknown) {
    super(code, message, { cause });
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
