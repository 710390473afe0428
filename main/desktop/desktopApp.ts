import { createAppService, type AppService } from '../app/appService.ts';
import { everyChannel } from '../app/dispatch.ts';
import { unavailableAppService } from '../app/unavailableService.ts';
import { background, configureLogging, logger } from '../runner/logger.ts';
import { oneLine, promptSummary } from '../runner/vocabulary.ts';
import { EVENT_CHANNEL } from '../../preload/channels.ts';
import type { AppState, Handlers, ProjectLink } from '../../preload/contract.ts';
import { claimAppUserModelId } from './appIdentity.ts';
import { utilityCoreLauncher } from './coreProcess.ts';
import { applyApplicationMenu } from './appMenu.ts';
import { installCliWithDialogs } from './cliInstall.ts';
import { appProtocolHandler } from './appProtocol.ts';
import { createAutostart, type LoginItemState } from './autostart.ts';
import type { BrowserWindowLike, ElectronSurface, WindowBounds } from './electronSurface.ts';
import { registerIpc } from './ipc.ts';
import { APP_SCHEME } from './senderCheck.ts';
import { TrayController, trayImagePath } from './tray.ts';
import { projectLabel, trayModel, type TrayAction, type TrayModel } from './trayModel.ts';
import { createVault } from './vault.ts';
import { MainWindow } from './windows.ts';

export interface DesktopOptions {
  home: string;
  configPath: string;
  env: Record<string, string | undefined>;
  platform: NodeJS.Platform;
  argv: string[];
  execPath: string;
  rendererDir: string;
  preloadPath: string;
  trayDir: string;
  logDir: string;
  /** the CLI launcher the core process runs (resources/cli/bin/sibyl-runner.js; bin/sibyl-runner.js unpackaged) */
  coreEntry: string;
  /** extra arguments for the login item (the app folder when running unpackaged with `electron .`) */
  autostartArgs?: string[];
  /** how long Quit waits for running agents to be stopped and reported */
  quitDrainMs?: number;
  /** desktop-only preferences (electron-store in the app) */
  prefs?: { get(key: 'notifications'): boolean | undefined; set(key: 'notifications', value: boolean): void };
  /** the window's last position and size (electron-store in the app) */
  windowBounds?: { get(): WindowBounds | undefined; set(b: WindowBounds): void };
  /** the packaged app's resources/bin/sibyl-runner: offered as /usr/local/bin/sibyl-runner on macOS (cliInstall.ts) */
  cliLauncher?: string;
}

export interface Desktop {
  service: AppService;
  window: MainWindow;
  tray: TrayController;
  quit(): Promise<void>;
}

const log = logger('desktop');
/** Notifications held for their click handler; older ones are let go (their 'close' may never come). */
const MAX_LIVE_NOTIFICATIONS = 20;
/** How often the tray is redrawn while tasks run: their items show the elapsed minutes. */
const TRAY_CLOCK_MS = 20_000;

/** Must run before the app is ready: our renderer is served from a standard, secure scheme. */
export function registerAppScheme(e: Pick<ElectronSurface, 'protocol'>): void {
  e.protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

/** The tray while the vault and the app service are still being set up (a keyring prompt may take as long as the user does). */
const STARTING_TRAY: TrayModel = {
  icon: 'connecting',
  tooltip: 'Sibyl Runner — starting…',
  menu: [
    { id: 'status', label: 'Starting…', enabled: false },
    { id: 'sep-main', type: 'separator' },
    { id: 'open', label: 'Open Sibyl Runner…' },
    { id: 'sep-quit', type: 'separator' },
    { id: 'quit', label: 'Quit' },
  ],
};

/** Handlers that wait for the service: the window may be opened, and ask, before start-up has finished. */
function awaitingHandlers(service: Promise<AppService>): Handlers {
  return everyChannel((c) => async (input) => ((await service).handlers[c] as (i: unknown) => Promise<unknown>)(input));
}

/**
 * The desktop shell: thin wiring of Electron to the core's AppService. Single instance, tray
 * reflecting state, one locked-down window, IPC through one handler, start at login,
 * notifications, link re-check on resume, graceful quit.
 * The tray (with Open and Quit), the window, IPC and the app's event handlers exist before the
 * slow part of start-up (keyring, login shell, app service); requests made meanwhile wait for it.
 * Resolves with undefined when this instance quits instead (a second instance, or Quit during start-up).
 */
export async function startDesktop(e: ElectronSurface, o: DesktopOptions): Promise<Desktop | undefined> {
  claimAppUserModelId(e.app, o.platform); // before any tray, window or notification: Windows attributes them by it
  if (!e.app.requestSingleInstanceLock()) {
    e.app.quit();
    return undefined;
  }
  configureLogging({ logDir: o.logDir });
  e.app.dock?.hide(); // menu-bar app: no dock icon (LSUIElement in the packaged app)
  await e.app.whenReady();
  e.protocol.handle(APP_SCHEME, appProtocolHandler(o.rendererDir));
  applyApplicationMenu(e, o.platform);

  // Everything up to the first await below is synchronous, so no click, window or request can
  // reach a handler that is not set up yet.
  // The tray first: whatever fails below is shown in it (and in the window), never only on stderr.
  const tray = new TrayController({
    electron: e,
    tray: new e.Tray(e.nativeImage.createFromPath(trayImagePath(o.trayDir, 'offline', o.platform))),
    trayDir: o.trayDir,
    platform: o.platform,
    onAction: (id, checked) => void onTrayAction(id, checked),
  });
  tray.update(STARTING_TRAY);
  tray.flush();

  const autostart = createAutostart({
    platform: o.platform,
    app: e.app,
    homeDir: o.home,
    env: o.env,
    execPath: o.execPath,
    ...(o.autostartArgs ? { args: o.autostartArgs } : {}),
  });
  const ourWebContents = new Set<number>();
  const window = new MainWindow(e, {
    preloadPath: o.preloadPath,
    ourWebContents,
    devTools: !e.app.isPackaged,
    ...(o.windowBounds ? { bounds: o.windowBounds } : {}),
  });

  /** Set once start-up has built it; until then there is nothing to pause, drain or render. */
  let service: AppService | undefined = undefined;
  let serviceReady!: (s: AppService) => void;
  const servicePromise = new Promise<AppService>((resolve) => (serviceReady = resolve));
  registerIpc(e.ipcMain, awaitingHandlers(servicePromise), ourWebContents);

  // Only the packaged macOS app links a command-line tool: elsewhere a package or installer puts it on PATH.
  const cliLauncher = o.platform === 'darwin' && e.app.isPackaged ? o.cliLauncher : undefined;
  // The OS's own login-item state (macOS 13+ may hold it for approval), not what was last set.
  let loginItem: LoginItemState = { status: 'off' };
  // The project links name the tasks' projects in the tray; read again when a task of a project not yet known runs.
  let projects: ProjectLink[] = [];
  let projectsAskedFor = '';
  const renderTray = (state: AppState): void => {
    tray.update(
      trayModel(state, {
        startAtLogin: loginItem.status === 'enabled',
        loginItemHint: loginItem.hint,
        projects,
        now: Date.now(),
        installCli: cliLauncher !== undefined,
      }),
    );
    const unknown = [...new Set((state.daemon?.running ?? []).map((t) => t.projectId))].filter(
      (id) => !projects.some((p) => p.projectId === id),
    );
    const key = unknown.sort().join('\n');
    if (!service || !unknown.length || key === projectsAskedFor) return;
    projectsAskedFor = key;
    const ready = service;
    background(
      log,
      'reading the project links for the tray',
      ready.handlers['projects:list']({}).then((list) => {
        projects = list;
        renderTray(ready.state());
      }),
    );
  };

  let quitting = false;
  let trayClock: NodeJS.Timeout | undefined = undefined;
  const quit = async (): Promise<void> => {
    if (quitting) return;
    quitting = true;
    // app.exit() below skips the window's 'close', where its position is otherwise saved.
    window.saveBounds();
    // During start-up nothing runs yet: nothing to drain, and the keyring prompt may never end.
    if (service) {
      log.info('quitting: draining the runner');
      await Promise.race([service.close(), new Promise((r) => setTimeout(r, o.quitDrainMs ?? 10_000))]);
    }
    clearInterval(trayClock);
    tray.dispose();
    e.app.exit(0);
  };

  /** Windows whose 'session-end' is handled (each window is told, not the app). */
  const sessionWatched = new WeakSet<BrowserWindowLike>();
  /** Show and focus the window. A menu-bar-only macOS app is not active, so its window would open behind others. */
  async function showWindow(): Promise<void> {
    const win = await window.show();
    if (!sessionWatched.has(win)) {
      sessionWatched.add(win);
      win.on('session-end', endWithSession);
    }
    if (o.platform === 'darwin') e.app.focus({ steal: true });
  }

  async function onTrayAction(id: TrayAction, checked?: boolean): Promise<void> {
    try {
      // Open and Quit work from the start; the rest is only in the menu once the service is there.
      if (id === 'open' || id === 'details') await showWindow();
      else if (id === 'quit') await quit();
      else if (!service) return;
      else if (id.startsWith('task:')) await navigate('task', id.slice('task:'.length));
      else if (id === 'pause') await service.handlers['runner:pause']({});
      else if (id === 'resume') await service.handlers['runner:resume']({});
      else if (id === 'register') await navigate('wizard');
      // Signing in keeps the registration: the dashboard's "Sign in again" (the wizard would register a new runner).
      else if (id === 'signIn' || id === 'dashboard' || id === 'moreTasks') await navigate('dashboard');
      else if (id === 'history' || id === 'settings') await navigate(id);
      else if (id === 'retry') service.kick();
      else if (id === 'copyRunnerId') e.clipboard.writeText(service.state().runnerId);
      else if (id === 'installCli' && cliLauncher) await installCliWithDialogs(e, cliLauncher);
      else if (id === 'startAtLogin') {
        await autostart.set(Boolean(checked));
        loginItem = await autostart.state();
        renderTray(service.state());
      }
    } catch (err) {
      log.error('tray action failed', { id, error: err });
    }
  }

  async function navigate(route: 'wizard' | 'dashboard' | 'history' | 'settings' | 'task', taskId?: string): Promise<void> {
    await showWindow();
    window.send(EVENT_CHANNEL, 'app:navigate', { route, ...(taskId ? { taskId } : {}) });
  }

  e.app.on('second-instance', () => void showWindow());
  e.app.on('activate', () => void showWindow());
  e.app.on('window-all-closed', () => {
    /* stay in the tray: closing the window keeps the runner */
  });
  e.app.on('before-quit', (event) => {
    if (quitting) return;
    event.preventDefault();
    void quit();
  });
  e.powerMonitor.on('shutdown', endWithSession);

  /**
   * The user is logging out or the machine restarts or shuts down (powerMonitor 'shutdown' on
   * macOS and Linux; the window's 'session-end' on Windows, where before-quit does not come then).
   * Exit now, without the drain: held in before-quit it would hold up the session, and macOS
   * cancels a logout for an app that does not quit. What the running tasks did stays in the
   * journal, and the next start reports it.
   */
  function endWithSession(): void {
    log.info('the session is ending: exiting without draining');
    quitting = true;
    window.saveBounds();
    tray.dispose();
    e.app.exit(0);
  }

  // An invalid runner.yaml, unreadable credentials and a failed runner start are kept in the
  // service's state (startError, credentialsError); anything else that breaks the app layer
  // leaves a service that only reports it.
  let built: AppService;
  try {
    const credentials = await createVault({
      safeStorage: e.safeStorage,
      userData: e.app.getPath('userData'),
      configPath: o.configPath,
      platform: o.platform,
    });
    built = await createAppService({
      home: o.home,
      configPath: o.configPath,
      env: o.env,
      loginShell: true,
      ports: {
        openPath: async (p) => {
          const err = await e.shell.openPath(p);
          if (err) throw new Error(err);
        },
        openExternal: (url) => e.shell.openExternal(url),
        pickFolder: async (defaultPath) => {
          const r = await e.dialog.showOpenDialog({
            properties: ['openDirectory', 'createDirectory'],
            ...(defaultPath ? { defaultPath } : {}),
          });
          return r.canceled ? null : (r.filePaths[0] ?? null);
        },
        loginItem: autostart,
        ...(o.prefs ? { prefs: o.prefs } : {}),
        credentials,
        // The core runs in its own process, off this thread (issue 14, item 7); it asks for `credentials` over its channel.
        coreLauncher: utilityCoreLauncher(e.utilityProcess, { entry: o.coreEntry }),
      },
    });
  } catch (err) {
    log.error('the app could not start', { error: err });
    built = unavailableAppService(err);
  }
  loginItem = await autostart.state().catch(() => loginItem);
  if (quitting) {
    // Quit during start-up: the process is exiting; stop what was just started all the same.
    await built.close();
    return undefined;
  }
  service = built;
  serviceReady(built);
  const ready = built;

  ready.onEvent((event, payload) => {
    window.send(EVENT_CHANNEL, event, payload);
    if (event === 'app:state') renderTray(payload as AppState);
  });
  // A notification only referenced by a local is garbage-collected, and its click handler with
  // it: hold each until clicked, closed or failed. 'close' is not guaranteed on every OS, so only
  // the most recent ones are held.
  const liveNotifications = new Set<object>();
  ready.onTaskFinished((t) => {
    const notify = o.prefs?.get('notifications') ?? true;
    if (!notify || !e.Notification.isSupported()) return;
    const ok = t.status === 'completed';
    const n = new e.Notification({
      title: ok ? 'Task completed' : `Task ${t.status}`,
      body: `${projectLabel(t.projectId, projects)} — ${promptSummary(t.prompt, 80)}${!ok && t.error ? ` — ${oneLine(t.error, 80)}` : ''}`,
      silent: ok,
    });
    const release = (): void => void liveNotifications.delete(n);
    n.on('click', () => {
      release();
      void navigate('task', t.taskId);
    });
    n.on('close', release);
    n.on('failed', release);
    liveNotifications.add(n);
    for (const old of liveNotifications) {
      if (liveNotifications.size <= MAX_LIVE_NOTIFICATIONS) break;
      liveNotifications.delete(old);
    }
    n.show();
  });
  renderTray(ready.state());
  // Only while tasks run: the tray's model is unchanged otherwise, and TrayController skips it anyway.
  trayClock = setInterval(() => {
    if (ready.state().daemon?.running.length) renderTray(ready.state());
  }, TRAY_CLOCK_MS);
  trayClock.unref();

  // After sleep or a network change, re-check the link now instead of waiting for a ping timeout.
  e.powerMonitor.on('resume', () => ready.kick());
  e.powerMonitor.on('unlock-screen', () => ready.kick());
  let online = e.net.isOnline();
  const netTimer = setInterval(() => {
    const now = e.net.isOnline();
    if (now && !online) ready.kick();
    online = now;
  }, 5000);
  netTimer.unref();

  // A registered runner starts in the tray on every OS (a macOS login item passes no --hidden and
  // cannot be told apart reliably); the window opens on first run and when something needs fixing.
  const first = ready.state();
  if (!first.registered || first.startError) await showWindow();
  return { service: ready, window, tray, quit };
}
