import type { LogLine } from '../../preload/contract.ts';
import { call, messageOf } from './bridge.ts';
import { debounce, h, setText, uid, type Child } from './dom.ts';
import { count } from './format.ts';
import type { Disposer } from './screen.ts';

const LOG_LINES = 5000;

/** A task's full log (the last LOG_LINES lines) with a debounced search that marks what it found. */
export function logSection(taskId: string, d: Disposer): HTMLElement {
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
