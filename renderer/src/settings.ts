import type { AppState, RequestInput, Settings } from '../../preload/contract.ts';
import { call, messageOf } from './bridge.ts';
import { field, h, mount, setText, type Child } from './dom.ts';
import { projectsSection } from './projectsSettings.ts';
import { Disposer, type Screen, type ScreenContext } from './screen.ts';

type Patch = RequestInput<'settings:set'>;

/** Preferences, each saved as soon as it changes; errors appear next to the control that caused them. */
export function settingsScreen(ctx: ScreenContext): Screen {
  const d = new Disposer();
  // The heading stays put while the body loads: the router may have given it the focus.
  const body = h('div', null, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  call('settings:get', {}).then(
    (settings) => mount(body, ...render(ctx, settings)),
    (err: unknown) => mount(body, h('p', { class: 'msg msg-error', role: 'alert' }, messageOf(err))),
  );
  return { el: h('div', { class: 'settings' }, h('h1', { tabindex: '-1' }, 'Settings'), body), dispose: () => d.dispose() };
}

function render(ctx: ScreenContext, initial: Settings): Child[] {
  let settings = initial;
  // One "Saved." per section, next to its heading, so the confirmation is where the change was made.
  const general = savedNote();
  const runner = savedNote();
  const history = savedNote();

  /** Save one change; on failure the control's error shows why and the control shows the stored value again. */
  const save = async (
    saved: HTMLElement,
    patch: Patch,
    onError: (message: string) => void,
    reset: (s: Settings) => void,
  ): Promise<void> => {
    setText(saved, 'Saving…');
    try {
      settings = await call('settings:set', patch);
      onError('');
      setText(saved, 'Saved.');
    } catch (err) {
      onError(messageOf(err));
      reset(settings);
      setText(saved, '');
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
  ];
}

function savedNote(): HTMLElement {
  return h('span', { class: 'small muted saved', role: 'status', 'data-testid': 'saved' });
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
  const confirmRow = h('div', { class: 'actions' });
  const act = (channel: 'account:signOut' | 'runner:unregister'): void => {
    call(channel, {}).then(
      (s: AppState) => ctx.app.accept(s),
      (err: unknown) => setText(error, messageOf(err)),
    );
  };
  const signOut = h('button', { type: 'button', class: 'btn', onclick: () => act('account:signOut') }, 'Sign out');
  const unregister = h('button', { type: 'button', class: 'btn btn-danger' }, 'Unregister…');
  unregister.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'btn btn-danger', onclick: () => act('runner:unregister') }, 'Yes, unregister');
    const no = h('button', { type: 'button', class: 'btn', onclick: () => (confirmRow.replaceChildren(), unregister.focus()) }, 'Keep it');
    confirmRow.replaceChildren(
      h('span', { class: 'small' }, `Remove runner “${state.runnerName}” from ${state.serverUrl}? Running tasks are cancelled.`),
      yes,
      no,
    );
    yes.focus();
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
      h('dd', { 'data-testid': 'credentials-storage' }, settings.credentialsStorage),
    ),
    h('div', { class: 'actions account-actions' }, h('a', { class: 'btn', href: '#/wizard' }, 'Re-register…'), signOut, unregister),
    confirmRow,
    error,
  );
}
