import type { AppState } from '../../preload/contract.ts';

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

/** Failed dials in a row before "connecting" becomes "unreachable" (error). */
const UNREACHABLE_AFTER = 3;

function summary(prompt: string): string {
  const first = prompt.split('\n').find((l) => l.trim()) ?? '(no prompt)';
  return first.length > 48 ? `${first.slice(0, 47)}…` : first;
}

/** The status line, icon and wording for one state; exported for the window's header too. */
export function trayStatus(state: AppState): { icon: TrayIcon; text: string } {
  const d = state.daemon;
  if (!state.registered) return { icon: 'offline', text: 'Not registered' };
  if (!state.signedIn && !state.attached) return { icon: 'error', text: 'Signed out — sign in again' };
  if (!d) return { icon: 'offline', text: 'Runner not running' };
  const l = d.link;
  if (l.state === 'auth_failed') return { icon: 'error', text: 'Authentication failed — sign in again' };
  if (l.state === 'stopped') return { icon: 'offline', text: `Offline${l.reason ? ` — ${l.reason}` : ''}` };
  if (l.state !== 'open') {
    if (l.state === 'waiting' && l.attempts >= UNREACHABLE_AFTER)
      return { icon: 'error', text: `Server unreachable${l.reason ? ` — ${l.reason}` : ''}` };
    return { icon: 'connecting', text: 'Connecting…' };
  }
  const n = d.running.length;
  const capacity = `${n} of ${d.runner.maxAgents} agent${d.runner.maxAgents === 1 ? '' : 's'}`;
  if (d.paused || d.status === 'draining')
    return { icon: 'paused', text: n ? `Paused — finishing ${capacity}` : 'Paused — not taking new tasks' };
  if (n > 0) return { icon: 'busy', text: `Busy — ${capacity}` };
  return { icon: 'online', text: 'Online — idle' };
}

/** The whole tray, as a pure function of state: unit-tested for every state. */
export function trayModel(state: AppState, opts: { startAtLogin: boolean }): TrayModel {
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
    for (const t of running.slice(0, 10)) menu.push({ id: `task:${t.taskId}`, label: `${t.projectId}: ${summary(t.prompt)}` });
    if (running.length > 10) menu.push({ id: 'open', label: `…and ${running.length - 10} more` });
  }
  menu.push({ id: 'sep-main', type: 'separator' }, { id: 'open', label: 'Open Sibyl Runner…' });
  if (state.registered && d) {
    menu.push(d.paused ? { id: 'resume', label: 'Resume' } : { id: 'pause', label: 'Pause new tasks' });
  }
  menu.push(
    { id: 'startAtLogin', label: 'Start at login', type: 'checkbox', checked: opts.startAtLogin },
    { id: 'register', label: state.registered ? 'Re-register…' : 'Register…' },
    { id: 'sep-quit', type: 'separator' },
    { id: 'quit', label: running.length ? `Quit (stops ${running.length} running)` : 'Quit' },
  );
  return { icon, tooltip: tooltipLines.join('\n'), menu };
}
