import type { Logger } from '../logger.ts';
import type { TaskObserver } from '../tasks/taskEvents.ts';
import { finishedPatch, type TaskHistory } from './historyStore.ts';
import type { HistoryPatch } from './schema.ts';

/**
 * Task state changes into the queryable history. Writes are deferred a tick so they never delay
 * a task_ack; they stay in order (setImmediate is FIFO). The journal, not this, is what must be
 * on disk first.
 */
export function historyObserver(history: TaskHistory, log: Logger, logPathFor: (taskId: string) => string | undefined): TaskObserver {
  const write = (patch: HistoryPatch): void => {
    setImmediate(() => {
      try {
        history.upsert(patch);
      } catch (err) {
        log.warn('history write failed', { taskId: patch.taskId, error: err });
      }
    });
  };
  return {
    assigned: (spec, at) => write({ taskId: spec.taskId, agentId: spec.agentId, projectId: spec.projectId, prompt: spec.prompt.slice(0, 500), command: spec.command, status: 'assigned', assignedAt: at }),
    rejected: (taskId, reason, detail, raw) => {
      const now = Date.now();
      write({ taskId, agentId: raw.agentId ?? null, projectId: raw.projectId ?? null, prompt: (raw.prompt ?? '').slice(0, 500), status: 'rejected', rejectReason: reason, error: detail, assignedAt: now, finishedAt: now });
    },
    workspaceReady: (taskId, path, branch) => write({ taskId, worktreePath: path, branch: branch ?? null, logPath: logPathFor(taskId) ?? null }),
    started: (taskId, _pid, at) => write({ taskId, status: 'running', startedAt: at }),
    finished: (_taskId, _result, message) => write(finishedPatch(message)),
  };
}
