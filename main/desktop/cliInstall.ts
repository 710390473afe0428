import { execFile } from 'node:child_process';
import { lstatSync, mkdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import type { ElectronSurface } from './electronSurface.ts';

/** Where macOS apps put their command-line tools (on PATH by default in /etc/paths). */
export const CLI_LINK = '/usr/local/bin/sibyl-runner';

/** What "Install Command Line Tool…" did. */
export type CliInstallOutcome =
  | { kind: 'installed'; link: string; launcher: string }
  | { kind: 'alreadyInstalled'; link: string }
  /** the user said no (to replacing what was there, or to the password prompt) */
  | { kind: 'cancelled' }
  | { kind: 'failed'; message: string };

/** What installing needs from the user and the OS; the desktop passes dialogs and osascript. */
export interface CliInstallPorts {
  /** whether to replace `existing` (something else at the link's path); true to replace */
  confirmReplace(link: string, existing: string): Promise<boolean>;
  /** runs the sh `command` as an administrator (after asking for the password): 'cancelled' when the user declined; rejects on failure */
  runAsAdmin(command: string): Promise<'ok' | 'cancelled'>;
}

/** `s` as one word for /bin/sh. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** `s` as an AppleScript string literal. */
export function appleScriptString(s: string): string {
  return `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** The sh command that makes the link as an administrator: the folder (missing on a new Mac), then the link, replacing one (-n: not into a linked folder). */
export function adminLinkCommand(launcher: string, link: string): string {
  return `/bin/mkdir -p ${shellQuote(dirname(link))} && /bin/ln -sfn ${shellQuote(launcher)} ${shellQuote(link)}`;
}

/** The AppleScript that runs `command` after macOS's own administrator password prompt. */
export function adminAppleScript(command: string, prompt: string): string {
  return `do shell script ${appleScriptString(command)} with prompt ${appleScriptString(prompt)} with administrator privileges`;
}

/** A launcher of some copy of the app (this one moved, or an older one): a link to it is ours to replace. */
function isAppLauncher(path: string): boolean {
  return path.endsWith(`${sep}Contents${sep}Resources${sep}bin${sep}sibyl-runner`);
}

type Existing = { kind: 'none' } | { kind: 'ours'; current: boolean } | { kind: 'other'; what: string } | { kind: 'folder' };

function existingAt(link: string, launcher: string): Existing {
  let st;
  try {
    st = lstatSync(link);
  } catch {
    return { kind: 'none' };
  }
  if (st.isSymbolicLink()) {
    const to = resolve(dirname(link), readlinkSync(link));
    if (to === launcher) return { kind: 'ours', current: true };
    if (isAppLauncher(to)) return { kind: 'ours', current: false };
    return { kind: 'other', what: `a link to ${to}` };
  }
  return st.isDirectory() ? { kind: 'folder' } : { kind: 'other', what: 'a file' };
}

/** Link without privileges: a temporary link renamed over the path, so it is never missing or half made. */
function linkDirectly(launcher: string, link: string): void {
  mkdirSync(dirname(link), { recursive: true });
  const tmp = `${link}.sibyl-${process.pid}`;
  rmSync(tmp, { force: true });
  symlinkSync(launcher, tmp);
  try {
    renameSync(tmp, link);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function isPermissionError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

/**
 * Links `link` (CLI_LINK in the app) to `launcher` (the app's resources/bin/sibyl-runner), the
 * way editors install their command-line tools. A link to this launcher is left as it is; a link
 * to another copy of the app is replaced; anything else is replaced only if the user agrees, and a
 * folder never. Where the user may not write (/usr/local/bin is root's), the link is made through
 * `runAsAdmin`. An app run from the disk image or from where macOS translocated it (a random
 * read-only path) is refused: the link would break once the app is moved or ejected. Never throws.
 */
export async function installCommandLineTool(launcher: string, link: string, ports: CliInstallPorts): Promise<CliInstallOutcome> {
  try {
    if (launcher.includes('/AppTranslocation/') || launcher.startsWith('/Volumes/')) {
      return {
        kind: 'failed',
        message:
          'Move Sibyl Runner to the Applications folder and open it from there first: the tool would stop working once this copy is gone.',
      };
    }
    if (!statSync(launcher, { throwIfNoEntry: false })?.isFile()) {
      return { kind: 'failed', message: `The app's command-line launcher is missing (${launcher}). Reinstall Sibyl Runner.` };
    }
    const existing = existingAt(link, launcher);
    if (existing.kind === 'folder') return { kind: 'failed', message: `${link} is a folder; remove it and try again.` };
    if (existing.kind === 'ours' && existing.current) return { kind: 'alreadyInstalled', link };
    if (existing.kind === 'other' && !(await ports.confirmReplace(link, existing.what))) return { kind: 'cancelled' };
    try {
      linkDirectly(launcher, link);
    } catch (err) {
      if (!isPermissionError(err)) throw err;
      if ((await ports.runAsAdmin(adminLinkCommand(launcher, link))) === 'cancelled') return { kind: 'cancelled' };
      if (existingAt(link, launcher).kind !== 'ours') return { kind: 'failed', message: `${link} was not created.` };
    }
    return { kind: 'installed', link, launcher };
  } catch (err) {
    return { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
  }
}

/** osascript's error number when the user dismisses the password prompt ("User canceled."). */
const USER_CANCELED = '(-128)';

/** macOS: runs `command` through `osascript` with administrator privileges (the system's password prompt). */
export function osascriptAsAdmin(command: string): Promise<'ok' | 'cancelled'> {
  const script = adminAppleScript(command, 'Sibyl Runner wants to install the sibyl-runner command in /usr/local/bin.');
  return new Promise((resolveRun, reject) => {
    execFile('/usr/bin/osascript', ['-e', script], (err, _stdout, stderr) => {
      if (!err) resolveRun('ok');
      else if (stderr.includes(USER_CANCELED)) resolveRun('cancelled');
      else reject(new Error(stderr.trim() || err.message));
    });
  });
}

/**
 * The "Install Command Line Tool…" item (macOS, packaged app): installCommandLineTool with dialogs
 * for the question and the result. `runAsAdmin` is osascript unless given (tests).
 */
export async function installCliWithDialogs(
  e: Pick<ElectronSurface, 'dialog'>,
  launcher: string,
  opts: { link?: string; runAsAdmin?: CliInstallPorts['runAsAdmin'] } = {},
): Promise<CliInstallOutcome> {
  const link = opts.link ?? CLI_LINK;
  const outcome = await installCommandLineTool(launcher, link, {
    confirmReplace: async (path, existing) => {
      const { response } = await e.dialog.showMessageBox({
        type: 'warning',
        message: `${path} already exists`,
        detail: `It is ${existing}, not Sibyl Runner's command-line tool. Replace it?`,
        buttons: ['Replace', 'Cancel'],
        defaultId: 1,
        cancelId: 1,
      });
      return response === 0;
    },
    runAsAdmin: opts.runAsAdmin ?? osascriptAsAdmin,
  });
  if (outcome.kind === 'installed' || outcome.kind === 'alreadyInstalled') {
    await e.dialog.showMessageBox({
      type: 'info',
      message: outcome.kind === 'installed' ? 'The sibyl-runner command is installed' : 'The sibyl-runner command is already installed',
      detail: `${outcome.link} runs this app's command-line tool. In a new terminal window, try: sibyl-runner status`,
      buttons: ['OK'],
    });
  } else if (outcome.kind === 'failed') {
    await e.dialog.showMessageBox({
      type: 'error',
      message: 'The sibyl-runner command could not be installed',
      detail: outcome.message,
      buttons: ['OK'],
    });
  }
  return outcome;
}
