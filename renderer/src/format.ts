import type { TaskStatus } from '../../preload/contract.ts';
import { h } from './dom.ts';

/** "1h 02m", "3m 05s", "42s": elapsed and duration in the same words everywhere. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** Timestamps from main are epoch milliseconds. */
export function dateTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function isoTime(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** The first line of a prompt, cut to fit one table cell. */
export function summary(prompt: string, max = 120): string {
  const first = prompt.trim().split('\n', 1)[0] ?? '';
  return first.length > max ? `${first.slice(0, max - 1)}…` : first || '(no prompt)';
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

export type Tone = 'ok' | 'info' | 'warn' | 'danger' | 'neutral';

export function statusTone(status: TaskStatus | 'preparing' | 'finishing'): Tone {
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

export function statusBadge(status: TaskStatus): HTMLSpanElement {
  return badge(status, statusTone(status));
}

/** A command as a person would type it: arguments with spaces or quotes are single-quoted. */
export function shellLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
