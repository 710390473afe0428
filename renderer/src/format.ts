import { taskPhaseLabel, type TaskPhase, type Tone } from '../../main/runner/vocabulary.ts';
import { h } from './dom.ts';

// Words for link state, task phases, durations and prompts are shared with the tray and the CLI:
// main/runner/vocabulary.ts. What stays here is the window's own formatting.

/** Timestamps from main are epoch milliseconds. */
export function dateTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
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
