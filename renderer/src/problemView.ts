import { remedyAction } from '../../main/runner/vocabulary.ts';
import { h } from './dom.ts';
import type { Problem, Remedy } from './problemWords.ts';

/** What a screen can do about a problem, per remedy: the button runs it. A remedy without one shows no button. */
export type RemedyHandlers = Partial<Record<Remedy, () => void>>;

/**
 * A problem as the window shows it (issue 15, item 2): the sentence, the action as a button, and
 * the core's own words folded under "Details" (closed, so nothing technical is in the way).
 */
export function problemBox(problem: Problem, handlers: RemedyHandlers = {}, opts: { testId?: string } = {}): HTMLElement {
  const run = handlers[problem.remedy];
  const label = remedyAction(problem.remedy);
  return h(
    'div',
    { class: 'problem', role: 'alert', 'data-testid': opts.testId ?? 'problem' },
    h('p', { class: 'problem-text', 'data-testid': 'problem-text' }, problem.text),
    run && label ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => run() }, label) : null,
    detailsDisclosure(problem.details),
  );
}

/** The raw detail of a problem or a state, closed: "Details" opens it. Nothing when there is none. */
export function detailsDisclosure(details: string): HTMLElement | null {
  if (!details.trim()) return null;
  return h(
    'details',
    { class: 'problem-details' },
    h('summary', null, 'Details'),
    h('pre', { class: 'log', 'data-testid': 'problem-details' }, details),
  );
}
