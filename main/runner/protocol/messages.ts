import * as z from 'zod';

/**
 * Every WebSocket message between runner and Sibyl Core, one schema each (sibyl-protocol.md §4).
 * Shared by the core, the tests' fake server and the UI. Inbound schemas are loose (unknown
 * fields are kept and ignored); outbound ones are what we send.
 */

// ---- server → runner ------------------------------------------------------------------------

/** Ids the server gives are UUIDs or `agent_`/`project_` + hex; anything longer than this is not an id. */
export const ID_MAX = 256;

export const HeartbeatMsg = z.looseObject({ type: z.literal('heartbeat'), server_time: z.string().optional() });

/**
 * The original treated a non-object `config` as `{}` (§5.8 step 7) and ran a task nobody described;
 * we accept an absent or null one as `{}` and refuse any other non-object (`invalid_task`).
 */
const AssignConfig = z.preprocess(
  (v) => (v === null || v === undefined ? {} : v),
  z.looseObject({
    prompt: z.unknown().optional(),
    title: z.unknown().optional(),
    description: z.unknown().optional(),
    agent_type: z.unknown().optional(),
    task_id: z.unknown().optional(),
    command: z.unknown().optional(),
    exec_command: z.unknown().optional(),
    runner_command: z.unknown().optional(),
    timeout_seconds: z.unknown().optional(),
    worktree_path: z.unknown().optional(),
    branch: z.unknown().optional(),
    base_branch: z.unknown().optional(),
    base_ref: z.unknown().optional(),
    repo_url: z.unknown().optional(),
  }),
);

/** Both shapes of §4.8: Variant A nests fields in `config`, Variant B puts `prompt` at the top. */
export const TaskAssignMsg = z.looseObject({
  type: z.literal('task_assign'),
  task_id: z.string().min(1).max(ID_MAX),
  agent_id: z.string().max(ID_MAX),
  project_id: z.string().max(ID_MAX),
  config: AssignConfig.optional(),
  prompt: z.unknown().optional(),
  agent_type: z.unknown().optional(),
  shadow: z.unknown().optional(),
});

export const TaskCancelMsg = z.looseObject({ type: z.literal('task_cancel'), task_id: z.string() });
export const ProjectRegisteredMsg = z.looseObject({ type: z.literal('project_registered'), project_id: z.string() });
export const ServerErrorMsg = z.looseObject({ type: z.literal('error'), message: z.string().optional() });

export const ServerMessage = z.discriminatedUnion('type', [
  HeartbeatMsg,
  TaskAssignMsg,
  TaskCancelMsg,
  ProjectRegisteredMsg,
  ServerErrorMsg,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
export type TaskAssign = z.infer<typeof TaskAssignMsg>;

// ---- runner → server ------------------------------------------------------------------------

export const HeartbeatAckMsg = z.object({ type: z.literal('heartbeat_ack') });

/** `offline` is never sent: the server derives it from the disconnect (§4.6.2). */
export const RunnerStatus = z.enum(['online', 'busy', 'draining']);
export type RunnerStatus = z.infer<typeof RunnerStatus>;
export const StatusMsg = z.object({ type: z.literal('status'), status: RunnerStatus, agent_count: z.number().int().min(0) });

export const AgentUpdateMsg = z.object({
  type: z.literal('agent_update'),
  agent_id: z.string(),
  status: z.enum(['running', 'completed', 'failed', 'cancelled']),
  progress: z.number().int().min(0).max(100).nullable(),
  activity: z.string().nullable(),
});

export const ProjectRegisterMsg = z.object({
  type: z.literal('project_register'),
  project_id: z.string().min(1),
  worktree_path: z.string().min(1).max(1024),
  worktree_branch: z.string().max(255).nullable(),
});

export const TaskAckMsg = z.object({ type: z.literal('task_ack'), task_id: z.string(), agent_id: z.string() });

export const RejectReason = z.enum(['at_capacity', 'runner_draining', 'invalid_task']);
export type RejectReason = z.infer<typeof RejectReason>;
export const TaskRejectMsg = z.object({ type: z.literal('task_reject'), task_id: z.string(), reason: z.string() });

export const ResultStatus = z.enum(['completed', 'failed', 'timeout', 'cancelled']);
export type ResultStatus = z.infer<typeof ResultStatus>;

/** The original's result fields (§5.14) plus ours; additive, so the server stores them as JSON. */
export const TaskResult = z.looseObject({
  status: ResultStatus,
  exit_code: z.number().int().nullable(),
  command: z.array(z.string()).optional(),
  worktree_path: z.string(),
  stdout: z.string().optional(),
  stderr: z.string().optional(),
  duration_s: z.number(),
  error: z.string().optional(),
  log_path: z.string().optional(),
});
export type TaskResult = z.infer<typeof TaskResult>;

/** Always an explicit boolean `success`: without it the server counts `timeout` as success (§9 S8). */
export const TaskCompleteMsg = z.object({
  type: z.literal('task_complete'),
  task_id: z.string(),
  success: z.boolean(),
  retryable: z.boolean(),
  error: z.string().optional(),
  result: TaskResult,
});

export const RunnerMessage = z.discriminatedUnion('type', [
  HeartbeatAckMsg,
  StatusMsg,
  AgentUpdateMsg,
  ProjectRegisterMsg,
  TaskAckMsg,
  TaskRejectMsg,
  TaskCompleteMsg,
]);
export type RunnerMessage = z.infer<typeof RunnerMessage>;
export type TaskComplete = z.infer<typeof TaskCompleteMsg>;
export type AgentUpdate = z.infer<typeof AgentUpdateMsg>;

/** Messages the server must get: queued while the link is down and sent in order after reconnect. */
export type DurableMessage = z.infer<typeof TaskAckMsg> | z.infer<typeof TaskRejectMsg> | TaskComplete;

/**
 * A delivery check (see link/outbox.ts): a frame of a type the server does not know, which it
 * answers in order with `{"type":"error","message":"Unknown message type: runner_delivery_check:<n>"}`
 * (§4.5). That answer proves every frame written before the check was handled.
 */
export interface DeliveryCheck {
  type: `runner_delivery_check:${number}`;
}

const CHECK_ANSWER = /^Unknown message type: runner_delivery_check:(\d+)$/;

/** The check numbered `n` (a positive integer). */
export function deliveryCheck(n: number): DeliveryCheck {
  return { type: `runner_delivery_check:${n}` };
}

/** The number of the check a server `error` message answers, or undefined when it answers none. */
export function deliveryCheckAnswered(message: string | undefined): number | undefined {
  const m = message === undefined ? null : CHECK_ANSWER.exec(message);
  return m ? Number(m[1]) : undefined;
}

/**
 * One parsed frame. An invalid one says why, its `type` when it had one, and the `task_id` of an
 * invalid task_assign when that id is usable, so the assignment can be refused (`invalid_task`)
 * instead of left to the server's 300 s lease.
 */
export type ParsedInbound = { ok: true; message: ServerMessage } | { ok: false; reason: string; type?: string; taskId?: string };

/** Parse one text frame. Never throws: malformed input is reported, not fatal (the daemon must not crash on input). */
export function parseServerFrame(text: string): ParsedInbound {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not valid JSON' };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return { ok: false, reason: 'not a JSON object' };
  const type = (json as { type?: unknown }).type;
  if (typeof type !== 'string') return { ok: false, reason: 'missing "type"' };
  const parsed = ServerMessage.safeParse(json);
  if (!parsed.success) {
    const known = ['heartbeat', 'task_assign', 'task_cancel', 'project_registered', 'error'].includes(type);
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    const taskId = (json as { task_id?: unknown }).task_id;
    const usableId = typeof taskId === 'string' && taskId.length > 0 && taskId.length <= ID_MAX ? { taskId } : {};
    return { ok: false, type, reason: known ? `invalid ${type}: ${detail}` : `unknown message type "${type}"`, ...usableId };
  }
  return { ok: true, message: parsed.data };
}

/** Compile-time exhaustiveness for switches over message types. */
export function assertNever(x: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(x)}`);
}
