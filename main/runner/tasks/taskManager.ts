import { errorMessage, TaskRejected } from '../errors.ts';
import { background, type Logger } from '../logger.ts';
import type { AgentUpdate, DurableMessage, RejectReason, RunnerStatus, TaskAssign, TaskComplete } from '../protocol/messages.ts';
import type { WorkspaceProvider } from '../workspace/workspace.ts';
import { collectAfterOutput } from './outputCollection.ts';
import type { RunningTask, TaskObserver } from './taskEvents.ts';
import { TaskRun, type TaskRunDeps } from './taskRun.ts';
import { useSpawnHost } from './spawnHost.ts';
import { resolvePrompt, toTaskSpec, type SpecDefaults, type TaskSpec } from './taskSpec.ts';

export interface TaskManagerDeps extends SpecDefaults {
  maxAgents: number;
  workspaces: WorkspaceProvider;
  /** Optional synchronous check (e.g. branch names) so a bad task is rejected before it is acked. */
  validate?: (spec: TaskSpec) => void;
  observer: TaskObserver;
  /** durable: persisted, then sent in order (outbox) */
  deliver: (msg: DurableMessage) => Promise<void>;
  /** best effort: agent_update and status */
  post: (msg: AgentUpdate | { type: 'status'; status: RunnerStatus; agent_count: number }) => void;
  onChange?: () => void;
  log: Logger;
  baseEnv: Record<string, string | undefined>;
  agents: TaskRunDeps['agents'];
  autoCommit: boolean;
  pushBranch?: boolean;
  sandboxId: string;
  secrets: () => string[];
  timeoutGraceMs?: number;
  cancelGraceMs?: number;
  activityIntervalMs?: number;
  openLog?: TaskRunDeps['openLog'];
  /**
   * The final task_complete of a task an earlier run of the runner finished (from the history),
   * so a re-sent assignment after a restart is answered with it instead of running the agent again.
   */
  finishedResult?: (taskId: string) => TaskComplete | undefined;
}

const RECENT_LIMIT = 500;

/** Admission (capacity, draining, validation, duplicates) and bookkeeping of running tasks. */
export class TaskManager {
  readonly #d: TaskManagerDeps;
  readonly #running = new Map<string, TaskRun>();
  /** task_complete of recently finished tasks, so a re-sent assignment is answered, not re-run (§9 S11). */
  readonly #recent = new Map<string, TaskComplete>();
  readonly #idle = new Set<() => void>();
  /**
   * Running tasks whose result is decided and on its way out (journal flush, then the link): they
   * no longer count against the capacity, since the server may assign the next task the moment it
   * reads that result, before this runner has seen its own send complete.
   */
  readonly #finishing = new Set<string>();
  #draining = false;
  #maxAgents: number;

  constructor(deps: TaskManagerDeps) {
    this.#d = deps;
    this.#maxAgents = deps.maxAgents;
    // Agents and gits are forked off the event loop that answers the server from now on, and the
    // buffers their output leaves are collected as it comes (tasks/outputCollection.ts).
    useSpawnHost();
    collectAfterOutput();
  }

  get draining(): boolean {
    return this.#draining;
  }

  get maxAgents(): number {
    return this.#maxAgents;
  }

  set maxAgents(n: number) {
    this.#maxAgents = n;
    this.sendStatus();
  }

  running(): RunningTask[] {
    return [...this.#running.values()].map((r) => ({ ...r.view }));
  }

  /** online / busy / draining as §5.11, with the true agent count. */
  status(): { status: RunnerStatus; agent_count: number } {
    const n = this.#running.size;
    return { status: this.#draining ? 'draining' : n >= this.#maxAgents ? 'busy' : 'online', agent_count: n };
  }

  sendStatus(): void {
    this.#d.post({ type: 'status', ...this.status() });
    this.#d.onChange?.();
  }

  /** Handle one `task_assign`. Resolves once the task is acked (or rejected); the run continues in the background. */
  async assign(msg: TaskAssign): Promise<void> {
    const { task_id: taskId, agent_id: agentId } = msg;
    if (this.#running.has(taskId)) {
      this.#d.log.info('duplicate task_assign for a running task; acking again', { taskId });
      await this.#d.deliver({ type: 'task_ack', task_id: taskId, agent_id: agentId });
      return;
    }
    const done = this.#finished(taskId);
    // A retryable failure re-assigned is a genuine new attempt; anything else was already answered.
    if (done && !done.retryable) {
      this.#d.log.info('duplicate task_assign for a finished task; re-sending its result', { taskId, status: done.result.status });
      await this.#d.deliver({ type: 'task_ack', task_id: taskId, agent_id: agentId });
      await this.#d.deliver(done);
      return;
    }
    let spec: TaskSpec;
    try {
      if (this.#draining) throw new TaskRejected('runner_draining', 'the runner is draining');
      spec = toTaskSpec(msg, this.#d);
      // An agent CLI with nothing to do would fail on every runner: refused before the ack.
      if (spec.commandSource === 'agent' && !spec.prompt) throw new TaskRejected('invalid_task', 'the task has no prompt and no command');
      this.#d.validate?.(spec);
      const busy = this.#running.size - this.#finishing.size;
      if (busy >= this.#maxAgents) throw new TaskRejected('at_capacity', `running ${busy} of ${this.#maxAgents} agents`);
    } catch (err) {
      const reason: RejectReason = err instanceof TaskRejected ? err.reason : 'invalid_task';
      await this.#reject({ taskId, agentId, projectId: msg.project_id, prompt: resolvePrompt(msg) }, reason, errorMessage(err));
      return;
    }
    const run = new TaskRun(spec, {
      workspaces: this.#d.workspaces,
      observer: this.#d.observer,
      log: this.#d.log,
      update: (u) => this.#d.post({ type: 'agent_update', agent_id: spec.agentId, ...u }),
      baseEnv: this.#d.baseEnv,
      agents: this.#d.agents,
      autoCommit: this.#d.autoCommit,
      ...(this.#d.pushBranch ? { pushBranch: true } : {}),
      sandboxId: this.#d.sandboxId,
      secrets: this.#d.secrets(),
      ...(this.#d.timeoutGraceMs !== undefined ? { timeoutGraceMs: this.#d.timeoutGraceMs } : {}),
      ...(this.#d.cancelGraceMs !== undefined ? { cancelGraceMs: this.#d.cancelGraceMs } : {}),
      ...(this.#d.activityIntervalMs !== undefined ? { activityIntervalMs: this.#d.activityIntervalMs } : {}),
      ...(this.#d.onChange ? { onViewChange: this.#d.onChange } : {}),
      ...(this.#d.openLog ? { openLog: this.#d.openLog } : {}),
    });
    this.#running.set(taskId, run);
    try {
      await this.#d.observer.assigned?.(spec, run.view.assignedAt);
    } catch (err) {
      // The state folder cannot record it (a full disk): run it anyway; the result is sent from memory.
      this.#d.log.error('could not record the assignment; running it anyway', { taskId, error: err });
    }
    try {
      await this.#d.deliver({ type: 'task_ack', task_id: taskId, agent_id: agentId });
    } catch (err) {
      this.#d.log.error('could not queue the task_ack', { taskId, error: err });
    }
    this.sendStatus();
    background(this.#d.log, `task ${taskId}`, this.#execute(run));
  }

  /**
   * A task_assign that names its task but is otherwise unreadable (`agent_id: 123`, `config:
   * "nope"`): refused as `invalid_task` with the reason logged, so the server need not wait out its
   * lease. An id already running or finished here is left alone (the assignment is a broken repeat).
   */
  async refuse(taskId: string, reason: string): Promise<void> {
    if (this.#running.has(taskId) || this.#finished(taskId)) {
      this.#d.log.warn('ignored an unreadable repeat of a known task_assign', { taskId, reason });
      return;
    }
    await this.#reject({ taskId, agentId: '', projectId: '', prompt: '' }, 'invalid_task', reason);
  }

  /** The final message of a task finished in this run, or an earlier one (from the history). */
  #finished(taskId: string): TaskComplete | undefined {
    const recent = this.#recent.get(taskId);
    if (recent) return recent;
    try {
      return this.#d.finishedResult?.(taskId);
    } catch (err) {
      this.#d.log.warn('could not look up an earlier result', { taskId, error: err });
      return undefined;
    }
  }

  async #reject(
    task: { taskId: string; agentId: string; projectId: string; prompt: string },
    reason: RejectReason,
    detail: string,
  ): Promise<void> {
    const { taskId, ...about } = task;
    this.#d.log.warn('task rejected', { taskId, reason, detail });
    try {
      await this.#d.observer.rejected?.(taskId, reason, detail, about);
    } catch (err) {
      this.#d.log.error('could not record the rejection', { taskId, error: err });
    }
    await this.#d.deliver({ type: 'task_reject', task_id: taskId, reason });
  }

  async #execute(run: TaskRun): Promise<void> {
    const { message, workspace } = await run.execute();
    const status = message.result.status;
    this.#finishing.add(run.spec.taskId);
    try {
      try {
        await this.#d.observer.finished?.(run.spec.taskId, message.result, message);
      } catch (err) {
        // The history cannot record it (a full disk): the result still goes out, and the journal keeps it.
        this.#d.log.error('could not record the finished task', { taskId: run.spec.taskId, error: err });
      }
      await this.#d.deliver(message);
    } finally {
      this.#d.post({
        type: 'agent_update',
        agent_id: run.spec.agentId,
        status: status === 'completed' ? 'completed' : status === 'cancelled' ? 'cancelled' : 'failed',
        progress: status === 'completed' ? 100 : null,
        activity:
          status === 'completed'
            ? 'Execution finished'
            : status === 'cancelled'
              ? 'Execution cancelled'
              : `Execution ${status}${message.error ? `: ${message.error.slice(0, 160)}` : ''}`,
      });
      this.#running.delete(run.spec.taskId);
      this.#finishing.delete(run.spec.taskId);
      this.#remember(run.spec.taskId, message);
      this.sendStatus();
      if (this.#running.size === 0) for (const fn of this.#idle) fn();
    }
    if (workspace)
      await workspace.release({ status, ...(typeof message.result.dirty === 'boolean' ? { dirty: message.result.dirty } : {}) });
  }

  #remember(taskId: string, msg: TaskComplete): void {
    this.#recent.set(taskId, msg);
    if (this.#recent.size > RECENT_LIMIT) this.#recent.delete(this.#recent.keys().next().value!);
  }

  /** `task_cancel`: unknown ids are logged only (§5.12). */
  cancel(taskId: string): boolean {
    const run = this.#running.get(taskId);
    if (!run) {
      this.#d.log.info('task_cancel for an unknown task', { taskId });
      return false;
    }
    run.stop('task_cancel');
    return true;
  }

  /** Stop accepting tasks; with `cancelRunning`, stop every agent (reported cancelled, retryable). */
  drain(cancelRunning: boolean): void {
    this.#draining = true;
    this.sendStatus();
    if (cancelRunning) for (const run of this.#running.values()) run.stop('runner_draining');
  }

  /** End every running agent now (SIGKILL, no grace): a drain out of time, or a second signal. Their results are still reported. */
  killAll(): void {
    for (const run of this.#running.values()) run.kill('runner_draining');
  }

  resume(): void {
    this.#draining = false;
    this.sendStatus();
  }

  /** Resolves when no task is running (or after `timeoutMs`). */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.#running.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const fn = (): void => {
        clearTimeout(t);
        this.#idle.delete(fn);
        resolve(true);
      };
      const t = setTimeout(() => {
        this.#idle.delete(fn);
        resolve(false);
      }, timeoutMs);
      this.#idle.add(fn);
    });
  }
}
