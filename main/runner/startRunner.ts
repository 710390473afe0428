import { SibylApi } from './api/sibylApi.ts';
import { authSourceFor } from './auth/authSource.ts';
import type { CredentialStore } from './config/credentials.ts';
import type { RunnerConfig } from './config/schema.ts';
import { Daemon, type DaemonOptions } from './daemon.ts';
import { ConfigError, RunnerError } from './errors.ts';
import { background, logger, type Logger } from './logger.ts';
import { syncRegistration } from './registration.ts';
import { acquireStateLock, type StateLock } from './stateLock.ts';
import { parseListenAddress } from './metrics/listenAddress.ts';
import type { MetricsEndpoint } from './metrics/metricsEndpoint.ts';
import { wireCoreServices, type CoreServices } from './services.ts';
import { composeObservers } from './tasks/observers.ts';
import type { TaskObserver } from './tasks/taskEvents.ts';

export interface StartRunnerOptions {
  /** where runner.yaml lives (the control socket and projects.yaml are named after it) */
  configPath: string;
  /** the user's home folder (for ~/.sibyl/config.toml project links) */
  home: string;
  /** the stored login: the CLI's 0600 file or the desktop app's encrypted store */
  credentials: CredentialStore;
  /** environment given to agents (the CLI's own, or the desktop's resolved login-shell environment) */
  env: Record<string, string | undefined>;
  /** a face's view of task events (the window's live log, notifications); the journal and history are always wired */
  observer?: TaskObserver;
  /** the daemon's live state changed; read it with `daemon.snapshot()` */
  onChange?: () => void;
  log?: Logger;
  /** test and tuning knobs passed to the daemon */
  tuning?: Pick<DaemonOptions, 'pingIntervalMs' | 'redialGraceMs' | 'timeoutGraceMs' | 'cancelGraceMs' | 'controlSocket'>;
  /** aborted when the face is asked to stop during start-up (a signal): start-up ends before the link starts */
  signal?: AbortSignal;
  /** the control socket's `shutdown` request (the face drains as on SIGTERM); refused when absent */
  onShutdown?: () => void;
}

export interface StartedRunner {
  daemon: Daemon;
  services: CoreServices;
  /** `http://host:port` of /metrics, /healthz and /readyz when metrics_listen is set */
  metricsUrl?: string;
  /** Drain: stop taking tasks, let running ones finish or stop them, flush the outbox, close the stores. */
  stop(): Promise<void>;
}

/**
 * The one way to start the runner, for `sibyl-runner run` and the desktop app alike: the lock on
 * the state folder first (before anything in it is read or written) → core services (workspaces,
 * journal with the durable outbox, history, task logs, crash recovery) → the start-up worktree
 * sweep → API client → credentials → Daemon (link, tasks, control socket) → start → registration
 * sync in the background (protocol §6, fixes R8). With metrics_listen, the metrics and health
 * endpoint is bound right after the locks (issue 17; loaded only then).
 *
 * Raises ConfigError (remedy `register`) when runner.yaml has no server or runner id; RunnerError
 * `already_running` (exit 2, naming the pid) when another process holds the state folder;
 * `start_cancelled` when `opts.signal` was aborted before the link started (everything opened is
 * closed again, the lock released); `metrics_listen_failed` when metrics_listen cannot be bound;
 * and what the stores raise when the state folder cannot be opened. The lock is released by `stop()`, and at process exit.
 */
export async function startRunner(config: RunnerConfig, opts: StartRunnerOptions): Promise<StartedRunner> {
  const log = opts.log ?? logger('runner');
  const context = { file: opts.configPath, serverUrl: config.server_url || undefined };
  if (!config.server_url) throw new ConfigError(`no server is configured in ${opts.configPath}`, { remedy: 'register', context });
  if (!config.runner_id)
    throw new ConfigError(`no runner_id in ${opts.configPath}: this machine is not registered yet`, { remedy: 'register', context });
  const cancelled = (): RunnerError =>
    new RunnerError('start_cancelled', 'start-up was cancelled before the runner connected', { context: { file: opts.configPath } });
  if (opts.signal?.aborted) throw cancelled();
  // Before any state is touched: a second daemon on one state folder would recover (kill) the
  // first one's agents and compact its journal under it.
  const stateLock = acquireStateLock(config.state_dir, opts.configPath);
  // The worktree registry lives in worktree_base: a second runner's sweep would mark this one's worktrees finished.
  let worktreeLock: StateLock;
  try {
    worktreeLock = acquireStateLock(config.worktree_base, opts.configPath, 'worktree_base');
  } catch (err) {
    stateLock.release();
    throw err;
  }
  // Background work (the registration sync) ends with the runner: stop() aborts it.
  const lifetime = new AbortController();
  const lock = {
    release: (): void => {
      lifetime.abort();
      worktreeLock.release();
      stateLock.release();
    },
  };
  let services: CoreServices | undefined;
  let daemon: Daemon | undefined;
  let metrics: MetricsEndpoint | undefined;
  try {
    metrics = await startMetrics(config, log);
    const observer = metrics ? composeObservers(metrics.observer, opts.observer) : opts.observer;
    services = await wireCoreServices(config, {
      home: opts.home,
      configPath: opts.configPath,
      log,
      ...(observer ? { observer } : {}),
    });
    if (opts.signal?.aborted) throw cancelled();
    // Before the link: no task is taken while the sweep decides which worktrees are finished.
    await services.startupSweep();
    if (opts.signal?.aborted) throw cancelled();
    const api = new SibylApi(config.server_url, { allowInsecureHttp: config.allow_insecure_http });
    const auth = authSourceFor(config, opts.credentials, api);
    const onChange = metrics ? withMetrics(metrics, opts.onChange) : opts.onChange;
    const workspaces = services.daemonOptions.workspaces;
    daemon = new Daemon({
      config,
      configPath: opts.configPath,
      auth,
      env: opts.env,
      ...(onChange ? { onChange } : {}),
      ...(opts.onShutdown ? { onShutdown: opts.onShutdown } : {}),
      ...opts.tuning,
      ...services.daemonOptions,
      ...(metrics && workspaces ? { workspaces: metrics.timed(workspaces) } : {}),
    });
    // Before the link starts, so no state change of the link goes uncounted.
    metrics?.attach(daemon);
    await daemon.start();
    await services.started(daemon);
    const started = daemon;
    const sync = async (): Promise<unknown> => {
      const agents = (await started.agents.installed()).map((a) => a.preset.name);
      return syncRegistration(api, auth, config, log, agents, lifetime.signal);
    };
    // Signed out, or stopping while it asks: the link says the first with what to do, and the
    // second is no failure; either as an error line on stderr would only add noise.
    const quietly = (err: unknown): void => {
      if (lifetime.signal.aborted) return;
      if (err instanceof RunnerError && err.remedy === 'signIn')
        return log.info('registration sync skipped: not signed in', { error: err });
      throw err;
    };
    background(log, 'registration sync', sync().catch(quietly));
  } catch (err) {
    await daemon?.stop().catch(() => undefined);
    await services?.close().catch(() => undefined);
    await metrics?.close();
    lock.release();
    throw err;
  }
  const running = { daemon, services, metrics };
  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    running.metrics?.stopping();
    try {
      await running.daemon.stop();
    } finally {
      try {
        await running.services.close();
      } finally {
        await running.metrics?.close();
        lock.release();
      }
    }
  };
  return {
    daemon: running.daemon,
    services: running.services,
    ...(metrics ? { metricsUrl: metrics.url } : {}),
    stop: () => (stopping ??= stop()),
  };
}

/**
 * The metrics endpoint when metrics_listen is set, else nothing. prom-client and the server are
 * imported here, only then: a runner without metrics does not load them (idle memory, issue 16).
 * The address was checked when the configuration was loaded (loadConfig.ts).
 */
async function startMetrics(config: RunnerConfig, log: Logger): Promise<MetricsEndpoint | undefined> {
  if (!config.metrics_listen) return undefined;
  const address = parseListenAddress(config.metrics_listen);
  if (typeof address === 'string') throw new ConfigError(`metrics_listen: ${address}`, { context: { key: 'metrics_listen' } });
  const { startMetricsEndpoint } = await import('./metrics/metricsEndpoint.ts');
  return startMetricsEndpoint(address, log.child('metrics'));
}

function withMetrics(metrics: MetricsEndpoint, onChange: (() => void) | undefined): () => void {
  return () => {
    metrics.changed();
    onChange?.();
  };
}
