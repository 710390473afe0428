import type { About } from '../../preload/contract.ts';
import { call, messageOf } from './bridge.ts';
import { h, mount, setText } from './dom.ts';

/**
 * Settings → About: the version, the logs folder with a button that opens it, and the
 * diagnostics (versions, paths, runner id, link state; main leaves secrets out) to copy into a
 * bug report, shown too behind a disclosure so they can be read before they are sent.
 */
export function aboutSection(): HTMLElement {
  const body = h('div', null, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  call('settings:about', {}).then(
    (about) => mount(body, ...aboutBody(about)),
    (err: unknown) => mount(body, h('p', { class: 'field-error', role: 'alert' }, messageOf(err))),
  );
  return h('section', { class: 'card', 'aria-labelledby': 'settings-about' }, h('h2', { id: 'settings-about' }, 'About'), body);
}

function aboutBody(about: About): HTMLElement[] {
  const note = h('span', { class: 'small muted', role: 'status', 'data-testid': 'about-note' });
  const report = h('pre', { class: 'log diagnostics', 'data-testid': 'diagnostics', tabindex: '0' }, about.diagnostics);
  const shown = h('details', { class: 'diagnostics-details' }, h('summary', null, 'Show diagnostics'), report);

  const openLogs = h('button', { type: 'button', class: 'btn' }, 'Open logs folder');
  openLogs.addEventListener('click', () => {
    call('settings:openLogs', {}).then(
      () => setText(note, ''),
      (err: unknown) => setText(note, messageOf(err)),
    );
  });
  const copy = h('button', { type: 'button', class: 'btn' }, 'Copy diagnostics');
  copy.addEventListener('click', () => {
    navigator.clipboard.writeText(about.diagnostics).then(
      () => setText(note, 'Diagnostics copied.'),
      () => {
        // The clipboard can be refused; the text, opened and selected, can still be copied by hand.
        shown.open = true;
        getSelection()?.selectAllChildren(report);
        setText(note, 'Selected: press Ctrl+C (⌘C) to copy.');
      },
    );
  });

  return [
    h(
      'dl',
      { class: 'facts' },
      h('dt', null, 'Version'),
      h('dd', { 'data-testid': 'about-version' }, about.version),
      h('dt', null, 'Logs'),
      h('dd', { class: 'mono' }, about.logsFolder),
    ),
    h('div', { class: 'actions about-actions' }, openLogs, copy, note),
    shown,
  ];
}
