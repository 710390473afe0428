import { readFile, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { App, Settings } from 'electron';
import { writeFileAtomic } from '../runner/config/atomicWrite.ts';

/** Passed to the app when the OS starts it at login: start in the tray, no window. */
export const HIDDEN_FLAG = '--hidden';

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
  /** Whether the OS will start the app at login, read back from the OS each time. */
  get(): Promise<boolean>;
  set(enabled: boolean): Promise<void>;
  /** Where the setting lives, for settings and logs. */
  describe(): string;
}

export function createAutostart(deps: AutostartDeps): Autostart {
  const args = [...(deps.args ?? []), HIDDEN_FLAG];
  switch (deps.platform) {
    case 'darwin':
      return {
        get: async () => deps.app.getLoginItemSettings().openAtLogin,
        set: async (enabled) => {
          // `openAsHidden` only works with the pre-macOS 13 login-item API and is gone from
          // Electron's types; macOS 13+ login items (SMAppService) also drop `args`, so
          // `launchedAtLogin` below asks the OS instead (wasOpenedAtLogin).
          const settings: Settings & { openAsHidden: boolean } = { openAtLogin: enabled, openAsHidden: true, args };
          deps.app.setLoginItemSettings(settings);
        },
        describe: () => 'macOS login item',
      };
    case 'win32': {
      // Windows keeps one command line in the HKCU Run key; the lookup must name the same
      // executable and arguments or Electron reports it as not set.
      const item = { path: deps.execPath, args: args.map(windowsArg) };
      return {
        get: async () => {
          const s = deps.app.getLoginItemSettings(item);
          // `executableWillLaunchAtLogin` is false when the user disabled the entry in Task Manager.
          return s.openAtLogin && s.executableWillLaunchAtLogin;
        },
        set: async (enabled) => deps.app.setLoginItemSettings({ openAtLogin: enabled, enabled, ...item }),
        describe: () => 'Windows startup entry (HKCU Run registry key)',
      };
    }
    default:
      return xdgAutostart(deps, args);
  }
}

/**
 * True when the OS started this process at login, so the window stays closed: `--hidden` (XDG
 * autostart, Windows login items), or macOS reporting that it opened the app at login.
 */
export function launchedAtLogin(deps: {
  platform: NodeJS.Platform;
  argv: readonly string[];
  app: Pick<App, 'getLoginItemSettings'>;
}): boolean {
  if (deps.argv.includes(HIDDEN_FLAG)) return true;
  // macOS 13+ login items (SMAppService) drop the arguments.
  return deps.platform === 'darwin' && deps.app.getLoginItemSettings().wasOpenedAtLogin;
}

/** Electron's login-item API does not cover Linux: an XDG autostart entry does (freedesktop Desktop Application Autostart spec). */
function xdgAutostart(deps: AutostartDeps, args: string[]): Autostart {
  const configHome = deps.env.XDG_CONFIG_HOME;
  // The base-directory spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base = configHome && isAbsolute(configHome) ? configHome : join(deps.homeDir, '.config');
  const path = join(base, 'autostart', 'sibyl-runner.desktop');
  // Inside an AppImage, execPath points into a mount that disappears when the app quits.
  const executable = deps.env.APPIMAGE || deps.execPath;
  return {
    get: async () => {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw err;
      }
      const entry = desktopEntryKeys(text);
      return entry.get('Hidden') !== 'true' && entry.get('X-GNOME-Autostart-enabled') !== 'false';
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
