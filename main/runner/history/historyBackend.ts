import type { HistoryBackend } from '../app/historyHandlers.ts';
import { RunnerError } from '../errors.ts';
import { readTaskLog } from '../tasks/taskLog.ts';
import type { TaskHistory } from './historyStore.ts';
import type { HistoryStatus } from './schema.ts';

/** The history store as the window reads it: pages with a total, details, and logs. */
export function historyBackend(history: TaskHistory): HistoryBackend {
  let lastCount: { key: string; total: number; at: number } | undefined;
  return {
    async page(q) {
      const filter = { ...(q.status ? { status: q.status as HistoryStatus } : {}), ...(q.search ? { search: q.search } : {}) };
      const page = history.page({ ...filter, limit: q.limit, ...(q.cursor ? { cursor: q.cursor } : {}) });
      // Counting a broad search is the slow part at 100k rows: do it once per filter, not per page.
      const key = JSON.stringify(filter);
      if (!lastCount || lastCount.key !== key || q.cursor === undefined) lastCount = { key, total: history.count(filter), at: Date.now() };
      return { items: page.items, nextCursor: page.nextCursor, total: lastCount.total };
    },
    async get(taskId) {
      return history.get(taskId) ?? null;
    },
    async readLog(taskId, opts) {
      const rec = history.get(taskId);
      if (!rec?.logPath) throw new RunnerError('not_found', `no log was kept for task ${taskId}`);
      return readTaskLog(rec.logPath, opts);
    },
  };
}
