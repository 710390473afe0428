import type { AppState } from '../../preload/contract.ts';
import { linkDescription, oneLine, promptSummary, remedyAction, type LinkKind } from '../runner/vocabulary.ts';

export type TrayIcon = 'offline' | 'connecting' | 'online' | 'busy' | 'paused' | 'error';

/**
 * What a tray menu item does: `status` (the disabled status line), `task:<taskId>` (that task's
 * detail), `signIn` (the window's sign-in, which keeps the registration), `retry` (dial now),
 * `register` (the setup wizard), `dashboard` / `history` / `settings` (the window on that screen;
 * `moreTasks` is the dashboard too), `open` and `details` (the window as it is: it shows what
 * needs attention), `pause` / `resume`,
 * `copyRunnerId`, `startAtLogin` (checkbox), `installCli` (macOS: link the command-line tool),
 * `quit`; `sep-…` are separators.
 */
export type TrayAction =
  | 'status'
  | 'signIn'
  | 'retry'
  | 'register'
  | 'dashboard'
  | 'history'
  | 'settings'
  | 'moreTasks'
  | 'open'
  | 'details'
  | 'pause'
  | 'resume'
  | 'copyRunnerId'
  | 'startAtLogin'
  | 'installCli'
  | 'quit'
  | `task:${string}`
  | `sep-${string}`;

export interface MenuItemModel {
  id: TrayAction;
  label?: string;
  type?: 'normal' | 'separator' | 'checkbox';
  checked?: boolean;
  enabled?: boolean;
}

export interface TrayModel {
  icon: TrayIcon;
  /** at most TOOLTIP_MAX characters: Windows cuts a tray tooltip at 127 */
  tooltip: string;
  menu: MenuItemModel[];
}

/** What the tray shows besides the app state. */
export interface TrayOptions {
  /** the OS's login item is on */
  startAtLogin: boolean;
  /** set when the OS holds the login item back (macOS: waiting for approval in System Settings) */
  loginItemHint?: string | undefined;
  /** the project links (projects:list), so a task shows its project's folder name instead of its id */
  projects?: readonly { projectId: string; path: string }[] | undefined;
  /** epoch milliseconds, for a running task's elapsed time; defaults to the clock */
  now?: number | undefined;
  /**
   * Offer "Install Command Line Tool…" (the packaged macOS app). It lives here, not in the app
   * menu: a menu-bar-only app (LSUIElement, its Dock icon hidden) never shows a menu bar.
   */
  installCli?: boolean | undefined;
}

/** Longest status line: a menu item and a tooltip line people read at a glance. */
export const STATUS_MAX = 40;
/** Longest task item ("webapp — Fix the upload bug · 3m"). */
export const TASK_LABEL_MAX = 64;
/** Windows keeps the first 127 characters of a tray tooltip. */
export const TOOLTIP_MAX = 127;
/** Longest project name in a task item. */
const PROJECT_MAX = 20;
/** Tasks listed in the menu; the rest are one "…and N more" item. */
const TASKS_LISTED = 10;

/** The states whose runner offers Pause / Resume: the window's connection panel shows its pause button for the same. */
const PAUSABLE: ReadonlySet<LinkKind> = new Set<LinkKind>(['connected', 'paused', 'connecting', 'reconnecting', 'unreachable']);

/** The tray's icon for each described link state. */
const ICONS: Record<LinkKind, TrayIcon> = {
  needsAttention: 'error',
  unregistered: 'offline',
  notRunning: 'offline',
  stopped: 'offline',
  signedOut: 'error',
  credentialsUnreadable: 'error',
  unreachable: 'error',
  connecting: 'connecting',
  reconnecting: 'connecting',
  paused: 'paused',
  connected: 'online',
};

/**
 * The status line and icon: the window's label for the state (vocabulary.ts), then what fits in
 * STATUS_MAX — what happens next, the remedy, or the agents in use. The core's cause (which may
 * name a URL) is the window's to show. The tray is not redrawn every second, so no countdown.
 */
export function trayStatus(state: AppState): { icon: TrayIcon; text: string } {
  const link = linkDescription(state);
  const d = state.daemon;
  const n = d?.running.length ?? 0;
  const max = d?.runner.maxAgents ?? 0;
  const icon = link.kind === 'connected' && n > 0 ? 'busy' : ICONS[link.kind];
  const remedy = remedyAction(link.remedy).toLowerCase();
  const withRemedy = remedy ? `${link.label} — ${remedy}` : link.label;
  let text: string;
  switch (link.kind) {
    case 'unreachable':
      text = `${link.label} — retrying`;
      break;
    case 'reconnecting':
      text = `${link.label}…`;
      break;
    case 'paused':
      text = n ? `${link.label} — finishing ${n} task${n === 1 ? '' : 's'}` : `${link.label} — not taking new tasks`;
      break;
    case 'connected':
      text = n ? `${link.label} — ${n} of ${max} agent${max === 1 ? '' : 's'} busy` : `${link.label} — waiting for tasks`;
      break;
    case 'connecting':
    case 'notRunning':
    case 'unregistered':
      text = link.label;
      break;
    case 'needsAttention':
    case 'credentialsUnreadable':
    case 'signedOut':
    case 'stopped':
      text = withRemedy.length <= STATUS_MAX ? withRemedy : link.label;
      break;
    default:
      return unreachable(link.kind);
  }
  return { icon, text: oneLine(text, STATUS_MAX) };
}

/**
 * A project as a task item names it: the linked folder's name, else the id as people see it
 * elsewhere — an id that is a UUID (or as long and opaque) by its first 8 characters, like the
 * window's task ids and the `sibyl/<id>` branches; a readable id as it is.
 */
export function projectLabel(projectId: string, projects: TrayOptions['projects'] = []): string {
  const link = projects.find((p) => p.projectId === projectId);
  const folder = link?.path
    .replace(/[\\/]+$/, '')
    .split(/[\\/]/)
    .pop();
  if (folder) return oneLine(folder, PROJECT_MAX);
  if (/^[0-9a-f]{8}-?[0-9a-f]{4}/i.test(projectId) || /^[0-9a-f-]{20,}$/i.test(projectId)) return projectId.slice(0, 8);
  return oneLine(projectId, PROJECT_MAX) || '(no project)';
}

/** Time since a task started, to the minute (the tray is redrawn about once a minute): "<1m", "3m", "1h 05m". */
export function elapsed(ms: number): string {
  const m = Math.floor(Math.max(0, ms) / 60_000);
  if (m < 1) return '<1m';
  if (m < 60) return `${m}m`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** "webapp — Fix the upload bug · 3m", at most TASK_LABEL_MAX characters: the prompt gives way. */
export function taskLabel(task: AppRunningTask, projects: TrayOptions['projects'], now: number): string {
  const project = projectLabel(task.projectId, projects);
  const time = elapsed(now - (task.startedAt ?? task.assignedAt));
  const room = TASK_LABEL_MAX - Array.from(project).length - Array.from(time).length - ' —  · '.length;
  return `${project} — ${promptSummary(task.prompt, room)} · ${time}`;
}

type AppRunningTask = NonNullable<AppState['daemon']>['running'][number];

/**
 * The whole tray, as a pure function of state: unit-tested for every state. Menu groups, each
 * shown only when it has items: status; running tasks; what to do about the state (Sign in…,
 * Retry now, Register…); the window's screens; runner controls; Quit.
 */
export function trayModel(state: AppState, opts: TrayOptions): TrayModel {
  const { icon, text } = trayStatus(state);
  const link = linkDescription(state);
  const d = state.daemon;
  const running = d?.running ?? [];
  const now = opts.now ?? Date.now();

  const tasks: MenuItemModel[] = running
    .slice(0, TASKS_LISTED)
    .map((t) => ({ id: `task:${t.taskId}`, label: taskLabel(t, opts.projects, now) }));
  if (running.length > TASKS_LISTED) tasks.push({ id: 'moreTasks', label: `…and ${running.length - TASKS_LISTED} more` });

  // A daemon the window only attached to signs in and dials from its own CLI, as the window's "Sign in again" does.
  const fixes: MenuItemModel[] = [];
  // What went wrong is the window's to explain, with its fix; the tray says only that something did.
  if (link.kind === 'needsAttention' || link.kind === 'credentialsUnreadable') fixes.push({ id: 'details', label: 'Show details…' });
  if (!state.registered) fixes.push({ id: 'register', label: 'Register…' });
  else if (!state.attached && (link.kind === 'signedOut' || link.remedy === 'signIn')) fixes.push({ id: 'signIn', label: 'Sign in…' });
  if (!state.attached && (link.kind === 'unreachable' || link.kind === 'reconnecting')) fixes.push({ id: 'retry', label: 'Retry now' });

  // Before registration every screen but the setup is out of reach (the window shows the wizard).
  const screens: MenuItemModel[] = state.registered
    ? [
        { id: 'dashboard', label: 'Dashboard' },
        { id: 'history', label: 'History' },
        { id: 'settings', label: 'Settings' },
      ]
    : [{ id: 'open', label: 'Open Sibyl Runner…' }];

  const controls: MenuItemModel[] = [];
  // Pausing is for a runner that takes or waits for work, as in the window's connection panel: not
  // for one that stopped, is signed out or needs attention (it would read "Stopped" then "Pause new tasks").
  if (state.registered && d && PAUSABLE.has(link.kind))
    controls.push(d.paused ? { id: 'resume', label: 'Resume' } : { id: 'pause', label: 'Pause new tasks' });
  controls.push({
    id: 'startAtLogin',
    label: opts.loginItemHint ? `Start at login — ${opts.loginItemHint}` : 'Start at login',
    type: 'checkbox',
    checked: opts.startAtLogin,
  });
  if (opts.installCli) controls.push({ id: 'installCli', label: 'Install Command Line Tool…' });
  if (state.registered && state.runnerId) controls.push({ id: 'copyRunnerId', label: 'Copy runner ID' });
  if (state.registered) controls.push({ id: 'register', label: 'Re-register…' });

  const quit: MenuItemModel[] = [{ id: 'quit', label: running.length ? `Quit (stops ${running.length} running)` : 'Quit' }];

  const groups: [string, MenuItemModel[]][] = [
    ['tasks', tasks],
    ['fixes', fixes],
    ['screens', screens],
    ['controls', controls],
    ['quit', quit],
  ];
  const menu: MenuItemModel[] = [{ id: 'status', label: text, enabled: false }];
  for (const [name, items] of groups) if (items.length) menu.push({ id: `sep-${name}`, type: 'separator' }, ...items);

  const name = oneLine(state.runnerName, STATUS_MAX - 'Sibyl Runner — '.length);
  const tooltip = `${name ? `Sibyl Runner — ${name}` : 'Sibyl Runner'}\n${text}`;
  return { icon, tooltip, menu };
}

/** Fails to compile when a switch above misses a case. */
function unreachable(x: never): never {
  throw new Error(`unhandled case: ${String(x)}`);
}
