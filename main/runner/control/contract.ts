import { z } from 'zod';
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

/** Control-socket requests: one JSON object per line, answered by one JSON line. */
export const ControlRequest = z.discriminatedUnion('method', [
  z.object({ id: z.number(), method: z.literal('snapshot') }),
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
