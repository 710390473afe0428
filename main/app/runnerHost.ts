import { SibylApi } from '../runner/api/sibylApi.ts';
import { authSourceFor } from '../runner/auth/authSource.ts';
import type { CredentialStore } from '../runner/config/credentials.ts';
import type { LoadedConfig } from '../runner/config/loadConfig.ts';
import { Snapshot } from '../runner/control/contract.ts';
import { controlRequest, controlSocketPath } from '../runner/control/controlSocket.ts';
import type { ControlCommand } from '../runner/control/contract.ts';
import { Daemon } from '../runner/daemon.ts';
import { RunnerError } from '../runner/errors.ts';
import { background, logger } from '../runner/logger.ts';
import { syncRegistration } from '../runner/registrationSync.ts';
import { wireCoreServices, type CoreServices } from '../runner/services.ts';
import type { TaskObserver } from '../runner/tasks/taskEvents.ts';

const log = logger('host');

export interface RunnerHostOptions {
  home: string;
  env: Record<string, string | undefined>;
  credentials: CredentialStore;
  observer: TaskObserver;
  onChange: () => void;
  attachPollMs?: number;
}

/**
 * Runs the core for the desktop app: a daemon in this process, or — when a headless
 * `sibyl-runner run` already serves this config's control socket — attached to that one
 * (its state polled, its commands sent through the socket; one writer per config).
 */
export class RunnerHost {
  readonly #o: RunnerHostOptions;
  #daemon: Daemon | undefined;
  #services: CoreServices | undefined;
  #attachedTo: string | undefined;
  #attachedSnapshot: Snapshot | undefined;
  #poll: NodeJS.Timeout | undefined;

  constructor(opts: RunnerHostOptions) {
    this.#o = opts;
  }

  get attached(): boolean {
    return this.#attachedTo !== undefined;
  }

  get services(): CoreServices | undefined {
    return this.#services;
  }

  snapshot(): Snapshot | null {
    if (this.#daemon) return this.#daemon.snapshot();
    return this.#attachedSnapshot ?? null;
  }

  /** Start (or restart) for `loaded`: attach to a headless daemon if one serves it, else run our own. */
  async start(loaded: LoadedConfig): Promise<void> {
    await this.stop();
    const { config } = loaded;
    const socket = controlSocketPath(loaded.path);
    const existing = await controlRequest(socket, { method: 'snapshot' }, 1000);
    if (existing?.ok) {
      this.#attachedTo = socket;
      this.#accept(existing.result);
      this.#poll = setInterval(() => void this.#refresh(), this.#o.attachPollMs ?? 1000);
      log.info('attached to a running headless daemon', { socket });
      this.#o.onChange();
      return;
    }
    if (!config.runner_id || !config.server_url) return;
    this.#services = await wireCoreServices(config, { home: this.#o.home, configPath: loaded.path, log, observer: this.#o.observer });
    const api = new SibylApi(config.server_url);
    const auth = authSourceFor(config, this.#o.credentials, api);
    this.#daemon = new Daemon({
      config,
      configPath: loaded.path,
      auth,
      env: this.#o.env,
      onChange: this.#o.onChange,
      ...this.#services.daemonOptions,
    });
    await this.#daemon.start();
    await this.#services.started(this.#daemon);
    background(log, 'registration sync', syncRegistration(api, auth, config, log));
    this.#o.onChange();
  }

  kick(): void {
    this.#daemon?.link.kick();
  }

  async stop(): Promise<void> {
    clearInterval(this.#poll);
    this.#attachedTo = undefined;
    this.#attachedSnapshot = undefined;
    const daemon = this.#daemon;
    this.#daemon = undefined;
    await daemon?.stop();
    await this.#services?.close();
    this.#services = undefined;
  }

  async command(req: ControlCommand): Promise<unknown> {
    if (this.#daemon) return this.#daemon.control(req);
    if (this.#attachedTo) {
      const res = await controlRequest(this.#attachedTo, req);
      if (!res) throw new RunnerError('daemon_gone', 'the headless runner stopped answering');
      if (!res.ok) throw new RunnerError(res.error.code, res.error.message);
      void this.#refresh();
      return res.result;
    }
    throw new RunnerError('not_running', 'the runner is not running (register first)');
  }

  async #refresh(): Promise<void> {
    if (!this.#attachedTo) return;
    const res = await controlRequest(this.#attachedTo, { method: 'snapshot' }, 1000);
    if (!res?.ok) {
      if (this.#attachedSnapshot) log.warn('headless daemon went away');
      this.#attachedSnapshot = undefined;
      this.#o.onChange();
      return;
    }
    this.#accept(res.result);
  }

  #accept(raw: unknown): void {
    const parsed = Snapshot.safeParse(raw);
    if (!parsed.success) return;
    const changed = JSON.stringify(parsed.data) !== JSON.stringify(this.#attachedSnapshot);
    this.#attachedSnapshot = parsed.data;
    if (changed) this.#o.onChange();
  }
}
