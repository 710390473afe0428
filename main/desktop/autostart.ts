import { readFile, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { App, LoginItemSettings } from 'electron';
import { writeFileAtomic } from '../runner/config/atomicWrite.ts';

/**
 * On the login item's command line (XDG autostart, the Windows Run key). The app no longer needs
 * it — a registered runner always starts in the tray — but Windows matches Run-key entries by their
 * arguments, so it stays for entries made by earlier versions.
 */
export const HIDDEN_FLAG = '--hidden';

/**
 * The login item as the OS reports it: `enabled` (the OS will start the app), `off`, or — macOS 13+
 * — `requires-approval` (registered, but the user must allow it in System Settings → General →
 * Login Items) and `not-found` (macOS cannot find the app's login item).
 */
export interface LoginItemState {
  status: 'enabled' | 'off' | 'requires-approval' | 'not-found';
  /** what to do about a state that is not what was asked for; absent for `enabled` and `off` */
  hint?: string;
}

export interface AutostartDeps {
  platform: NodeJS.Platform;
  app: Pick<App, 'getLoginItemSettings' | 'setLoginItemSettings'>;
  homeDir: string;
  env: Record<string, string | undefined>;
  /** `process.execPath`; the packaged app's binary (or Electron's in development). */
  execPath: string;
  /** Arguments before `--hidden`, e.g. the app folder when running unpackaged (`electron .`). */
  args?: string[];
}

export interface Autostart {
  /** Whether the OS will start the app at login, read back from the OS each time (`state().status === 'enabled'`). */
  get(): Promise<boolean>;
  /** The OS's own state of the login item, with a hint when it needs the user. */
  state(): Promise<LoginItemState>;
  set(enabled: boolean): Promise<void>;
  /** Where the setting lives, for settings and logs. */
  describe(): string;
}

export function createAutostart(deps: AutostartDeps): Autostart {
  const args = [...(deps.args ?? []), HIDDEN_FLAG];
  const withGet = (a: Omit<Autostart, 'get'>): Autostart => ({ ...a, get: async () => (await a.state()).status === 'enabled' });
  switch (deps.platform) {
    case 'darwin':
      return withGet({
        state: async () => macLoginItemState(deps.app.getLoginItemSettings()),
        // macOS 13+ login items (SMAppService, Electron's default `mainAppService`) take no
        // arguments and `openAsHidden` is gone: the app itself decides to start in the tray.
        set: async (enabled) => deps.app.setLoginItemSettings({ openAtLogin: enabled }),
        describe: () => 'macOS login item',
      });
    case 'win32': {
      // Windows keeps one command line in the HKCU Run key; the lookup must name the same
      // executable and arguments or Electron reports it as not set.
      const item = { path: deps.execPath, args: args.map(windowsArg) };
      return withGet({
        state: async () => {
          const s = deps.app.getLoginItemSettings(item);
          // `executableWillLaunchAtLogin` is false when the user disabled the entry in Task Manager.
          return { status: s.openAtLogin && s.executableWillLaunchAtLogin ? 'enabled' : 'off' };
        },
        set: async (enabled) => deps.app.setLoginItemSettings({ openAtLogin: enabled, enabled, ...item }),
        describe: () => 'Windows startup entry (HKCU Run registry key)',
      });
    }
    default:
      return withGet(xdgAutostart(deps, args));
  }
}

/**
 * macOS 13+ reports the login item's `status`; trust it when it says more than on/off
 * (`requires-approval` is registered but will not run). Before macOS 13 only `openAtLogin` is meaningful.
 */
export function macLoginItemState(s: Pick<LoginItemSettings, 'openAtLogin' | 'status'>): LoginItemState {
  switch (s.status) {
    case 'enabled':
      return { status: 'enabled' };
    case 'requires-approval':
      return { status: 'requires-approval', hint: 'approve Sibyl Runner in System Settings → General → Login Items' };
    case 'not-found':
      return { status: 'not-found', hint: 'macOS cannot find the login item: move Sibyl Runner to Applications and turn this on again' };
    default:
      return { status: s.openAtLogin ? 'enabled' : 'off' };
  }
}

/** Electron's login-item API does not cover Linux: an XDG autostart entry does (freedesktop Desktop Application Autostart spec). */
function xdgAutostart(deps: AutostartDeps, args: string[]): Omit<Autostart, 'get'> {
  const configHome = deps.env.XDG_CONFIG_HOME;
  // The base-directory spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base = configHome && isAbsolute(configHome) ? configHome : join(deps.homeDir, '.config');
  const path = join(base, 'autostart', 'sibyl-runner.desktop');
  // Inside an AppImage, execPath points into a mount that disappears when the app quits.
  const executable = deps.env.APPIMAGE || deps.execPath;
  return {
    state: async () => {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'off' };
        throw err;
      }
      const entry = desktopEntryKeys(text);
      return { status: entry.get('Hidden') !== 'true' && entry.get('X-GNOME-Autostart-enabled') !== 'false' ? 'enabled' : 'off' };
    },
    set: async (enabled) => {
      if (!enabled) return rm(path, { force: true });
      const lines = [
        '[Desktop Entry]',
        'Type=Application',
        'Name=Sibyl Runner',
        'Comment=Runs Sibyl Core agent tasks on this machine',
        `Exec=${[executable, ...args].map(execArg).join(' ')}`,
        'Terminal=false',
        'X-GNOME-Autostart-enabled=true',
      ];
      await writeFileAtomic(path, lines.join('\n') + '\n', 0o644);
    },
    describe: () => `XDG autostart entry ${path}`,
  };
}

/** The keys of the `[Desktop Entry]` group, values unescaped only as far as we compare them. */
function desktopEntryKeys(text: string): Map<string, string> {
  const keys = new Map<string, string>();
  let inEntry = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      inEntry = line === '[Desktop Entry]';
      continue;
    }
    const eq = line.indexOf('=');
    if (inEntry && eq > 0) keys.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return keys;
}

// Desktop Entry spec, "The Exec key": these characters force an argument to be quoted.
const RESERVED = /[\s"'\\><~|&;$*?#()`]/;

/**
 * One Exec argument. Three layers apply, innermost first: the quoting rule (`"`, `` ` ``, `$`, `\`
 * get a backslash), field codes (`%` → `%%`), and the string-value escapes (`\` → `\\`), which is
 * why a literal backslash in a quoted path ends up as four.
 */
export function execArg(arg: string): string {
  const quoted = RESERVED.test(arg) || arg === '' ? `"${arg.replace(/["`$\\]/g, '\\$&')}"` : arg;
  return quoted.replace(/%/g, '%%').replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r');
}

/** Electron joins the Run-key arguments with spaces as they are; a path with spaces needs quotes. */
function windowsArg(arg: string): string {
  return /[\s"]/.test(arg) ? `"${arg.replace(/"/g, '\\"')}"` : arg;
}
