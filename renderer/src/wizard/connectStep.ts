import { call, codeOf, messageOf } from '../bridge.ts';
import { linkDescription } from '../../../main/runner/vocabulary.ts';
import { h, type Child } from '../dom.ts';
import { serverOf, STEPS, stepForError } from './draft.ts';
import { stepFrame, type WizardContext } from './wizard.ts';

type Progress = 'todo' | 'active' | 'done' | 'error';

/** Step 4: review, register, and watch the runner connect. */
export function connectStep(w: WizardContext): Child[] {
  const { draft } = w;
  const state = w.app.current();
  const registered = draft.runnerId !== null;
  const live = registered && state.runnerId === draft.runnerId ? linkDescription(state) : null;
  const connected = live?.kind === 'connected' || live?.kind === 'paused';

  const register = async (): Promise<void> => {
    draft.registering = true;
    draft.errors[3] = '';
    w.rerender();
    try {
      const caps = draft.capabilities.filter((c) => c.on).map((c) => c.name);
      const { runnerId } = await call('wizard:register', {
        serverUrl: serverOf(draft),
        name: draft.name.trim(),
        maxAgents: draft.maxAgents,
        capabilities: caps,
        worktreeBase: draft.worktreeBase.trim(),
      });
      draft.runnerId = runnerId;
    } catch (err) {
      draft.errors[stepForError(codeOf(err))] = messageOf(err);
      if (stepForError(codeOf(err)) !== 3) draft.errors[3] = messageOf(err);
    }
    draft.registering = false;
    w.rerender();
  };

  const failedStep = ([0, 1, 2] as const).find((i) => draft.errors[i]);
  const errorBox = draft.errors[3]
    ? h(
        'div',
        { class: 'msg msg-error', role: 'alert' },
        h('strong', null, 'Registration failed. '),
        draft.errors[3],
        failedStep !== undefined
          ? h(
              'div',
              { class: 'actions' },
              h(
                'button',
                { type: 'button', class: 'btn btn-small', 'data-key': 'fix', onclick: () => w.goto(failedStep) },
                `Fix in “${STEPS[failedStep]}”`,
              ),
            )
          : null,
      )
    : null;

  const progress = h(
    'ol',
    { class: 'progress', 'aria-label': 'Progress' },
    progressItem(
      draft.registering ? 'active' : registered ? 'done' : draft.errors[3] ? 'error' : 'todo',
      registered ? `Registered as runner ${draft.runnerId}` : 'Register with the server',
    ),
    progressItem(
      !registered ? 'todo' : connected ? 'done' : live?.tone === 'danger' ? 'error' : 'active',
      connected ? 'Connected' : live ? `${live.label}${live.reason ? `: ${live.reason}` : ''}` : 'Connect',
    ),
  );

  const summary = h(
    'dl',
    { class: 'facts' },
    fact('Server', serverOf(draft)),
    fact('Account', draft.signedIn?.who ?? '—'),
    fact('Name', draft.name.trim()),
    fact('Max agents', String(draft.maxAgents)),
    fact(
      'Capabilities',
      draft.capabilities
        .filter((c) => c.on)
        .map((c) => c.name)
        .join(', ') || 'none',
    ),
    fact('Worktree folder', draft.worktreeBase.trim()),
  );

  const done = registered
    ? h(
        'div',
        { class: `connected-banner ${connected ? 'is-ok' : ''}`, role: 'status', 'data-testid': 'connect-status' },
        h('span', { class: 'dot', 'data-tone': live?.tone ?? 'neutral', 'aria-hidden': 'true' }),
        h(
          'div',
          null,
          h('strong', null, connected ? 'Connected' : (live?.label ?? 'Starting')),
          h('div', { class: 'small' }, 'Runner id ', h('code', { 'data-testid': 'runner-id' }, draft.runnerId ?? '')),
        ),
      )
    : null;

  const primary = registered
    ? h('button', { type: 'button', class: 'btn btn-primary', 'data-key': 'finish', onclick: () => w.finish() }, 'Open dashboard')
    : h(
        'button',
        { type: 'button', class: 'btn btn-primary', 'data-key': 'register', disabled: draft.registering, onclick: () => void register() },
        draft.registering ? 'Registering…' : 'Register and connect',
      );

  return stepFrame(
    w,
    registered ? 'Ready' : 'Register and connect',
    registered ? '' : 'Check the details, then register this runner with the server.',
    [registered ? null : summary, errorBox, progress, done],
    primary,
  );
}

function fact(label: string, value: string): Child[] {
  return [h('dt', null, label), h('dd', null, value)];
}

function progressItem(state: Progress, text: string): HTMLLIElement {
  return h(
    'li',
    { 'data-state': state },
    state === 'active'
      ? h('span', { class: 'spinner', 'aria-hidden': 'true' })
      : h('span', { class: 'progress-mark', 'aria-hidden': 'true' }, state === 'done' ? '✓' : state === 'error' ? '!' : '•'),
    h('span', null, text),
    h('span', { class: 'visually-hidden' }, ` (${state === 'todo' ? 'not started' : state === 'active' ? 'in progress' : state})`),
  );
}
