import type { ActivityDay } from '../../preload/contract.ts';
import { cost, tokens } from '../../main/runner/vocabulary.ts';
import { call, messageOf } from './bridge.ts';
import { h, mount } from './dom.ts';
import { count } from './format.ts';
import { refreshHistoryView, type Disposer, type ScreenContext } from './screen.ts';

/** How many days the chart shows, today included. */
export const ACTIVITY_DAYS = 14;

/** The bar segments, bottom up: what a day's finished tasks came to. */
const OUTCOMES = [
  { key: 'completed', label: 'Completed' },
  { key: 'failed', label: 'Failed' },
  { key: 'cancelled', label: 'Cancelled' },
] as const;

/**
 * Activity at a glance on the dashboard: finished tasks per day for the last two weeks, as bars
 * split into completed, failed (timeouts included) and cancelled, from the history
 * (`history:activity`, one query). CSS bars with text: each day's count is written above its
 * bar and its date below it, and each day says in words what the bars show (for screen readers,
 * and on hover). It follows the running set as the dashboard does, and starts a new day at midnight.
 */
export function activityCard(ctx: ScreenContext, d: Disposer): HTMLElement {
  const body = h('div', { 'data-testid': 'activity' }, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  let shownFor = '';
  let running: string | null = null;

  const load = async (): Promise<void> => {
    const day = new Date().toDateString();
    try {
      const days = await call('history:activity', { days: ACTIVITY_DAYS });
      shownFor = day;
      mount(body, ...activityBody(days));
    } catch (err) {
      mount(body, h('p', { class: 'field-error', role: 'alert' }, messageOf(err)));
    }
  };

  // A task that leaves the running set has finished: its day's bar grows once the history has it.
  d.add(
    ctx.app.subscribe((state) => {
      const key = (state.daemon?.running ?? [])
        .map((t) => t.taskId)
        .sort()
        .join(',');
      if (key === running) return;
      const first = running === null;
      running = key;
      if (!first) refreshHistoryView(d, () => void load());
    }),
  );
  d.interval(() => {
    if (shownFor && shownFor !== new Date().toDateString()) void load();
  }, 60_000);
  running = (ctx.app.current().daemon?.running ?? [])
    .map((t) => t.taskId)
    .sort()
    .join(',');
  void load();

  return h(
    'section',
    { class: 'card activity-card', 'aria-labelledby': 'activity-title' },
    h('h2', { id: 'activity-title' }, `Last ${ACTIVITY_DAYS} days`),
    body,
  );
}

function activityBody(days: ActivityDay[]): HTMLElement[] {
  const sum = (pick: (d: ActivityDay) => number | null): number | null =>
    days.reduce<number | null>((acc, d) => (pick(d) === null ? acc : (acc ?? 0) + (pick(d) ?? 0)), null);
  const completed = sum((d) => d.completed) ?? 0;
  const failed = sum((d) => d.failed) ?? 0;
  const cancelled = sum((d) => d.cancelled) ?? 0;
  if (completed + failed + cancelled === 0) return [h('p', { class: 'empty' }, `No tasks finished in the last ${ACTIVITY_DAYS} days.`)];
  const input = sum((d) => d.inputTokens);
  const output = sum((d) => d.outputTokens);
  const totals = [
    `${count(completed)} completed`,
    `${count(failed)} failed`,
    cancelled ? `${count(cancelled)} cancelled` : '',
    cost(sum((d) => d.costUsd)),
    input === null && output === null ? '' : `${tokens(input)} in · ${tokens(output)} out tokens`,
  ].filter(Boolean);
  const max = Math.max(...days.map(total));
  const todayKey = days.at(-1)?.day;
  return [
    h('p', { class: 'small muted', 'data-testid': 'activity-totals' }, totals.join(' · ')),
    h(
      'ol',
      { class: 'bars', 'aria-label': 'Finished tasks per day' },
      days.map((day) => dayBar(day, max, day.day === todayKey)),
    ),
    h(
      'ul',
      { class: 'legend', 'aria-hidden': 'true' },
      OUTCOMES.filter((o) => o.key !== 'cancelled' || cancelled > 0).map((o) =>
        h('li', null, h('span', { class: 'swatch', 'data-outcome': o.key }), o.label),
      ),
    ),
  ];
}

function total(d: ActivityDay): number {
  return d.completed + d.failed + d.cancelled;
}

function dayBar(day: ActivityDay, max: number, today: boolean): HTMLLIElement {
  const date = localDate(day.day);
  const words = dayWords(day, date);
  const n = total(day);
  return h(
    'li',
    { class: 'bar-day', 'data-day': day.day, 'data-today': today ? 'true' : null, title: words },
    h('span', { class: 'bar-count', 'aria-hidden': 'true' }, n ? String(n) : ''),
    h(
      'span',
      { class: 'bar', 'aria-hidden': 'true' },
      OUTCOMES.map((o) => (day[o.key] ? barPart(o.key, day[o.key] / max) : null)),
    ),
    h(
      'span',
      { class: 'bar-label', 'aria-hidden': 'true' },
      today ? 'Today' : date.toLocaleDateString(undefined, { weekday: 'narrow' }),
      h('br'),
      String(date.getDate()),
    ),
    h('span', { class: 'visually-hidden' }, words),
  );
}

/** One outcome's share of the tallest day, as a height (set through CSSOM: the CSP forbids style attributes). */
function barPart(outcome: (typeof OUTCOMES)[number]['key'], share: number): HTMLSpanElement {
  const part = h('span', { class: 'bar-part', 'data-outcome': outcome });
  part.style.height = `${share * 100}%`;
  return part;
}

/** "Monday, March 11: 3 completed, 1 failed; $0.42" — what one day's bar shows, in words. */
function dayWords(day: ActivityDay, date: Date): string {
  const name = date.toLocaleDateString(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
  const parts = [`${day.completed} completed`, `${day.failed} failed`, day.cancelled ? `${day.cancelled} cancelled` : ''].filter(Boolean);
  return `${name}: ${total(day) ? parts.join(', ') : 'no tasks'}${day.costUsd !== null ? `; ${cost(day.costUsd)}` : ''}`;
}

/** YYYY-MM-DD as the local midnight it names. */
function localDate(day: string): Date {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(y ?? 1970, (m ?? 1) - 1, d ?? 1);
}
