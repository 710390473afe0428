import type { AppState } from '../../preload/contract.ts';
import { duration, type Tone } from './format.ts';

export interface ConnectionView {
  tone: Tone;
  label: string;
  /** Why, when not connected, and what to do about it. */
  reason: string;
}

/** The one wording of the link state, shared by the dashboard, the wizard and the navigation bar. */
export function connectionView(state: AppState, now = Date.now()): ConnectionView {
  if (!state.registered) return { tone: 'neutral', label: 'Not registered', reason: 'Register this runner with a Sibyl server to start.' };
  if (!state.signedIn && !state.attached)
    return { tone: 'danger', label: 'Signed out', reason: 'Sign in again to reconnect this runner (it stays registered).' };
  const daemon = state.daemon;
  if (!daemon) return { tone: 'neutral', label: 'Not running', reason: 'The runner is not running.' };
  const link = daemon.link;
  const why = sentence(link.reason ?? '');
  switch (link.state) {
    case 'open':
      if (daemon.paused || daemon.status === 'draining')
        return { tone: 'warn', label: 'Paused', reason: 'Connected, but not taking new tasks.' };
      return { tone: 'ok', label: 'Connected', reason: '' };
    case 'connecting':
      return { tone: 'info', label: 'Connecting', reason: why || `Reaching ${daemon.runner.serverUrl}…` };
    case 'waiting': {
      const wait = link.nextRetryAt === undefined ? undefined : (link.nextRetryAt - now) / 1000;
      const retry = wait === undefined ? '' : wait < 1 ? ' Retrying now…' : ` Retrying in ${duration(wait)}.`;
      return { tone: 'warn', label: 'Disconnected', reason: `${why || 'The connection dropped.'}${retry}` };
    }
    case 'auth_failed':
      return { tone: 'danger', label: 'Authentication failed', reason: `${why ? `${why} ` : ''}Sign in again below.` };
    case 'stopped':
      return { tone: 'neutral', label: 'Stopped', reason: why || 'The runner has stopped.' };
    case 'idle':
      return { tone: 'neutral', label: 'Idle', reason: why || 'Not connected yet.' };
  }
}

/** Reasons come from the core in log style ("connection closed (1006)"); shown as a sentence. */
function sentence(text: string): string {
  const t = text.trim();
  if (!t) return '';
  const capital = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`;
}
