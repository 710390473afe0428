import { RunnerError, errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { TaskObserver } from '../tasks/taskEvents.ts';
import { finishedPatch, type HistoryStore } from './historyStore.ts';
import type { HistoryPatch } from './schema.ts';

/** Writes are batched for this long: one transaction per batch keeps SQLite off the ack/spawn path. */
const BATCH_MS = 50;
/** Patches kept for the next try while the disk is full; beyond this the oldest batch is dropped. */
const MAX_HELD = 10_000;

export interface HistoryRecorder {
  observer: TaskObserver;
  /** write what is queued now (before close, and before reading in tests) */
  flush(): void;
}

/**
 * Task state changes into the queryable history, batched and in order. The journal, not this,
 * is what must be on disk before the runner acts; a crash loses at most the last batch here,
 * and recovery re-derives the outcome from the journal. A failed write never reaches the task:
 * it is logged with SQLite's own error; on a full disk the batch is kept (up to MAX_HELD patches)
 * and written with the next one once there is room.
 */
export function historyRecorder(
  history: Pick<HistoryStore, 'upsertMany'>,
  log: Logger,
  logPathFor: (taskId: string) => string | undefined,
): HistoryRecorder {
  let queue: HistoryPatch[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (!queue.length) return;
    const batch = queue;
    queue = [];
    try {
      history.upsertMany(mergedByTask(batch));
    } catch (err) {
      const typed = err instanceof RunnerError ? err : undefined;
      const keep = typed?.remedy === 'freeDisk' && batch.length + queue.length <= MAX_HELD;
      if (keep) queue = [...batch, ...queue];
      log.warn('history write failed', {
        tasks: batch.length,
        kept: keep,
        error: errorMessage(err),
        ...(typed ? { code: typed.code, ...typed.context } : {}),
      });
    }
  };
  const write = (patch: HistoryPatch): void => {
    queue.push(patch);
    timer ??= setTimeout(flush, BATCH_MS);
  };
  return {
    flush,
    observer: {
      assigned: (spec, at) =>
        write({
          taskId: spec.taskId,
          agentId: spec.agentId,
          projectId: spec.projectId,
          prompt: spec.prompt.slice(0, 500),
          command: spec.command,
          status: 'assigned',
          assignedAt: at,
        }),
      rejected: (taskId, reason, detail, raw) => {
        const now = Date.now();
        write({
          taskId,
          agentId: raw.agentId ?? null,
          projectId: raw.projectId ?? null,
          prompt: (raw.prompt ?? '').slice(0, 500),
          status: 'rejected',
          rejectReason: reason,
          error: detail,
          assignedAt: now,
          finishedAt: now,
        });
      },
      workspaceReady: (taskId, path, branch) =>
        write({ taskId, worktreePath: path, branch: branch ?? null, logPath: logPathFor(taskId) ?? null }),
      started: (taskId, _pid, at) => write({ taskId, status: 'running', startedAt: at }),
      finished: (_taskId, _result, message) => write(finishedPatch(message)),
    },
  };
}

/**
 * One patch per task, in the order tasks first appear: a short task's assigned, workspace,
 * started and finished patches usually fall in one batch, and one upsert of their union leaves
 * the same row as four in a row (a later defined field wins; undefined fields change nothing,
 * as in upsert) at a quarter of the statements and search-index updates.
 */
function mergedByTask(batch: HistoryPatch[]): HistoryPatch[] {
  const byTask = new Map<string, HistoryPatch>();
  for (const patch of batch) {
    const earlier = byTask.get(patch.taskId);
    if (!earlier) {
      byTask.set(patch.taskId, { ...patch });
      continue;
    }
    for (const [key, value] of Object.entries(patch)) if (value !== undefined) (earlier as Record<string, unknown>)[key] = value;
  }
  return [...byTask.values()];
}
