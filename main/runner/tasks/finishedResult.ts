import type { HistoryRecord } from '../history/schema.ts';
import { TaskResult, type TaskComplete } from '../protocol/messages.ts';
import { completeMessage } from './taskRun.ts';

/**
 * The task_complete to send again when the server re-sends the task_assign of a task an earlier
 * run of the runner finished (protocol §9 S11: a 30-minute lease can requeue a task that is done),
 * rebuilt from its history row: the stored result, explicit `success`. Undefined when the task
 * should simply run: unknown here, still in flight, rejected, or ended in a way another attempt may
 * fix (stopped by a drain, interrupted by a restart) — the ones sent as `retryable`.
 */
export function finishedResultFrom(record: HistoryRecord | undefined): TaskComplete | undefined {
  if (!record || record.result === null) return undefined;
  if (!['completed', 'failed', 'timeout', 'cancelled'].includes(record.status)) return undefined;
  const parsed = TaskResult.safeParse(record.result);
  if (!parsed.success) return undefined;
  const result = parsed.data;
  const retryable = (result.status === 'cancelled' && result.error === 'runner_draining') || result.error === 'runner_restarted';
  return retryable ? undefined : completeMessage(record.taskId, result, false);
}
