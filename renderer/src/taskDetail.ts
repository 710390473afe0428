import type { LogLine, TaskDetail } from '../../preload/contract.ts';
import { call, messageOf } from './bridge.ts';
import { append, debounce, h, mount, setText, uid, type Child } from './dom.ts';
import { cost, duration, promptSummary } from '../../main/runner/vocabulary.ts';
import { count, dateTime, shellLine, statusBadge } from './format.ts';
import { Disposer, type Screen, type ScreenContext } from './screen.ts';
import { transcriptSection } from './transcript.ts';

const LOG_LINES = 5000;
// Shown in their own sections or too long for the facts list.
const RESULT_SKIP = new Set([
  'commits',
  'stdout',
  'stderr',
  'command',
  'status',
  'exit_code',
  'duration_s',
  'worktree_path',
  'log_path',
  'error',
  'branch',
  // the agent's report: its own section
  'agent',
  'model',
  'summary',
  'usage',
  'cost_usd',
  'num_turns',
  'session_id',
  'permission_denials',
]);

/** One past task: what was asked, what ran, what the agent said and did, what came of it, and its full log with search. */
export function taskDetailScreen(ctx: ScreenContext, taskId: string): Screen {
  const d = new Disposer();
  // The heading element stays while the task loads (the router may have focused it); only its text changes.
  const heading = h('h1', { tabindex: '-1' }, 'Task');
  const head = h('header', { class: 'detail-head' }, heading);
  const body = h('div', null, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  call('history:get', { taskId }).then(
    (task) => {
      if (!task) {
        setText(heading, 'Task not found');
        mount(body, h('p', null, `No task with id ${taskId} in this runner's history. It may have been removed by retention.`));
        return;
      }
      setText(heading, promptSummary(task.prompt, 100));
      heading.title = task.prompt;
      append(head, headExtras(task));
      mount(body, ...render(task, d));
    },
    (err: unknown) => mount(body, h('p', { class: 'msg msg-error', role: 'alert' }, messageOf(err))),
  );
  return {
    el: h('div', { class: 'detail' }, h('p', null, h('a', { href: '#/history' }, '← History')), head, body),
    dispose: () => d.dispose(),
  };
}

function headExtras(task: TaskDetail): Child[] {
  const openNote = h('span', { class: 'field-error', role: 'alert' });
  const open = task.worktreePath
    ? h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small',
          onclick: () =>
            void call('tasks:openFolder', { taskId: task.taskId }).then(
              () => setText(openNote, ''),
              (err: unknown) => setText(openNote, messageOf(err)),
            ),
        },
        'Open folder',
      )
    : null;
  return [statusBadge(task.status), h('span', { class: 'grow' }), open, openNote];
}

function render(task: TaskDetail, d: Disposer): Child[] {
  const result = task.result ?? {};
  return [
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'facts-title' },
      h('h2', { id: 'facts-title' }, 'Summary'),
      h(
        'dl',
        { class: 'facts', 'data-testid': 'task-facts' },
        fact('Task id', task.taskId, true),
        fact('Agent id', task.agentId, true),
        fact('Project', task.projectId, true),
        fact('Assigned', dateTime(task.assignedAt)),
        fact('Started', dateTime(task.startedAt)),
        fact('Finished', dateTime(task.finishedAt)),
        fact('Duration', duration(task.durationS)),
        fact('Exit code', task.exitCode === null ? null : String(task.exitCode), true),
        fact('Branch', task.branch, true),
        fact('Commits', String(task.commitCount ?? commitsOf(result.commits)?.total ?? '—')),
        fact('Worktree', task.worktreePath, true),
        fact('Log file', task.logPath, true),
        task.error ? fact('Error', task.error) : null,
        task.rejectReason ? fact('Rejected because', task.rejectReason) : null,
        Object.entries(result)
          .filter(([k, v]) => !RESULT_SKIP.has(k) && v !== null && v !== undefined)
          .map(([k, v]) =>
            fact(
              k.replace(/_/g, ' '),
              typeof v === 'object' ? JSON.stringify(v) : String(v as string | number | boolean),
              typeof v !== 'string',
            ),
          ),
      ),
    ),
    agentSection(task),
    transcriptSection(task),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'prompt-title' },
      h('h2', { id: 'prompt-title' }, 'Prompt'),
      h('pre', { class: 'log prompt', 'data-testid': 'prompt' }, task.prompt || '(empty)'),
    ),
    task.command
      ? h(
          'section',
          { class: 'card', 'aria-labelledby': 'cmd-title' },
          h('h2', { id: 'cmd-title' }, 'Command'),
          h('pre', { class: 'log', 'data-testid': 'command' }, shellLine(task.command)),
        )
      : null,
    commitsSection(result.commits),
    logSection(task.taskId, d),
  ];
}

/** What the agent reported about its run (issue 11); absent when no agent ran (a rejected task, a failed start). */
function agentSection(task: TaskDetail): Child {
  const reported =
    task.agent ?? task.model ?? task.costUsd ?? task.inputTokens ?? task.outputTokens ?? task.numTurns ?? task.sessionId ?? task.summary;
  if (reported === null && task.permissionDenials.length === 0) return null;
  return h(
    'section',
    { class: 'card agent-run', 'aria-labelledby': 'agent-title' },
    h('h2', { id: 'agent-title' }, 'Agent'),
    h(
      'dl',
      { class: 'facts', 'data-testid': 'agent-facts' },
      fact('Agent', task.agent, true),
      fact('Model', task.model, true),
      fact('Cost', task.costUsd === null ? null : cost(task.costUsd)),
      fact('Tokens', tokenLine(task)),
      fact('Turns', task.numTurns === null ? null : count(task.numTurns)),
      fact('Session id', task.sessionId, true),
    ),
    task.permissionDenials.length
      ? h(
          'div',
          { class: 'msg msg-warn', 'data-testid': 'permission-denials' },
          h('h3', { id: 'denials-title' }, 'Refused permissions'),
          h(
            'ul',
            { class: 'denials', 'aria-labelledby': 'denials-title' },
            task.permissionDenials.map((d) => h('li', null, h('code', null, d.tool), ' ', h('span', { class: 'mono' }, d.input))),
          ),
        )
      : null,
    task.summary
      ? [
          h('h3', { id: 'agent-summary-title' }, 'Final message'),
          h('pre', { class: 'log prompt', 'aria-labelledby': 'agent-summary-title', 'data-testid': 'agent-summary' }, task.summary),
        ]
      : null,
  );
}

/** "12,345 in · 2,100 out · 40,000 cache read · 1,200 cache write": the parts the agent reported. */
function tokenLine(task: TaskDetail): string | null {
  const parts = [
    [task.inputTokens, 'in'],
    [task.outputTokens, 'out'],
    [task.cacheReadTokens, 'cache read'],
    [task.cacheCreationTokens, 'cache write'],
  ] as const;
  const known = parts.flatMap(([n, label]) => (n === null ? [] : [`${count(n)} ${label}`]));
  return known.length ? known.join(' · ') : null;
}

function fact(label: string, value: string | null, mono = false): Child[] {
  return [h('dt', null, label), h('dd', { class: mono && value ? 'mono' : null }, value ?? '—')];
}

/** `result.commits` is `{ count, items: [{ sha, subject }] }` (issue 4); anything else is not shown. */
function commitsOf(value: unknown): { total: number; items: { sha: string; subject: string }[] } | null {
  if (typeof value !== 'object' || value === null || !('items' in value) || !Array.isArray(value.items)) return null;
  const items = (value.items as unknown[]).filter(
    (c): c is { sha: string; subject: string } =>
      typeof c === 'object' && c !== null && 'sha' in c && typeof c.sha === 'string' && 'subject' in c && typeof c.subject === 'string',
  );
  return { total: 'count' in value && typeof value.count === 'number' ? value.count : items.length, items };
}

function commitsSection(value: unknown): Child {
  const commits = commitsOf(value);
  if (!commits) return null;
  const { total, items } = commits;
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'commits-title' },
    h('h2', { id: 'commits-title' }, `Commits (${total})`),
    items.length
      ? h(
          'ul',
          { class: 'commits' },
          items.map((c) => h('li', null, h('code', null, c.sha.slice(0, 10)), ' ', c.subject)),
        )
      : h('p', { class: 'empty' }, 'No commits.'),
    total > items.length ? h('p', { class: 'small muted' }, `and ${total - items.length} more`) : null,
  );
}

function logSection(taskId: string, d: Disposer): HTMLElement {
  const input = h('input', { id: uid('log-search'), type: 'search', placeholder: 'Find in log', autocomplete: 'off', spellcheck: 'false' });
  const info = h('p', { class: 'small muted', role: 'status', 'data-testid': 'log-info' });
  const pre = h('pre', { class: 'log full', tabindex: '0', 'aria-label': 'Task log', 'data-testid': 'log' });
  let seq = 0;
  const load = async (): Promise<void> => {
    const mine = ++seq;
    const search = input.value.trim();
    try {
      const { lines, truncated } = await call('logs:read', { taskId, tail: LOG_LINES, ...(search ? { search } : {}) });
      if (mine !== seq) return;
      pre.replaceChildren(...lines.map((l) => logLine(l, search)));
      if (lines.length === 0) pre.append(h('span', { class: 'muted' }, search ? 'No line matches.' : 'The log is empty.'));
      const shown = `${count(lines.length)} line${lines.length === 1 ? '' : 's'}${search ? ` matching “${search}”` : ''}`;
      setText(info, truncated ? `${shown}; showing the last ${count(LOG_LINES)} only.` : shown);
    } catch (err) {
      if (mine !== seq) return;
      pre.replaceChildren();
      setText(info, `The log cannot be read: ${messageOf(err)}`);
    }
  };
  const later = debounce(() => void load(), 250);
  d.add(later.cancel);
  input.addEventListener('input', later);
  void load();
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'log-title' },
    h('h2', { id: 'log-title' }, 'Log'),
    h('div', { class: 'field log-search' }, h('label', { for: input.id, class: 'visually-hidden' }, 'Find in log'), input),
    info,
    pre,
  );
}

function logLine(line: LogLine, search: string): HTMLElement {
  const time = line.at.length >= 19 ? line.at.slice(11, 19) : line.at;
  return h(
    'span',
    { class: `line ${line.stream === 'stderr' ? 'stderr' : ''}` },
    h('span', { class: 'muted' }, `${time} `),
    highlight(line.text, search),
    '\n',
  );
}

function highlight(text: string, search: string): Child[] {
  if (!search) return [text];
  const out: Child[] = [];
  const lower = text.toLowerCase();
  const needle = search.toLowerCase();
  let from = 0;
  for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, from)) {
    out.push(text.slice(from, at), h('mark', null, text.slice(at, at + needle.length)));
    from = at + needle.length;
  }
  out.push(text.slice(from));
  return out;
}
