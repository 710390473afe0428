import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { credentialsPathFor, FileCredentialStore, type CredentialStore } from '../runner/config/credentials.ts';
import { loadConfig, type LoadedConfig } from '../runner/config/loadConfig.ts';
import { RunnerError } from '../runner/errors.ts';
import { logger } from '../runner/logger.ts';
import { detectedCapabilities } from '../runner/projects/capabilities.ts';
import { ProjectLinks } from '../runner/projects/links.ts';
import type { TaskObserver } from '../runner/tasks/taskEvents.ts';
import type { AppState, EventChannel, EventPayload, Handlers, ProjectLink, Settings } from '../../preload/contract.ts';
import { historyHandlers } from './historyHandlers.ts';
import { RunnerHost } from './runnerHost.ts';
import { openHistory } from '../runner/services.ts';
import { historyBackend, type HistoryBackend } from '../runner/history/historyBackend.ts';
import type { HistoryStore } from '../runner/history/historyStore.ts';
import { checkServer, DeviceLogin, registerRunner, useToken } from './wizard.ts';

/** What only the OS shell can do; Electron provides these, tests provide plain ones. */
export interface DesktopPorts {
  openPath(path: string): Promise<void>;
  openExternal(url: string): Promise<void>;
  pickFolder(defaultPath?: string): Promise<string | null>;
  loginItem: { get(): Promise<boolean>; set(enabled: boolean): Promise<void> };
  /** desktop-only preferences (electron-store in the app) */
  prefs?: { get(key: 'notifications'): boolean | undefined; set(key: 'notifications', value: boolean): void };
  /** where secrets live (the app passes its OS-encrypted store when the OS has one) */
  credentials?: CredentialStore;
}

export interface AppServiceOptions {
  home: string;
  configPath: string;
  env: Record<string, string | undefined>;
  ports: DesktopPorts;
  /** overrides for tests */
  history?: HistoryBackend;
}

export type AppEventListener = <E extends EventChannel>(event: E, payload: EventPayload<E>) => void;

export interface FinishedTask {
  taskId: string;
  projectId: string;
  prompt: string;
  status: string;
  error: string | undefined;
}

export interface AppService {
  handlers: Handlers;
  state(): AppState;
  /** Re-check the link now (OS resumed, network back). */
  kick(): void;
  /** A task reached its end (for notifications; not part of the renderer contract). */
  onTaskFinished(listener: (t: FinishedTask) => void): () => void;
  onEvent(listener: AppEventListener): () => void;
  close(): Promise<void>;
}

const log = logger('app');

/**
 * Everything the desktop window can ask for, over the same core the CLI runs. No Electron here:
 * the shell adapts it to IPC, and the browser tests drive it directly.
 */
export async function createAppService(opts: AppServiceOptions): Promise<AppService> {
  const listeners = new Set<AppEventListener>();
  const emit: AppEventListener = (event, payload) => {
    for (const l of listeners) l(event, payload);
  };
  const credentials = opts.ports.credentials ?? new FileCredentialStore(credentialsPathFor(opts.configPath));
  let loaded: LoadedConfig = load();
  let version = 0;
  let notifications = opts.ports.prefs?.get('notifications') ?? true;
  const links = new ProjectLinks({ homeDir: opts.home, configDir: dirname(opts.configPath) });

  function load(): LoadedConfig {
    return loadConfig({ flags: { config: opts.configPath }, env: opts.env, home: opts.home });
  }

  const finishedListeners = new Set<(t: FinishedTask) => void>();
  const observer: TaskObserver = {
    line: (taskId, stream, text) => emit('task:line', { taskId, stream, text, at: new Date().toISOString() }),
    finished: (taskId, result) => {
      const view = host.snapshot()?.running.find((t) => t.taskId === taskId);
      const t: FinishedTask = {
        taskId,
        projectId: view?.projectId ?? '',
        prompt: view?.prompt ?? '',
        status: result.status,
        error: result.error,
      };
      for (const l of finishedListeners) l(t);
    },
  };
  const host = new RunnerHost({ home: opts.home, env: opts.env, credentials, observer, onChange: () => emit('app:state', state()) });
  const device = new DeviceLogin(credentials, (e) => {
    emit('wizard:device', e);
    if (e.state === 'approved') void refreshSignedIn().then(() => emit('app:state', state()));
  });
  // Readable even when this process runs no daemon (attached to a headless one, or stopped).
  let ownHistory: { store: HistoryStore; backend: HistoryBackend } | undefined;
  const history = (): HistoryBackend | undefined => {
    if (opts.history) return opts.history;
    if (host.services) return host.services.history;
    if (!loaded.config.runner_id) return undefined;
    if (!ownHistory) {
      const store = openHistory(loaded.config);
      ownHistory = { store, backend: historyBackend(store) };
    }
    return ownHistory.backend;
  };

  let signedIn = false;
  async function refreshSignedIn(): Promise<void> {
    const c = loaded.config;
    const creds: Awaited<ReturnType<CredentialStore['load']>> = await credentials.load().catch(() => ({}));
    signedIn = Boolean(c.runner_token || c.access_token || creds.access_token || creds.refresh_token || creds.runner_token);
  }

  function state(): AppState {
    const c = loaded.config;
    return {
      version: ++version,
      registered: Boolean(c.runner_id && c.server_url),
      serverUrl: c.server_url,
      runnerName: c.name,
      runnerId: c.runner_id,
      attached: host.attached,
      signedIn,
      daemon: host.snapshot(),
    };
  }

  async function restart(): Promise<void> {
    loaded = load();
    await refreshSignedIn();
    await host.start(loaded);
    emit('app:state', state());
  }

  async function settings(): Promise<Settings> {
    const c = loaded.config;
    return {
      startAtLogin: await opts.ports.loginItem.get(),
      notifications,
      maxAgents: c.max_concurrent_agents,
      worktreeBase: c.worktree_base,
      historyRetentionDays: c.history_retention_days,
      historyMaxTasks: c.history_max_tasks,
      credentialsStorage: credentials.describe(),
    };
  }

  async function projectList(): Promise<ProjectLink[]> {
    return (await links.list()).map((p) => ({
      path: p.path,
      projectId: p.projectId,
      source: p.source,
      ok: p.usable,
      problem: p.problem,
      capabilities: p.capabilities,
      remoteUrl: p.remoteUrl,
    }));
  }

  function requireRunning(): void {
    if (!host.snapshot()) throw new RunnerError('not_running', 'the runner is not running; register it first');
  }

  const handlers: Handlers = {
    'app:state': async () => state(),
    'runner:pause': async () => (requireRunning(), await host.command({ method: 'pause' }), state()),
    'runner:resume': async () => (requireRunning(), await host.command({ method: 'resume' }), state()),
    'tasks:cancel': async ({ taskId }) => (await host.command({ method: 'cancel', taskId })) as { cancelled: boolean },
    'tasks:openFolder': async ({ taskId }) => {
      const running = host.snapshot()?.running.find((t) => t.taskId === taskId);
      const path = running?.worktreePath ?? (await history()?.get(taskId))?.worktreePath;
      if (!path) throw new RunnerError('not_found', `no folder is known for task ${taskId}`);
      await opts.ports.openPath(path);
      return { ok: true };
    },
    ...historyHandlers(history),
    'wizard:checkServer': async ({ url }) => checkServer(url),
    'wizard:startDeviceLogin': async ({ serverUrl }) => device.start(serverUrl),
    'wizard:cancelDeviceLogin': async () => (device.cancel(), { ok: true as const }),
    'wizard:useToken': async ({ serverUrl, token }) => {
      const r = await useToken(credentials, serverUrl, token);
      await refreshSignedIn();
      emit('app:state', state());
      return r;
    },
    'wizard:detect': async () => ({
      hostname: loaded.config.name || hostname(),
      capabilities: await detectedCapabilities({ links }),
      worktreeBase: loaded.config.worktree_base,
      maxAgents: loaded.config.max_concurrent_agents,
    }),
    'wizard:register': async (input) => {
      const reg = await registerRunner(credentials, input);
      await host.stop();
      loaded.file.update({
        server_url: reg.serverUrl,
        runner_id: reg.id,
        graph_runner_id: reg.graphRunnerId,
        name: input.name,
        max_concurrent_agents: input.maxAgents,
        capabilities: input.capabilities,
        worktree_base: input.worktreeBase,
      });
      await restart();
      return { runnerId: reg.id };
    },
    'settings:get': async () => settings(),
    'settings:set': async (patch) => {
      if (patch.startAtLogin !== undefined) await opts.ports.loginItem.set(patch.startAtLogin);
      if (patch.notifications !== undefined) {
        notifications = patch.notifications;
        opts.ports.prefs?.set('notifications', notifications);
      }
      const file: Record<string, unknown> = {};
      if (patch.maxAgents !== undefined) file.max_concurrent_agents = patch.maxAgents;
      if (patch.worktreeBase !== undefined) file.worktree_base = patch.worktreeBase;
      if (patch.historyRetentionDays !== undefined) file.history_retention_days = patch.historyRetentionDays;
      if (patch.historyMaxTasks !== undefined) file.history_max_tasks = patch.historyMaxTasks;
      if (Object.keys(file).length) {
        if (host.attached) {
          // One writer per file: the headless daemon owns runner.yaml while it runs.
          if (patch.maxAgents !== undefined) await host.command({ method: 'setMaxAgents', maxAgents: patch.maxAgents });
          if (Object.keys(file).some((k) => k !== 'max_concurrent_agents'))
            throw new RunnerError(
              'attached',
              'a headless sibyl-runner owns this configuration; change it there (only max agents can be changed from here)',
            );
        } else {
          loaded.file.update(file);
          loaded = load();
          if (patch.maxAgents !== undefined && host.snapshot()) await host.command({ method: 'setMaxAgents', maxAgents: patch.maxAgents });
          if (patch.worktreeBase !== undefined) await restart();
        }
      }
      return settings();
    },
    'projects:list': async () => projectList(),
    'projects:link': async ({ path, projectId }) => (await links.link(path, projectId), projectList()),
    'projects:unlink': async ({ projectId }) => (await links.unlink(projectId), projectList()),
    'account:signOut': async () => {
      await host.stop();
      await credentials.save({});
      await refreshSignedIn();
      emit('app:state', state());
      return state();
    },
    'runner:unregister': async () => {
      await host.stop();
      // The server keeps the record until deleted there (it must be offline first, §3.6).
      loaded.file.update({ runner_id: '', graph_runner_id: '' });
      loaded = load();
      emit('app:state', state());
      return state();
    },
    'runner:restart': async () => {
      await restart();
      return state();
    },
    'os:pickFolder': async ({ defaultPath }) => ({ path: await opts.ports.pickFolder(defaultPath ?? loaded.config.worktree_base) }),
    'os:openExternal': async ({ url }) => {
      if (!/^https?:\/\//i.test(url)) throw new RunnerError('bad_input', 'only http(s) links can be opened');
      await opts.ports.openExternal(url);
      return { ok: true };
    },
  };

  await refreshSignedIn();
  await host.start(loaded).catch((err: unknown) => log.error('could not start the runner', { error: err }));

  return {
    handlers,
    state,
    kick: () => host.kick(),
    onTaskFinished(listener) {
      finishedListeners.add(listener);
      return () => finishedListeners.delete(listener);
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      device.cancel();
      await host.stop();
      ownHistory?.store.close();
    },
  };
}
