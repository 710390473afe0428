import * as z from 'zod';
import { REMEDIES } from '../errors.ts';

/** One step of a running task's live timeline (tasks/taskEvents.ts `TaskStep`). */
export const StepState = z.enum(['running', 'ok', 'error']);
export const TaskStepView = z.object({
  id: z.string(),
  /** plain words: "Editing src/upload.ts" */
  title: z.string(),
  tool: z.string().optional(),
  state: StepState,
  startedAt: z.number(),
  endedAt: z.number().optional(),
});

/** The daemon's live state: what `status`, the tray and the dashboard show. */
export const RunningTaskView = z.object({
  taskId: z.string(),
  agentId: z.string(),
  projectId: z.string(),
  prompt: z.string(),
  phase: z.enum(['preparing', 'running', 'finishing']),
  assignedAt: z.number(),
  startedAt: z.number().optional(),
  pid: z.number().optional(),
  worktreePath: z.string().optional(),
  branch: z.string().optional(),
  activity: z.string().optional(),
  logPath: z.string().optional(),
  /** the agent preset running the task (claude-code, codex, …, or command) */
  agent: z.string().optional(),
  /** the agent's latest steps (at most 30), oldest first; absent from a headless daemon older than the timeline */
  steps: z.array(TaskStepView).optional(),
});

export const LinkStatusView = z.object({
  state: z.enum(['idle', 'connecting', 'open', 'waiting', 'auth_failed', 'stopped']),
  since: z.number(),
  reason: z.string().optional(),
  /** what the person can do about it, when the link is not open for a reason they can fix; each face words it */
  remedy: z.enum(REMEDIES).optional(),
  attempts: z.number(),
  nextRetryAt: z.number().optional(),
  connectedAt: z.number().optional(),
  lastHeartbeatAt: z.number().optional(),
});

export const Snapshot = z.object({
  version: z.number().int(),
  pid: z.number(),
  startedAt: z.number(),
  configPath: z.string(),
  runner: z.object({ id: z.string(), name: z.string(), serverUrl: z.string(), maxAgents: z.number().int(), sandboxMode: z.boolean() }),
  status: z.enum(['online', 'busy', 'draining']),
  paused: z.boolean(),
  link: LinkStatusView,
  running: z.array(RunningTaskView),
  outboxPending: z.number().int(),
});
export type Snapshot = z.infer<typeof Snapshot>;

/**
 * Control-socket requests: one JSON object per line, answered by one JSON line. `subscribe` is
 * answered with the Snapshot and then keeps the connection as a stream of SubscribeEvent lines;
 * `shutdown` asks the daemon to drain and exit, as SIGTERM does (a utilityProcess's kill() on
 * Windows is a hard kill, so the desktop app asks instead); `kick` re-checks the link now.
 */
export const ControlRequest = z.discriminatedUnion('method', [
  z.object({ id: z.number(), method: z.literal('snapshot') }),
  z.object({ id: z.number(), method: z.literal('subscribe') }),
  z.object({ id: z.number(), method: z.literal('shutdown') }),
  z.object({ id: z.number(), method: z.literal('kick') }),
  z.object({ id: z.number(), method: z.literal('pause') }),
  z.object({ id: z.number(), method: z.literal('resume') }),
  z.object({ id: z.number(), method: z.literal('cancel'), taskId: z.string().min(1) }),
  z.object({ id: z.number(), method: z.literal('setMaxAgents'), maxAgents: z.number().int().min(1).max(20) }),
]);
export type ControlRequest = z.infer<typeof ControlRequest>;
/** A request without its correlation id (what callers build). */
export type ControlCommand = ControlRequest extends infer R ? (R extends ControlRequest ? Omit<R, 'id'> : never) : never;

export const ControlResponse = z.union([
  z.object({ id: z.number(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.number(), ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);
export type ControlResponse = z.infer<typeof ControlResponse>;

/** One line of a task's output as the stream carries it; `at` is ISO 8601 (the task log's form). */
export const OutputLine = z.object({ stream: z.enum(['stdout', 'stderr']), text: z.string(), at: z.string() });
export type OutputLine = z.infer<typeof OutputLine>;

/** The live state changed; sent at most once per ~100 ms while it keeps changing (the latest wins). */
export const StateEvent = z.object({ event: z.literal('state'), snapshot: Snapshot });

/**
 * A task's output lines since its last batch, in order; at most ~10 batches per second per task.
 * `dropped`: lines of this task this subscriber did not receive because it read too slowly (its
 * socket was backed up), counted since its previous batch of the task; a task that ends with a
 * count not yet told gets one more batch, possibly without lines, just before its finished event.
 * Never dropped otherwise.
 */
export const LinesEvent = z.object({
  event: z.literal('lines'),
  taskId: z.string(),
  lines: z.array(OutputLine),
  dropped: z.number().int().min(1).optional(),
});

/** A task ran to its end (not a refused assignment): what a notification says. Never dropped. */
export const FinishedEvent = z.object({
  event: z.literal('finished'),
  taskId: z.string(),
  projectId: z.string(),
  prompt: z.string(),
  status: z.string(),
  error: z.string().optional(),
});

/** The task history file changed (a task was recorded or finished): re-read it. Already on disk when sent. */
export const HistoryEvent = z.object({ event: z.literal('history') });

/** What a `subscribe` connection carries after its first answer, one JSON object per line. */
export const SubscribeEvent = z.discriminatedUnion('event', [StateEvent, LinesEvent, FinishedEvent, HistoryEvent]);
export type SubscribeEvent = z.infer<typeof SubscribeEvent>;
export type FinishedEvent = z.infer<typeof FinishedEvent>;
export type LinesEvent = z.infer<typeof LinesEvent>;
