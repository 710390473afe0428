import type { AppState } from '../../preload/contract.ts';
import { duration, linkDescription, relativeTime, type LinkKind, type Tone } from '../../main/runner/vocabulary.ts';
import { describeProblem, plainCause, type Remedy } from './problemWords.ts';

/**
 * The connection as the window says it (issue 15, item 3): the shared link description
 * (vocabulary.ts) plus what only the window has room for — the cause in plain words, the attempt,
 * the next try, when it was last connected, and the raw cause for "Details". Pure, so a Node
 * test can walk every state.
 */
export interface ConnectionWords {
  kind: LinkKind;
  /** The colour of the state: paused neutral, on the way to connecting amber, refused or unreachable red. */
  tone: Tone;
  label: string;
  /** What happened, in plain words; '' when all is well. */
  reason: string;
  /** "Attempt 3 · next try in 8s · last connected 3m ago"; '' when not retrying. */
  timing: string;
  /** What the person can do, as buttons; the panel wires each. */
  actions: ConnectionAction[];
  /** The core's own words (reason, error detail) for "Details"; '' when there are none. */
  details: string;
  /** Whether tasks can arrive now: false while the link is not open or the runner is not running. */
  receiving: boolean;
}

/** `retryNow` redials at once; `start` starts the runner again; `signIn` and `checkServer` as their remedies (the pause button is always there). */
export type ConnectionAction = 'retryNow' | 'start' | Extract<Remedy, 'signIn' | 'checkServer'>;

/**
 * The window's colour per state. Paused is neutral (the person chose it), every state on its way
 * to a connection is amber, and every state that needs the person (refused, unreachable, broken
 * configuration) is red: the shared description's tone says less (paused and reconnecting share one).
 */
export function windowTone(kind: LinkKind): Tone {
  switch (kind) {
    case 'connected':
      return 'ok';
    case 'paused':
    case 'unregistered':
    case 'notRunning':
    case 'stopped':
      return 'neutral';
    case 'connecting':
    case 'reconnecting':
      return 'warn';
    case 'unreachable':
    case 'signedOut':
    case 'credentialsUnreadable':
    case 'needsAttention':
      return 'danger';
    default:
      return unreachable(kind);
  }
}

/** The words for `state` at `now` (epoch ms): the countdown and "last connected" depend on it. */
export function connectionWords(state: AppState, now: number = Date.now()): ConnectionWords {
  const view = linkDescription(state, now);
  const link = state.daemon?.link;
  const words: ConnectionWords = {
    kind: view.kind,
    tone: windowTone(view.kind),
    label: view.label,
    reason: '',
    timing: '',
    actions: [],
    details: view.cause,
    receiving: view.kind === 'connected',
  };
  switch (view.kind) {
    case 'connected':
      return words;
    case 'paused':
      return { ...words, reason: 'Connected, but not taking new tasks until you resume.' };
    case 'unregistered':
      return { ...words, reason: 'This machine is not registered with a Sibyl server yet.' };
    case 'needsAttention':
    case 'credentialsUnreadable': {
      const err = view.kind === 'needsAttention' ? state.startError : state.credentialsError;
      const problem = describeProblem({
        code: err?.code ?? 'failed',
        message: err?.message ?? view.cause,
        remedy: view.remedy,
        detail: state.startError?.detail,
      });
      const detail = state.startError?.detail;
      const actions: ConnectionAction[] =
        problem.remedy === 'signIn'
          ? ['signIn']
          : problem.remedy === 'checkServer'
            ? ['checkServer', 'start']
            : // Once the file is corrected (or the cause is gone), the runner starts again from here.
              problem.remedy === 'retry' || problem.remedy === 'fixConfig'
              ? ['start']
              : [];
      return {
        ...words,
        reason: problem.text,
        actions,
        details: [err?.message, view.kind === 'needsAttention' ? detail : ''].filter(Boolean).join('\n'),
      };
    }
    case 'signedOut':
      return {
        ...words,
        reason: view.cause
          ? plainCause(view.cause)
          : 'No sign-in is stored for this runner. It stays registered; sign in again to reconnect.',
        actions: ['signIn'],
      };
    case 'notRunning':
      return (
        coreWords(state, words, now) ?? {
          ...words,
          reason: 'The runner is not running, so no tasks arrive.',
          actions: state.attached ? [] : ['start'],
        }
      );
    case 'stopped':
      return { ...words, reason: plainCause(view.cause) || 'The runner has stopped.', actions: state.attached ? [] : ['start'] };
    case 'connecting':
      return { ...words, reason: view.cause ? plainCause(view.cause) : `Reaching ${hostOf(state.serverUrl)}.` };
    case 'reconnecting':
    case 'unreachable': {
      const cause = plainCause(view.cause) || 'The connection to the server dropped.';
      const actions: ConnectionAction[] = view.kind === 'unreachable' ? ['retryNow', 'checkServer'] : ['retryNow'];
      return { ...words, reason: cause, timing: timing(link, now), actions };
    }
    default:
      return unreachable(view.kind);
  }
}

/**
 * The runner's own process while it is not answering (AppState.core): starting, or restarting
 * after it ended unexpectedly, with the attempt and the next try; null when it is neither.
 */
function coreWords(state: AppState, words: ConnectionWords, now: number): ConnectionWords | null {
  const core = state.core;
  if (core?.state === 'starting') return { ...words, label: 'Starting…', tone: 'warn', reason: 'Starting the runner.' };
  if (core?.state !== 'restarting') return null;
  const exit = core.lastExit;
  const parts = [core.attempt !== undefined ? `Attempt ${core.attempt}` : ''];
  if (core.nextRetryAt !== undefined) {
    const waitS = (core.nextRetryAt - now) / 1000;
    parts.push(waitS < 1 ? 'starting now…' : `next try in ${duration(waitS)}`);
  }
  const timing = parts.filter(Boolean).join(' · ');
  return {
    ...words,
    label: 'Restarting',
    tone: 'warn',
    reason: exit ? 'The runner stopped unexpectedly; it is started again by itself.' : 'The runner is being started again.',
    timing: timing.charAt(0).toUpperCase() + timing.slice(1),
    actions: ['start'],
    details: exit
      ? [
          exit.signal ? `ended by ${exit.signal}` : `exit code ${String(exit.code)}`,
          `at ${new Date(exit.at).toISOString()}`,
          exit.stderr ?? '',
        ]
          .filter(Boolean)
          .join('\n')
      : '',
  };
}

/** "Attempt 3 · next try in 8s · last connected 3m ago", from the link's facts. */
function timing(link: NonNullable<AppState['daemon']>['link'] | undefined, now: number): string {
  if (!link) return '';
  const parts: string[] = [];
  if (link.attempts > 0) parts.push(`Attempt ${link.attempts}`);
  if (link.nextRetryAt !== undefined) {
    const waitS = (link.nextRetryAt - now) / 1000;
    parts.push(waitS < 1 ? 'trying now…' : `next try in ${duration(waitS)}`);
  }
  parts.push(
    link.connectedAt !== undefined ? `last connected ${relativeTime(link.connectedAt, now)}` : 'not connected since the runner started',
  );
  const line = parts.join(' · ');
  return line.charAt(0).toUpperCase() + line.slice(1);
}

/** The host of a server address, for a sentence ("Reaching sibyl.example.com."); the address itself when it does not parse. */
export function hostOf(serverUrl: string): string {
  try {
    return new URL(serverUrl).host || serverUrl;
  } catch {
    return serverUrl || 'the server';
  }
}

function unreachable(x: never): never {
  throw new Error(`unhandled case: ${String(x)}`);
}
