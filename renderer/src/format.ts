import { relativeTime, signalName, taskPhaseLabel, type TaskPhase, type Tone } from '../../main/runner/vocabulary.ts';
import { h } from './dom.ts';

// Words for link state, task phases, durations and prompts are shared with the tray and the CLI:
// main/runner/vocabulary.ts. What stays here is the window's own formatting.

/** The one mark for a value that is not known or does not apply (never "–" or "-"). */
export const NONE = '—';

/** Timestamps from main are epoch milliseconds. */
export function dateTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return NONE;
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A moment to the second: "1 Dec 2026, 14:03:22". */
export function dateTimeSeconds(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return NONE;
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/**
 * When something happened, as people scan a list: "3h ago", with the moment to the second on
 * hover and in `datetime` (for screen readers and tests). "—" when unknown.
 */
export function timeAgo(ms: number | null | undefined, now: number = Date.now()): HTMLElement {
  if (ms === null || ms === undefined) return h('span', null, NONE);
  return h('time', { datetime: new Date(ms).toISOString(), title: dateTimeSeconds(ms) }, relativeTime(ms, now));
}

/** How the agent's process ended: "0", "3", "SIGTERM" (never "-15"); "—" when it did not run or is unknown. */
export function exitText(code: number | null | undefined): string {
  if (code === null || code === undefined) return NONE;
  if (code < 0) return signalName(code);
  return String(code);
}

export function isoTime(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

export function statusTone(status: TaskPhase): Tone {
  switch (status) {
    case 'completed':
      return 'ok';
    case 'running':
    case 'assigned':
    case 'preparing':
    case 'finishing':
      return 'info';
    case 'timeout':
    case 'cancelled':
      return 'warn';
    case 'failed':
    case 'rejected':
      return 'danger';
  }
}

export function badge(text: string, tone: Tone): HTMLSpanElement {
  return h('span', { class: 'badge', 'data-tone': tone }, text);
}

/** A task's phase or status as a badge, in the shared words. */
export function statusBadge(status: TaskPhase): HTMLSpanElement {
  return badge(taskPhaseLabel(status), statusTone(status));
}

/** A command as a person would type it: arguments with spaces or quotes are single-quoted. */
export function shellLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
