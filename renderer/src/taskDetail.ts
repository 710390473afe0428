import type { TaskDetail } from '../../preload/contract.ts';
import { call, messageOf, problemOf } from './bridge.ts';
import { append, h, mount, setText, type Child } from './dom.ts';
import { cost, duration, promptSummary, relativeTime, shortId, tokens } from '../../main/runner/vocabulary.ts';
import { copyButton } from './copyButton.ts';
import { count, dateTimeSeconds, exitText, NONE, shellLine, statusBadge } from './format.ts';
import { outcomeOf } from './outcomeWords.ts';
import { problemBox } from './problemView.ts';
import { Disposer, type Screen, type ScreenContext } from './screen.ts';
import { logSection } from './taskLog.ts';
import { transcriptSection } from './transcript.ts';

// Shown in their own sections: not repeated among the git details.
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

/** Words for the result's workspace keys (worktrees.ts `#describe`); others are said with their key's words. */
const RESULT_LABELS: Record<string, string> = {
  workspace: 'Workspace',
  base_ref: 'Started from',
  base_commit: 'Base commit',
  base_fetched: 'Base fetched from origin',
  head_commit: 'Last commit',
  files_changed: 'Files changed',
  insertions: 'Lines added',
  deletions: 'Lines removed',
  dirty: 'Uncommitted changes left',
  submodules_missing: 'Submodules left empty',
  submodules_note: 'Why submodules are empty',
  workspace_error: 'Workspace problem',
};

/**
 * One past task (issue 15, item 4): first what happened, why and what to do (the outcome
 * banner), then the key facts in one strip, the agent's report and transcript, the prompt and
 * command, the commits, the full log with search; ids, times and the git details below, folded.
 */
export function taskDetailScreen(ctx: ScreenContext, taskId: string): Screen {
  const d = new Disposer();
  // The heading element stays while the task loads (the router may have focused it); only its text changes.
  const heading = h('h1', { tabindex: '-1' }, 'Task');
  const head = h('header', { class: 'detail-head' }, heading);
  const body = h('div', null, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  const load = (): void => {
    call('history:get', { taskId }).then(
      (task) => {
        if (!task) {
          setText(heading, 'Task not found');
          mount(
            body,
            h('p', null, `No task with id ${shortId(taskId)} in this runner's history. It may have been removed after its retention time.`),
          );
          return;
        }
        setText(heading, promptSummary(task.prompt, 100));
        heading.title = task.prompt;
        append(head, headExtras(task));
        mount(body, ...render(task, d));
      },
      (err: unknown) => mount(body, problemBox(problemOf(err), { retry: load })),
    );
  };
  load();
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
  const commits = task.commitCount ?? commitsOf(result.commits)?.total ?? null;
  return [
    outcomeBanner(task, commits),
    keyFacts(task, commits),
    agentSection(task),
    transcriptSection(task),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'prompt-title' },
      h('h2', { id: 'prompt-title' }, 'Prompt'),
      h('pre', { class: 'log prompt', 'data-testid': 'prompt' }, task.prompt || '(empty)'),
    ),
    task.command?.length
      ? h(
          'section',
          { class: 'card', 'aria-labelledby': 'cmd-title' },
          h('h2', { id: 'cmd-title' }, 'Command'),
          h('pre', { class: 'log', 'data-testid': 'command' }, shellLine(task.command)),
        )
      : null,
    commitsSection(result.commits),
    logSection(task.taskId, d),
    moreDetails(task, result),
  ];
}

/** What happened, why, and what to do: the first thing on the page. */
function outcomeBanner(task: TaskDetail, commits: number | null): HTMLElement {
  const outcome = outcomeOf(task, commits);
  return h(
    'section',
    { class: 'outcome', 'data-tone': outcome.tone, 'aria-label': 'Outcome', 'data-testid': 'outcome' },
    h('p', { class: 'outcome-title', 'data-testid': 'outcome-title' }, outcome.title),
    outcome.todo || outcome.link
      ? h(
          'p',
          { class: 'outcome-todo', 'data-testid': 'outcome-todo' },
          outcome.todo,
          outcome.link ? [' ', h('a', { href: outcome.link.href }, `Open ${outcome.link.label}`)] : null,
        )
      : null,
  );
}

/** The strip of facts people look for first: how long, how it ended, where the work is, what it cost. */
function keyFacts(task: TaskDetail, commits: number | null): HTMLElement {
  const signal = task.exitCode !== null && task.exitCode < 0;
  const tokenText =
    task.inputTokens === null && task.outputTokens === null ? NONE : `${tokens(task.inputTokens)} in · ${tokens(task.outputTokens)} out`;
  const fact = (label: string, ...value: Child[]): Child[] => [
    h('div', { class: 'keyfact' }, h('dt', null, label), h('dd', null, ...value)),
  ];
  return h(
    'dl',
    { class: 'keyfacts', 'data-testid': 'task-facts' },
    fact('Duration', duration(task.durationS)),
    fact('Agent', task.agent ? h('span', { class: 'mono' }, task.agent) : NONE),
    fact(signal ? 'Ended by' : 'Exit code', task.exitCode === null ? NONE : h('span', { class: 'mono' }, exitText(task.exitCode))),
    fact(
      'Branch',
      task.branch ? [h('span', { class: 'mono branch', title: task.branch }, task.branch), copyButton(task.branch, 'branch')] : NONE,
    ),
    fact('Commits', commits === null ? NONE : count(commits)),
    fact('Tokens', tokenText),
    fact('Cost', cost(task.costUsd)),
    task.startedAt === null ? fact('Assigned', when(task.assignedAt)) : fact('Started', when(task.startedAt)),
  );
}

/** A moment to the second, then how long ago: "1 Dec 2026, 14:03:22 · 3h ago". */
function when(ms: number | null): Child {
  if (ms === null) return NONE;
  return h('time', { datetime: new Date(ms).toISOString() }, `${dateTimeSeconds(ms)} · ${relativeTime(ms)}`);
}

/** Ids, times, files and the git details: what people look up rather than read, folded. */
function moreDetails(task: TaskDetail, result: Record<string, unknown>): HTMLElement {
  const git = Object.entries(result)
    .filter(([k, v]) => !RESULT_SKIP.has(k) && v !== null && v !== undefined)
    .map(([k, v]) =>
      fact(RESULT_LABELS[k] ?? sentenceCase(k.replace(/_/g, ' ')), resultValue(k, v), typeof v === 'string' && /commit|ref/.test(k)),
    );
  return h(
    'section',
    { class: 'card more', 'aria-labelledby': 'more-title' },
    h('h2', { id: 'more-title' }, 'Details'),
    h(
      'dl',
      { class: 'facts', 'data-testid': 'task-ids' },
      idFact('Task id', task.taskId, 'task id'),
      idFact('Agent id', task.agentId, 'agent id'),
      idFact('Project', task.projectId, 'project id'),
      fact('Assigned', task.assignedAt === null ? null : `${dateTimeSeconds(task.assignedAt)} · ${relativeTime(task.assignedAt)}`),
      fact('Started', task.startedAt === null ? null : `${dateTimeSeconds(task.startedAt)} · ${relativeTime(task.startedAt)}`),
      fact('Finished', task.finishedAt === null ? null : `${dateTimeSeconds(task.finishedAt)} · ${relativeTime(task.finishedAt)}`),
    ),
    h(
      'details',
      { class: 'git-details', 'data-testid': 'git-details' },
      h('summary', null, 'Git and files'),
      h(
        'dl',
        { class: 'facts' },
        task.worktreePath ? idFact('Folder', task.worktreePath, 'folder path') : fact('Folder', null),
        fact('Log file', task.logPath, true),
        git,
      ),
    ),
  );
}

function idFact(label: string, value: string | null, what: string): Child[] {
  if (!value) return fact(label, null);
  return [h('dt', null, label), h('dd', { class: 'mono' }, value, ' ', copyButton(value, what))];
}

/** A result value in words: yes/no for booleans, a short hash for a commit, lists joined. */
function resultValue(key: string, v: unknown): string {
  if (typeof v === 'boolean') return v ? 'Yes' : 'No';
  if (key === 'workspace' && v === 'git_worktree') return 'Git worktree';
  if (key === 'workspace' && v === 'folder') return 'Plain folder';
  if (typeof v === 'string' && /_commit$/.test(key) && /^[0-9a-f]{40}$/.test(v)) return v.slice(0, 10);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(', ');
  return typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v);
}

function sentenceCase(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** What the agent reported about its run (issue 11); absent when no agent ran (a rejected task, a failed start). */
function agentSection(task: TaskDetail): Child {
  // The agent's name is in the key facts; a section of dashes for an agent that reported nothing else is noise.
  const reported = task.model ?? task.costUsd ?? task.inputTokens ?? task.outputTokens ?? task.numTurns ?? task.sessionId ?? task.summary;
  if (reported === null && task.permissionDenials.length === 0) return null;
  const known = (label: string, value: string | null, mono = false): Child[] => (value === null ? [] : fact(label, value, mono));
  return h(
    'section',
    { class: 'card agent-run', 'aria-labelledby': 'agent-title' },
    h('h2', { id: 'agent-title' }, 'Agent'),
    h(
      'dl',
      { class: 'facts', 'data-testid': 'agent-facts' },
      fact('Agent', task.agent, true),
      known('Model', task.model, true),
      known('Cost', task.costUsd === null ? null : cost(task.costUsd)),
      known('Tokens', tokenLine(task)),
      known('Turns', task.numTurns === null ? null : count(task.numTurns)),
      known('Session id', task.sessionId, true),
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
