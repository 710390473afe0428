import type { TaskDetail, TranscriptEntry } from '../../preload/contract.ts';
import { call, messageOf } from './bridge.ts';
import { h, mount } from './dom.ts';
import { count } from './format.ts';
import { stepDuration, stepMark } from './stepMark.ts';

type StepEntry = Extract<TranscriptEntry, { kind: 'step' }>;

/**
 * What the agent said and did, oldest first: its messages, and its steps in words, each opening
 * to the tool's input and result. Read from the task's log by main; absent for tasks whose agent
 * reports no steps (a plain command), so those pages look as they did.
 */
export function transcriptSection(task: TaskDetail): HTMLElement {
  const body = h('div', null, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  const section = h(
    'section',
    { class: 'card transcript', 'aria-labelledby': 'transcript-title', 'aria-busy': 'true', hidden: true },
    h('h2', { id: 'transcript-title' }, 'Transcript'),
    body,
  );
  // A step the agent was still in when the task ended did not finish; while the task runs it is running.
  const ended = task.status !== 'running' && task.status !== 'assigned';
  call('tasks:transcript', { taskId: task.taskId }).then(
    ({ entries, omitted }) => {
      section.removeAttribute('aria-busy');
      if (entries.length === 0) return;
      section.hidden = false;
      mount(
        body,
        omitted > 0
          ? h('p', { class: 'small muted' }, `${count(omitted)} earlier entries are not shown; the log below has everything.`)
          : null,
        h(
          'ol',
          { class: 'transcript-list', 'data-testid': 'transcript' },
          entries.map((e) => (e.kind === 'message' ? messageItem(e.text, e.at) : stepItem(e, ended))),
        ),
      );
    },
    (err: unknown) => {
      section.removeAttribute('aria-busy');
      section.hidden = false;
      mount(body, h('p', { class: 'field-error' }, `The transcript cannot be read: ${messageOf(err)}`));
    },
  );
  return section;
}

function messageItem(text: string, at: string): HTMLLIElement {
  return h('li', { class: 'entry entry-message' }, time(at), h('p', { class: 'entry-text' }, text));
}

function stepItem(step: StepEntry, ended: boolean): HTMLLIElement {
  const state = step.state === 'running' && ended ? 'unfinished' : step.state;
  const line: HTMLElement[] = [
    stepMark(state),
    h('span', { class: 'step-title' }, step.title),
    h('span', { class: 'step-time' }, stepDuration(step.durationMs)),
  ];
  return h(
    'li',
    { class: 'entry entry-step', 'data-state': state },
    time(step.at),
    step.detail
      ? h('details', { class: 'step-detail' }, h('summary', { class: 'step' }, ...line), h('pre', { class: 'log' }, step.detail))
      : h('div', { class: 'step' }, ...line),
  );
}

function time(at: string): HTMLTimeElement {
  const d = new Date(at);
  const shown = Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return h('time', { class: 'entry-time', datetime: at }, shown);
}
