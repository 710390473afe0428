import { fitToBudget } from '../protocol/messageBudget.ts';
import { TASK_MARKER_VAR } from './processTree.ts';
import type { Logger } from '../logger.ts';
import { errorMessage } from '../errors.ts';
import type { AgentUpdate, ResultStatus, TaskComplete, TaskResult } from '../protocol/messages.ts';
import type { PreparedWorkspace, WorkspaceProvider } from '../workspace/workspace.ts';
import type { AgentLauncher, AgentPlan } from '../agents/agentLauncher.ts';
import type { AgentOutcome, AgentStep } from '../agents/preset.ts';
import { oneLine } from '../vocabulary.ts';
import { AgentProcess, type StopReason } from './agentProcess.ts';
import { spawnHost } from './spawnHost.ts';
import { agentEnv } from './agentEnv.ts';
import { isTooLargeToStart, tooLargeMessage } from './launchSize.ts';
import { visibleText } from './lineSplitter.ts';
import { MAX_VIEW_STEPS, type RunningTask, type TaskObserver, type TaskStep } from './taskEvents.ts';
import { loopTurn } from './loopTurn.ts';
import type { TaskSpec } from './taskSpec.ts';
import type { TaskLogWriter } from './taskLog.ts';

export interface TaskRunDeps {
  workspaces: WorkspaceProvider;
  /** chooses and launches the task's agent (agents/agentLauncher.ts) */
  agents: AgentLauncher;
  /** commit what an editing agent left in a git worktree (runner.yaml auto_commit) */
  autoCommit: boolean;
  /** push the task branch to the linked repository's remote after committing (runner.yaml push_branch) */
  pushBranch?: boolean;
  observer: TaskObserver;
  log: Logger;
  /** agent_update: fire-and-forget, may be lost while the link is down */
  update: (msg: Omit<AgentUpdate, 'type' | 'agent_id'>) => void;
  baseEnv: Record<string, string | undefined>;
  sandboxId: string;
  secrets: string[];
  timeoutGraceMs?: number;
  cancelGraceMs?: number;
  /** minimum gap between activity updates of one task */
  activityIntervalMs?: number;
  /** the task's view changed (phase, pid, worktree, activity): the UI snapshot is stale */
  onViewChange?: () => void;
  /** the per-task log file (full output with timestamps and stream names) */
  openLog?: (taskId: string) => { path: string; writer: TaskLogWriter } | undefined;
}

/** One task from accepted to reported: workspace, agent process, throttled activity, result. */
export class TaskRun {
  readonly spec: TaskSpec;
  readonly view: RunningTask;
  readonly #deps: TaskRunDeps;
  #process: AgentProcess | undefined;
  #stopReason: StopReason | undefined;
  /** Aborted on cancel or drain: stops preparation (clone, fetch, a repository lock wait) and a push, killing their git children. */
  readonly #stopping = new AbortController();
  #latest: string | undefined;
  #lastSentAt = Number.NEGATIVE_INFINITY;
  #activityTimer: NodeJS.Timeout | undefined;
  #log: TaskLogWriter | undefined;
  #paused = false;
  #plan: AgentPlan | undefined;
  /** 0–100 from the agent's own todo list, when it keeps one */
  #progress: number | null = null;
  /** a view change for steps is waiting (at most one per STEP_PUSH_MS) */
  #stepTimer: NodeJS.Timeout | undefined;
  #lastStepPushAt = Number.NEGATIVE_INFINITY;
  /** steps that fell off the view's front, so their late results do not bring them back (bounded) */
  readonly #evictedSteps = new Set<string>();

  constructor(spec: TaskSpec, deps: TaskRunDeps) {
    this.spec = spec;
    this.#deps = deps;
    this.view = {
      taskId: spec.taskId,
      agentId: spec.agentId,
      projectId: spec.projectId,
      prompt: spec.prompt,
      phase: 'preparing',
      assignedAt: Date.now(),
      startedAt: undefined,
      pid: undefined,
      worktreePath: undefined,
      branch: undefined,
      activity: undefined,
      logPath: undefined,
      agent: undefined,
      steps: [],
    };
  }

  /** Cancel, drain or shutdown: stops the agent, or aborts the workspace preparation still under way. */
  stop(reason: StopReason): void {
    this.#stopReason ??= reason;
    if (!this.#stopping.signal.aborted) this.#stopping.abort(new PreparationStopped(reason));
    this.#process?.stop(reason);
  }
  /** Stop it and end its agent now, without the grace period (a drain whose time is up). */
  kill(reason: StopReason): void {
    this.stop(reason);
    this.#process?.kill(reason);
  }

  /** Runs to the end and returns the one `task_complete` for this task. Never throws. */
  async execute(): Promise<{ message: TaskComplete; workspace: PreparedWorkspace | undefined }> {
    const { spec } = this;
    const t0 = performance.now();
    let workspace: PreparedWorkspace | undefined;
    try {
      await loopTurn();
      this.#deps.update({ status: 'running', progress: 5, activity: 'Preparing workspace' });
      workspace = await this.#deps.workspaces.prepare(spec, this.#stopping.signal);
      this.view.worktreePath = workspace.path;
      this.view.branch = workspace.env.SIBYL_BRANCH;
      const plan = await this.#deps.agents.plan(spec, workspace.path, workspace.env.SIBYL_BRANCH);
      this.#plan = plan;
      this.view.agent = plan.agent;
      const log = this.#deps.openLog?.(spec.taskId);
      if (log) {
        this.#log = log.writer;
        this.view.logPath = log.path;
        log.writer.write(
          'runner',
          `workspace ${workspace.path}${workspace.env.SIBYL_BRANCH ? ` (branch ${workspace.env.SIBYL_BRANCH})` : ''}; agent ${plan.agent}; command ${JSON.stringify(plan.launch.argv)}`,
        );
      }
      this.#deps.onViewChange?.();
      await this.#deps.observer.workspaceReady?.(spec.taskId, workspace.path, workspace.env.SIBYL_BRANCH);
      if (this.#stopReason) {
        await this.#closeLog(`cancelled before the agent started (${this.#stopReason})`);
        await plan.cleanup();
        return { message: this.#cancelledBeforeStart(t0, workspace.path, plan), workspace };
      }
      this.#deps.update({ status: 'running', progress: 20, activity: `Starting ${plan.label}` });
      const env = agentEnv({
        base: this.#deps.baseEnv,
        spec,
        worktreePath: workspace.path,
        promptFile: plan.promptFile,
        sandboxId: this.#deps.sandboxId,
        secrets: this.#deps.secrets,
        extra: { ...plan.launch.env, ...workspace.env },
      });
      const marker = env[TASK_MARKER_VAR];
      if (marker) await this.#deps.observer.launching?.(spec.taskId, marker);
      // Spawning on this thread holds it until the child has exec'd; the spawn host does not.
      if (!spawnHost()) await loopTurn();
      let proc: AgentProcess;
      try {
        proc = await AgentProcess.start({
          argv: plan.launch.argv,
          cwd: workspace.path,
          env,
          stdin: plan.launch.stdin,
          interruptSignal: plan.launch.interruptSignal,
          timeoutMs: plan.timeoutSeconds * 1000,
          ...(this.#deps.timeoutGraceMs !== undefined ? { timeoutGraceMs: this.#deps.timeoutGraceMs } : {}),
          ...(this.#deps.cancelGraceMs !== undefined ? { cancelGraceMs: this.#deps.cancelGraceMs } : {}),
          onLine: (stream, line) => this.#onLine(stream, line),
          onPartial: (stream, text) => this.#onPartial(stream, text),
        });
      } catch (err) {
        // Node throws E2BIG from spawn itself; anything else it throws is the catch-all's (retryable).
        if (!isTooLargeToStart(err)) throw err;
        return { message: await this.#notStarted(t0, workspace.path, plan, tooLargeMessage(plan.label, plan.launch.argv, env)), workspace };
      }
      this.#process = proc;
      if (proc.pid !== undefined) {
        this.view.pid = proc.pid;
        this.view.startedAt = Date.now();
        this.view.phase = 'running';
        this.#deps.onViewChange?.();
        await this.#deps.observer.started?.(spec.taskId, proc.pid, this.view.startedAt, proc.marker);
      }
      if (this.#stopReason) proc.stop(this.#stopReason);
      const exit = await proc.exited;
      this.view.phase = 'finishing';
      clearTimeout(this.#activityTimer);
      const outcome = plan.parser?.outcome() ?? {};
      let status: ResultStatus =
        exit.stoppedBy === 'timeout'
          ? 'timeout'
          : exit.stoppedBy
            ? 'cancelled'
            : exit.spawnError
              ? 'failed'
              : exit.exitCode === 0
                ? 'completed'
                : 'failed';
      const needsInput = status === 'completed' || status === 'failed' ? needsInputOf(outcome) : undefined;
      // An agent may exit 0 having failed (an API error) or having been refused what it needed.
      if (status === 'completed' && (outcome.error !== undefined || needsInput !== undefined)) status = 'failed';
      const error =
        status === 'timeout'
          ? `timed out after ${plan.timeoutSeconds} s`
          : status === 'cancelled'
            ? exit.stoppedBy
            : (needsInput ??
              (exit.spawnError !== undefined && isTooLargeToStart(exit.spawnError)
                ? tooLargeMessage(plan.label, plan.launch.argv, env)
                : exit.spawnError) ??
              (status === 'failed' ? (outcome.error ?? exitReason(exit.exitCode, exit.stderr)) : undefined));
      const committed = status === 'completed' ? await this.#commit(workspace, plan, outcome) : undefined;
      const result: TaskResult = {
        status,
        exit_code: exit.exitCode,
        command: plan.launch.argv,
        worktree_path: workspace.path,
        stdout: exit.stdout,
        stderr: exit.stderr,
        duration_s: round3((performance.now() - t0) / 1000),
        ...(error !== undefined ? { error } : {}),
        ...(this.view.logPath ? { log_path: this.view.logPath } : {}),
        ...agentFields(plan, outcome),
        ...(committed ? { auto_commit: committed } : {}),
        ...(status === 'completed' && !plan.readOnly ? await this.#push(workspace) : {}),
        ...(await this.#describe(workspace)),
      };
      await this.#closeLog(
        `agent ended: ${status}${exit.exitCode !== null ? `, exit code ${exit.exitCode}` : ''}${error ? ` (${error})` : ''}`,
      );
      await plan.cleanup();
      const retryable = status === 'cancelled' && exit.stoppedBy === 'runner_draining';
      return { message: completeMessage(spec.taskId, result, needsInput ? false : retryable), workspace };
    } catch (err) {
      await this.#plan?.cleanup();
      // Stopped while preparing: whatever preparation raised (a killed git, an aborted lock wait) is the stop's doing.
      if (this.#stopReason) {
        this.#deps.log.info('task stopped while its workspace was prepared', { taskId: spec.taskId, reason: this.#stopReason });
        await this.#closeLog(`cancelled before the agent started (${this.#stopReason})`);
        return { message: this.#cancelledBeforeStart(t0, workspace?.path ?? '', this.#plan), workspace };
      }
      this.#deps.log.error('task failed before the agent ran', { taskId: spec.taskId, error: err });
      await this.#closeLog(`failed: ${errorMessage(err)}`);
      const result: TaskResult = {
        status: 'failed',
        exit_code: null,
        worktree_path: workspace?.path ?? '',
        duration_s: round3((performance.now() - t0) / 1000),
        error: errorMessage(err),
      };
      // Workspace preparation failures (git fetch, disk) are worth another attempt elsewhere.
      return { message: completeMessage(spec.taskId, result, true), workspace };
    }
  }

  /** Auto-commit (issue 11): an editing agent's changes go on the task branch with the task trailer. */
  async #commit(workspace: PreparedWorkspace, plan: AgentPlan, outcome: AgentOutcome): Promise<string | undefined> {
    if (!this.#deps.autoCommit || plan.readOnly || !workspace.commit) return undefined;
    // Control characters (a NUL in a prompt) cannot travel in argv, and have no place in a subject.
    // eslint-disable-next-line no-control-regex -- stripping control characters is the point
    const clean = (t: string): string => oneLine(t.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ''), 72);
    const subject = clean(outcome.summary ?? '') || clean(this.spec.prompt) || `Sibyl task ${this.spec.taskId}`;
    try {
      return await workspace.commit(subject, `Sibyl-Task: ${this.spec.taskId}`);
    } catch (err) {
      // The work stays in the kept worktree (reported dirty); the result says why it was not committed.
      this.#deps.log.warn("could not commit the agent's work", { taskId: this.spec.taskId, error: err });
      this.#log?.write('runner', `auto-commit failed: ${errorMessage(err)}`);
      return undefined;
    }
  }

  /** push_branch: the task branch goes to the linked repository's remote; the result says whether it did. */
  async #push(workspace: PreparedWorkspace): Promise<Record<string, unknown>> {
    if (!this.#deps.pushBranch || !workspace.push) return {};
    try {
      return { pushed: true, remote_branch: await workspace.push(this.#stopping.signal) };
    } catch (err) {
      this.#deps.log.warn('could not push the task branch', { taskId: this.spec.taskId, error: err });
      return { pushed: false, push_error: errorMessage(err) };
    }
  }

  async #closeLog(last: string): Promise<void> {
    const log = this.#log;
    this.#log = undefined;
    if (!log) return;
    log.write('runner', last);
    await log
      .close()
      .catch((err: unknown) => this.#deps.log.warn('could not close the task log', { taskId: this.spec.taskId, error: err }));
  }

  async #describe(workspace: PreparedWorkspace): Promise<Record<string, unknown>> {
    try {
      return await workspace.describe();
    } catch (err) {
      this.#deps.log.warn('could not describe workspace', { taskId: this.spec.taskId, error: err });
      return {};
    }
  }

  /** The agent could not be started, the same on any runner (E2BIG): failed, not retryable. */
  async #notStarted(t0: number, path: string, plan: AgentPlan, error: string): Promise<TaskComplete> {
    this.#deps.log.warn('the agent could not be started', { taskId: this.spec.taskId, error });
    await this.#closeLog(`agent not started: ${error}`);
    await plan.cleanup();
    const result: TaskResult = {
      status: 'failed',
      exit_code: null,
      command: plan.launch.argv.map((a) => oneLine(a, 200)),
      worktree_path: path,
      duration_s: round3((performance.now() - t0) / 1000),
      error,
      agent: plan.agent,
    };
    return completeMessage(this.spec.taskId, result, false);
  }

  #cancelledBeforeStart(t0: number, path: string, plan: AgentPlan | undefined): TaskComplete {
    const reason = this.#stopReason ?? 'task_cancel';
    return completeMessage(
      this.spec.taskId,
      {
        status: 'cancelled',
        exit_code: null,
        worktree_path: path,
        duration_s: round3((performance.now() - t0) / 1000),
        error: reason,
        ...(plan ? { agent: plan.agent } : {}),
      },
      reason === 'runner_draining',
    );
  }

  /** At most one activity update per interval per task, always carrying the latest line. */
  #onLine(stream: 'stdout' | 'stderr', line: string): void {
    const log = this.#log;
    if (log) {
      log.write(stream, line);
      // The disk is behind: stop reading (the agent waits on its pipe) rather than buffer or drop.
      if (log.congested && !this.#paused && this.#process) {
        this.#paused = true;
        const proc = this.#process;
        proc.pauseOutput();
        log.whenDrained(() => {
          this.#paused = false;
          proc.resumeOutput();
        });
      }
    }
    this.#deps.observer.line?.(this.spec.taskId, stream, line);
    const parser = this.#plan?.parser;
    if (parser) {
      // Structured agents: activity in words from their events; stderr is diagnostics, kept in the log.
      if (stream !== 'stdout') return;
      const parsed = parser.line(line, Date.now());
      if (parsed.steps?.length) this.#mergeSteps(parsed.steps);
      if (parsed.progress !== undefined) this.#progress = parsed.progress;
      if (parsed.activity === undefined) return;
      this.#latest = parsed.activity;
    } else {
      this.#latest = `${stream}: ${visibleText(line).slice(0, 200)}`;
    }
    this.#scheduleActivity();
  }

  /**
   * The agent's unterminated line changed (progress redrawn with `\r`): the log's follow view gets
   * it, and for a plain command it is the activity. A structured agent's stdout partial is half a
   * JSON event and its stderr diagnostics: neither is activity.
   */
  #onPartial(stream: 'stdout' | 'stderr', text: string): void {
    this.#log?.partial(stream, text);
    if (this.#plan?.parser) return;
    this.#latest = `${stream}: ${text.slice(0, 200)}`;
    this.#scheduleActivity();
  }

  /** Sends the latest activity now, or once the interval since the last one has passed. */
  #scheduleActivity(): void {
    if (this.#activityTimer) return;
    const gap = this.#deps.activityIntervalMs ?? 1000;
    const wait = this.#lastSentAt + gap - performance.now();
    if (wait <= 0) this.#flushActivity();
    else {
      this.#activityTimer = setTimeout(() => this.#flushActivity(), wait);
      this.#activityTimer.unref();
    }
  }

  /** The live timeline: steps merged by id, the newest MAX_VIEW_STEPS kept, the view replaced (never mutated under a reader). */
  #mergeSteps(steps: readonly AgentStep[]): void {
    const next = [...this.view.steps];
    for (const step of steps) {
      if (this.#evictedSteps.has(step.id)) continue;
      const shown = viewStep(step);
      const at = next.findIndex((s) => s.id === step.id);
      if (at === -1) next.push(shown);
      else next[at] = shown;
    }
    for (const gone of next.splice(0, Math.max(0, next.length - MAX_VIEW_STEPS))) {
      this.#evictedSteps.add(gone.id);
      if (this.#evictedSteps.size > EVICTED_KEPT) this.#evictedSteps.delete(this.#evictedSteps.values().next().value!);
    }
    this.view.steps = next;
    // A chatty agent changes steps many times a second; the window is told at most once per STEP_PUSH_MS.
    if (this.#stepTimer) return;
    const wait = this.#lastStepPushAt + STEP_PUSH_MS - performance.now();
    if (wait <= 0) this.#pushSteps();
    else {
      this.#stepTimer = setTimeout(() => this.#pushSteps(), wait);
      this.#stepTimer.unref();
    }
  }

  /** The last steps of a finished agent are pushed too: the card shows them until the task leaves the view. */
  #pushSteps(): void {
    this.#stepTimer = undefined;
    this.#lastStepPushAt = performance.now();
    this.#deps.onViewChange?.();
  }

  #flushActivity(): void {
    this.#activityTimer = undefined;
    if (this.#latest === undefined || this.view.phase !== 'running') return;
    this.#lastSentAt = performance.now();
    this.view.activity = this.#latest;
    this.#deps.observer.activity?.(this.spec.taskId, this.#latest);
    this.#deps.onViewChange?.();
    this.#deps.update({ status: 'running', progress: this.#progress, activity: this.#latest });
    this.#latest = undefined;
  }
}

/** The abort reason handed to the workspace provider when a task is stopped during preparation. */
export class PreparationStopped extends Error {
  readonly reason: StopReason;
  constructor(reason: StopReason) {
    super(`preparation stopped: ${reason}`);
    this.name = 'PreparationStopped';
    this.reason = reason;
  }
}

/** Step changes reach the window at most this often (each one is a full state push). */
const STEP_PUSH_MS = 250;
/** How many evicted step ids are remembered; a result arrives long before this many newer steps. */
const EVICTED_KEPT = 1000;

/** A step as the live view carries it: no detail, no undefined fields (the snapshot crosses JSON). */
function viewStep(s: AgentStep): TaskStep {
  return {
    id: s.id,
    title: s.title,
    ...(s.tool !== undefined ? { tool: s.tool } : {}),
    state: s.state,
    startedAt: s.startedAt,
    ...(s.endedAt !== undefined ? { endedAt: s.endedAt } : {}),
  };
}

/** "agent exited with code 1: <its last words on stderr>" — the agent's own reason when it gave one. */
function exitReason(code: number | null, stderr: string): string {
  const last = stderr.trimEnd().split('\n').pop()?.trim();
  return `agent exited with code ${code}${last ? `: ${oneLine(last, 300)}` : ''}`;
}

/** A run that stopped on something only a person can give: a question, or a refused permission. */
function needsInputOf(outcome: AgentOutcome): string | undefined {
  if (outcome.question) return `needs_input: ${outcome.question}`;
  const denied = outcome.permission_denials;
  if (denied?.length) return `needs_input: ${oneLine(`the agent was refused: ${denied.map((d) => d.input || d.tool).join('; ')}`, 400)}`;
  return undefined;
}

/** The result's agent fields (issue 11): what ran, what it said, what it cost. */
function agentFields(plan: AgentPlan, o: AgentOutcome): Record<string, unknown> {
  const model = o.model ?? plan.launch.model;
  return {
    agent: plan.agent,
    ...(model !== undefined ? { model } : {}),
    ...(o.summary !== undefined ? { summary: o.summary } : {}),
    ...(o.usage !== undefined ? { usage: o.usage } : {}),
    ...(o.cost_usd !== undefined ? { cost_usd: o.cost_usd } : {}),
    ...(o.num_turns !== undefined ? { num_turns: o.num_turns } : {}),
    ...(o.session_id !== undefined ? { session_id: o.session_id } : {}),
    ...(o.permission_denials?.length ? { permission_denials: o.permission_denials } : {}),
  };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/**
 * Explicit `success` always (S8); `retryable` when another attempt may succeed. Cut to the message
 * budget here, where every task_complete is made (a run, crash recovery, a re-sent result), so the
 * journal, the history and the wire all hold the same message.
 */
export function completeMessage(taskId: string, result: TaskResult, retryable: boolean): TaskComplete {
  const success = result.status === 'completed';
  const msg: TaskComplete = {
    type: 'task_complete',
    task_id: taskId,
    success,
    retryable: !success && retryable,
    ...(result.error !== undefined && !success ? { error: result.error } : {}),
    result,
  };
  return fitToBudget(msg) ?? msg;
}
