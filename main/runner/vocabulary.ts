import type { Snapshot } from './control/contract.ts';
import type { Remedy } from './errors.ts';
import type { HistoryStatus } from './history/schema.ts';

/**
 * The words every face uses for the runner's state: link state, task phases, durations and
 * prompt summaries, for the tray, the window and the CLI alike (pattern 13: say what happened in
 * the user's terms). Pure and value-import free, so the sandboxed renderer bundles it as is; lint
 * keeps it that way. What to *do* about a state is a `Remedy`; each face words that itself
 * (`remedyAction` here for the window and tray, main/cli/remedies.ts for the CLI).
 */

export type Tone = 'ok' | 'info' | 'warn' | 'danger' | 'neutral';

/** Failed dials in a row after which "Reconnecting" becomes "Can't reach the server". */
export const UNREACHABLE_AFTER_ATTEMPTS = 3;

/** The link facts the words depend on: the daemon snapshot's `link`. Times are epoch ms. */
export type LinkFacts = Pick<Snapshot['link'], 'state' | 'reason' | 'attempts' | 'nextRetryAt' | 'remedy'>;

/** What every face knows about the runner: the window's AppState and the CLI's config + snapshot both fit. */
export interface RunnerFacts {
  registered: boolean;
  /** credentials are stored; false after signing out */
  signedIn: boolean;
  /** the stored credentials could not be read (a locked keyring…): shown as that, not as signed out */
  credentialsError?: { message: string; remedy: Remedy } | undefined;
  /** the runner could not start (an invalid runner.yaml, a failed start): shown before anything else */
  startError?: { message: string; remedy: Remedy } | undefined;
  /** the face shows a daemon it attached to (whose credentials it does not manage) */
  attached: boolean;
  /** the running daemon's snapshot, or null when no runner is running */
  daemon: (Pick<Snapshot, 'paused' | 'status'> & { runner: Pick<Snapshot['runner'], 'serverUrl'>; link: LinkFacts }) | null;
  /** the desktop app's core process (AppState.core): says why there is no snapshot while it starts or restarts */
  core?: { state: 'starting' | 'running' | 'restarting' | 'stopped'; nextRetryAt?: number | undefined } | undefined;
}

/** A stable name for each described state, for faces that pick an icon or a step by it (never by label). */
export type LinkKind =
  | 'needsAttention'
  | 'unregistered'
  | 'credentialsUnreadable'
  | 'signedOut'
  | 'notRunning'
  | 'connecting'
  | 'reconnecting'
  | 'unreachable'
  | 'connected'
  | 'paused'
  | 'stopped';

export interface LinkDescription {
  kind: LinkKind;
  tone: Tone;
  /** A few words: "Connected", "Can't reach the server". */
  label: string;
  /** What happened and what happens next, as sentences ("… Retrying in 8s."); '' when all is well. Depends on `now`. */
  reason: string;
  /** The core's own reason, as written (lowercase, no retry countdown); '' when there is none. For one-line faces. */
  cause: string;
  /** What the person can do about it; `none` when nothing is needed. */
  remedy: Remedy;
}

/**
 * The one description of the runner's connection, from the facts every face has.
 * `now` is epoch milliseconds (for the retry countdown).
 */
export function linkDescription(facts: RunnerFacts, now: number = Date.now()): LinkDescription {
  const describe = (kind: LinkKind, tone: Tone, label: string, reason: string, remedy: Remedy, cause = ''): LinkDescription => ({
    kind,
    tone,
    label,
    reason,
    cause,
    remedy,
  });
  // An unreadable runner.yaml also hides whether this machine is registered: the error comes first.
  // A typed error the user must act on: its message is the reason (and the cause shown in full).
  const failure = (kind: LinkKind, label: string, err: { message: string; remedy: Remedy }): LinkDescription =>
    describe(kind, 'danger', label, sentence(err.message), err.remedy, err.message);
  if (facts.startError) return failure('needsAttention', 'Needs attention', facts.startError);
  if (!facts.registered)
    return describe('unregistered', 'neutral', 'Not registered', 'This runner is not registered with a Sibyl server yet.', 'register');
  if (!facts.signedIn && !facts.attached && facts.credentialsError)
    return failure('credentialsUnreadable', "Can't read credentials", facts.credentialsError);
  if (!facts.signedIn && !facts.attached)
    return describe('signedOut', 'danger', 'Signed out', 'No credentials are stored for this runner; it stays registered.', 'signIn');
  const daemon = facts.daemon;
  if (!daemon && facts.core?.state === 'starting') return describe('notRunning', 'info', 'Starting…', 'The runner is starting.', 'none');
  if (!daemon && facts.core?.state === 'restarting') {
    const reason = join('The runner stopped unexpectedly.', retryIn(facts.core.nextRetryAt, now));
    return describe('notRunning', 'warn', 'Restarting', reason, 'none');
  }
  if (!daemon) return describe('notRunning', 'neutral', 'Not running', 'The runner is not running.', 'none');
  const link = daemon.link;
  const cause = link.reason?.trim() ?? '';
  const why = sentence(cause);
  switch (link.state) {
    case 'open':
      if (daemon.paused || daemon.status === 'draining')
        return describe('paused', 'warn', 'Paused', 'Connected, but not taking new tasks.', 'none');
      return describe('connected', 'ok', 'Connected', '', 'none');
    case 'idle':
    case 'connecting':
      return describe('connecting', 'info', 'Connecting…', why || `Reaching ${daemon.runner.serverUrl}.`, 'none', cause);
    case 'waiting': {
      const reason = join(why || 'The connection dropped.', retryIn(link.nextRetryAt, now));
      if (link.attempts >= UNREACHABLE_AFTER_ATTEMPTS)
        return describe('unreachable', 'danger', "Can't reach the server", reason, link.remedy ?? 'checkServer', cause);
      return describe('reconnecting', 'warn', 'Reconnecting', reason, 'none', cause);
    }
    case 'auth_failed':
      return describe('signedOut', 'danger', 'Signed out', why || 'The server refused the credentials.', link.remedy ?? 'signIn', cause);
    case 'stopped':
      return describe('stopped', 'neutral', 'Stopped', why || 'The runner has stopped.', link.remedy ?? 'none', cause);
    default:
      return unreachable(link.state);
  }
}

/** "Retrying in 8s." for a retry at `at` (epoch ms); '' when none is scheduled. */
function retryIn(at: number | undefined, now: number): string {
  if (at === undefined) return '';
  const waitS = (at - now) / 1000;
  return waitS < 1 ? 'Retrying now…' : `Retrying in ${duration(waitS)}.`;
}

/** The window's and tray's words for a remedy: a button or menu label ("Sign in again"); '' for `none`. */
export function remedyAction(remedy: Remedy): string {
  switch (remedy) {
    case 'signIn':
      return 'Sign in again';
    case 'register':
      return 'Register';
    case 'checkServer':
      return 'Check the address';
    case 'fixConfig':
      return 'Fix the configuration';
    case 'freeDisk':
      return 'Free disk space';
    case 'checkInput':
      return 'Check what was entered';
    case 'retry':
      return 'Try again';
    case 'none':
      return '';
    default:
      return unreachable(remedy);
  }
}

/** A running task's phase (daemon snapshot) or a task's recorded status (history). */
export type TaskPhase = Snapshot['running'][number]['phase'] | HistoryStatus;

/** Words for a task phase or status, as a badge or a column shows them. */
export function taskPhaseLabel(phase: TaskPhase): string {
  switch (phase) {
    case 'assigned':
      return 'Assigned';
    case 'preparing':
      return 'Preparing worktree';
    case 'running':
      return 'Running';
    case 'finishing':
      return 'Finishing';
    case 'completed':
      return 'Completed';
    case 'failed':
      return 'Failed';
    case 'timeout':
      return 'Timed out';
    case 'cancelled':
      return 'Cancelled';
    case 'rejected':
      return 'Rejected';
    default:
      return unreachable(phase);
  }
}

/**
 * A length of time in seconds, the same way everywhere: "42s", "3m 05s", "1h 02m" (whole units,
 * rounded down; negative is "0s"). "—" when unknown (null, undefined, NaN, infinite).
 */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad2(s % 60)}s`;
  return `${Math.floor(m / 60)}h ${pad2(m % 60)}m`;
}

/**
 * What an agent run cost, in US dollars as the agents report it: "$0.42", "$1,204.10"; "<$0.01"
 * for a cost too small to show in cents, "$0.00" for none. "—" when unknown.
 */
export function cost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd) || usd < 0) return '—';
  if (usd > 0 && usd < 0.005) return '<$0.01';
  return `$${usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/**
 * A number of tokens, short: "950", "1.2k", "48k", "3.4M" (one decimal below 10 of a unit, none
 * above). "—" when unknown.
 */
export function tokens(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) return '—';
  const whole = Math.round(n);
  if (whole < 1000) return String(whole);
  const units = [
    ['k', 1e3],
    ['M', 1e6],
    ['B', 1e9],
  ] as const;
  for (const [unit, size] of units) {
    const v = whole / size;
    const shown = v < 10 ? Math.round(v * 10) / 10 : Math.round(v);
    // 999,600 rounds to "1000k": say "1M" instead.
    if (shown < 1000 || unit === 'B') return `${shown}${unit}`;
  }
  return String(whole);
}

/**
 * A prompt in one line of at most `maxChars` characters (code points): its first non-blank line,
 * whitespace collapsed, cut with "…" when longer. "(no prompt)" when there is no text.
 */
export function promptSummary(prompt: string, maxChars: number): string {
  return oneLine(prompt, maxChars) || '(no prompt)';
}

/** Any text in one line of at most `maxChars` characters, as `promptSummary` cuts it; '' when blank. */
export function oneLine(text: string, maxChars: number): string {
  const first = text
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' ').trim())
    .find(Boolean);
  if (!first) return '';
  const chars = Array.from(first);
  const max = Math.max(1, Math.floor(maxChars));
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : first;
}

/**
 * A task id as people see it: its first 8 characters, as the window, the tray and the task's
 * `sibyl/<id>` branch show it. The CLI takes any unique start of an id, this one included.
 */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/**
 * How long ago `at` was (epoch ms), relative to `now`: "just now", "5m ago", "3h ago", "2d ago",
 * "3w ago", "4mo ago", "2y ago" (whole units, rounded down). A time in the future (another
 * machine's clock) is "just now".
 */
export function relativeTime(at: number, now: number = Date.now()): string {
  const s = Math.max(0, (now - at) / 1000);
  if (s < 45) return 'just now';
  const units: [string, number][] = [
    ['y', 365 * 86400],
    ['mo', 30 * 86400],
    ['w', 7 * 86400],
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ];
  for (const [unit, size] of units) if (s >= size) return `${Math.floor(s / size)}${unit} ago`;
  return '1m ago';
}

/** The facts of a finished task that say why it did not complete (a history row, a record). */
export interface TaskOutcomeFacts {
  status: HistoryStatus;
  /** the result's error, or a rejection's detail */
  error: string | null;
  exitCode: number | null;
  /** at_capacity, runner_draining, invalid_task for a rejected task; unknown when not at hand */
  rejectReason?: string | null;
}

/**
 * Why a task did not complete, in a few words: "At capacity (3/3)", "Command not found: claude",
 * "Exit code 3: <its last words>", "Killed by SIGKILL", "Timed out after 30m 00s", "Cancelled by
 * Sibyl". '' for a task that completed or is still in flight. One line; the faces cut it to fit.
 */
export function taskReason(t: TaskOutcomeFacts): string {
  const error = t.error?.trim() ?? '';
  switch (t.status) {
    case 'assigned':
    case 'running':
    case 'completed':
      return '';
    case 'rejected': {
      const capacity = /running (\d+) of (\d+) agents/.exec(error);
      if (t.rejectReason === 'at_capacity' || capacity) return capacity ? `At capacity (${capacity[1]}/${capacity[2]})` : 'At capacity';
      if (t.rejectReason === 'runner_draining') return 'The runner was stopping';
      if (t.rejectReason === 'invalid_task') return error ? `Invalid task: ${error}` : 'Invalid task';
      return error ? sentence(error).replace(/\.$/, '') : 'Rejected';
    }
    case 'timeout': {
      const after = /after (\d+(?:\.\d+)?) s\b/.exec(error);
      return after ? `Timed out after ${duration(Number(after[1]))}` : 'Timed out';
    }
    case 'cancelled':
      if (error === 'task_cancel' || error === '') return 'Cancelled by Sibyl';
      if (error === 'runner_draining' || error === 'runner_shutdown') return 'The runner stopped';
      return sentence(error).replace(/\.$/, '');
    case 'failed': {
      const exited = /^agent exited with code (-?\d+)(?::\s*(.*))?$/s.exec(error);
      if (exited) return exitWords(Number(exited[1]), exited[2]);
      if (error) return sentence(error).replace(/\.$/, '');
      return t.exitCode === null ? 'Failed' : exitWords(t.exitCode, undefined);
    }
    default:
      return unreachable(t.status);
  }
}

/** Signal numbers as process exit codes carry them negated (agentProcess.ts). */
const SIGNAL_NAMES: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  6: 'SIGABRT',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  13: 'SIGPIPE',
  15: 'SIGTERM',
};

/** The name of the signal a negative exit code carries (-15 → "SIGTERM"; "signal 7" when unnamed). */
export function signalName(negatedCode: number): string {
  return SIGNAL_NAMES[-negatedCode] ?? `signal ${-negatedCode}`;
}

/** "Exit code 3: <last words>", or "Killed by SIGTERM" for a negative code (a signal). */
function exitWords(code: number, lastWords: string | undefined): string {
  const words = lastWords?.trim() ? `: ${lastWords.trim()}` : '';
  if (code < 0) return `Killed by ${signalName(code)}${words}`;
  return `Exit code ${code}${words}`;
}

/** The core writes reasons in log style ("connection closed (1006)"); people read a sentence. */
function sentence(text: string): string {
  if (!text) return '';
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?\u2026]$/.test(capital) ? capital : `${capital}.`;
}

function join(...parts: string[]): string {
  return parts.filter(Boolean).join(' ');
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Fails to compile when a switch above misses a case. */
function unreachable(x: never): never {
  throw new Error(`unhandled case: ${String(x)}`);
}
