import type { AppStateView } from '../appState.ts';
import { on } from '../bridge.ts';
import { h, mount, type Child } from '../dom.ts';
import { Disposer, type Screen, type ScreenContext } from '../screen.ts';
import { newDraft, serverOf, STEPS, type StepIndex, type WizardDraft } from './draft.ts';
import { connectStep } from './connectStep.ts';
import { runnerStep } from './runnerStep.ts';
import { serverStep } from './serverStep.ts';
import { signInStep } from './signInStep.ts';

/** The runner this machine was registered as when the wizard opened: registering replaces it. */
export interface PreviousRunner {
  runnerId: string;
  name: string;
  serverUrl: string;
}

/** What a step view may do: read and change the draft, move between steps, redraw itself. */
export interface WizardContext {
  draft: WizardDraft;
  app: AppStateView;
  /** null on a first setup */
  previous: PreviousRunner | null;
  goto(step: StepIndex): void;
  rerender(): void;
  finish(): void;
  cancel: (() => void) | null;
  /** Run `fn` every `ms` while the step's current view is shown (a countdown); stopped at the next redraw. */
  every(fn: () => void, ms: number): void;
}

// The draft outlives the screen: leaving the wizard and coming back keeps what was typed.
let draft = newDraft();
const redraws = new Set<() => void>();
let deviceListening = false;

/** `wizard:device` pushes may arrive while the wizard is not on screen; the draft still records them. */
function listenForDevice(): void {
  if (deviceListening) return;
  deviceListening = true;
  on('wizard:device', (event) => {
    draft.deviceEvent = event;
    if (event.state === 'approved') {
      draft.signedIn = { serverUrl: serverOf(draft), account: event.account ?? null };
      draft.errors[1] = '';
    }
    for (const redraw of redraws) redraw();
  });
}

const VIEWS = [serverStep, signInStep, runnerStep, connectStep] as const;

export function wizardScreen(ctx: ScreenContext): Screen {
  listenForDevice();
  const d = new Disposer();
  const stepList = h('ol', { class: 'steps' });
  const panel = h('section', { class: 'card wizard-panel' });
  const opened = ctx.app.current();
  const registeredBefore = opened.registered;
  const previous = registeredBefore ? { runnerId: opened.runnerId, name: opened.runnerName, serverUrl: opened.serverUrl } : null;
  // Re-registering usually means the same server: start from it.
  if (registeredBefore && draft.serverUrl === '') draft.serverUrl = opened.serverUrl;
  // The current view's timers, dropped whenever it is redrawn.
  let viewTimers = new Disposer();
  d.add(() => viewTimers.dispose());

  const w: WizardContext = {
    get draft() {
      return draft;
    },
    app: ctx.app,
    previous,
    every: (fn, ms) => viewTimers.interval(fn, ms),
    goto(step) {
      draft.step = step;
      if (step > draft.reached) draft.reached = step;
      render(true);
    },
    rerender: () => render(false),
    finish() {
      draft = newDraft();
      ctx.navigate('#/dashboard');
    },
    cancel: registeredBefore ? () => ctx.navigate('#/dashboard') : null,
  };

  // Said until the new runner is registered; the last step then says what became of the old one.
  const replacesNote = previous
    ? h(
        'p',
        { class: 'muted', 'data-testid': 'replaces' },
        `This replaces runner “${previous.name || previous.runnerId}”: registering again removes it from ${previous.serverUrl} first, so Sibyl lists this machine once.`,
      )
    : null;

  function render(moved: boolean): void {
    mount(
      stepList,
      STEPS.map((label, i) => stepItem(label, i as StepIndex)),
    );
    if (replacesNote) replacesNote.hidden = draft.runnerId !== null;
    // Redrawing replaces the step's nodes; remember which control had the focus to give it back.
    const focusKey = panel.contains(document.activeElement) ? (document.activeElement?.getAttribute('data-key') ?? '') : null;
    viewTimers.dispose();
    viewTimers = new Disposer();
    mount(panel, VIEWS[draft.step](w));
    const again = focusKey ? panel.querySelector<HTMLElement>(`[data-key="${focusKey}"]`) : null;
    if (again && !again.hasAttribute('disabled')) again.focus();
    else if (moved) panel.querySelector<HTMLElement>('h2')?.focus();
    // The control that had the focus went away (e.g. the sign-in was approved): offer the way on.
    else if (focusKey !== null)
      (panel.querySelector<HTMLElement>('[data-key="next"]:not([disabled])') ?? panel.querySelector<HTMLElement>('h2'))?.focus();
  }

  function stepItem(label: string, i: StepIndex): Child {
    // Once registered every step is done, the last one included: the person sees the setup finished.
    const state =
      draft.runnerId !== null ? 'done' : i === draft.step ? 'current' : draft.errors[i] ? 'error' : i < draft.reached ? 'done' : 'todo';
    const reachable = i <= draft.reached && draft.runnerId === null;
    const content = [
      h('span', { class: 'step-num', 'aria-hidden': 'true' }, String(i + 1)),
      h('span', null, label),
      state === 'error' ? h('span', { class: 'visually-hidden' }, ' (has a problem)') : null,
      state === 'done' ? h('span', { class: 'visually-hidden' }, ' (done)') : null,
    ];
    return h(
      'li',
      { class: 'step', 'data-state': state, 'aria-current': i === draft.step ? 'step' : false },
      reachable && i !== draft.step
        ? h('button', { type: 'button', class: 'step-link', onclick: () => w.goto(i) }, content)
        : h('span', { class: 'step-link' }, content),
    );
  }

  const redraw = (): void => render(false);
  redraws.add(redraw);
  d.add(() => redraws.delete(redraw));
  // The last step shows the new runner's live link state.
  d.add(ctx.app.subscribe(() => draft.step === 3 && draft.runnerId !== null && redraw()));
  render(false);

  const el = h(
    'div',
    { class: 'wizard' },
    h(
      'header',
      { class: 'wizard-head' },
      h('h1', { tabindex: '-1' }, registeredBefore ? 'Re-register this runner' : 'Set up Sibyl Runner'),
      replacesNote,
      h('nav', { 'aria-label': 'Setup steps' }, stepList),
    ),
    panel,
  );
  return { el, dispose: () => d.dispose() };
}

/** The common frame of a step: heading, body, and the Back / primary buttons. */
export function stepFrame(w: WizardContext, title: string, intro: string, body: Child[], primary: HTMLButtonElement | null): Child[] {
  const back =
    w.draft.step > 0 && w.draft.runnerId === null
      ? h('button', { type: 'button', class: 'btn', 'data-key': 'back', onclick: () => w.goto((w.draft.step - 1) as StepIndex) }, 'Back')
      : null;
  const cancel =
    w.cancel && w.draft.runnerId === null ? h('button', { type: 'button', class: 'btn btn-ghost', onclick: w.cancel }, 'Cancel') : null;
  return [
    h('h2', { tabindex: '-1' }, title),
    intro ? h('p', { class: 'muted' }, intro) : null,
    ...body,
    h('div', { class: 'wizard-foot' }, cancel, h('span', { class: 'grow' }), back, primary),
  ];
}
