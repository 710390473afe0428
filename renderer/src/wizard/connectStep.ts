import { call, codeOf, messageOf } from '../bridge.ts';
import { linkDescription } from '../../../main/runner/vocabulary.ts';
import { h, type Child } from '../dom.ts';
import { serverOf, STEPS, stepForError } from './draft.ts';
import { stepFrame, type WizardContext } from './wizard.ts';

type Progress = 'todo' | 'active' | 'done' | 'error';

/** Step 4: review, register, and watch the runner connect; then say what happens next. */
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
      const { runnerId, replaced } = await call('wizard:register', {
        serverUrl: serverOf(draft),
        name: draft.name.trim(),
        maxAgents: draft.maxAgents,
        capabilities: caps,
        worktreeBase: draft.worktreeBase.trim(),
      });
      draft.runnerId = runnerId;
      draft.replaced = replaced ?? null;
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

  const host = hostOf(serverOf(draft));
  const progress = h(
    'ol',
    { class: 'progress', 'aria-label': 'Progress' },
    progressItem(
      draft.registering ? 'active' : registered ? 'done' : draft.errors[3] ? 'error' : 'todo',
      registered
        ? [
            `Registered as “${draft.name.trim()}” `,
            h('span', { class: 'small muted' }, 'runner id '),
            h('code', { 'data-testid': 'runner-id' }, draft.runnerId),
          ]
        : [w.previous ? `Replace runner “${w.previous.name || w.previous.runnerId}” and register` : 'Register with the server'],
    ),
    progressItem(!registered ? 'todo' : connected ? 'done' : live?.tone === 'danger' ? 'error' : 'active', [
      h(
        'span',
        { 'data-testid': 'connect-status', role: 'status' },
        connected ? `Connected to ${host}` : live ? `${live.label}${live.reason ? `: ${live.reason}` : ''}` : `Connect to ${host}`,
      ),
    ]),
  );

  const summary = h(
    'dl',
    { class: 'facts' },
    fact('Server', serverOf(draft)),
    fact('Account', draft.signedIn?.account?.label ?? '—'),
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

  const primary = registered
    ? h('button', { type: 'button', class: 'btn btn-primary', 'data-key': 'finish', onclick: () => w.finish() }, 'Open dashboard')
    : h(
        'button',
        { type: 'button', class: 'btn btn-primary', 'data-key': 'register', disabled: draft.registering, onclick: () => void register() },
        draft.registering ? 'Registering…' : 'Register and connect',
      );

  return stepFrame(
    w,
    registered ? (connected ? 'All set' : 'Registered') : 'Register and connect',
    registered ? '' : 'Check the details, then register this runner with the server.',
    [
      registered ? null : summary,
      registered ? null : replaceNote(w, serverOf(draft)),
      errorBox,
      progress,
      registered ? replacedNote(w, draft.replaced) : null,
      registered ? nextSteps() : null,
    ],
    primary,
  );
}

/** Before registering again: which runner goes, and where. */
function replaceNote(w: WizardContext, server: string): HTMLElement | null {
  const old = w.previous;
  if (!old) return null;
  const which = `“${old.name || old.runnerId}”`;
  return h(
    'div',
    { class: 'msg msg-warn', 'data-testid': 'replace-note' },
    sameServer(old.serverUrl, server)
      ? `This replaces runner ${which}: it is removed from ${hostOf(server)} first, then this machine registers as “${w.draft.name.trim()}”.`
      : `This machine moves to ${hostOf(server)}. Runner ${which} stays listed on ${hostOf(old.serverUrl)}: remove it there.`,
  );
}

/** After registering again: what became of the old runner. */
function replacedNote(w: WizardContext, replaced: WizardContext['draft']['replaced']): HTMLElement | null {
  const old = w.previous;
  if (!old || !replaced) return null;
  const which = `“${old.name || old.runnerId}”`;
  const words = {
    deleted: `Runner ${which} was removed from the server.`,
    gone: `Runner ${which} was no longer on the server.`,
    elsewhere: `Runner ${which} stays listed on ${hostOf(old.serverUrl)}: remove it there.`,
  } as const;
  return h('p', { class: 'small muted', 'data-testid': 'replaced' }, words[replaced]);
}

/** What happens from here on, instead of saying "connected" again. */
function nextSteps(): HTMLElement {
  return h(
    'div',
    { class: 'msg msg-info next-steps', 'data-testid': 'next-steps' },
    h('strong', null, 'What happens next'),
    h('p', null, 'Tasks from Sibyl appear on the dashboard; closing this window keeps the runner working in the tray.'),
  );
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function sameServer(a: string, b: string): boolean {
  const strip = (u: string): string => u.trim().replace(/\/+$/, '').toLowerCase();
  return strip(a) === strip(b);
}

function fact(label: string, value: string): Child[] {
  return [h('dt', null, label), h('dd', null, value)];
}

function progressItem(state: Progress, text: Child[]): HTMLLIElement {
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
