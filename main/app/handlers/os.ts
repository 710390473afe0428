import type { Handlers } from '../../../preload/contract.ts';
import { RunnerError } from '../../runner/errors.ts';
import type { AppContext } from '../appContext.ts';

/** What the window asks of the OS shell: a folder picker, and http(s) links in the browser. */
export function osHandlers(app: Pick<AppContext, 'ports' | 'loaded'>): Pick<Handlers, 'os:pickFolder' | 'os:openExternal'> {
  return {
    'os:pickFolder': async ({ defaultPath }) => ({ path: await app.ports.pickFolder(defaultPath ?? app.loaded.config.worktree_base) }),
    'os:openExternal': async ({ url }) => {
      if (!/^https?:\/\//i.test(url)) throw new RunnerError('bad_input', 'only http(s) links can be opened', { remedy: 'checkInput' });
      await app.ports.openExternal(url);
      return { ok: true };
    },
  };
}
