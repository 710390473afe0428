import type { AppState } from '../../preload/contract.ts';
import { linkDescription, remedyAction } from '../../main/runner/vocabulary.ts';
import { call, messageOf, on } from './bridge.ts';
import { h, mount, setText } from './dom.ts';
import { describeProblem } from './problemWords.ts';

/** A device sign-in that ended without approval, by its event state, as the core's error code says it. */
const ENDED = { denied: 'login_denied', expired: 'login_expired', error: 'auth_failed' } as const;

/**
 * "Sign in again" on the dashboard, for a registered runner whose credentials were refused or
 * removed: the device flow against the same server, then the runner restarts with the new login.
 * The registration (runner id) is kept; nothing is re-registered.
 */
export function signInAgain(): { el: HTMLElement; update(state: AppState): void; dispose(): void } {
  const status = h('p', { class: 'small', role: 'status', 'aria-live': 'polite', 'data-testid': 'signin-again-status' });
  // Hidden while there is no code: an empty dashed box reads as a field to fill in.
  const code = h('output', { class: 'user-code', 'data-testid': 'signin-again-code', hidden: true });
  const label = remedyAction('signIn');
  const start = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'signin-again' }, label);
  const box = h('div', { class: 'signin-again', hidden: true }, h('div', { class: 'row' }, start, code), status);
  let serverUrl = '';
  let busy = false;

  const off = on('wizard:device', (e) => {
    if (!busy) return;
    // The core's words for a failed sign-in name the CLI; the window says it its own way.
    const ended = e.state === 'denied' || e.state === 'expired' || e.state === 'error' ? ENDED[e.state] : null;
    setText(status, ended ? describeProblem({ code: ended, message: e.message }).text : e.message);
    if (e.state === 'approved') {
      busy = false;
      code.textContent = '';
      code.hidden = true;
      call('runner:restart', {}).then(
        () => setText(status, 'Signed in; reconnecting…'),
        (err: unknown) => setText(status, messageOf(err)),
      );
    } else if (e.state !== 'pending') {
      busy = false;
      start.disabled = false;
      code.hidden = true;
      setText(start, remedyAction('retry'));
    }
  });

  start.addEventListener('click', () => {
    busy = true;
    start.disabled = true;
    setText(status, 'Starting sign-in…');
    call('wizard:startDeviceLogin', { serverUrl }).then(
      (dc) => {
        mount(code, dc.userCode);
        code.hidden = false;
        setText(status, `Approve code ${dc.userCode} in the browser page that opened.`);
        void call('os:openExternal', { url: dc.verificationUriComplete }).catch(() =>
          setText(status, `Open ${dc.verificationUri} and enter ${dc.userCode}.`),
        );
      },
      (err: unknown) => {
        busy = false;
        start.disabled = false;
        setText(status, messageOf(err));
      },
    );
  });

  return {
    el: box,
    update(state) {
      serverUrl = state.serverUrl;
      // A headless daemon the window attached to signs in from its own CLI.
      const link = linkDescription(state);
      const needed = !state.attached && (link.kind === 'signedOut' || link.remedy === 'signIn');
      box.hidden = !needed && !busy;
      if (!needed && !busy) {
        start.disabled = false;
        setText(start, label);
      }
    },
    dispose: off,
  };
}
