import type { SQLInputValue, SQLOutputValue } from 'node:sqlite';
import type { TaskComplete } from '../protocol/messages.ts';
import type { HistoryItem, HistoryPatch, HistoryRecord, HistoryStatus, PermissionDenial } from './schema.ts';

/** Between the `tasks` table's snake_case columns and the camelCase objects of schema.ts. */

const PROMPT_CHARS = 500;

/** Patch field → column of `tasks`, and how its value is stored. `result` lives in its own table. */
export const COLUMNS: Record<Exclude<keyof HistoryPatch, 'taskId' | 'result'>, { col: string; store?: (v: unknown) => SQLInputValue }> = {
  agentId: { col: 'agent_id' },
  projectId: { col: 'project_id' },
  prompt: { col: 'prompt', store: (v) => (typeof v === 'string' ? v.slice(0, PROMPT_CHARS) : '') },
  command: { col: 'command', store: (v) => (v === null ? null : JSON.stringify(v)) },
  status: { col: 'status' },
  rejectReason: { col: 'reject_reason' },
  assignedAt: { col: 'assigned_at' },
  startedAt: { col: 'started_at' },
  finishedAt: { col: 'finished_at' },
  durationS: { col: 'duration_s' },
  exitCode: { col: 'exit_code' },
  worktreePath: { col: 'worktree_path' },
  branch: { col: 'branch' },
  commitCount: { col: 'commit_count' },
  logPath: { col: 'log_path' },
  error: { col: 'error' },
  agent: { col: 'agent' },
  model: { col: 'model' },
  costUsd: { col: 'cost_usd' },
  inputTokens: { col: 'input_tokens' },
  outputTokens: { col: 'output_tokens' },
};

export const ITEM_COLS =
  't.id, t.task_id, t.agent_id, t.project_id, t.prompt, t.status, t.assigned_at, t.started_at, t.finished_at, t.duration_s, t.exit_code, t.branch, t.commit_count, t.error, ' +
  't.agent, t.model, t.cost_usd, t.input_tokens, t.output_tokens';

/** The history fields a task_complete carries, for `upsert` when a task finishes. */
export function finishedPatch(msg: TaskComplete, finishedAt = Date.now()): HistoryPatch {
  const r = msg.result;
  const commits = (r as Record<string, unknown>).commits;
  const branch = (r as Record<string, unknown>).branch;
  return {
    taskId: msg.task_id,
    status: r.status,
    finishedAt,
    durationS: r.duration_s,
    exitCode: r.exit_code,
    ...(r.worktree_path ? { worktreePath: r.worktree_path } : {}),
    ...(typeof branch === 'string' ? { branch } : {}),
    ...(commitCountOf(commits) !== undefined ? { commitCount: commitCountOf(commits) } : {}),
    ...(r.log_path ? { logPath: r.log_path } : {}),
    error: msg.error ?? r.error ?? null,
    ...agentPatch(r),
    result: r,
  };
}

/**
 * The agent's report as row fields (issue 11: taskRun.ts `agentFields`). Only what the result
 * carries: a result without them (a task that failed before its agent ran) leaves the row as is.
 */
function agentPatch(r: Record<string, unknown>): AgentPatch {
  const usage = record(r.usage);
  const fields: Record<keyof AgentPatch, unknown> = {
    agent: text(r.agent),
    model: text(r.model),
    costUsd: amount(r.cost_usd),
    inputTokens: wholeNumber(usage?.input_tokens),
    outputTokens: wholeNumber(usage?.output_tokens),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null));
}

type AgentPatch = Pick<HistoryPatch, 'agent' | 'model' | 'costUsd' | 'inputTokens' | 'outputTokens'>;

export function str(v: SQLOutputValue | undefined): string | null {
  return typeof v === 'string' ? v : null;
}

export function num(v: SQLOutputValue | undefined): number | null {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null;
}

function json<T>(v: SQLOutputValue | undefined): T | null {
  if (typeof v !== 'string') return null;
  try {
    return JSON.parse(v) as T;
  } catch {
    return null;
  }
}

export function toItem(row: Record<string, SQLOutputValue>): HistoryItem {
  return {
    taskId: str(row.task_id) ?? '',
    agentId: str(row.agent_id),
    projectId: str(row.project_id),
    prompt: str(row.prompt) ?? '',
    status: (str(row.status) ?? 'failed') as HistoryStatus,
    assignedAt: num(row.assigned_at) ?? 0,
    startedAt: num(row.started_at),
    finishedAt: num(row.finished_at),
    durationS: num(row.duration_s),
    exitCode: num(row.exit_code),
    branch: str(row.branch),
    commitCount: num(row.commit_count),
    error: str(row.error),
    agent: str(row.agent),
    model: str(row.model),
    costUsd: num(row.cost_usd),
    inputTokens: num(row.input_tokens),
    outputTokens: num(row.output_tokens),
  };
}

export function toRecord(row: Record<string, SQLOutputValue>): HistoryRecord {
  const result = json<Record<string, unknown>>(row.result);
  const usage = record(result?.usage);
  return {
    ...toItem(row),
    command: json<string[]>(row.command),
    worktreePath: str(row.worktree_path),
    logPath: str(row.log_path),
    rejectReason: str(row.reject_reason),
    summary: text(result?.summary),
    numTurns: wholeNumber(result?.num_turns),
    sessionId: text(result?.session_id),
    cacheReadTokens: wholeNumber(usage?.cache_read_input_tokens),
    cacheCreationTokens: wholeNumber(usage?.cache_creation_input_tokens),
    permissionDenials: denials(result?.permission_denials),
    result,
  };
}

function record(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function text(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** A token or turn count as the agent reported it; anything else is unknown. */
function wholeNumber(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

/** An amount of US dollars; anything else is unknown. */
function amount(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}

function denials(v: unknown): PermissionDenial[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((d): PermissionDenial[] => {
    const o = record(d);
    return o && typeof o.tool === 'string'
      ? [{ tool: o.tool, input: typeof o.input === 'string' ? o.input : JSON.stringify(o.input ?? '') }]
      : [];
  });
}

/** `result.commits` is `{count, items}` from the worktree provider; a bare list is accepted too. */
function commitCountOf(commits: unknown): number | undefined {
  if (Array.isArray(commits)) return commits.length;
  if (commits !== null && typeof commits === 'object') {
    const count = (commits as { count?: unknown }).count;
    if (typeof count === 'number' && Number.isInteger(count) && count >= 0) return count;
  }
  return undefined;
}
