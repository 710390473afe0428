import type { RejectReason, TaskComplete, TaskResult } from '../protocol/messages.ts';
import type { TaskSpec } from './taskSpec.ts';

/** One step of a running task's live timeline: the agent's step without its detail (the view is pushed often). */
export interface TaskStep {
  id: string;
  /** plain words: "Editing src/upload.ts" */
  title: string;
  tool?: string;
  state: 'running' | 'ok' | 'error';
  /** ms since the epoch */
  startedAt: number;
  endedAt?: number;
}

/** A running task as the UI and `status` show it. */
export interface RunningTask {
  taskId: string;
  agentId: string;
  projectId: string;
  prompt: string;
  phase: 'preparing' | 'running' | 'finishing';
  assignedAt: number;
  startedAt: number | undefined;
  pid: number | undefined;
  worktreePath: string | undefined;
  branch: string | undefined;
  activity: string | undefined;
  logPath: string | undefined;
  /** the agent preset running it (claude-code, codex, …, or command), once chosen */
  agent: string | undefined;
  /** the agent's latest steps (at most MAX_VIEW_STEPS), oldest first; empty for agents that report none */
  steps: TaskStep[];
}

/** How many steps a running task's view keeps: enough for the card's timeline, small enough to push often. */
export const MAX_VIEW_STEPS = 30;

/**
 * What happens to tasks, in order, for the journal, the history and the UI. Every hook may be
 * async; the task manager awaits the ones that must be on disk before it acts (assigned, finished).
 */
export interface TaskObserver {
  assigned?(spec: TaskSpec, at: number): Promise<void> | void;
  rejected?(
    taskId: string,
    reason: RejectReason,
    detail: string,
    raw: { agentId?: string; projectId?: string; prompt?: string },
  ): Promise<void> | void;
  workspaceReady?(taskId: string, path: string, branch: string | undefined): Promise<void> | void;
  /** Just before the agent is spawned, with the run's SIBYL_TASK_MARKER: a crash right after the spawn still knows it. */
  launching?(taskId: string, marker: string): Promise<void> | void;
  /** `marker`: the run's SIBYL_TASK_MARKER (processTree.ts), so recovery finds processes that left the group */
  started?(taskId: string, pid: number, at: number, marker?: string): Promise<void> | void;
  line?(taskId: string, stream: 'stdout' | 'stderr', line: string): void;
  activity?(taskId: string, activity: string): void;
  finished?(taskId: string, result: TaskResult, message: TaskComplete): Promise<void> | void;
}
