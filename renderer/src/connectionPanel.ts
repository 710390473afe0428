import type { AppState } from '../../preload/contract.ts';
import { remedyAction, shortId } from '../../main/runner/vocabulary.ts';
import { call, problemOf } from './bridge.ts';
import { connectionWords, type ConnectionAction } from './connectionWords.ts';
import { copyButton } from './copyButton.ts';
import { h, mount, setText } from './dom.ts';
import { signInAgain } from './signInAgain.ts';
import type { Disposer, ScreenContext } from './screen.ts';

/**
 * The dashboard's connection panel (issue 15, item 3): tinted by the state's colour, the state
 * and its reason in words, the attempt, the next try and when it was last connected, the actions
 * that help ("Retry now", "Sign in again", "Check the address", "Start the runner"), the core's
 * own words under "Details", and the runner's facts, capacity and pause. Built once; `render`
 * updates it in place, so a focused button or an open "Details" stays as it is.
 */
export function connectionPanel(
  ctx: ScreenContext,
  d: Disposer,
): { el: HTMLElement; render(state: AppState): void; tick(now: number): void } {
  const dot = h('span', { class: 'dot', 'aria-hidden': 'true' });
  const label = h('strong', { 'data-testid': 'link-state' });
  const reason = h('p', { class: 'link-reason', 'data-testid': 'link-reason' });
  const timing = h('p', { class: 'small link-timing', 'data-testid': 'link-timing' });
  const note = h('p', { class: 'field-error', role: 'alert' });
  const detailsText = h('pre', { class: 'log', 'data-testid': 'link-details' });
  const details = h('details', { class: 'problem-details' }, h('summary', null, 'Details'), detailsText);

  const busy = (button: HTMLButtonElement, request: () => Promise<unknown>): void => {
    button.disabled = true;
    request()
      .then(
        () => setText(note, ''),
        (err: unknown) => setText(note, problemOf(err).text),
      )
      .finally(() => (button.disabled = false));
  };
  const buttons: Record<Exclude<ConnectionAction, 'signIn'>, HTMLButtonElement> = {
    retryNow: h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'retry-now' }, 'Retry now'),
    start: h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'start-runner' }, 'Start the runner'),
    checkServer: h('button', { type: 'button', class: 'btn' }, remedyAction('checkServer')),
  };
  buttons.retryNow.addEventListener('click', () =>
    busy(buttons.retryNow, async () => {
      await call('runner:retryNow', {});
      setText(timing, 'Trying now…');
    }),
  );
  buttons.start.addEventListener('click', () => busy(buttons.start, async () => ctx.app.accept(await call('runner:restart', {}))));
  // The address is shown in Settings, with "Re-register…" for another server.
  buttons.checkServer.addEventListener('click', () => ctx.navigate('#/settings'));
  const actions = h('div', { class: 'actions' }, Object.values(buttons));

  const again = signInAgain();
  d.add(() => again.dispose());

  // The runner's facts, its agents and the pause: only while a runner is there to have them.
  const name = h('dd', null);
  const runnerId = h('dd', { class: 'mono' });
  const server = h('dd', null);
  const facts = h(
    'dl',
    { class: 'facts' },
    h('dt', null, 'Runner'),
    name,
    h('dt', null, 'Runner id'),
    runnerId,
    h('dt', null, 'Server'),
    server,
  );
  const capacityText = h('span', { class: 'capacity-text', 'data-testid': 'capacity' });
  const meter = h('meter', { min: 0, max: 1, value: 0, 'aria-label': 'Agents in use' });
  const capacity = h(
    'div',
    { class: 'capacity' },
    h('span', { class: 'label' }, 'Agents in use'),
    h('div', { class: 'row' }, capacityText, meter),
  );
  const pauseBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'pause' });
  const extra = h('p', { class: 'small muted' });
  pauseBtn.addEventListener('click', () => {
    const paused = ctx.app.current().daemon?.paused ?? false;
    busy(pauseBtn, async () => ctx.app.accept(await call(paused ? 'runner:resume' : 'runner:pause', {})));
  });

  const el = h(
    'section',
    { class: 'card connection', 'aria-label': 'Runner status', 'data-testid': 'connection' },
    h('div', { class: 'status-line', role: 'status', 'aria-live': 'polite' }, dot, label),
    reason,
    timing,
    actions,
    again.el,
    note,
    details,
    h('div', { class: 'status-grid' }, facts, capacity, h('div', { class: 'actions' }, pauseBtn)),
    extra,
  );

  let idShown = '';
  let kindShown = '';
  function render(state: AppState): void {
    again.update(state);
    const words = connectionWords(state);
    // "Details" opened for one state says nothing about the next: it closes when the state changes.
    if (words.kind !== kindShown) details.open = false;
    kindShown = words.kind;
    el.dataset.state = words.kind;
    el.dataset.tone = words.tone;
    dot.dataset.tone = words.tone;
    setText(label, words.label);
    setText(reason, words.reason);
    setText(timing, words.timing);
    setText(detailsText, words.details);
    // Details only when they say more than the reason does.
    details.hidden = !words.details || same(words.details, words.reason);
    for (const [action, button] of Object.entries(buttons)) button.hidden = !words.actions.includes(action as ConnectionAction);
    actions.hidden = Object.values(buttons).every((b) => b.hidden);

    const daemon = state.daemon;
    setText(name, state.runnerName || daemon?.runner.name || '—');
    setText(server, state.serverUrl || '—');
    if (state.runnerId !== idShown) {
      idShown = state.runnerId;
      mount(
        runnerId,
        state.runnerId
          ? [h('span', { title: state.runnerId }, shortId(state.runnerId)), ' ', copyButton(state.runnerId, 'runner id')]
          : '—',
      );
    }
    const busy = daemon?.running.length ?? 0;
    const max = daemon?.runner.maxAgents ?? 0;
    // Agents and the pause belong to a runner that is running (a failed start may leave its last snapshot).
    const running = RUNNING_KINDS.has(words.kind) && daemon !== null;
    capacity.hidden = !running;
    setText(capacityText, `${busy} / ${max}`);
    meter.max = Math.max(1, max);
    meter.value = busy;
    pauseBtn.hidden = !running;
    setText(pauseBtn, daemon?.paused ? 'Resume' : 'Pause new tasks');
    const notes = [
      state.attached ? `Showing the runner started outside the app (process ${daemon?.pid ?? '?'}).` : '',
      daemon && daemon.outboxPending > 0
        ? `${daemon.outboxPending} result${daemon.outboxPending === 1 ? '' : 's'} waiting to be sent to the server.`
        : '',
    ];
    setText(extra, notes.filter(Boolean).join(' '));
  }

  return {
    el,
    render,
    // The countdown and "last connected" move with the clock.
    tick: (now) => {
      const words = connectionWords(ctx.app.current(), now);
      if (!buttons.retryNow.disabled) setText(timing, words.timing);
    },
  };
}

/** States in which a runner is running: its agents and its pause are shown. */
const RUNNING_KINDS: ReadonlySet<string> = new Set(['connected', 'paused', 'connecting', 'reconnecting', 'unreachable']);

/** Two sentences that differ only in case and final punctuation. */
function same(a: string, b: string): boolean {
  const norm = (t: string): string =>
    t
      .trim()
      .replace(/[.!?…]+$/, '')
      .toLowerCase();
  return norm(a) === norm(b);
}
