import { z } from 'zod';

/**
 * The local task history as the CLI and the desktop app see it. Field names and nullability match
 * the window's `TaskRow` / `TaskDetail` (preload/contract.ts imports these), so the app passes rows through;
 * times are ms since the epoch. The table itself is snake_case (historyStore.ts).
 */

export const HistoryStatus = z.enum(['assigned', 'running', 'completed', 'failed', 'timeout', 'cancelled', 'rejected']);
export type HistoryStatus = z.infer<typeof HistoryStatus>;

/** Statuses of tasks still in flight: never pruned. */
export const LIVE_STATUSES: readonly HistoryStatus[] = ['assigned', 'running'];

/** One row of a page: everything but the bulky fields. */
export const HistoryItem = z.object({
  taskId: z.string(),
  agentId: z.string().nullable(),
  projectId: z.string().nullable(),
  /** the first 500 characters */
  prompt: z.string(),
  status: HistoryStatus,
  assignedAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  durationS: z.number().nullable(),
  exitCode: z.number().nullable(),
  branch: z.string().nullable(),
  commitCount: z.number().nullable(),
  error: z.string().nullable(),
});
export type HistoryItem = z.infer<typeof HistoryItem>;

export const HistoryRecord = HistoryItem.extend({
  command: z.array(z.string()).nullable(),
  worktreePath: z.string().nullable(),
  logPath: z.string().nullable(),
  rejectReason: z.string().nullable(),
  /** the task_complete `result` as sent */
  result: z.record(z.string(), z.unknown()).nullable(),
});
export type HistoryRecord = z.infer<typeof HistoryRecord>;

/** What `upsert` takes: the task id plus any fields to set (null clears; absent leaves as is). */
export const HistoryPatch = z.object({
  taskId: z.string().min(1),
  agentId: z.string().nullable().optional(),
  projectId: z.string().nullable().optional(),
  prompt: z.string().optional(),
  command: z.array(z.string()).nullable().optional(),
  status: HistoryStatus.optional(),
  rejectReason: z.string().nullable().optional(),
  assignedAt: z.number().optional(),
  startedAt: z.number().nullable().optional(),
  finishedAt: z.number().nullable().optional(),
  durationS: z.number().nullable().optional(),
  exitCode: z.number().int().nullable().optional(),
  worktreePath: z.string().nullable().optional(),
  branch: z.string().nullable().optional(),
  commitCount: z.number().int().nullable().optional(),
  logPath: z.string().nullable().optional(),
  error: z.string().nullable().optional(),
  result: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type HistoryPatch = z.infer<typeof HistoryPatch>;

export const HistoryFilter = z.object({
  status: HistoryStatus.optional(),
  /** case-insensitive substring of the task id, agent id or prompt */
  search: z.string().max(200).optional(),
});
export type HistoryFilter = z.infer<typeof HistoryFilter>;

export const HistoryQuery = HistoryFilter.extend({
  limit: z.number().int().min(1).max(200).default(50),
  /** `nextCursor` of the previous page: rows older than it */
  cursor: z.string().max(200).optional(),
});
export type HistoryQuery = z.input<typeof HistoryQuery>;

export const HistoryPage = z.object({ items: z.array(HistoryItem), nextCursor: z.string().nullable() });
export type HistoryPage = z.infer<typeof HistoryPage>;

/** A page as the window reads it: with the number of tasks matching the filter. */
export const CountedHistoryPage = HistoryPage.extend({ total: z.number().int() });
export type CountedHistoryPage = z.infer<typeof CountedHistoryPage>;

/** One line of a task's log: when (ISO 8601), which stream (stdout, stderr, runner), what. */
export const LogLine = z.object({ at: z.string(), stream: z.string(), text: z.string() });
export type LogLine = z.infer<typeof LogLine>;

export const PruneOptions = z.object({
  /** delete finished tasks older than this; 0 keeps them regardless of age */
  maxAgeDays: z.number().min(0).default(90),
  /** keep at most this many tasks (newest); 0 keeps any number */
  maxTasks: z.number().int().min(0).default(10_000),
});
export type PruneOptions = z.input<typeof PruneOptions>;

export interface PruneResult {
  rows: number;
  logFiles: number;
}
