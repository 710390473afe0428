import { call, messageOf } from '../bridge.ts';
import { field, h, type Child } from '../dom.ts';
import { stepFrame, type WizardContext } from './wizard.ts';

/** Step 3: what this runner is called, how much it takes on, what it can do, where it works. */
export function runnerStep(w: WizardContext): Child[] {
  const { draft } = w;
  const next = h('button', { type: 'submit', form: 'runner-form', class: 'btn btn-primary', 'data-key': 'next' }, 'Continue');
  if (!draft.detected) {
    void detect(w);
    return stepFrame(
      w,
      'This runner',
      '',
      [h('p', { class: 'row muted', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Looking at this machine…')],
      null,
    );
  }

  const nameInput = h('input', { type: 'text', name: 'name', value: draft.name, maxlength: 255, autocomplete: 'off', 'data-key': 'name' });
  const name = field('Runner name', nameInput, { hint: 'How this machine appears in Sibyl.' });
  nameInput.addEventListener('input', () => {
    draft.name = nameInput.value;
    name.setError('');
  });

  const maxInput = h('input', {
    type: 'number',
    name: 'maxAgents',
    min: 1,
    max: 20,
    step: 1,
    value: String(draft.maxAgents),
    'data-key': 'max',
  });
  const max = field('Maximum concurrent agents', maxInput, { hint: 'From 1 to 20. Each agent works in its own git worktree.' });
  maxInput.addEventListener('input', () => {
    draft.maxAgents = Number(maxInput.value);
    max.setError('');
  });

  const folderInput = h('input', {
    type: 'text',
    name: 'worktreeBase',
    value: draft.worktreeBase,
    spellcheck: 'false',
    'data-key': 'folder',
  });
  const choose = h('button', { type: 'button', class: 'btn', 'data-key': 'choose' }, 'Choose…');
  const folder = field('Worktree folder', folderInput, { hint: 'Where task worktrees are created.', extra: choose });
  folderInput.addEventListener('input', () => {
    draft.worktreeBase = folderInput.value;
    folder.setError('');
  });
  choose.addEventListener('click', () => {
    void call('os:pickFolder', { defaultPath: draft.worktreeBase || undefined }).then(
      ({ path }) => {
        if (path === null) return;
        draft.worktreeBase = path;
        folderInput.value = path;
        folder.setError('');
      },
      (err: unknown) => folder.setError(messageOf(err)),
    );
  });

  const form = h('form', { id: 'runner-form', class: 'step-form', novalidate: true }, name.el, max.el, capabilities(w), folder.el);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const checks: [string, HTMLInputElement, (m: string) => void][] = [
      [draft.name.trim() ? '' : 'Give the runner a name.', nameInput, name.setError],
      [
        Number.isInteger(draft.maxAgents) && draft.maxAgents >= 1 && draft.maxAgents <= 20 ? '' : 'Enter a whole number from 1 to 20.',
        maxInput,
        max.setError,
      ],
      [draft.worktreeBase.trim() ? '' : 'Choose a folder for worktrees.', folderInput, folder.setError],
    ];
    for (const [message, , setError] of checks) setError(message);
    const bad = checks.find(([message]) => message);
    if (bad) {
      bad[1].focus();
      return;
    }
    draft.errors[2] = '';
    w.goto(3);
  });
  const error = draft.errors[2] ? h('div', { class: 'msg msg-error', role: 'alert' }, draft.errors[2]) : null;
  return stepFrame(w, 'This runner', '', [error, form], next);
}

async function detect(w: WizardContext): Promise<void> {
  const { draft } = w;
  try {
    const found = await call('wizard:detect', {});
    // Defaults fill only what the person has not typed yet.
    draft.name ||= found.hostname;
    draft.maxAgents = found.maxAgents;
    draft.worktreeBase ||= found.worktreeBase;
    const custom = draft.capabilities.filter((c) => !c.detected);
    draft.capabilities = [...found.capabilities.map((name) => ({ name, on: true, detected: true })), ...custom];
  } catch (err) {
    draft.errors[2] = `Could not look at this machine: ${messageOf(err)}. Fill in the fields by hand.`;
  }
  draft.detected = true;
  if (draft.step === 2) w.rerender();
}

function capabilities(w: WizardContext): HTMLElement {
  const { draft } = w;
  const list = h('div', { class: 'cap-list' });
  const renderList = (): void => {
    list.replaceChildren(
      ...draft.capabilities.map((cap) => {
        const box = h('input', { type: 'checkbox', name: 'capability', value: cap.name, checked: cap.on });
        box.addEventListener('change', () => (cap.on = box.checked));
        return h('label', { class: 'check' }, box, cap.name, cap.detected ? h('span', { class: 'small muted' }, ' (detected)') : null);
      }),
    );
    if (draft.capabilities.length === 0) list.append(h('p', { class: 'small muted' }, 'None detected.'));
  };
  renderList();
  const addInput = h('input', {
    type: 'text',
    name: 'customCapability',
    maxlength: 64,
    placeholder: 'e.g. gpu',
    'aria-label': 'Add a capability',
    'data-key': 'cap-new',
  });
  const addError = h('div', { class: 'field-error', role: 'alert' });
  const add = (): void => {
    const name = addInput.value.trim();
    if (!name) return;
    if (!/^[\w.+:-]+$/.test(name)) {
      addError.textContent = 'Use letters, digits and . _ + : - only.';
      return;
    }
    addError.textContent = '';
    const existing = draft.capabilities.find((c) => c.name === name);
    if (existing) existing.on = true;
    else draft.capabilities.push({ name, on: true, detected: false });
    addInput.value = '';
    renderList();
    addInput.focus();
  };
  // Enter in the add box adds the capability instead of submitting the whole step.
  addInput.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    add();
  });
  const addBtn = h('button', { type: 'button', class: 'btn btn-small', onclick: add, 'data-key': 'cap-add' }, 'Add');
  return h(
    'fieldset',
    null,
    h('legend', null, 'Capabilities'),
    h('p', { class: 'hint' }, 'Tasks that need a capability go only to runners that have it.'),
    list,
    h('div', { class: 'row add-row' }, addInput, addBtn),
    addError,
  );
}
