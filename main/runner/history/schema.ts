import * as z from 'zod';

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
  /** the agent preset that ran the task (claude-code, codex, …), from the result */
  agent: z.string().nullable(),
  model: z.string().nullable(),
  /** what the agent reported the run cost; null when it did not say */
  costUsd: z.number().nullable(),
  /** the agent's own counts: input excludes cache reads and writes (Anthropic's meaning) */
  inputTokens: z.number().nullable(),
  outputTokens: z.number().nullable(),
});
export type HistoryItem = z.infer<typeof HistoryItem>;

export const PermissionDenial = z.object({ tool: z.string(), input: z.string() });
export type PermissionDenial = z.infer<typeof PermissionDenial>;

/** One task with everything the result said; the agent's report is read out of `result` (historyRows.ts). */
export const HistoryRecord = HistoryItem.extend({
  command: z.array(z.string()).nullable(),
  worktreePath: z.string().nullable(),
  logPath: z.string().nullable(),
  rejectReason: z.string().nullable(),
  /** the agent's final message (at most 4 KiB) */
  summary: z.string().nullable(),
  numTurns: z.number().nullable(),
  sessionId: z.string().nullable(),
  cacheReadTokens: z.number().nullable(),
  cacheCreationTokens: z.number().nullable(),
  /** what the agent asked for and was refused; empty when nothing was */
  permissionDenials: z.array(PermissionDenial),
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
  agent: z.string().nullable().optional(),
  model: z.string().nullable().optional(),
  costUsd: z.number().nullable().optional(),
  inputTokens: z.number().int().nullable().optional(),
  outputTokens: z.number().int().nullable().optional(),
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

/** One local day's finished tasks (rejected ones never ran: not counted). */
export const DailyTotal = z.object({
  /** YYYY-MM-DD in the local time zone */
  day: z.string(),
  tasks: z.number().int(),
  /** the sum of the costs the agents reported; null when none of the day's tasks reported one */
  costUsd: z.number().nullable(),
  inputTokens: z.number().nullable(),
  outputTokens: z.number().nullable(),
});
export type DailyTotal = z.infer<typeof DailyTotal>;

/** One local day's finished tasks by outcome (the dashboard's activity chart), and what their agents reported. */
export const ActivityDay = z.object({
  /** YYYY-MM-DD in the local time zone */
  day: z.string(),
  completed: z.number().int(),
  /** failed or timed out */
  failed: z.number().int(),
  cancelled: z.number().int(),
  /** the sum of the costs the agents reported; null when none of the day's tasks reported one */
  costUsd: z.number().nullable(),
  inputTokens: z.number().nullable(),
  outputTokens: z.number().nullable(),
});
export type ActivityDay = z.infer<typeof ActivityDay>;

export const DailyTotalsQuery = z.object({
  /** today and the days before it */
  days: z.number().int().min(1).max(90),
});
export type DailyTotalsQuery = z.infer<typeof DailyTotalsQuery>;

export interface PruneResult {
  rows: number;
  logFiles: number;
}
