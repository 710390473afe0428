import { logger } from '../runner/logger.ts';
import type { BrowserWindowLike, ElectronSurface, RenderProcessGoneDetails, WindowBounds } from './electronSurface.ts';
import { APP_URL, isExternalHttpUrl, isPermissionAllowed } from './senderCheck.ts';
import { placeWindow } from './windowBounds.ts';

const log = logger('window');

/** A crashed renderer is reloaded at most this many times per {@link CRASH_WINDOW_MS}; then an error page stays. */
export const MAX_CRASH_RELOADS = 3;
export const CRASH_WINDOW_MS = 60_000;

/** Shown instead of reloading once the renderer keeps crashing (no script, nothing of ours loaded). */
export const CRASH_PAGE_URL = `data:text/html;charset=utf-8,${encodeURIComponent(
  '<!doctype html><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">' +
    '<title>Sibyl Runner</title><body style="font:15px system-ui,sans-serif;margin:3em">' +
    '<h1 style="font-size:20px">The window stopped working</h1>' +
    '<p>Its page crashed several times in a minute, so it is no longer reloaded automatically. The runner keeps working in the background.</p>' +
    '<p>Open the window again from the tray icon to retry. If it keeps happening, the desktop log (in ~/.sibyl/logs by default) has the details.</p>',
)}`;

/**
 * The one app window, locked down: context isolation, sandbox, no node integration, CSP from
 * the app protocol, no navigation away, no new windows, no web permission but clipboard writes from our page, no DevTools
 * when packaged; a crashed page is reloaded (a bounded number of times).
 * Closing it keeps the runner (the tray stays); it is created again on demand.
 */
export class MainWindow {
  readonly #e: Pick<ElectronSurface, 'BrowserWindow' | 'shell' | 'screen'>;
  readonly #preload: string;
  readonly #ours: Set<number>;
  readonly #bounds: { get(): WindowBounds | undefined; set(b: WindowBounds): void } | undefined;
  readonly #devTools: boolean;
  readonly #now: () => number;
  #win: BrowserWindowLike | undefined;
  /** when the current window's renderer died (ms, from #now), kept for {@link CRASH_WINDOW_MS} */
  #crashes: number[] = [];
  #crashPage = false;

  constructor(
    e: Pick<ElectronSurface, 'BrowserWindow' | 'shell' | 'screen'>,
    opts: {
      preloadPath: string;
      ourWebContents: Set<number>;
      bounds?: { get(): WindowBounds | undefined; set(b: WindowBounds): void };
      /** DevTools are for development only: `!app.isPackaged` */
      devTools?: boolean;
      /** clock for the crash-reload bound (ms); tests pass their own */
      now?: () => number;
    },
  ) {
    this.#e = e;
    this.#preload = opts.preloadPath;
    this.#ours = opts.ourWebContents;
    this.#bounds = opts.bounds;
    this.#devTools = opts.devTools ?? false;
    this.#now = opts.now ?? Date.now;
  }

  /** True while the window shows the crash page instead of the app (the renderer kept crashing). */
  get crashed(): boolean {
    return this.#crashPage && this.window !== undefined;
  }

  get window(): BrowserWindowLike | undefined {
    return this.#win && !this.#win.isDestroyed() ? this.#win : undefined;
  }

  /** Show (creating if needed) and focus. Resolves once the page is loading. */
  async show(): Promise<BrowserWindowLike> {
    const existing = this.window;
    if (existing) {
      if (existing.isMinimized()) existing.restore();
      existing.show();
      existing.focus();
      if (this.#crashPage) {
        // The user asked for the window again: one more try with a fresh crash budget.
        this.#crashPage = false;
        this.#crashes = [];
        await existing.loadURL(APP_URL);
      }
      return existing;
    }
    // Where the user left it last time (a desktop-only preference).
    // Checked against the displays attached now: a monitor may be gone since.
    const saved = placeWindow(this.#bounds?.get(), this.#e.screen.getAllDisplays(), this.#e.screen.getPrimaryDisplay(), {
      width: 720,
      height: 480,
    });
    const win = new this.#e.BrowserWindow({
      width: saved?.width ?? 1080,
      height: saved?.height ?? 720,
      ...(saved ? { x: saved.x, y: saved.y } : {}),
      minWidth: 720,
      minHeight: 480,
      show: false,
      title: 'Sibyl Runner',
      webPreferences: {
        preload: this.#preload,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        webSecurity: true,
        spellcheck: false,
        devTools: this.#devTools,
      },
    });
    this.#win = win;
    this.#crashes = [];
    this.#crashPage = false;
    const id = win.webContents.id;
    this.#ours.add(id);
    win.on('close', () => this.#saveBounds(win));
    win.on('closed', () => {
      this.#ours.delete(id);
      if (this.#win === win) this.#win = undefined;
    });
    win.webContents.setWindowOpenHandler(({ url }) => {
      if (isExternalHttpUrl(url)) void this.#e.shell.openExternal(url);
      return { action: 'deny' };
    });
    win.webContents.on('will-navigate', (event, url) => {
      if (!url.startsWith(APP_URL.replace('index.html', ''))) event.preventDefault();
    });
    // Only clipboard writes from our page (the wizard's "Copy code"); both handlers, since
    // Chromium checks before it asks.
    win.webContents.session.setPermissionRequestHandler((_wc, permission, callback, details) =>
      callback(isPermissionAllowed(permission, details.requestingUrl ?? '', details.isMainFrame)),
    );
    win.webContents.session.setPermissionCheckHandler((_wc, permission, origin, details) =>
      isPermissionAllowed(permission, details.requestingUrl ?? origin, details.isMainFrame),
    );
    win.webContents.on('render-process-gone', (_event, details) => this.#rendererGone(win, details));
    win.once('ready-to-show', () => win.show());
    await win.loadURL(APP_URL);
    return win;
  }

  /** Keep the open window's position now: quitting ends with `app.exit()`, which skips its 'close'. */
  saveBounds(): void {
    const win = this.window;
    if (win) this.#saveBounds(win);
  }

  /** Normal bounds: a minimised or maximised window's own bounds would reopen it off-screen or full-size. */
  #saveBounds(win: BrowserWindowLike): void {
    this.#bounds?.set(win.getNormalBounds());
  }

  /** A dead renderer leaves a blank window: reload it, but not in a tight loop. */
  #rendererGone(win: BrowserWindowLike, details: RenderProcessGoneDetails): void {
    if (win !== this.#win || win.isDestroyed() || this.#crashPage) return;
    const now = this.#now();
    this.#crashes = [...this.#crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    if (this.#crashes.length <= MAX_CRASH_RELOADS) {
      log.warn('window renderer gone: reloading', { reason: details.reason, exitCode: details.exitCode, recent: this.#crashes.length });
      win.webContents.reload();
      return;
    }
    log.error('window renderer keeps crashing: showing the error page', { reason: details.reason, exitCode: details.exitCode });
    this.#crashPage = true;
    win.loadURL(CRASH_PAGE_URL).catch((err: unknown) => log.error('could not show the error page', { error: err }));
  }

  send(channel: string, ...args: unknown[]): void {
    if (this.#crashPage) return; // the crash page has no listener; nothing of ours runs there
    this.window?.webContents.send(channel, ...args);
  }
}
