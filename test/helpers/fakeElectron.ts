import { fork } from 'node:child_process';
import type {
  BrowserWindowLike,
  ElectronSurface,
  IpcInvokeEvent,
  MenuItemTemplate,
  TrayLike,
  WebContentsLike,
  WindowBounds,
} from '../../main/desktop/electronSurface.ts';
import { tempDir } from './tmp.ts';
import type { UtilityProcessLike, UtilityProcessModule } from '../../main/desktop/coreProcess.ts';

/**
 * The one fake of Electron's API surface (it cannot run here): small classes that record what
 * the desktop shell asked for, so tests can assert the wiring. Everything behind it is real.
 */
type Listener = (...args: never[]) => unknown;

class Emitter {
  readonly listeners = new Map<string, Listener[]>();
  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }
  once(event: string, listener: Listener): this {
    return this.on(event, listener);
  }
  emit(event: string, ...args: unknown[]): void {
    for (const l of this.listeners.get(event) ?? []) (l as (...a: unknown[]) => unknown)(...args);
  }
}

let nextId = 1;

export class FakeWebContents extends Emitter implements WebContentsLike {
  readonly id = nextId++;
  readonly sent: { channel: string; args: unknown[] }[] = [];
  openHandler: ((d: { url: string }) => { action: 'deny' } | { action: 'allow' }) | undefined;
  permissionHandler: Parameters<WebContentsLike['session']['setPermissionRequestHandler']>[0] | undefined;
  checkHandler: Parameters<WebContentsLike['session']['setPermissionCheckHandler']>[0] | undefined;
  reloads = 0;
  readonly session = {
    setPermissionRequestHandler: (h: NonNullable<FakeWebContents['permissionHandler']>) => void (this.permissionHandler = h),
    setPermissionCheckHandler: (h: NonNullable<FakeWebContents['checkHandler']>) => void (this.checkHandler = h),
  };
  reload(): void {
    this.reloads++;
  }
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
  }
  setWindowOpenHandler(h: NonNullable<FakeWebContents['openHandler']>): void {
    this.openHandler = h;
  }
}

export class FakeBrowserWindow extends Emitter implements BrowserWindowLike {
  static all: FakeBrowserWindow[] = [];
  /** what Electron does once the last window is closed (set by fakeElectron) */
  static onAllClosed: () => void = () => {};
  readonly webContents = new FakeWebContents();
  readonly options: ConstructorParameters<ElectronSurface['BrowserWindow']>[0];
  url = '';
  visible = false;
  destroyed = false;
  focused = 0;
  constructor(options: ConstructorParameters<ElectronSurface['BrowserWindow']>[0]) {
    super();
    this.options = options;
    FakeBrowserWindow.all.push(this);
  }
  async loadURL(url: string): Promise<void> {
    this.url = url;
    this.emit('ready-to-show');
  }
  show(): void {
    this.visible = true;
  }
  focus(): void {
    this.focused++;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  minimized = false;
  isMinimized(): boolean {
    return this.minimized;
  }
  restore(): void {
    this.minimized = false;
  }
  getBounds(): { x: number; y: number; width: number; height: number } {
    // Where Windows parks a minimised window.
    if (this.minimized) return { x: -32000, y: -32000, width: 160, height: 28 };
    return this.getNormalBounds();
  }
  getNormalBounds(): { x: number; y: number; width: number; height: number } {
    return { x: this.options.x ?? 0, y: this.options.y ?? 0, width: this.options.width, height: this.options.height };
  }
  close(): void {
    this.emit('close');
    this.destroyed = true;
    this.emit('closed');
    if (FakeBrowserWindow.all.every((w) => w.destroyed)) FakeBrowserWindow.onAllClosed();
  }
}

export class FakeTray extends Emitter implements TrayLike {
  static last: FakeTray | undefined;
  image: unknown;
  tooltip = '';
  menu: MenuItemTemplate[] = [];
  destroyed = false;
  constructor(image: unknown) {
    super();
    this.image = image;
    FakeTray.last = this;
  }
  setImage(image: unknown): void {
    this.image = image;
  }
  setToolTip(text: string): void {
    this.tooltip = text;
  }
  setContextMenu(menu: unknown): void {
    this.menu = menu as MenuItemTemplate[];
  }
  destroy(): void {
    this.destroyed = true;
  }
  click(id: string): void {
    const item = this.menu.find((m) => m.id === id);
    if (!item?.click) throw new Error(`no clickable tray item ${id}; have ${this.menu.map((m) => m.id).join(', ')}`);
    item.click();
  }
}

export class FakeNotification extends Emitter {
  static shown: { title: string; body: string }[] = [];
  /** weak, so tests can see whether the app still holds a notification after a GC */
  static made: WeakRef<FakeNotification>[] = [];
  readonly options: { title: string; body: string };
  constructor(options: { title: string; body: string }) {
    super();
    this.options = options;
    FakeNotification.made.push(new WeakRef(this));
  }
  show(): void {
    FakeNotification.shown.push(this.options);
  }
  static isSupported(): boolean {
    return true;
  }
}

export interface FakeElectron extends ElectronSurface {
  appEvents: Emitter;
  power: Emitter;
  invoke(event: IpcInvokeEvent, channel: unknown, input: unknown): Promise<unknown>;
  opened: string[];
  exitCode: number | undefined;
  online: boolean;
  protocolHandlers: Map<string, (r: { url: string }) => Response | Promise<Response>>;
  /** the displays' work areas screen reports (the first is the primary); one 1920×1040 display unless set */
  displays: WindowBounds[];
  /** each app.focus() call's options */
  appFocus: ({ steal: boolean } | undefined)[];
  /** what Menu.setApplicationMenu got ('unset' until called) */
  appMenu: unknown;
  /** each dialog.showMessageBox's options, oldest first */
  messageBoxes: Parameters<ElectronSurface['dialog']['showMessageBox']>[0][];
  /** the buttons the user will press in the next message boxes (index; 0 once used up) */
  messageBoxAnswers: number[];
  /** what was written to the clipboard, oldest first */
  copied: string[];
  /** each utilityProcess.fork: what it was asked to run, and the real child running it */
  utilityForks: { modulePath: string; args: string[]; options: Parameters<UtilityProcessModule['fork']>[2]; pid: number | undefined }[];
}

/**
 * utilityProcess.fork as a real Node child (`child_process.fork` of the same module and args, on
 * this Node): the child's channel is then `process.send` where Electron gives `process.parentPort`
 * (parentCredentials.ts speaks both). `kill()` is SIGTERM, as utilityProcess's on POSIX.
 */
function fakeUtilityFork(record: FakeElectron['utilityForks']): UtilityProcessModule['fork'] {
  return (modulePath, args, options) => {
    const child = fork(modulePath, args, {
      env: options.env,
      execArgv: options.execArgv ?? [],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    record.push({ modulePath, args, options, pid: child.pid });
    const proc: UtilityProcessLike & { on(event: string, l: (...a: never[]) => void): unknown } = {
      pid: child.pid,
      stderr: child.stderr,
      on: (event: string, listener: (...a: never[]) => void) => {
        if (event === 'exit') child.once('exit', (code, signal) => (listener as (c: number) => void)(code ?? (signal ? 128 : 1)));
        else child.on(event, listener as (m: unknown) => void);
        return proc;
      },
      postMessage: (msg) => {
        if (child.connected) child.send(msg as object, (err) => void err);
      },
      kill: () => child.kill('SIGTERM'),
    };
    return proc;
  };
}

export function fakeElectron(
  opts: {
    singleInstance?: boolean;
    loginItem?: boolean;
    /** macOS 13+ login-item status reported by getLoginItemSettings */
    loginStatus?: 'enabled' | 'requires-approval' | 'not-registered' | 'not-found';
    keyring?: boolean;
    userData?: string;
    packaged?: boolean;
  } = {},
): FakeElectron {
  FakeBrowserWindow.all = [];
  FakeNotification.shown = [];
  FakeNotification.made = [];
  const appEvents = new Emitter();
  const power = new Emitter();
  const handlers = new Map<string, (event: IpcInvokeEvent, ...args: unknown[]) => Promise<unknown>>();
  let login = opts.loginItem ?? false;
  const userData = opts.userData ?? tempDir('sibyl-fake-userdata-');
  // Like Electron: without a 'window-all-closed' listener, closing the last window quits the app.
  FakeBrowserWindow.onAllClosed = () => {
    if (appEvents.listeners.get('window-all-closed')?.length) appEvents.emit('window-all-closed');
    else e.app.quit();
  };
  const e: FakeElectron = {
    appEvents,
    power,
    opened: [],
    exitCode: undefined,
    online: true,
    protocolHandlers: new Map(),
    displays: [{ x: 0, y: 0, width: 1920, height: 1040 }],
    appMenu: 'unset',
    messageBoxes: [],
    messageBoxAnswers: [],
    appFocus: [],
    copied: [],
    utilityForks: [],
    invoke: (event, channel, input) => {
      const h = handlers.get('sibyl:invoke');
      if (!h) throw new Error('no IPC handler registered');
      return h(event, channel, input);
    },
    app: {
      requestSingleInstanceLock: () => opts.singleInstance ?? true,
      whenReady: async () => undefined,
      on: (event, listener) => appEvents.on(event, listener),
      quit: () => void (e.exitCode = 0),
      exit: (code) => void (e.exitCode = code ?? 0),
      focus: (options) => void e.appFocus.push(options),
      getLoginItemSettings: () =>
        ({ openAtLogin: login, ...(opts.loginStatus ? { status: opts.loginStatus } : {}) }) as ReturnType<
          ElectronSurface['app']['getLoginItemSettings']
        >,
      setLoginItemSettings: (s) => void (login = s.openAtLogin ?? false),
      getPath: () => userData,
      isPackaged: opts.packaged ?? false,
    },
    BrowserWindow: FakeBrowserWindow,
    Tray: FakeTray,
    Menu: { buildFromTemplate: (t) => t, setApplicationMenu: (m) => void (e.appMenu = m) },
    nativeImage: { createFromPath: (p) => ({ path: p }) },
    ipcMain: { handle: (channel, listener) => void handlers.set(channel, listener) },
    shell: {
      openExternal: async (url) => void e.opened.push(url),
      openPath: async (p) => (e.opened.push(p), ''),
    },
    dialog: {
      showOpenDialog: async () => ({ canceled: true, filePaths: [] }),
      showMessageBox: async (options) => (e.messageBoxes.push(options), { response: e.messageBoxAnswers.shift() ?? 0 }),
    },
    clipboard: { writeText: (text) => void e.copied.push(text) },
    utilityProcess: { fork: (m, a, o) => fakeUtilityFork(e.utilityForks)(m, a, o) },
    safeStorage: {
      isAsyncEncryptionAvailable: async () => opts.keyring ?? true,
      encryptStringAsync: async (s) => Buffer.from(Buffer.from(s, 'utf8').map((b) => b ^ 0x5a)),
      decryptStringAsync: async (b) => ({ result: Buffer.from(b.map((x) => x ^ 0x5a)).toString('utf8'), shouldReEncrypt: false }),
      getSelectedStorageBackend: () => 'gnome_libsecret',
    },
    Notification: FakeNotification,
    powerMonitor: { on: (event, listener) => power.on(event, listener) },
    protocol: {
      registerSchemesAsPrivileged: () => {},
      handle: (scheme, handler) => void e.protocolHandlers.set(scheme, handler),
    },
    net: { isOnline: () => e.online },
    screen: {
      getAllDisplays: () => e.displays.map((workArea) => ({ workArea })),
      getPrimaryDisplay: () => ({ workArea: e.displays[0]! }),
    },
  };
  return e;
}
