import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AppState, EventChannel, EventPayload, StartError } from '../../preload/contract.ts';
import type { CredentialStore, Credentials } from '../runner/config/credentials.ts';
import { RunnerConfigFile } from '../runner/config/configFile.ts';
import { loadConfig, locateConfig, resolveConfig, type LoadedConfig } from '../runner/config/loadConfig.ts';
import { validationError } from '../runner/config/readValidated.ts';
import { ConfigFileSchema, type ConfigFile } from '../runner/config/schema.ts';
import { errorMessage, remedyOf, RunnerError } from '../runner/errors.ts';
import { logger } from '../runner/logger.ts';
import { historyBackend, type HistoryBackend } from '../runner/history/historyBackend.ts';
import type { HistoryStore } from '../runner/history/historyStore.ts';
import { ProjectLinks } from '../runner/projects/links.ts';
import { redactUrl } from '../runner/redact.ts';
import { openHistory } from '../runner/services.ts';
import type { FinishedEvent, LinesEvent } from '../runner/control/contract.ts';
import type { CoreLauncher } from './coreLauncher.ts';
import { detailOf } from './dispatch.ts';
import type { LoginShellOptions } from './loginShellEnv.ts';
import { RunnerHost, type RestartPolicy } from './runnerHost.ts';

/** What only the OS shell can do; Electron provides these, tests provide plain ones. */
export interface DesktopPorts {
  openPath(path: string): Promise<void>;
  openExternal(url: string): Promise<void>;
  pickFolder(defaultPath?: string): Promise<string | null>;
  /**
   * The OS login item: `get` is whether the OS will start the app; `state`, where the OS says more
   * (macOS 13+: approval pending in System Settings), gives a hint for the window.
   */
  loginItem: {
    get(): Promise<boolean>;
    set(enabled: boolean): Promise<void>;
    state?(): Promise<{ status: string; hint?: string }>;
  };
  /** desktop-only preferences (electron-store in the app) */
  prefs?: { get(key: 'notifications'): boolean | undefined; set(key: 'notifications', value: boolean): void };
  /** where secrets live (the app passes its OS-encrypted store when the OS has one) */
  credentials?: CredentialStore;
  /**
   * Starts the runner core's process (the same daemon entry as `sibyl-runner run`): Electron's
   * utilityProcess in the app (main/desktop/coreProcess.ts), a plain Node child elsewhere
   * (nodeCoreLauncher in coreLauncher.ts).
   */
  coreLauncher: CoreLauncher;
}

export interface AppServiceOptions {
  home: string;
  /** runner.yaml of the runner this window shows */
  configPath: string;
  /** environment given to agents */
  env: Record<string, string | undefined>;
  /**
   * Resolve the user's login shell environment once at start and merge it over `env` (the desktop
   * app: launched from Finder, the Dock or a login item it has a bare PATH and none of the user's exports).
   */
  loginShell?: boolean | LoginShellOptions;
  ports: DesktopPorts;
  /** overrides for tests */
  history?: HistoryBackend;
  /** test knobs for the core process: restart back-off, start-up bound */
  core?: { restart?: Partial<RestartPolicy>; startTimeoutMs?: number };
}

/** What the core's subscription brings besides state: a task's output lines and its end. */
export interface CoreListeners {
  onLines(e: LinesEvent): void;
  onFinished(e: FinishedEvent): void;
}

const log = logger('app');

/**
 * An error as AppState.startError carries it: a RunnerError keeps its code and remedy (ConfigError:
 * `config_invalid`, `fixConfig`) and its context as `detail`; anything else is `start_failed`, retry.
 */
export function startErrorOf(err: unknown): StartError {
  if (err instanceof RunnerError) {
    const { detail } = detailOf(err);
    return { code: err.code, message: err.message, remedy: err.remedy === 'none' ? 'retry' : err.remedy, ...(detail ? { detail } : {}) };
  }
  return { code: 'start_failed', message: errorMessage(err), remedy: 'retry' };
}

export type AppEventListener = <E extends EventChannel>(event: E, payload: EventPayload<E>) => void;

/**
 * The state the window's handlers share: the loaded runner.yaml, the credentials, the runner
 * host (own daemon or attached to a headless one), the project links, and the pushed app state.
 * One instance per window service; handler modules receive it and own no state of their own.
 */
export class AppContext {
  readonly opts: AppServiceOptions;
  readonly ports: DesktopPorts;
  readonly credentials: CredentialStore;
  readonly links: ProjectLinks;
  readonly host: RunnerHost;
  readonly #listeners = new Set<AppEventListener>();
  #loaded: LoadedConfig;
  #version = 0;
  #signedIn = false;
  #credentialsError: AppState['credentialsError'];
  /** runner.yaml (or the environment) did not validate at the last load; `#loaded` is then the defaults */
  #configError: StartError | undefined;
  /** the runner failed to start with a valid configuration */
  #runError: StartError | undefined;
  #notifications: boolean;
  /** readable even when this process runs no daemon (attached to a headless one, or stopped) */
  #ownHistory: { store: HistoryStore; backend: HistoryBackend } | undefined;

  constructor(opts: AppServiceOptions, credentials: CredentialStore, listeners: CoreListeners) {
    this.opts = opts;
    this.ports = opts.ports;
    this.credentials = credentials;
    // An invalid runner.yaml must not stop the app: it starts on the defaults and says what is
    // wrong, so the window (Settings, the wizard) can still fix the file.
    try {
      this.#loaded = this.#load();
    } catch (err) {
      this.#configError = startErrorOf(err);
      this.#loaded = this.#defaults();
      log.error('runner.yaml is not valid; starting without it', { error: err });
    }
    this.#notifications = opts.ports.prefs?.get('notifications') ?? true;
    this.links = new ProjectLinks({ homeDir: opts.home, configDir: dirname(opts.configPath) });
    this.host = new RunnerHost({
      env: opts.env,
      credentials,
      launcher: opts.ports.coreLauncher,
      onChange: () => this.pushState(),
      ...listeners,
      ...(opts.core?.restart ? { restart: opts.core.restart } : {}),
      ...(opts.core?.startTimeoutMs !== undefined ? { startTimeoutMs: opts.core.startTimeoutMs } : {}),
    });
  }

  /** runner.yaml as last read (re-read by `reload()`). */
  get loaded(): LoadedConfig {
    return this.#loaded;
  }

  get notifications(): boolean {
    return this.#notifications;
  }

  setNotifications(on: boolean): void {
    this.#notifications = on;
    this.ports.prefs?.set('notifications', on);
  }

  /** True while runner.yaml (or the environment) does not validate: the state carries it as `startError`. */
  get configBroken(): boolean {
    return this.#configError !== undefined;
  }

  /**
   * Re-read runner.yaml (after an edit); raises ConfigError when it no longer validates (and keeps
   * the last good one). A read that succeeds clears a configuration error.
   */
  reload(): LoadedConfig {
    try {
      this.#loaded = this.#load();
    } catch (err) {
      if (this.#configError) this.#configError = startErrorOf(err);
      throw err;
    }
    this.#configError = undefined;
    return this.#loaded;
  }

  #load(): LoadedConfig {
    return loadConfig({ flags: { config: this.opts.configPath }, env: this.opts.env, home: this.opts.home });
  }

  /** The configuration the app runs on while runner.yaml is invalid: defaults for the same file (writes go there). */
  #defaults(): LoadedConfig {
    const path = locateConfig(this.opts.configPath, this.opts.env, this.opts.home);
    return { config: resolveConfig({}, path, {}, {}, this.opts.home), path, file: new RunnerConfigFile(path), exists: existsSync(path) };
  }

  on(listener: AppEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit<E extends EventChannel>(event: E, payload: EventPayload<E>): void {
    for (const l of this.#listeners) l(event, payload);
  }

  /** The window's view: registration, sign-in and the daemon's live state; versioned for the renderer. */
  state(): AppState {
    const c = this.#loaded.config;
    return {
      version: ++this.#version,
      registered: Boolean(c.runner_id && c.server_url),
      // A password in the URL stays in runner.yaml: the window shows this, and signing in again from
      // it uses the URL's origin, which has no user-info anyway (normalizeServerUrl).
      serverUrl: redactUrl(c.server_url),
      runnerName: c.name,
      runnerId: c.runner_id,
      attached: this.host.attached,
      signedIn: this.#signedIn,
      ...(this.#credentialsError ? { credentialsError: this.#credentialsError } : {}),
      ...(this.startError ? { startError: this.startError } : {}),
      core: this.host.core(),
      daemon: this.host.snapshot(),
    };
  }

  pushState(): AppState {
    const s = this.state();
    this.emit('app:state', s);
    return s;
  }

  /** Signed in = some credential is configured or stored; an unreadable store is `credentialsError`, not signed out. */
  async refreshSignedIn(): Promise<void> {
    const c = this.#loaded.config;
    this.#credentialsError = undefined;
    const creds: Credentials = await this.credentials.load().catch((err: unknown) => {
      this.#credentialsError = {
        code: err instanceof RunnerError ? err.code : 'credentials_unreadable',
        message: errorMessage(err),
        remedy: remedyOf(err),
      };
      return {};
    });
    this.#signedIn = Boolean(c.runner_token || c.access_token || creds.access_token || creds.refresh_token || creds.runner_token);
  }

  /** Why the runner is not running as configured (the configuration first); undefined when nothing is wrong. */
  get startError(): StartError | undefined {
    return this.#configError ?? this.#runError;
  }

  /** The first start: a failure is logged and kept as `startError`, never thrown; an invalid runner.yaml starts nothing. */
  async start(): Promise<void> {
    if (this.#configError) return;
    try {
      await this.host.start(this.#loaded);
      this.#runError = undefined;
    } catch (err) {
      this.#runError = startErrorOf(err);
      log.error('could not start the runner', { error: err });
    }
  }

  /**
   * Re-read runner.yaml and credentials, then start (or attach to) the runner they describe.
   * A failure is kept as `startError`, pushed, and raised.
   */
  async restart(): Promise<AppState> {
    try {
      this.reload();
    } catch (err) {
      this.#configError = startErrorOf(err);
      this.pushState();
      throw err;
    }
    try {
      await this.refreshSignedIn();
      await this.host.start(this.#loaded);
      this.#runError = undefined;
    } catch (err) {
      this.#runError = startErrorOf(err);
      this.pushState();
      throw err;
    }
    return this.pushState();
  }

  requireRunning(): void {
    if (this.host.snapshot()) return;
    const c = this.#loaded.config;
    if (!c.runner_id || !c.server_url)
      throw new RunnerError('not_running', 'the runner is not running: this machine is not registered yet', { remedy: 'register' });
    throw new RunnerError('not_running', 'the runner is registered but not running (it could not start; the log says why)', {
      remedy: 'retry',
    });
  }

  /** While a headless `sibyl-runner run` owns runner.yaml, the window must not write it (one writer per file). */
  requireOwnConfig(what: string): void {
    if (this.host.attached)
      throw new RunnerError('attached', `a headless sibyl-runner is running this configuration; ${what} there, or stop it first`);
  }

  /**
   * Check a runner.yaml patch as a start-up would read it (schema, then absolute paths and URLs)
   * before anything changes. Raises ConfigError naming the key.
   */
  checkFilePatch(file: ConfigFile): void {
    const { path } = this.#loaded;
    const merged = ConfigFileSchema.safeParse({ ...this.#loaded.file.raw(), ...file });
    if (!merged.success) throw validationError(path, merged.error);
    resolveConfig(merged.data, path, this.opts.env, { config: path }, this.opts.home);
  }

  /**
   * The task history, read straight from the state folder while the core process writes it (SQLite
   * in WAL mode with a busy timeout, historyDb.ts: readers never block the writer); undefined
   * before registration.
   */
  history(): HistoryBackend | undefined {
    if (this.opts.history) return this.opts.history;
    if (!this.#loaded.config.runner_id) return undefined;
    if (!this.#ownHistory) {
      const store = openHistory(this.#loaded.config);
      this.#ownHistory = { store, backend: historyBackend(store) };
    }
    return this.#ownHistory.backend;
  }

  async close(): Promise<void> {
    await this.host.stop();
    this.#ownHistory?.store.close();
    this.#ownHistory = undefined;
  }
}
