import type { TranscriptEntry } from '../../preload/contract.ts';
import { duration } from '../../main/runner/vocabulary.ts';
import { h } from './dom.ts';

/** A step's state as the card's timeline and the transcript show it; `unfinished`: the task ended while it ran. */
export type StepMarkState = Extract<TranscriptEntry, { kind: 'step' }>['state'] | 'unfinished';

const WORDS: Record<StepMarkState, string> = { running: 'In progress', ok: 'Done', error: 'Failed', unfinished: 'Did not finish' };
const ICONS: Record<StepMarkState, string> = { running: '', ok: '✓', error: '✕', unfinished: '–' };

/** The mark people see (colour and shape) and the words a screen reader says before the step's title. */
export function stepMark(state: StepMarkState): HTMLSpanElement {
  return h(
    'span',
    { class: 'step-mark', 'data-state': state },
    h('span', { class: 'step-icon', 'aria-hidden': 'true' }, ICONS[state]),
    h('span', { class: 'visually-hidden' }, `${WORDS[state]}: `),
  );
}

/** How long a step took, or has been running: "3s", "1m 05s". */
export function stepDuration(ms: number | null): string {
  return ms === null ? '—' : duration(ms / 1000);
}
