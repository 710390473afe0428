import type { ProjectLink } from '../../preload/contract.ts';
import { call, messageOf } from './bridge.ts';
import { field, h, mount, setText } from './dom.ts';

/** Linked projects: local checkouts the runner uses for a Sibyl project instead of cloning it. */
export function projectsSection(): HTMLElement {
  const list = h('div', { 'data-testid': 'projects' }, h('p', { class: 'muted' }, 'Loading…'));
  const listError = h('div', { class: 'field-error', role: 'alert' });

  const show = (links: ProjectLink[]): void => {
    mount(
      list,
      links.length === 0
        ? h('p', { class: 'empty' }, 'No linked projects. Tasks for a project without a link clone its repository.')
        : h(
            'ul',
            { class: 'project-list' },
            links.map((link) =>
              h(
                'li',
                null,
                h(
                  'div',
                  null,
                  h('strong', { class: 'mono' }, link.projectId),
                  ' ',
                  h('span', { class: 'mono small' }, link.path),
                  link.ok ? null : h('div', { class: 'field-error' }, link.problem ?? 'This link has a problem.'),
                ),
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'btn btn-small',
                    'aria-label': `Remove link to ${link.projectId}`,
                    onclick: () => void change(call('projects:unlink', { projectId: link.projectId })),
                  },
                  'Remove',
                ),
              ),
            ),
          ),
    );
  };
  const change = async (request: Promise<ProjectLink[]>): Promise<boolean> => {
    try {
      show(await request);
      setText(listError, '');
      return true;
    } catch (err) {
      setText(listError, messageOf(err));
      return false;
    }
  };
  void change(call('projects:list', {}));

  const pathInput = h('input', { type: 'text', name: 'projectPath', spellcheck: 'false' });
  const choose = h('button', { type: 'button', class: 'btn' }, 'Choose…');
  const path = field('Folder', pathInput, { extra: choose });
  const idInput = h('input', { type: 'text', name: 'projectId', placeholder: 'project_…', spellcheck: 'false', autocomplete: 'off' });
  const id = field('Sibyl project id', idInput);
  choose.addEventListener('click', () => {
    void call('os:pickFolder', {}).then(
      ({ path: picked }) => {
        if (picked !== null) pathInput.value = picked;
      },
      (err: unknown) => path.setError(messageOf(err)),
    );
  });
  const form = h(
    'form',
    { class: 'link-form', novalidate: true },
    h('h3', null, 'Link a project'),
    h('div', { class: 'grid-2' }, path.el, id.el),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn' }, 'Link project')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    path.setError(pathInput.value.trim() ? '' : 'Choose the project folder.');
    id.setError(idInput.value.trim() ? '' : 'Enter the project id from Sibyl.');
    if (!pathInput.value.trim() || !idInput.value.trim()) return;
    void change(call('projects:link', { path: pathInput.value.trim(), projectId: idInput.value.trim() })).then((ok) => {
      if (!ok) {
        id.setError(listError.textContent ?? '');
        setText(listError, '');
        return;
      }
      pathInput.value = '';
      idInput.value = '';
    });
  });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'settings-projects' },
    h('h2', { id: 'settings-projects' }, 'Linked projects'),
    list,
    listError,
    form,
  );
}
