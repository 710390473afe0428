import type { AppState, Handlers } from '../../preload/contract.ts';
import { credentialsPathFor, FileCredentialStore } from '../runner/config/credentials.ts';
import { AppContext, type AppEventListener, type AppServiceOptions } from './appContext.ts';
import { historyHandlers } from './handlers/history.ts';
import { osHandlers } from './handlers/os.ts';
import { projectHandlers } from './handlers/projects.ts';
import { runnerHandlers } from './handlers/runner.ts';
import { settingsHandlers } from './handlers/settings.ts';
import { transcriptHandlers } from './handlers/transcript.ts';
import { wizardHandlers } from './handlers/wizard.ts';
import { resolveLoginShellEnv } from './loginShellEnv.ts';
import { DeviceLogin } from './wizard.ts';

export type { AppEventListener, AppServiceOptions, DesktopPorts } from './appContext.ts';

/** A task reached its end: what a notification says about it. */
export interface FinishedTask {
  taskId: string;
  projectId: string;
  prompt: string;
  status: string;
  error: string | undefined;
}

export interface AppService {
  /** one handler per contract channel (preload/contract.ts `requests`) */
  handlers: Handlers;
  state(): AppState;
  /** Re-check the link now (OS resumed, network back). */
  kick(): void;
  /** A task reached its end (for notifications; not part of the renderer contract). */
  onTaskFinished(listener: (t: FinishedTask) => void): () => void;
  onEvent(listener: AppEventListener): () => void;
  close(): Promise<void>;
}

/**
 * Everything the desktop window can ask for, over the same core the CLI runs. No Electron here:
 * the shell adapts it to IPC, and the browser tests drive it directly. Handlers live one module
 * per feature under handlers/; this function wires them to one shared AppContext and starts the
 * runner (a start failure is logged and shown through the state, never thrown).
 */
export async function createAppService(given: AppServiceOptions): Promise<AppService> {
  const opts: AppServiceOptions = given.loginShell
    ? { ...given, env: await resolveLoginShellEnv(given.env, given.loginShell === true ? {} : given.loginShell) }
    : given;
  const credentials = opts.ports.credentials ?? new FileCredentialStore(credentialsPathFor(opts.configPath));
  const finishedListeners = new Set<(t: FinishedTask) => void>();
  // Live lines and finished tasks come from the core's subscription, batched there (~10 a second per task).
  const app = new AppContext(opts, credentials, {
    onLines: ({ taskId, lines, dropped }) => app.emit('task:lines', { taskId, lines, ...(dropped ? { dropped } : {}) }),
    onFinished: ({ taskId, projectId, prompt, status, error }) => {
      const t: FinishedTask = { taskId, projectId, prompt, status, error };
      for (const l of finishedListeners) l(t);
    },
  });
  const device = new DeviceLogin(credentials, (e) => {
    app.emit('wizard:device', e);
    if (e.state === 'approved') void app.refreshSignedIn().then(() => app.pushState());
  });

  const handlers = {
    ...runnerHandlers(app),
    ...historyHandlers(app),
    ...transcriptHandlers(app),
    ...wizardHandlers(app, device),
    ...settingsHandlers(app),
    ...projectHandlers(app),
    ...osHandlers(app),
  } satisfies Handlers;

  await app.refreshSignedIn();
  await app.start();

  return {
    handlers,
    state: () => app.state(),
    kick: () => app.host.kick(),
    onTaskFinished(listener) {
      finishedListeners.add(listener);
      return () => finishedListeners.delete(listener);
    },
    onEvent: (listener) => app.on(listener),
    async close() {
      device.cancel();
      await app.close();
    },
  };
}
