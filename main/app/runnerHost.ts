import type { CredentialStore } from '../runner/config/credentials.ts';
import type { LoadedConfig } from '../runner/config/loadConfig.ts';
import { Snapshot } from '../runner/control/contract.ts';
import { controlRequest, controlSocketPath } from '../runner/control/controlSocket.ts';
import type { ControlCommand } from '../runner/control/contract.ts';
import { RunnerError } from '../runner/errors.ts';
import { logger } from '../runner/logger.ts';
import type { CoreServices } from '../runner/services.ts';
import { startRunner, type StartedRunner } from '../runner/startRunner.ts';
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
  #runner: StartedRunner | undefined;
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
    return this.#runner?.services;
  }

  snapshot(): Snapshot | null {
    if (this.#runner) return this.#runner.daemon.snapshot();
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
    this.#runner = await startRunner(config, {
      configPath: loaded.path,
      home: this.#o.home,
      credentials: this.#o.credentials,
      env: this.#o.env,
      observer: this.#o.observer,
      onChange: this.#o.onChange,
      log,
    });
    this.#o.onChange();
  }

  kick(): void {
    this.#runner?.daemon.link.kick();
  }

  async stop(): Promise<void> {
    clearInterval(this.#poll);
    this.#attachedTo = undefined;
    this.#attachedSnapshot = undefined;
    const runner = this.#runner;
    this.#runner = undefined;
    await runner?.stop();
  }

  async command(req: ControlCommand): Promise<unknown> {
    if (this.#runner) return this.#runner.daemon.control(req);
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
