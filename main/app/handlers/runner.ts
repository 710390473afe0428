import type { Handlers } from '../../../preload/contract.ts';
import { RunnerError } from '../../runner/errors.ts';
import type { AppContext } from '../appContext.ts';

type RunnerChannels =
  | 'app:state'
  | 'runner:pause'
  | 'runner:resume'
  | 'runner:restart'
  | 'runner:retryNow'
  | 'runner:unregister'
  | 'account:signOut'
  | 'tasks:cancel'
  | 'tasks:openFolder';

/** The runner's lifecycle and its running tasks: pause/resume, restart, retry the link now, unregister, sign out, cancel, open a worktree. */
export function runnerHandlers(app: AppContext): Pick<Handlers, RunnerChannels> {
  return {
    'app:state': async () => app.state(),
    'runner:pause': async () => {
      app.requireRunning();
      await app.host.command({ method: 'pause' });
      return app.state();
    },
    'runner:resume': async () => {
      app.requireRunning();
      await app.host.command({ method: 'resume' });
      return app.state();
    },
    'runner:restart': async () => app.restart(),
    'runner:retryNow': async () => {
      app.requireRunning();
      app.host.kick();
      return { ok: true };
    },
    'runner:unregister': async () => {
      app.requireOwnConfig('unregister it');
      await app.host.stop();
      // The server keeps the record until deleted there (it must be offline first, §3.6).
      app.loaded.file.update({ runner_id: '', graph_runner_id: '' });
      app.reload();
      return app.pushState();
    },
    'account:signOut': async () => {
      await app.host.stop();
      await app.credentials.save({});
      await app.refreshSignedIn();
      return app.pushState();
    },
    'tasks:cancel': async ({ taskId }) => (await app.host.command({ method: 'cancel', taskId })) as { cancelled: boolean },
    'tasks:openFolder': async ({ taskId }) => {
      const running = app.host.snapshot()?.running.find((t) => t.taskId === taskId);
      const path = running?.worktreePath ?? (await app.history()?.get(taskId))?.worktreePath;
      if (!path) throw new RunnerError('not_found', `no folder is known for task ${taskId}`, { context: { taskId } });
      await app.ports.openPath(path);
      return { ok: true };
    },
  };
}
