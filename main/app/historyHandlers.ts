import type { Handlers } from '../../preload/contract.ts';
import { RunnerError } from '../runner/errors.ts';
import type { HistoryBackend } from '../runner/history/historyBackend.ts';

type Getter = HistoryBackend | (() => HistoryBackend | undefined);

export function historyHandlers(source: Getter): Pick<Handlers, 'history:page' | 'history:get' | 'logs:read'> {
  const backend = (): HistoryBackend | undefined => (typeof source === 'function' ? source() : source);
  return {
    'history:page': async (q) => {
      const b = backend();
      if (!b) return { items: [], nextCursor: null, total: 0 };
      return b.page({
        limit: q.limit,
        ...(q.status ? { status: q.status } : {}),
        ...(q.search ? { search: q.search } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
    },
    'history:get': async ({ taskId }) => (await backend()?.get(taskId)) ?? null,
    'logs:read': async ({ taskId, search, tail }) => {
      const b = backend();
      if (!b) throw new RunnerError('not_found', `no log for task ${taskId}`);
      return b.readLog(taskId, { ...(search !== undefined ? { search } : {}), ...(tail !== undefined ? { tail } : {}) });
    },
  };
}
