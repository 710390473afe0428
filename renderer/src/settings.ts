import type { AppState, RequestInput, Settings } from '../../preload/contract.ts';
import { aboutSection } from './about.ts';
import { call, messageOf } from './bridge.ts';
import { field, h, mount, setText, type Child } from './dom.ts';
import { projectsSection } from './projectsSettings.ts';
import { SavedNotes } from './savedNotes.ts';
import { Disposer, type Screen, type ScreenContext } from './screen.ts';

type Patch = RequestInput<'settings:set'>;

/** Preferences, each saved as soon as it changes; errors appear next to the control that caused them. */
export function settingsScreen(ctx: ScreenContext): Screen {
  const d = new Disposer();
  // The heading stays put while the body loads: the router may have given it the focus.
  const body = h('div', null, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  call('settings:get', {}).then(
    (settings) => mount(body, ...render(ctx, settings, d)),
    (err: unknown) => mount(body, h('p', { class: 'msg msg-error', role: 'alert' }, messageOf(err))),
  );
  return { el: h('div', { class: 'settings' }, h('h1', { tabindex: '-1' }, 'Settings'), body), dispose: () => d.dispose() };
}

function render(ctx: ScreenContext, initial: Settings, d: Disposer): Child[] {
  let settings = initial;
  const notes = new SavedNotes(d);
  const general = notes.note();
  const runner = notes.note();
  const history = notes.note();

  /** Save one change; on failure the control's error shows why and the control shows the stored value again. */
  const save = async (
    saved: HTMLElement,
    patch: Patch,
    onError: (message: string) => void,
    reset: (s: Settings) => void,
  ): Promise<void> => {
    notes.saving(saved);
    try {
      settings = await call('settings:set', patch);
      onError('');
      notes.saved(saved);
    } catch (err) {
      onError(messageOf(err));
      reset(settings);
      notes.clear(saved);
    }
  };

  const toggle = (saved: HTMLElement, label: string, hint: string, key: 'startAtLogin' | 'notifications'): HTMLElement => {
    const box = h('input', { type: 'checkbox', name: key, checked: settings[key] });
    const error = h('div', { class: 'field-error', role: 'alert' });
    box.addEventListener(
      'change',
      () =>
        void save(
          saved,
          { [key]: box.checked },
          (m) => setText(error, m),
          (s) => (box.checked = s[key]),
        ),
    );
    return h('div', { class: 'field' }, h('label', { class: 'check' }, box, label), h('div', { class: 'hint' }, hint), error);
  };

  const numberField = (
    saved: HTMLElement,
    label: string,
    hint: string,
    key: 'maxAgents' | 'historyRetentionDays' | 'historyMaxTasks',
    min: number,
    max?: number,
  ): HTMLElement => {
    const input = h('input', { type: 'number', name: key, min, max: max ?? null, step: 1, value: String(settings[key]) });
    const f = field(label, input, { hint });
    input.addEventListener('change', () => {
      const n = Number(input.value);
      if (input.value === '' || !Number.isInteger(n) || n < min || (max !== undefined && n > max)) {
        f.setError(max === undefined ? `Enter a whole number, ${min} or more.` : `Enter a whole number from ${min} to ${max}.`);
        return;
      }
      void save(saved, { [key]: n }, f.setError, (s) => (input.value = String(s[key])));
    });
    return f.el;
  };

  const folderInput = h('input', { type: 'text', name: 'worktreeBase', value: settings.worktreeBase, spellcheck: 'false' });
  const choose = h('button', { type: 'button', class: 'btn' }, 'Choose…');
  const folder = field('Worktree folder', folderInput, {
    hint: 'Where new task worktrees are created. Running tasks keep theirs.',
    extra: choose,
  });
  const saveFolder = (): void => {
    if (!folderInput.value.trim()) return folder.setError('Choose a folder.');
    void save(runner, { worktreeBase: folderInput.value.trim() }, folder.setError, (s) => (folderInput.value = s.worktreeBase));
  };
  folderInput.addEventListener('change', saveFolder);
  choose.addEventListener('click', () => {
    void call('os:pickFolder', { defaultPath: folderInput.value || undefined }).then(
      ({ path }) => {
        if (path === null) return;
        folderInput.value = path;
        saveFolder();
      },
      (err: unknown) => folder.setError(messageOf(err)),
    );
  });

  return [
    section(
      'General',
      general,
      toggle(general, 'Start at login', 'Start Sibyl Runner in the tray when you log in.', 'startAtLogin'),
      toggle(general, 'Notifications', 'Notify when a task completes or fails.', 'notifications'),
    ),
    section('Runner', runner, numberField(runner, 'Maximum concurrent agents', 'From 1 to 20.', 'maxAgents', 1, 20), folder.el),
    projectsSection(),
    section(
      'History',
      history,
      numberField(history, 'Keep tasks for (days)', '0 keeps them regardless of age.', 'historyRetentionDays', 0),
      numberField(history, 'Keep at most (tasks)', '0 keeps any number. Logs go with their tasks.', 'historyMaxTasks', 0),
    ),
    accountSection(ctx, settings),
    aboutSection(),
    dangerZone(ctx),
  ];
}

function section(title: string, note: HTMLElement | null, ...children: Child[]): HTMLElement {
  const id = `settings-${title.toLowerCase().replace(/\W+/g, '-')}`;
  return h(
    'section',
    { class: 'card', 'aria-labelledby': id },
    h('div', { class: 'section-head' }, h('h2', { id }, title), note),
    ...children,
  );
}

function accountSection(ctx: ScreenContext, settings: Settings): HTMLElement {
  const state = ctx.app.current();
  const error = h('div', { class: 'field-error', role: 'alert' });
  const signOut = h('button', { type: 'button', class: 'btn' }, 'Sign out');
  signOut.addEventListener('click', () => {
    call('account:signOut', {}).then(
      (s: AppState) => ctx.app.accept(s),
      (err: unknown) => setText(error, messageOf(err)),
    );
  });
  return section(
    'Account',
    null,
    h(
      'dl',
      { class: 'facts' },
      h('dt', null, 'Server'),
      h('dd', null, state.serverUrl || '—'),
      h('dt', null, 'Runner'),
      h('dd', null, state.runnerName || '—', ' ', h('span', { class: 'mono muted' }, state.runnerId)),
      h('dt', null, 'Credentials'),
      h(
        'dd',
        null,
        h('span', { 'data-testid': 'credentials-storage' }, settings.credentialsSummary),
        // Where exactly, for whoever needs the file or the keyring's name.
        h(
          'details',
          { class: 'inline-details' },
          h('summary', null, 'Details'),
          h('span', { class: 'mono small' }, settings.credentialsStorage),
        ),
      ),
    ),
    h(
      'div',
      { class: 'actions account-actions' },
      signOut,
      h('span', { class: 'small muted' }, 'The runner stops until you sign in again; it stays registered.'),
    ),
    error,
  );
}

/**
 * What cannot be undone from this window, apart from everyday settings: registering this machine
 * again (which replaces the runner on the server) and unregistering it, each saying what it does.
 */
function dangerZone(ctx: ScreenContext): HTMLElement {
  const state = ctx.app.current();
  const runner = `“${state.runnerName || state.runnerId}”`;
  const error = h('div', { class: 'field-error', role: 'alert' });
  const confirmRow = h('div', { class: 'actions' });
  const unregister = h('button', { type: 'button', class: 'btn btn-danger' }, 'Unregister…');
  unregister.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'btn btn-danger' }, 'Yes, unregister');
    yes.addEventListener('click', () => {
      call('runner:unregister', {}).then(
        (s: AppState) => ctx.app.accept(s),
        (err: unknown) => setText(error, messageOf(err)),
      );
    });
    const no = h('button', { type: 'button', class: 'btn', onclick: () => (confirmRow.replaceChildren(), unregister.focus()) }, 'Keep it');
    confirmRow.replaceChildren(h('span', { class: 'small' }, `Unregister runner ${runner}? Running tasks are cancelled.`), yes, no);
    yes.focus();
  });
  const item = (title: string, text: string, action: HTMLElement): HTMLElement =>
    h('div', { class: 'danger-item' }, h('div', null, h('h3', null, title), h('p', { class: 'small muted' }, text)), action);
  return h(
    'section',
    { class: 'card danger-zone', 'aria-labelledby': 'settings-danger' },
    h('h2', { id: 'settings-danger' }, 'Danger zone'),
    item(
      'Re-register this machine',
      `Register again with new details. This replaces runner ${runner}: it is removed from ${state.serverUrl || 'the server'} first.`,
      h('a', { class: 'btn', href: '#/wizard' }, 'Re-register…'),
    ),
    item(
      'Unregister',
      `Stop the runner and forget its registration on this machine; the server lists runner ${runner} as offline until it is deleted there. This machine's task history is kept.`,
      unregister,
    ),
    confirmRow,
    error,
  );
}
