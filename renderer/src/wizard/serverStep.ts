import type { ServerCheck } from '../../../preload/contract.ts';
import { call, messageOf } from '../bridge.ts';
import { field, h, type Child } from '../dom.ts';
import { canUseAnyway, normalizedUrl, serverSettled, urlProblem } from './draft.ts';
import { stepFrame, type WizardContext } from './wizard.ts';

const TITLES: Record<ServerCheck['kind'], string> = {
  ok: 'Sibyl server found',
  invalid: 'Not a valid address',
  insecure_http: 'Unencrypted connection refused',
  unreachable: 'Server unreachable',
  tls: 'TLS problem',
  not_sibyl: 'Not a Sibyl server',
};

/** Step 1: the server URL, checked locally as you type and against the server on "Check". */
export function serverStep(w: WizardContext): Child[] {
  const { draft } = w;
  const input = h('input', {
    type: 'url',
    name: 'server',
    value: draft.serverUrl,
    placeholder: 'https://sibyl.example.com',
    autocomplete: 'url',
    spellcheck: 'false',
    required: true,
    'data-key': 'url',
  });
  const checkBtn = h('button', { type: 'button', class: 'btn', 'data-key': 'check' }, 'Check');
  const url = field('Sibyl server URL', input, { hint: 'The address you open Sibyl at in your browser.', extra: checkBtn });
  const result = h('div', { class: 'check-result', role: 'status', 'aria-live': 'polite' });
  const next = h('button', { type: 'submit', form: 'server-form', class: 'btn btn-primary', 'data-key': 'next' }, 'Continue');
  let busy = false;

  const showCheck = (): void => {
    const check = draft.checkedUrl === normalizedUrl(draft.serverUrl) ? draft.check : null;
    result.replaceChildren();
    // An error from a later step that belongs here (e.g. the server went away during registration) comes first.
    if (draft.errors[0]) result.append(h('div', { class: 'msg msg-error' }, draft.errors[0]));
    if (check) result.append(checkMessage(check, check.ok || !canUseAnyway(check) ? null : useAnyway));
  };

  // The health route is only a probe: a proxy may hide it while the rest answers, so the check may be overruled.
  const useAnyway = (): void => {
    draft.acceptedUrl = normalizedUrl(draft.serverUrl);
    draft.errors[0] = '';
    w.goto(1);
  };

  const validate = (showEmpty: boolean): boolean => {
    const problem = urlProblem(draft.serverUrl);
    url.setError(problem && (showEmpty || draft.serverUrl.trim() !== '') ? problem : '');
    checkBtn.disabled = busy || problem !== '';
    return problem === '';
  };

  const runCheck = async (): Promise<boolean> => {
    if (!validate(true)) {
      input.focus();
      return false;
    }
    const target = normalizedUrl(draft.serverUrl);
    busy = true;
    validate(false);
    next.disabled = true;
    result.replaceChildren(
      h('div', { class: 'msg msg-info row' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), `Checking ${target}…`),
    );
    try {
      draft.check = await call('wizard:checkServer', { url: target });
      draft.checkedUrl = target;
      draft.errors[0] = '';
    } catch (err) {
      draft.check = null;
      draft.errors[0] = messageOf(err);
    } finally {
      busy = false;
      next.disabled = false;
    }
    // The user may have typed on while the check ran; only a result for the current URL counts.
    if (target !== normalizedUrl(draft.serverUrl)) return false;
    showCheck();
    validate(false);
    return draft.check?.ok === true;
  };

  input.addEventListener('input', () => {
    draft.serverUrl = input.value;
    if (draft.checkedUrl !== normalizedUrl(draft.serverUrl)) draft.errors[0] = '';
    validate(false);
    showCheck();
  });
  checkBtn.addEventListener('click', () => void runCheck());

  const form = h('form', { id: 'server-form', class: 'step-form', novalidate: true }, url.el, result);
  const submit = async (): Promise<void> => {
    if (serverSettled(draft) || (await runCheck())) w.goto(1);
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void submit();
  });
  validate(false);
  showCheck();
  return stepFrame(w, 'Which Sibyl server?', 'This runner will take tasks from one Sibyl server.', [form], next);
}

function checkMessage(check: ServerCheck, useAnyway: (() => void) | null): HTMLElement {
  const tone = check.ok ? 'msg-ok' : check.kind === 'not_sibyl' || check.kind === 'tls' ? 'msg-warn' : 'msg-error';
  return h(
    'div',
    { class: `msg ${tone}`, 'data-kind': check.kind },
    h('strong', null, TITLES[check.kind]),
    check.version ? ` (version ${check.version})` : '',
    h('br'),
    check.message,
    useAnyway
      ? h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', class: 'btn btn-small', 'data-key': 'use-anyway', onclick: useAnyway }, 'Use this address anyway'),
          h('span', { class: 'small' }, 'Signing in at the next step shows whether it works.'),
        )
      : null,
  );
}
