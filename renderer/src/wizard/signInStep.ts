import { call, messageOf } from '../bridge.ts';
import { append, field, h, setText, type Child } from '../dom.ts';
import { serverOf, signedInText } from './draft.ts';
import { stepFrame, type WizardContext } from './wizard.ts';

/** Step 2: sign in with the browser (device flow) or paste a token. */
export function signInStep(w: WizardContext): Child[] {
  const { draft } = w;
  const server = serverOf(draft);
  const signedIn = draft.signedIn?.serverUrl === server ? draft.signedIn : null;
  const next = h(
    'button',
    { type: 'button', class: 'btn btn-primary', 'data-key': 'next', disabled: !signedIn, onclick: () => w.goto(2) },
    'Continue',
  );

  const modes = h(
    'fieldset',
    { class: 'segmented' },
    h('legend', null, 'How do you want to sign in?'),
    modeRadio(w, 'device', 'Sign in with browser'),
    modeRadio(w, 'token', 'Use a token'),
  );
  const body: Child[] = [
    signedIn ? h('div', { class: 'msg msg-ok', role: 'status', 'data-testid': 'signed-in' }, signedInText(signedIn.account)) : null,
    draft.errors[1] ? h('div', { class: 'msg msg-error', role: 'alert' }, draft.errors[1]) : null,
    modes,
    draft.authMode === 'device' ? devicePanel(w, server) : tokenPanel(w, server),
  ];
  return stepFrame(w, 'Sign in', `Sign in to ${server} as the person this runner works for.`, body, next);
}

function modeRadio(w: WizardContext, mode: 'device' | 'token', label: string): HTMLLabelElement {
  const input = h('input', {
    type: 'radio',
    name: 'auth-mode',
    value: mode,
    checked: w.draft.authMode === mode,
    'data-key': `mode-${mode}`,
  });
  input.addEventListener('change', () => {
    w.draft.authMode = mode;
    w.rerender();
  });
  return h('label', { class: 'check' }, input, label);
}

function devicePanel(w: WizardContext, server: string): HTMLElement {
  const { draft } = w;
  const event = draft.deviceEvent;
  const code = draft.device;
  const panel = h('div', { class: 'auth-panel' });
  const start = async (): Promise<void> => {
    draft.errors[1] = '';
    draft.deviceEvent = { state: 'pending', message: 'Starting…' };
    draft.device = null;
    w.rerender();
    try {
      draft.device = await call('wizard:startDeviceLogin', { serverUrl: server });
      draft.deviceExpiresAt = Date.now() + draft.device.expiresInS * 1000;
      // The person asked to sign in with the browser: open it for them; the button below opens it again.
      await call('os:openExternal', { url: draft.device.verificationUriComplete });
    } catch (err) {
      draft.deviceEvent = { state: 'error', message: messageOf(err) };
    }
    w.rerender();
  };

  if (!code || !event || event.state === 'cancelled') {
    append(panel, [
      h('p', null, 'Your browser opens Sibyl; approve the code shown here and this window continues by itself.'),
      event?.state === 'error' ? h('div', { class: 'msg msg-error', role: 'alert' }, event.message) : null,
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-primary',
          'data-key': 'device-start',
          onclick: () => void start(),
          disabled: event?.state === 'pending',
        },
        'Sign in with browser',
      ),
    ]);
    return panel;
  }

  const codeEl = h('output', { class: 'user-code', 'aria-label': 'Your code', 'data-testid': 'user-code' }, code.userCode);
  const copyNote = h('span', { class: 'small muted', role: 'status' });
  const linkNote = h('span', { class: 'small muted', role: 'status' });
  const copy = async (text: string, note: HTMLElement, fallback: HTMLElement): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text);
      setText(note, 'Copied.');
    } catch {
      // Clipboard access can be refused; selecting the text still lets the person copy it by hand.
      getSelection()?.selectAllChildren(fallback);
      setText(note, 'Selected: press Ctrl+C (⌘C) to copy.');
    }
  };
  const waiting = event.state === 'pending';
  const failed = event.state === 'denied' || event.state === 'expired' || event.state === 'error';
  // The page's address is a link to the system browser (the window never navigates), with the code filled in.
  const pageLink = h(
    'a',
    { href: code.verificationUriComplete, class: 'mono', 'data-testid': 'verification-link', 'data-key': 'page-link' },
    code.verificationUri,
  );
  pageLink.addEventListener('click', (e) => {
    e.preventDefault();
    void call('os:openExternal', { url: code.verificationUriComplete });
  });
  append(panel, [
    h('p', null, 'Check that your browser shows this code, then approve:'),
    h(
      'div',
      { class: 'code-row' },
      codeEl,
      h(
        'button',
        { type: 'button', class: 'btn btn-small', 'data-key': 'copy', onclick: () => void copy(code.userCode, copyNote, codeEl) },
        'Copy code',
      ),
      copyNote,
    ),
    h(
      'p',
      { class: 'small page-row' },
      'Sign-in page: ',
      pageLink,
      ' ',
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small',
          'data-key': 'copy-link',
          onclick: () => void copy(code.verificationUri, linkNote, pageLink),
        },
        'Copy link',
      ),
      linkNote,
    ),
    waiting ? expiryNote(w) : null,
    h(
      'div',
      {
        class: `msg ${event.state === 'approved' ? 'msg-ok' : failed ? 'msg-error' : 'msg-info'}`,
        role: 'status',
        'data-testid': 'device-state',
      },
      waiting ? h('span', { class: 'spinner inline', 'aria-hidden': 'true' }) : null,
      deviceText(event.state),
      failed && event.message ? ` ${event.message}` : '',
    ),
    h(
      'div',
      { class: 'actions' },
      waiting
        ? h(
            'button',
            {
              type: 'button',
              class: 'btn',
              'data-key': 'open',
              onclick: () => void call('os:openExternal', { url: code.verificationUriComplete }),
            },
            'Open the page again',
          )
        : null,
      waiting
        ? h(
            'button',
            {
              type: 'button',
              class: 'btn btn-ghost',
              'data-key': 'device-cancel',
              onclick: () => void call('wizard:cancelDeviceLogin', {}),
            },
            'Cancel',
          )
        : null,
      failed
        ? h('button', { type: 'button', class: 'btn btn-primary', 'data-key': 'device-retry', onclick: () => void start() }, 'Try again')
        : null,
    ),
  ]);
  return panel;
}

/** "The code expires in 9:41", counting down each second; past the end, until the server says so, "The code has expired." */
function expiryNote(w: WizardContext): HTMLElement {
  const note = h('p', { class: 'small muted', 'data-testid': 'device-expiry' });
  const tick = (): void => {
    const left = Math.ceil((w.draft.deviceExpiresAt - Date.now()) / 1000);
    setText(note, left > 0 ? `The code expires in ${clock(left)}.` : 'The code has expired.');
  };
  tick();
  w.every(tick, 1000);
  return note;
}

/** Seconds as m:ss (or h:mm:ss for a code that lives an hour or more). */
function clock(s: number): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const hours = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return hours > 0 ? `${hours}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

function deviceText(state: string): string {
  switch (state) {
    case 'pending':
      return 'Waiting for you to approve in the browser…';
    case 'approved':
      return 'Approved.';
    case 'denied':
      return 'The sign-in was denied.';
    case 'expired':
      return 'The code expired before it was approved.';
    default:
      return 'Sign-in failed.';
  }
}

function tokenPanel(w: WizardContext, server: string): HTMLElement {
  const { draft } = w;
  const input = h('input', {
    type: 'password',
    name: 'token',
    value: draft.token,
    autocomplete: 'off',
    spellcheck: 'false',
    'data-key': 'token',
  });
  const token = field('Access token or API key', input, { hint: 'Create an API key in Sibyl under Settings → API keys.' });
  const use = h('button', { type: 'submit', class: 'btn btn-primary', 'data-key': 'use-token' }, 'Use this token');
  input.addEventListener('input', () => {
    draft.token = input.value;
    token.setError('');
  });
  const form = h('form', { class: 'auth-panel', novalidate: true }, token.el, h('div', { class: 'actions' }, use));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void (async () => {
      if (draft.token.trim().length < 10) {
        token.setError('Paste the whole token.');
        input.focus();
        return;
      }
      use.disabled = true;
      setText(use, 'Checking…');
      try {
        const { account } = await call('wizard:useToken', { serverUrl: server, token: draft.token.trim() });
        draft.signedIn = { serverUrl: server, account };
        draft.errors[1] = '';
        w.rerender();
      } catch (err) {
        use.disabled = false;
        setText(use, 'Use this token');
        token.setError(messageOf(err));
        input.focus();
      }
    })();
  });
  return form;
}
