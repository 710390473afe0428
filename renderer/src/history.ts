import type { HistoryPage, TaskRow, TaskStatus } from '../../preload/contract.ts';
import { call, problemOf } from './bridge.ts';
import { copyButton } from './copyButton.ts';
import { debounce, h, mount, setText, uid, type Child } from './dom.ts';
import { cost, duration, shortId, taskPhaseLabel } from '../../main/runner/vocabulary.ts';
import { count, exitText, NONE, statusBadge, timeAgo } from './format.ts';
import { problemBox } from './problemView.ts';
import { Disposer, refreshHistoryView, type Screen, type ScreenContext } from './screen.ts';
import { reasonLine, shortProject, taskHref, taskLink } from './taskRowParts.ts';

const PAGE_SIZE = 50;
const STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'timeout', 'cancelled', 'rejected', 'running', 'assigned'];

// Kept across visits, so coming back from a task's detail shows the same filter, search and page.
const view: { status: TaskStatus | ''; search: string; cursors: (string | undefined)[] } = { status: '', search: '', cursors: [undefined] };

/** Past tasks: status filter, debounced text search, cursor pagination (newest first). */
export function historyScreen(ctx: ScreenContext): Screen {
  const d = new Disposer();
  const statusSelect = h(
    'select',
    { id: uid('status'), name: 'status' },
    h('option', { value: '' }, 'All statuses'),
    STATUSES.map((s) => h('option', { value: s, selected: view.status === s }, taskPhaseLabel(s))),
  );
  const searchInput = h('input', {
    id: uid('search'),
    type: 'search',
    name: 'search',
    value: view.search,
    placeholder: 'Prompt or task id',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const info = h('p', { class: 'small muted', role: 'status', 'aria-live': 'polite', 'data-testid': 'history-count' });
  const body = h('div', { class: 'history-body' });
  const newer = h('button', { type: 'button', class: 'btn btn-small' }, '← Newer');
  const older = h('button', { type: 'button', class: 'btn btn-small' }, 'Older →');
  const pager = h('nav', { class: 'actions pager', 'aria-label': 'Pages', hidden: true }, newer, older);
  let seq = 0;
  let page: HistoryPage | null = null;

  async function load(): Promise<void> {
    const mine = ++seq;
    body.setAttribute('aria-busy', 'true');
    const index = view.cursors.length - 1;
    const cursor = view.cursors[index];
    try {
      const result = await call('history:page', {
        limit: PAGE_SIZE,
        ...(view.status ? { status: view.status } : {}),
        ...(view.search.trim() ? { search: view.search.trim() } : {}),
        ...(cursor ? { cursor } : {}),
      });
      // A slower answer to an older query must not replace a newer one.
      if (mine !== seq) return;
      page = result;
      const first = index * PAGE_SIZE + 1;
      const filtered = Boolean(view.status || view.search.trim());
      // One message per situation: a filter that matches nothing says so in the count line, an
      // empty history in the table's place; never both.
      setText(
        info,
        result.total === 0
          ? filtered
            ? 'No tasks match.'
            : ''
          : `Showing ${count(first)}–${count(first + result.items.length - 1)} of ${count(result.total)}`,
      );
      mount(
        body,
        result.items.length
          ? table(result.items, ctx)
          : filtered
            ? h('p', { class: 'empty' }, h('button', { type: 'button', class: 'btn btn-small', onclick: clearFilters }, 'Show all tasks'))
            : h('p', { class: 'empty' }, 'No tasks have run on this machine yet. Tasks from Sibyl appear here once they start.'),
      );
    } catch (err) {
      if (mine !== seq) return;
      setText(info, '');
      mount(body, problemBox(problemOf(err), { retry: () => void load() }));
    }
    body.removeAttribute('aria-busy');
    newer.disabled = view.cursors.length <= 1;
    older.disabled = !page?.nextCursor;
    // Pagers only when there is another page to go to.
    pager.hidden = view.cursors.length <= 1 && !page?.nextCursor;
  }

  function clearFilters(): void {
    view.status = '';
    view.search = '';
    statusSelect.value = '';
    searchInput.value = '';
    restart();
    searchInput.focus();
  }

  const restart = (): void => {
    view.cursors = [undefined];
    void load();
  };
  const searchLater = debounce(restart, 250);
  d.add(searchLater.cancel);
  statusSelect.addEventListener('change', () => {
    view.status = statusSelect.value === '' ? '' : (statusSelect.value as TaskStatus);
    restart();
  });
  searchInput.addEventListener('input', () => {
    view.search = searchInput.value;
    searchLater();
  });
  newer.addEventListener('click', () => {
    if (view.cursors.length > 1) view.cursors.pop();
    void load();
  });
  older.addEventListener('click', () => {
    if (!page?.nextCursor) return;
    view.cursors.push(page.nextCursor);
    void load();
  });

  // New tasks appear at the top: refresh the first page when the running set changes.
  let running = runningKey(ctx);
  d.add(
    ctx.app.subscribe(() => {
      const now = runningKey(ctx);
      if (now === running) return;
      running = now;
      if (view.cursors.length === 1) refreshHistoryView(d, () => void load());
    }),
  );
  void load();

  const el = h(
    'div',
    { class: 'history' },
    h('h1', { tabindex: '-1' }, 'History'),
    h(
      'div',
      { class: 'toolbar', role: 'search' },
      h('div', { class: 'field' }, h('label', { for: searchInput.id }, 'Search'), searchInput),
      h('div', { class: 'field' }, h('label', { for: statusSelect.id }, 'Status'), statusSelect),
    ),
    info,
    h('div', { class: 'card table-card' }, body),
    pager,
  );
  return { el, dispose: () => d.dispose() };
}

function runningKey(ctx: ScreenContext): string {
  return (ctx.app.current().daemon?.running ?? []).map((t) => t.taskId).join(',');
}

function table(rows: TaskRow[], ctx: ScreenContext): HTMLTableElement {
  const now = Date.now();
  return h(
    'table',
    { class: 'history-table', 'data-testid': 'history-table' },
    h('caption', { class: 'visually-hidden' }, 'Past tasks, newest first'),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ['Status', 'Task', 'Agent', 'Started', 'Duration', 'Cost', 'Exit', 'Branch'].map((c) =>
          h('th', { scope: 'col', class: NUMERIC.has(c) ? 'num' : null }, c),
        ),
      ),
    ),
    h(
      'tbody',
      null,
      rows.map((r) => row(r, ctx, now)),
    ),
  );
}

const NUMERIC = new Set(['Duration', 'Cost', 'Exit']);

function row(r: TaskRow, ctx: ScreenContext, now: number): HTMLTableRowElement {
  const href = taskHref(r.taskId);
  const tr = h(
    'tr',
    { 'data-task-id': r.taskId, class: 'clickable' },
    h('td', null, statusBadge(r.status)),
    h(
      'td',
      { class: 'prompt-cell' },
      taskLink(r, 90),
      reasonLine(r),
      h(
        'div',
        { class: 'small muted ids' },
        h('span', { class: 'mono', title: r.taskId }, shortId(r.taskId)),
        copyButton(r.taskId, 'task id'),
        r.projectId ? h('span', { class: 'project', title: `Project ${r.projectId}` }, ` · project ${shortProject(r.projectId)}`) : null,
      ),
    ),
    h('td', { class: 'agent-cell' }, agentCell(r)),
    h('td', { class: 'nowrap' }, timeAgo(r.startedAt ?? r.assignedAt, now)),
    h('td', { class: 'num' }, duration(r.durationS)),
    h('td', { class: 'num' }, cost(r.costUsd)),
    // The dash for "none" in the text face: in a monospaced face it reads as a minus.
    h('td', { class: 'num' }, r.exitCode === null ? NONE : h('span', { class: 'mono' }, exitText(r.exitCode))),
    h(
      'td',
      { class: 'branch-cell' },
      r.branch ? [h('span', { class: 'mono branch', title: r.branch }, r.branch), copyButton(r.branch, 'branch')] : NONE,
    ),
  );
  // The whole row is a click target for the mouse; the link inside is the keyboard path.
  tr.addEventListener('click', (e) => {
    if (e.target instanceof HTMLAnchorElement || e.target instanceof HTMLButtonElement || getSelection()?.toString()) return;
    ctx.navigate(href);
  });
  return tr;
}

/** The agent preset, and under it the model it ran when the agent said. */
function agentCell(r: TaskRow): Child[] {
  if (!r.agent) return [NONE];
  return [h('span', { class: 'mono' }, r.agent), r.model ? h('div', { class: 'small muted mono model' }, r.model) : null];
}
