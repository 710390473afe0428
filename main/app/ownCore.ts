import type { CredentialStore } from '../runner/config/credentials.ts';
import { answerCredentialRequest } from '../runner/config/parentCredentials.ts';
import type { SubscribeEvent } from '../runner/control/contract.ts';
import { subscribeControl, type ControlSubscription } from '../runner/control/subscription.ts';
import { RunnerError } from '../runner/errors.ts';
import type { Logger } from '../runner/logger.ts';
import type { CoreChild, CoreExit, CoreLauncher } from './coreLauncher.ts';

/** How much of the core's stderr is kept for a start error or the state's lastExit. */
const STDERR_KEEP_CHARS = 4000;
const STDERR_KEEP_LINES = 12;

export interface OwnCoreOptions {
  launcher: CoreLauncher;
  configPath: string;
  env: Record<string, string | undefined>;
  /** the app's store: the core's credential requests are answered from it (its refreshed tokens saved to it) */
  credentials: CredentialStore;
  /** the config's control socket */
  socket: string;
  /** how long the core may take to answer on its socket (state lock, journal, worktree sweep) */
  startTimeoutMs: number;
  onEvent(event: SubscribeEvent): void;
  log: Logger;
}

/** A core process this app started, subscribed to. */
export interface OwnCore {
  child: CoreChild;
  sub: ControlSubscription;
  /** its last stderr lines (what it said before it ended) */
  stderrTail(): string;
}

/**
 * Start the core process and subscribe to it once its control socket answers. Its credential
 * requests are answered from `credentials` from the first moment. Raises RunnerError
 * `core_start_failed` when the process ends first (the message is what it said last on stderr:
 * `sibyl-runner run: <why> — <fix>`; context `stderr` has its last lines, `exitCode`), or
 * `core_start_timeout` when it does not answer within `startTimeoutMs` (it is killed).
 */
export async function launchOwnCore(o: OwnCoreOptions): Promise<OwnCore> {
  const child = o.launcher.launch({ configPath: o.configPath, env: o.env });
  let stderr = '';
  child.onStderr((text) => {
    stderr = (stderr + text).slice(-STDERR_KEEP_CHARS);
  });
  const stderrTail = (): string => stderr.trimEnd().split('\n').slice(-STDERR_KEEP_LINES).join('\n');
  child.onMessage((msg) => {
    void answerCredentialRequest(o.credentials, msg).then((answer) => answer && child.send(answer));
  });
  let exit: CoreExit | undefined;
  void child.exited.then((e) => (exit = e));
  const deadline = Date.now() + o.startTimeoutMs;
  o.log.info('core process started', { pid: child.pid });
  while (Date.now() < deadline) {
    if (exit) throw startFailed(exit, stderrTail());
    const sub = await subscribeControl(o.socket, { onEvent: (e) => o.onEvent(e), timeoutMs: 1000 });
    if (sub) return { child, sub, stderrTail };
    await sleep(100);
  }
  child.kill();
  throw new RunnerError('core_start_timeout', `the runner core did not answer within ${Math.round(o.startTimeoutMs / 1000)} s`, {
    remedy: 'retry',
    context: { stderr: stderrTail() || undefined },
  });
}

function startFailed(exit: CoreExit, tail: string): RunnerError {
  // `run` reports what stopped it as one line: "sibyl-runner run: <message> — <what to do>".
  const said = tail
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('sibyl-runner run: '));
  const how = exit.signal ? `was ended by ${exit.signal}` : `exited with code ${exit.code ?? 'unknown'}`;
  const message = said ? said.slice('sibyl-runner run: '.length) : `the runner core ${how} while starting`;
  return new RunnerError('core_start_failed', message, {
    remedy: 'retry',
    context: { exitCode: exit.code ?? undefined, signal: exit.signal ?? undefined, stderr: tail || undefined },
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
