import { SibylApi } from './api/sibylApi.ts';
import { authSourceFor } from './auth/authSource.ts';
import type { CredentialStore } from './config/credentials.ts';
import type { RunnerConfig } from './config/schema.ts';
import { Daemon, type DaemonOptions } from './daemon.ts';
import { Snapshot } from './control/contract.ts';
import { controlRequest, controlSocketPath } from './control/controlSocket.ts';
import { ConfigError, RunnerError } from './errors.ts';
import { background, logger, type Logger } from './logger.ts';
import { syncRegistration } from './registration.ts';
import { wireCoreServices, type CoreServices } from './services.ts';
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
}

export interface StartedRunner {
  daemon: Daemon;
  services: CoreServices;
  /** Drain: stop taking tasks, let running ones finish or stop them, flush the outbox, close the stores. */
  stop(): Promise<void>;
}

/**
 * The one way to start the runner, for `sibyl-runner run` and the desktop app alike: core services
 * (workspaces, journal with the durable outbox, history, task logs, crash recovery) → API client →
 * credentials → Daemon (link, tasks, control socket) → start → registration sync in the background
 * (protocol §6, fixes R8). Raises ConfigError (remedy `register`) when runner.yaml has no server or
 * runner id, and what the stores raise when the state folder cannot be opened.
 */
export async function startRunner(config: RunnerConfig, opts: StartRunnerOptions): Promise<StartedRunner> {
  const log = opts.log ?? logger('runner');
  const context = { file: opts.configPath, serverUrl: config.server_url || undefined };
  if (!config.server_url) throw new ConfigError(`no server is configured in ${opts.configPath}`, { remedy: 'register', context });
  if (!config.runner_id)
    throw new ConfigError(`no runner_id in ${opts.configPath}: this machine is not registered yet`, { remedy: 'register', context });
  // Before any state is touched: a second daemon on one configuration would recover (kill) the
  // first one's agents and compact its journal under it.
  const socket = controlSocketPath(opts.configPath);
  const other = await controlRequest(socket, { method: 'snapshot' }, 1000);
  if (other?.ok) {
    const pid = Snapshot.safeParse(other.result).data?.pid;
    throw new RunnerError(
      'already_running',
      `another sibyl-runner${pid ? ` (pid ${pid})` : ''} is already running for ${opts.configPath}`,
      {
        context: { file: opts.configPath },
      },
    );
  }
  const services = await wireCoreServices(config, {
    home: opts.home,
    configPath: opts.configPath,
    log,
    ...(opts.observer ? { observer: opts.observer } : {}),
  });
  const api = new SibylApi(config.server_url);
  const auth = authSourceFor(config, opts.credentials, api);
  const daemon = new Daemon({
    config,
    configPath: opts.configPath,
    auth,
    env: opts.env,
    ...(opts.onChange ? { onChange: opts.onChange } : {}),
    ...opts.tuning,
    ...services.daemonOptions,
  });
  try {
    await daemon.start();
    await services.started(daemon);
  } catch (err) {
    await daemon.stop().catch(() => undefined);
    await services.close();
    throw err;
  }
  const sync = async (): Promise<unknown> => {
    const agents = (await daemon.agents.installed()).map((a) => a.preset.name);
    return syncRegistration(api, auth, config, log, agents);
  };
  background(log, 'registration sync', sync());
  let stopping: Promise<void> | undefined;
  return {
    daemon,
    services,
    stop: () => (stopping ??= daemon.stop().finally(() => services.close())),
  };
}
