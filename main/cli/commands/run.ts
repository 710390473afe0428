import { hostname } from 'node:os';
import { AGENT_NAMES, AgentName } from '../../runner/agents/agentSettings.ts';
import { PARENT_CREDENTIALS_ENV, ParentCredentialStore, parentCredentialsRequested } from '../../runner/config/parentCredentials.ts';
import { RunnerError, UsageError } from '../../runner/errors.ts';
import { configureLogging, logger, type Logger } from '../../runner/logger.ts';
import type { Daemon } from '../../runner/daemon.ts';
import { startRunner, type StartedRunner } from '../../runner/startRunner.ts';
import { linkNextStep } from '../linkNextStep.ts';
import { RunLines } from '../runLines.ts';
import { intOption, parse, println, type Io } from '../args.ts';
import { commandContext } from '../context.ts';
import { HELP } from '../help.ts';

/**
 * `sibyl-runner run`: the headless daemon until SIGINT or SIGTERM. The signal handlers come first,
 * before the configuration is read: a signal at any moment ends the run with exit 0 — during
 * start-up by cancelling it (nothing connects), once started by the usual drain. A second signal
 * while draining ends the agents at once (their results still go out); a third exits 1. Before
 * this runs, bin/sibyl-runner.js's launcher handler exits 0 (nothing has started yet).
 */
export async function runCommand(argv: string[], io: Io): Promise<number> {
  const stop = stopOnSignal();
  try {
    return await run(argv, io, stop);
  } finally {
    stop.dispose();
  }
}

/** A stop asked for otherwise than by a signal: the control socket's `shutdown`, the desktop app gone, the link given up. */
type StopRequest = 'shutdown' | 'parent_gone' | 'gave_up';

interface SignalStop {
  /** aborted by the first SIGINT/SIGTERM */
  signal: AbortSignal;
  /** which signal (or request), once one arrived */
  received(): NodeJS.Signals | StopRequest | undefined;
  /** set what the first signal (or one already received) drains */
  onStop(fn: () => void): void;
  /** set what a second signal does (end the agents now); a third exits 1 at once */
  onHurry(fn: () => void): void;
  /** a stop asked for otherwise (the control socket's `shutdown`, the desktop app gone): as a first signal */
  request(why: StopRequest): void;
  dispose(): void;
}

function stopOnSignal(): SignalStop {
  // The launcher's own early handler (bin/sibyl-runner.js) hands over to these.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    for (const l of process.listeners(sig)) if ((l as { sibylLauncher?: boolean }).sibylLauncher) process.off(sig, l);
  }
  const aborter = new AbortController();
  let got: NodeJS.Signals | StopRequest | undefined;
  let stopFn: (() => void) | undefined;
  let hurryFn: (() => void) | undefined;
  // A second signal while draining ends the agents now (their results still go out); a third exits at once.
  let more = 0;
  const force = (): void => {
    if (++more === 1 && hurryFn) {
      logger('cli').info('second signal: ending the running agents now');
      hurryFn();
    } else process.exit(1);
  };
  const onSignal = (sig: NodeJS.Signals | StopRequest): void => {
    if (got) return;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    got = sig;
    process.on('SIGINT', force);
    process.on('SIGTERM', force);
    aborter.abort();
    if (stopFn) stopFn();
    else logger('cli').info('signal received during start-up; stopping', { signal: sig });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: aborter.signal,
    received: () => got,
    onStop: (fn) => {
      stopFn = fn;
      if (got) fn();
    },
    onHurry: (fn) => {
      hurryFn = fn;
    },
    request: (why) => onSignal(why),
    dispose: () => {
      for (const fn of [onSignal, force]) {
        process.off('SIGINT', fn);
        process.off('SIGTERM', fn);
      }
    },
  };
}

async function run(argv: string[], io: Io, stop: SignalStop): Promise<number> {
  const { values } = parse('run', argv, {
    config: { type: 'string', short: 'c' },
    server: { type: 'string', short: 's' },
    name: { type: 'string', short: 'n' },
    'max-agents': { type: 'string', short: 'm' },
    'runner-id': { type: 'string' },
    'sandbox-mode': { type: 'boolean' },
    'no-sandbox-mode': { type: 'boolean' },
    foreground: { type: 'boolean', short: 'f' },
    quiet: { type: 'boolean', short: 'q' },
    verbose: { type: 'boolean', short: 'v' },
    agent: { type: 'string', short: 'a' },
    'metrics-listen': { type: 'string' },
  });
  if (values.help) return (println(io.stdout, HELP.run), 0);
  const maxAgents = intOption('run', 'max-agents', values['max-agents'], 1, 20);
  const agent = values.agent === undefined ? undefined : AgentName.safeParse(values.agent);
  if (agent && !agent.success)
    throw new UsageError(`--agent must be one of ${AGENT_NAMES.join(', ')} (got ${JSON.stringify(values.agent)})`);
  const ctx = commandContext(
    {
      ...(values.config !== undefined ? { config: values.config } : {}),
      ...(values.server !== undefined ? { server: values.server } : {}),
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(maxAgents !== undefined ? { maxAgents } : {}),
      ...(values['runner-id'] !== undefined ? { runnerId: values['runner-id'] } : {}),
      ...(values['sandbox-mode'] ? { sandboxMode: true } : values['no-sandbox-mode'] ? { sandboxMode: false } : {}),
      ...(agent?.success ? { agent: agent.data } : {}),
      ...(values['metrics-listen'] !== undefined ? { metricsListen: values['metrics-listen'] } : {}),
    },
    io,
    'checked',
  );
  const { config } = ctx;
  // The terminal gets the story in words (runLines.ts) and the log's warnings and errors (an
  // insecure server, a full disk); the JSON log is runner.log's. -v adds the whole log, -q leaves
  // only what needs the person.
  configureLogging({
    logDir: config.log_dir,
    ...(values.quiet ? { quiet: true } : { stderrLevel: values.verbose ? ('debug' as const) : ('warn' as const) }),
  });
  const log = logger('cli');
  // A headless user sees only the terminal: a link that needs them (signed out, gave up) is said there, once per change.
  const watched: { daemon?: Daemon } = {};
  const lines = new RunLines({
    say: values.quiet ? () => undefined : (line) => println(io.stdout, line),
    name: config.name || hostname(),
    lookup: (taskId) => watched.daemon?.tasks.running().find((t) => t.taskId === taskId),
    // A signed-out link keeps trying (auth_failed, open for a moment, auth_failed, …): the same
    // words once, said again only after the runner was online in between.
    onOnline: () => (told = ''),
  });
  let told = '';
  let gaveUp = false;
  const onChange = (): void => {
    const link = watched.daemon?.link.status;
    if (link) lines.link(link);
    // `stopped` with a remedy is giving up; without one it is our own drain.
    const needsUser = link && link.reason && (link.state === 'auth_failed' || (link.state === 'stopped' && link.remedy));
    if (!link || !needsUser) return;
    // Given up (max_reconnect_attempts): the run ends, as the original daemon's did, with exit 1 so
    // a service manager (Restart=on-failure, KeepAlive) starts it again.
    if (link.state === 'stopped' && !gaveUp) {
      gaveUp = true;
      queueMicrotask(() => stop.request('gave_up'));
    }
    const step = linkNextStep(link.remedy, ctx, io);
    const line = `${link.reason}${step ? ` — ${step}` : ''}`;
    if (line !== told) println(io.stderr, `sibyl-runner run: ${line}`);
    told = line;
  };
  if (stop.signal.aborted) return stopped(log, stop);
  // Started by the desktop app: its credentials (asked over the channel), and gone with it.
  const fromParent = parentCredentialsRequested(io.env);
  const credentials = fromParent ? new ParentCredentialStore() : ctx.credentials;
  const disown = fromParent ? stopWhenParentLeaves(stop) : undefined;
  let runner: StartedRunner;
  try {
    runner = await startRunner(config, {
      configPath: ctx.path,
      home: ctx.home,
      credentials,
      env: withoutKey(io.env, PARENT_CREDENTIALS_ENV),
      log,
      observer: lines.observer(),
      onChange,
      signal: stop.signal,
      onShutdown: () => stop.request('shutdown'),
    });
  } catch (err) {
    disown?.();
    if (err instanceof RunnerError && err.code === 'start_cancelled') return gaveUp ? 1 : stopped(log, stop);
    throw alreadyRunning(err) ?? err;
  }
  watched.daemon = runner.daemon;
  if (runner.metricsUrl) lines.metrics(runner.metricsUrl);
  stop.onHurry(() => {
    lines.hurrying();
    runner.daemon.hurry();
  });
  onChange();
  await new Promise<void>((resolve) =>
    stop.onStop(() => {
      log.info('signal received; draining', { signal: stop.received() });
      lines.stopping(runner.daemon.tasks.running().length);
      void runner.stop().finally(resolve);
    }),
  );
  disown?.();
  lines.stopped();
  return gaveUp ? 1 : 0;
}

/**
 * Another daemon runs for this configuration (its state lock, or its control socket): said with
 * where to look, exit 2 (a service manager does not restart on it). A folder shared by two
 * configurations (`context.key`) keeps its own words, which name the key to change.
 */
function alreadyRunning(err: unknown): RunnerError | undefined {
  if (!(err instanceof RunnerError) || err.code !== 'already_running' || err.context.key !== undefined) return undefined;
  const pid = typeof err.context.pid === 'number' ? ` (pid ${err.context.pid})` : '';
  return new RunnerError('already_running', `already running for this config${pid}; see \`sibyl-runner status\``, {
    exitCode: 2,
    context: err.context,
    cause: err,
  });
}

/**
 * A core forked by Node (the app layer without Electron) sees its parent leave as 'disconnect':
 * drain as on SIGTERM rather than run on without the app's credentials. (A utilityProcess ends
 * with the app.) Returns the function that stops listening, so the channel no longer keeps the
 * process alive.
 */
function stopWhenParentLeaves(stop: SignalStop): () => void {
  const onDisconnect = (): void => stop.request('parent_gone');
  if (!process.connected) return () => undefined;
  process.on('disconnect', onDisconnect);
  return () => void process.off('disconnect', onDisconnect);
}

function withoutKey(env: Record<string, string | undefined>, key: string): Record<string, string | undefined> {
  const { [key]: _dropped, ...rest } = env;
  return rest;
}

function stopped(log: Logger, stop: SignalStop): number {
  log.info('stopped during start-up', { signal: stop.received() });
  return 0;
}
