import type { AppState, DailyTotal, TaskRow } from '../../preload/contract.ts';
import { activityCard } from './activity.ts';
import { call, problemOf } from './bridge.ts';
import { cost, duration, tokens } from '../../main/runner/vocabulary.ts';
import { connectionPanel } from './connectionPanel.ts';
import { connectionWords, hostOf } from './connectionWords.ts';
import { h, mount, setText } from './dom.ts';
import { count, statusBadge, timeAgo } from './format.ts';
import { problemBox } from './problemView.ts';
import { Disposer, refreshHistoryView, type Screen, type ScreenContext } from './screen.ts';
import { TaskCard } from './taskCard.ts';
import { reasonLine, taskLink } from './taskRowParts.ts';

/** The live view: connection, capacity, pause/resume, running tasks, and the last few finished. */
export function dashboardScreen(ctx: ScreenContext): Screen {
  const d = new Disposer();
  const panel = connectionPanel(ctx, d);
  const runningCount = h('span', { class: 'muted' });
  const runningList = h('div', { class: 'task-list' });
  const empty = h('p', { class: 'empty', 'data-testid': 'running-empty' });
  const recentBody = h('div');
  const todayBody = h('div', { 'data-testid': 'today' });
  // The day the totals are for: when the clock passes midnight, "today" starts again at zero.
  let todayShown = '';
  const cards = new Map<string, TaskCard>();
  let runningIds: string | null = null;

  function render(state: AppState): void {
    panel.render(state);
    const daemon = state.daemon;
    const running = daemon?.running ?? [];
    setText(runningCount, ` (${running.length})`);
    const ids = new Set(running.map((t) => t.taskId));
    for (const [id, card] of cards) {
      if (ids.has(id)) continue;
      card.el.remove();
      cards.delete(id);
    }
    running.forEach((task, i) => {
      let card = cards.get(task.taskId);
      if (card) card.update(task);
      else {
        card = new TaskCard(task);
        cards.set(task.taskId, card);
        card.setLines(ctx.logs.lines(task.taskId));
        ctx.logs.seed(task.taskId);
      }
      // Move a card only when the order changed: moving a node drops the focus inside it.
      if (runningList.children[i] !== card.el) runningList.insertBefore(card.el, runningList.children[i] ?? null);
    });
    ctx.logs.retain(ids);
    empty.hidden = running.length > 0;
    setText(empty, idleText(state));
    const key = [...ids].sort().join(',');
    if (key !== runningIds) {
      runningIds = key;
      refreshHistoryView(d, () => {
        void loadToday();
        void loadRecent();
      });
    }
  }

  async function loadToday(): Promise<void> {
    const day = new Date().toDateString();
    try {
      const totals = await call('history:daily', { days: 1 });
      todayShown = day;
      mount(todayBody, todayStats(totals.at(-1)));
    } catch (err) {
      mount(todayBody, problemBox(problemOf(err), { retry: () => void loadToday() }));
    }
  }

  async function loadRecent(): Promise<void> {
    try {
      const page = await call('history:page', { limit: 10 });
      const finished = page.items.filter((r) => r.status !== 'running' && r.status !== 'assigned').slice(0, 5);
      mount(recentBody, finished.length ? recentTable(finished) : h('p', { class: 'empty' }, 'Nothing has finished yet.'));
    } catch (err) {
      mount(recentBody, problemBox(problemOf(err), { retry: () => void loadRecent() }));
    }
  }

  d.add(ctx.app.subscribe(render));
  d.add(ctx.logs.subscribe((taskId, lines) => cards.get(taskId)?.setLines(lines)));
  d.interval(() => {
    const now = Date.now();
    for (const card of cards.values()) card.tick(now);
    // The retry countdown and "last connected" tick too.
    panel.tick(now);
    if (todayShown && todayShown !== new Date(now).toDateString()) void loadToday();
  }, 1000);
  render(ctx.app.current());

  const el = h(
    'div',
    { class: 'dashboard' },
    h('h1', { tabindex: '-1' }, 'Dashboard'),
    panel.el,
    h('section', { class: 'card today-card', 'aria-labelledby': 'today-title' }, h('h2', { id: 'today-title' }, 'Today'), todayBody),
    h('section', { 'aria-labelledby': 'running-title' }, h('h2', { id: 'running-title' }, 'Running', runningCount), empty, runningList),
    activityCard(ctx, d),
    h(
      'section',
      { 'aria-labelledby': 'recent-title', class: 'recent' },
      h('h2', { id: 'recent-title' }, 'Recently finished ', h('a', { href: '#/history', class: 'small' }, 'All history')),
      recentBody,
    ),
  );
  return { el, dispose: () => d.dispose() };
}

/**
 * What the running list says when it is empty: only while connected is the runner waiting for
 * work; otherwise no task can arrive, and it says so (issue 15, item 3).
 */
function idleText(state: AppState): string {
  const words = connectionWords(state);
  if (words.receiving) return `No tasks running. Waiting for work from ${hostOf(state.serverUrl)}.`;
  switch (words.kind) {
    case 'paused':
      return 'Paused: no new tasks are taken until you resume.';
    case 'signedOut':
    case 'credentialsUnreadable':
      return 'Not receiving tasks while signed out.';
    case 'notRunning':
    case 'stopped':
    case 'needsAttention':
      return 'Not receiving tasks while the runner is stopped.';
    default:
      return 'Not receiving tasks while disconnected.';
  }
}

/** Today's finished tasks and what their agents reported; zeros before anything ran. */
function todayStats(total: DailyTotal | undefined): HTMLDListElement {
  const stat = (label: string, value: string, testId: string): HTMLDivElement =>
    h('div', { class: 'stat' }, h('dt', null, label), h('dd', { 'data-testid': testId }, value));
  const tasks = total?.tasks ?? 0;
  const input = total?.inputTokens ?? null;
  const output = total?.outputTokens ?? null;
  // Nothing reported: "—" when tasks ran without saying, 0 when nothing ran.
  const tokenText = input === null && output === null ? (tasks ? '—' : '0') : `${tokens(input)} in · ${tokens(output)} out`;
  return h(
    'dl',
    { class: 'stats' },
    stat('Tasks finished', count(tasks), 'today-tasks'),
    stat('Cost', cost(total?.costUsd ?? (tasks ? null : 0)), 'today-cost'),
    stat('Tokens', tokenText, 'today-tokens'),
  );
}

function recentTable(rows: TaskRow[]): HTMLTableElement {
  return h(
    'table',
    { class: 'recent-table' },
    h(
      'thead',
      null,
      h('tr', null, h('th', null, 'Status'), h('th', null, 'Task'), h('th', null, 'Finished'), h('th', { class: 'num' }, 'Duration')),
    ),
    h(
      'tbody',
      null,
      rows.map((r) =>
        h(
          'tr',
          { 'data-task-id': r.taskId },
          h('td', null, statusBadge(r.status)),
          h('td', { class: 'prompt-cell' }, taskLink(r, 80), reasonLine(r)),
          h('td', { class: 'nowrap' }, timeAgo(r.finishedAt ?? r.startedAt ?? r.assignedAt)),
          h('td', { class: 'num' }, duration(r.durationS)),
        ),
      ),
    ),
  );
}
