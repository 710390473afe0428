import type { App } from 'electron';
import type { UtilityProcessModule } from './coreProcess.ts';
import type { VaultSafeStorage } from './vault.ts';

/**
 * The slice of Electron's API the desktop shell uses, as structural types. The real `electron`
 * module satisfies it; the shell's unit tests pass a tiny fake (test/helpers/fakeElectron.ts).
 */
export interface WebContentsLike {
  id: number;
  send(channel: string, ...args: unknown[]): void;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' } | { action: 'allow' }): void;
  on(event: 'will-navigate', listener: (event: { preventDefault(): void }, url: string) => void): unknown;
  on(event: 'render-process-gone', listener: (event: unknown, details: RenderProcessGoneDetails) => void): unknown;
  reload(): void;
  session: {
    setPermissionRequestHandler(
      handler: (wc: unknown, permission: string, callback: (granted: boolean) => void, details: PermissionDetails) => void,
    ): void;
    setPermissionCheckHandler(
      handler: (wc: unknown, permission: string, requestingOrigin: string, details: PermissionDetails) => boolean,
    ): void;
  };
}

/** What Electron says about a permission's requester (request and check handlers alike). */
export interface PermissionDetails {
  isMainFrame: boolean;
  /** the last URL the requesting frame loaded; may be missing for checks */
  requestingUrl?: string;
}

/** Electron's RenderProcessGoneDetails (reason of a renderer's death). */
export interface RenderProcessGoneDetails {
  reason: 'clean-exit' | 'abnormal-exit' | 'killed' | 'crashed' | 'oom' | 'launch-failed' | 'integrity-failure' | 'memory-eviction';
  exitCode: number;
}

export interface BrowserWindowLike {
  webContents: WebContentsLike;
  loadURL(url: string): Promise<void>;
  show(): void;
  focus(): void;
  isDestroyed(): boolean;
  isMinimized(): boolean;
  restore(): void;
  getBounds(): WindowBounds;
  /** the bounds when neither minimised nor maximised (getBounds of a minimised window on Windows is -32000, -32000) */
  getNormalBounds(): WindowBounds;
  /** 'session-end' (Windows): the user is logging off or the machine restarts or shuts down; nothing can stop it now */
  on(event: 'closed' | 'close' | 'session-end', listener: () => void): unknown;
  once(event: 'ready-to-show', listener: () => void): unknown;
}

export interface WindowBounds {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A display as `screen.getAllDisplays()` gives it: only its work area (screen minus taskbar/menu bar, in DIPs). */
export interface DisplayArea {
  workArea: WindowBounds;
}

export interface TrayLike {
  setImage(image: unknown): void;
  setToolTip(text: string): void;
  setContextMenu(menu: unknown): void;
  on(event: 'click', listener: () => void): unknown;
  destroy(): void;
}

export interface MenuItemTemplate {
  id?: string;
  /** only the roles of the minimal macOS application menu */
  role?: 'appMenu' | 'editMenu';
  label?: string;
  type?: 'normal' | 'separator' | 'checkbox';
  checked?: boolean;
  enabled?: boolean;
  click?: () => void;
}

export interface IpcInvokeEvent {
  sender: { id: number };
  senderFrame: { url: string; parent: unknown } | null;
}

export interface ElectronSurface {
  app: Pick<App, 'getLoginItemSettings' | 'setLoginItemSettings'> & {
    requestSingleInstanceLock(): boolean;
    whenReady(): Promise<unknown>;
    on(
      event: 'second-instance' | 'window-all-closed' | 'before-quit' | 'activate',
      listener: (event: { preventDefault(): void }) => void,
    ): unknown;
    quit(): void;
    exit(code?: number): void;
    /** `steal` (macOS): activate the app even when another one is active */
    focus(options?: { steal: boolean }): void;
    readonly isPackaged: boolean;
    getPath(name: 'userData' | 'home'): string;
    dock?: { hide(): void };
    /** Windows only (Electron defines it nowhere else) */
    setAppUserModelId?(id: string): void;
  };
  BrowserWindow: new (options: {
    width: number;
    height: number;
    x?: number;
    y?: number;
    minWidth?: number;
    minHeight?: number;
    show: boolean;
    title: string;
    backgroundColor?: string;
    webPreferences: {
      preload: string;
      contextIsolation: boolean;
      sandbox: boolean;
      nodeIntegration: boolean;
      webSecurity: boolean;
      spellcheck?: boolean;
      devTools?: boolean;
    };
  }) => BrowserWindowLike;
  Tray: new (image: unknown) => TrayLike;
  Menu: { buildFromTemplate(template: MenuItemTemplate[]): unknown; setApplicationMenu(menu: unknown): void };
  nativeImage: { createFromPath(path: string): unknown };
  ipcMain: { handle(channel: string, listener: (event: IpcInvokeEvent, ...args: unknown[]) => Promise<unknown>): void };
  shell: { openExternal(url: string): Promise<void>; openPath(path: string): Promise<string> };
  clipboard: { writeText(text: string): void };
  dialog: {
    showOpenDialog(options: {
      properties: ('openDirectory' | 'createDirectory')[];
      defaultPath?: string;
    }): Promise<{ canceled: boolean; filePaths: string[] }>;
    showMessageBox(options: {
      type: 'info' | 'warning' | 'error';
      message: string;
      detail?: string;
      buttons: string[];
      defaultId?: number;
      cancelId?: number;
    }): Promise<{ response: number }>;
  };
  safeStorage: VaultSafeStorage;
  /** the runner core's process (coreProcess.ts) */
  utilityProcess: UtilityProcessModule;
  Notification: {
    new (options: { title: string; body: string; silent?: boolean }): {
      show(): void;
      on(event: 'click' | 'close' | 'failed', listener: () => void): unknown;
    };
    isSupported(): boolean;
  };
  /** 'shutdown' (macOS, Linux): the user is logging out or the machine restarts or shuts down */
  powerMonitor: { on(event: 'resume' | 'unlock-screen' | 'shutdown', listener: () => void): unknown };
  protocol: {
    registerSchemesAsPrivileged(
      schemes: { scheme: string; privileges: { standard: boolean; secure: boolean; supportFetchAPI?: boolean } }[],
    ): void;
    handle(scheme: string, handler: (request: { url: string }) => Response | Promise<Response>): void;
  };
  net: { isOnline(): boolean };
  /** only after the app is ready */
  screen: { getAllDisplays(): DisplayArea[]; getPrimaryDisplay(): DisplayArea };
}
