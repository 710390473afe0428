import type { TaskObserver } from '../tasks/taskEvents.ts';
import { processStartTime } from '../tasks/processIdentity.ts';
import type { Journal } from './journal.ts';

/**
 * Task state changes into the journal, before the runner acts on them (the task manager awaits
 * these hooks). The result itself is journaled by the outbox when task_complete is enqueued.
 */
export function journalObserver(journal: Journal, logPathFor: (taskId: string) => string | undefined): TaskObserver {
  return {
    assigned: (spec) =>
      journal.assigned({
        taskId: spec.taskId,
        agentId: spec.agentId,
        projectId: spec.projectId,
        prompt: spec.prompt,
        command: spec.command,
      }),
    workspaceReady: (taskId, path, branch) => journal.workspaceReady(taskId, path, branch),
    launching: (taskId, marker) => journal.launching(taskId, marker),
    // Agents lead their own process group (spawned detached), so pgid = pid. The start time lets
    // recovery tell our process from a recycled pid.
    started: (taskId, pid, _at, marker) =>
      journal.started(taskId, { pid, pgid: pid, startTime: processStartTime(pid), logPath: logPathFor(taskId), marker }),
  };
}
