import { RunnerError } from '../errors.ts';
import { readTaskLog } from '../tasks/taskLog.ts';
import type { TaskHistory } from './historyStore.ts';
import type { ActivityDay, CountedHistoryPage, DailyTotal, DailyTotalsQuery, HistoryRecord, HistoryStatus, LogLine } from './schema.ts';

/**
 * The task history as the window and the control socket read it: counted pages (newest first),
 * one task's record, its log (`tail` last lines, `search` a case-insensitive substring), and
 * per-day totals (`TaskHistory.dailyTotals`: local days, oldest first, ending today) and the
 * same days by outcome (`TaskHistory.activity`).
 * Raises RunnerError `not_found` when no log was kept for the task.
 */
export interface HistoryBackend {
  page(q: { status?: string; search?: string; limit: number; cursor?: string }): Promise<CountedHistoryPage>;
  get(taskId: string): Promise<HistoryRecord | null>;
  readLog(taskId: string, opts: { search?: string; tail?: number }): Promise<{ lines: LogLine[]; truncated: boolean }>;
  dailyTotals(q: DailyTotalsQuery): Promise<DailyTotal[]>;
  activity(q: DailyTotalsQuery): Promise<ActivityDay[]>;
}

/** The history store as the window reads it: pages with a total, details, logs, and per-day totals. */
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
    async dailyTotals(q) {
      return history.dailyTotals({ days: q.days });
    },
    async activity(q) {
      return history.activity({ days: q.days });
    },
  };
}
