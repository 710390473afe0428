import type { BrowserWindowLike, ElectronSurface, WindowBounds } from './electronSurface.ts';
import { APP_URL, isExternalHttpUrl } from './senderCheck.ts';

/**
 * The one app window, locked down: context isolation, sandbox, no node integration, CSP from
 * the app protocol, no navigation away, no new windows, every permission request denied.
 * Closing it keeps the runner (the tray stays); it is created again on demand.
 */
export class MainWindow {
  readonly #e: Pick<ElectronSurface, 'BrowserWindow' | 'shell'>;
  readonly #preload: string;
  readonly #ours: Set<number>;
  readonly #bounds: { get(): WindowBounds | undefined; set(b: WindowBounds): void } | undefined;
  #win: BrowserWindowLike | undefined;

  constructor(
    e: Pick<ElectronSurface, 'BrowserWindow' | 'shell'>,
    opts: { preloadPath: string; ourWebContents: Set<number>; bounds?: { get(): WindowBounds | undefined; set(b: WindowBounds): void } },
  ) {
    this.#e = e;
    this.#preload = opts.preloadPath;
    this.#ours = opts.ourWebContents;
    this.#bounds = opts.bounds;
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
      return existing;
    }
    // Where the user left it last time (a desktop-only preference).
    const saved = this.#bounds?.get();
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
      },
    });
    this.#win = win;
    const id = win.webContents.id;
    this.#ours.add(id);
    win.on('close', () => this.#bounds?.set(win.getBounds()));
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
    win.webContents.session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
    win.once('ready-to-show', () => win.show());
    await win.loadURL(APP_URL);
    return win;
  }

  send(channel: string, ...args: unknown[]): void {
    this.window?.webContents.send(channel, ...args);
  }
}
