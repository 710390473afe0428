import type { AppState } from '../../preload/contract.ts';
import { linkDescription, oneLine, promptSummary, remedyAction, type LinkKind } from '../runner/vocabulary.ts';

export type TrayIcon = 'offline' | 'connecting' | 'online' | 'busy' | 'paused' | 'error';

export interface MenuItemModel {
  id: string;
  label?: string;
  type?: 'normal' | 'separator' | 'checkbox';
  checked?: boolean;
  enabled?: boolean;
}

export interface TrayModel {
  icon: TrayIcon;
  tooltip: string;
  menu: MenuItemModel[];
}

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

/** Longest prompt summary a task's menu item shows. */
const TASK_CHARS = 48;

/** Longest core reason the one-line status shows; the window shows it whole. */
const CAUSE_CHARS = 80;

/**
 * The status line and icon: the shared label (vocabulary.ts), then what the tray has room for —
 * the remedy for a sign-in, the cause when the server cannot be reached, the agents in use.
 * The tray is not redrawn every second, so it never shows a retry countdown.
 */
export function trayStatus(state: AppState): { icon: TrayIcon; text: string } {
  const link = linkDescription(state);
  const d = state.daemon;
  const n = d?.running.length ?? 0;
  const max = d?.runner.maxAgents ?? 0;
  const capacity = `${n} of ${max} agent${max === 1 ? '' : 's'}`;
  const icon = link.kind === 'connected' && n > 0 ? 'busy' : ICONS[link.kind];
  switch (link.kind) {
    case 'signedOut':
      return { icon, text: `${link.label} — ${remedyAction(link.remedy).toLowerCase()}` };
    case 'needsAttention':
    case 'credentialsUnreadable':
    case 'unreachable':
    case 'stopped':
      return { icon, text: link.cause ? `${link.label} — ${oneLine(link.cause, CAUSE_CHARS)}` : link.label };
    case 'paused':
      return { icon, text: n ? `${link.label} — finishing ${capacity}` : `${link.label} — not taking new tasks` };
    case 'connected':
      return { icon, text: n ? `${link.label} — ${capacity} busy` : `${link.label} — idle` };
    default:
      return { icon, text: link.label };
  }
}

/**
 * The whole tray, as a pure function of state: unit-tested for every state. `loginItemHint` is set
 * when the OS holds the login item back (macOS: waiting for approval in System Settings).
 */
export function trayModel(state: AppState, opts: { startAtLogin: boolean; loginItemHint?: string | undefined }): TrayModel {
  const { icon, text } = trayStatus(state);
  const d = state.daemon;
  const running = d?.running ?? [];
  const name = state.runnerName || 'Sibyl Runner';
  const tooltipLines = [`Sibyl Runner — ${name}`];
  if (state.serverUrl) tooltipLines.push(state.serverUrl);
  tooltipLines.push(running.length ? `${text} · ${running.length} running` : text);
  const menu: MenuItemModel[] = [{ id: 'status', label: text, enabled: false }];
  if (running.length) {
    menu.push({ id: 'sep-tasks', type: 'separator' });
    for (const t of running.slice(0, 10))
      menu.push({ id: `task:${t.taskId}`, label: `${t.projectId}: ${promptSummary(t.prompt, TASK_CHARS)}` });
    if (running.length > 10) menu.push({ id: 'open', label: `…and ${running.length - 10} more` });
  }
  menu.push({ id: 'sep-main', type: 'separator' }, { id: 'open', label: 'Open Sibyl Runner…' });
  if (state.registered && d) {
    menu.push(d.paused ? { id: 'resume', label: 'Resume' } : { id: 'pause', label: 'Pause new tasks' });
  }
  menu.push(
    {
      id: 'startAtLogin',
      label: opts.loginItemHint ? `Start at login — ${opts.loginItemHint}` : 'Start at login',
      type: 'checkbox',
      checked: opts.startAtLogin,
    },
    { id: 'register', label: state.registered ? 'Re-register…' : 'Register…' },
    { id: 'sep-quit', type: 'separator' },
    { id: 'quit', label: running.length ? `Quit (stops ${running.length} running)` : 'Quit' },
  );
  return { icon, tooltip: tooltipLines.join('\n'), menu };
}
