import type { AppState, DailyTotal, TaskRow } from '../../preload/contract.ts';
import { activityCard } from './activity.ts';
import { call, messageOf } from './bridge.ts';
import { cost, duration, linkDescription, promptSummary, tokens } from '../../main/runner/vocabulary.ts';
import { signInAgain } from './signInAgain.ts';
import { h, mount, setText } from './dom.ts';
import { count, dateTime, statusBadge } from './format.ts';
import { Disposer, refreshHistoryView, type Screen, type ScreenContext } from './screen.ts';
import { TaskCard } from './taskCard.ts';

/** The live view: connection, capacity, pause/resume, running tasks, and the last few finished. */
export function dashboardScreen(ctx: ScreenContext): Screen {
  const d = new Disposer();
  const dot = h('span', { class: 'dot', 'aria-hidden': 'true' });
  const linkLabel = h('strong', { 'data-testid': 'link-state' });
  const linkReason = h('p', { class: 'small muted link-reason', 'data-testid': 'link-reason' });
  const facts = h('dl', { class: 'facts' });
  const capacityText = h('span', { class: 'capacity-text', 'data-testid': 'capacity' });
  const meter = h('meter', { min: 0, max: 1, value: 0, 'aria-label': 'Agents in use' });
  const pauseBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'pause' });
  const pauseNote = h('p', { class: 'field-error', role: 'alert' });
  const extra = h('p', { class: 'small muted' });
  const runningCount = h('span', { class: 'muted' });
  const runningList = h('div', { class: 'task-list' });
  const empty = h('p', { class: 'empty' });
  const recentBody = h('div');
  const todayBody = h('div', { 'data-testid': 'today' });
  // The day the totals are for: when the clock passes midnight, "today" starts again at zero.
  let todayShown = '';
  const cards = new Map<string, TaskCard>();
  let runningIds: string | null = null;

  pauseBtn.addEventListener('click', () => {
    const paused = ctx.app.current().daemon?.paused ?? false;
    pauseBtn.disabled = true;
    call(paused ? 'runner:resume' : 'runner:pause', {})
      .then(
        (s) => {
          setText(pauseNote, '');
          ctx.app.accept(s);
        },
        (err: unknown) => setText(pauseNote, messageOf(err)),
      )
      .finally(() => (pauseBtn.disabled = false));
  });

  const again = signInAgain();
  d.add(() => again.dispose());

  function render(state: AppState): void {
    again.update(state);
    const view = linkDescription(state);
    dot.dataset.tone = view.tone;
    setText(linkLabel, view.label);
    setText(linkReason, view.reason);
    const daemon = state.daemon;
    mount(
      facts,
      h('dt', null, 'Runner'),
      h('dd', null, state.runnerName || daemon?.runner.name || '—'),
      h('dt', null, 'Runner id'),
      h('dd', { class: 'mono' }, state.runnerId || '—'),
      h('dt', null, 'Server'),
      h('dd', null, state.serverUrl || '—'),
    );
    const running = daemon?.running ?? [];
    const max = daemon?.runner.maxAgents ?? 0;
    setText(capacityText, `${running.length} / ${max}`);
    meter.max = Math.max(1, max);
    meter.value = running.length;
    setText(pauseBtn, daemon?.paused ? 'Resume' : 'Pause new tasks');
    pauseBtn.hidden = !daemon;
    const notes = [
      state.attached ? `Showing the headless runner (pid ${daemon?.pid ?? '?'}).` : '',
      daemon && daemon.outboxPending > 0 ? `${daemon.outboxPending} result(s) waiting to be sent.` : '',
    ];
    setText(extra, notes.filter(Boolean).join(' '));

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
    setText(
      empty,
      daemon?.paused
        ? 'Paused: no new tasks are taken until you resume.'
        : `No tasks running. Waiting for work from ${state.serverUrl || 'the server'}.`,
    );
    const key = [...ids].sort().join(',');
    if (key !== runningIds) {
      runningIds = key;
      refreshHistoryView(d, () => {
        void loadRecent();
        void loadToday();
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
      mount(todayBody, h('p', { class: 'field-error' }, messageOf(err)));
    }
  }

  async function loadRecent(): Promise<void> {
    try {
      const page = await call('history:page', { limit: 10 });
      const finished = page.items.filter((r) => r.status !== 'running' && r.status !== 'assigned').slice(0, 5);
      mount(recentBody, finished.length ? recentTable(finished) : h('p', { class: 'empty' }, 'Nothing has finished yet.'));
    } catch (err) {
      mount(recentBody, h('p', { class: 'field-error' }, messageOf(err)));
    }
  }

  d.add(ctx.app.subscribe(render));
  d.add(ctx.logs.subscribe((taskId, lines) => cards.get(taskId)?.setLines(lines)));
  d.interval(() => {
    const now = Date.now();
    for (const card of cards.values()) card.tick(now);
    // The retry countdown in the reason ticks too.
    setText(linkReason, linkDescription(ctx.app.current(), now).reason);
    if (todayShown && todayShown !== new Date(now).toDateString()) void loadToday();
  }, 1000);
  render(ctx.app.current());

  const el = h(
    'div',
    { class: 'dashboard' },
    h('h1', { tabindex: '-1' }, 'Dashboard'),
    h(
      'section',
      { class: 'card status-card', 'aria-label': 'Runner status' },
      h('div', { class: 'status-line', role: 'status', 'aria-live': 'polite' }, dot, linkLabel),
      linkReason,
      again.el,
      h(
        'div',
        { class: 'status-grid' },
        facts,
        h('div', { class: 'capacity' }, h('span', { class: 'label' }, 'Agents in use'), h('div', { class: 'row' }, capacityText, meter)),
        h('div', { class: 'actions' }, pauseBtn),
      ),
      pauseNote,
      extra,
    ),
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
      h(
        'tr',
        null,
        h('th', null, 'Status'),
        h('th', null, 'Task'),
        h('th', null, 'Project'),
        h('th', null, 'Finished'),
        h('th', { class: 'num' }, 'Duration'),
      ),
    ),
    h(
      'tbody',
      null,
      rows.map((r) =>
        h(
          'tr',
          null,
          h('td', null, statusBadge(r.status)),
          h('td', null, h('a', { href: `#/history/${encodeURIComponent(r.taskId)}` }, promptSummary(r.prompt, 80))),
          h('td', { class: 'mono' }, r.projectId ?? '—'),
          h('td', null, dateTime(r.finishedAt ?? r.startedAt ?? r.assignedAt)),
          h('td', { class: 'num' }, duration(r.durationS)),
        ),
      ),
    ),
  );
}
