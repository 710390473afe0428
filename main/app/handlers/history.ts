import type { Handlers } from '../../../preload/contract.ts';
import { RunnerError } from '../../runner/errors.ts';
import type { AppContext } from '../appContext.ts';

/** The task history and logs as the window pages and searches them; empty before registration. */
export function historyHandlers(
  app: Pick<AppContext, 'history'>,
): Pick<Handlers, 'history:page' | 'history:get' | 'history:daily' | 'history:activity' | 'logs:read'> {
  return {
    'history:page': async (q) => {
      const b = app.history();
      if (!b) return { items: [], nextCursor: null, total: 0 };
      return b.page({
        limit: q.limit,
        ...(q.status ? { status: q.status } : {}),
        ...(q.search ? { search: q.search } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
    },
    'history:get': async ({ taskId }) => (await app.history()?.get(taskId)) ?? null,
    'history:daily': async ({ days }) => (await app.history()?.dailyTotals({ days })) ?? [],
    'history:activity': async ({ days }) => (await app.history()?.activity({ days })) ?? [],
    'logs:read': async ({ taskId, search, tail }) => {
      const b = app.history();
      if (!b) throw new RunnerError('not_found', `no log for task ${taskId}`, { context: { taskId } });
      return b.readLog(taskId, { ...(search !== undefined ? { search } : {}), ...(tail !== undefined ? { tail } : {}) });
    },
  };
}
