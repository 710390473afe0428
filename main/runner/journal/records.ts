import * as z from 'zod';
import { TaskAckMsg, TaskCompleteMsg, TaskRejectMsg } from '../protocol/messages.ts';

/**
 * One line of `journal.jsonl` each. `k` is the kind, `t` the wall-clock time in ms. Field names are
 * short because the journal is append-only and read back on every start; the file format is
 * versioned by the `meta` line that compaction writes first.
 */

export const JOURNAL_VERSION = 1;

export const DurableMessageSchema = z.discriminatedUnion('type', [TaskAckMsg, TaskRejectMsg, TaskCompleteMsg]);

const base = { t: z.number() };

/** First line of a compacted file: the next outbox sequence number survives compaction. */
export const MetaRecord = z.object({ k: z.literal('meta'), ...base, v: z.number().int(), next_seq: z.number().int().min(1) });

export const AssignedRecord = z.object({
  k: z.literal('assigned'),
  ...base,
  task_id: z.string(),
  agent_id: z.string(),
  project_id: z.string(),
  /** an excerpt: enough to recognise the task after a crash, not the whole prompt */
  prompt: z.string(),
  command: z.array(z.string()),
});

/** Written by compaction only: at run time `enqueue(task_ack)` is what marks a task acked. */
export const AckedRecord = z.object({ k: z.literal('acked'), ...base, task_id: z.string() });

export const WorkspaceRecord = z.object({
  k: z.literal('workspace'),
  ...base,
  task_id: z.string(),
  path: z.string(),
  branch: z.string().nullable(),
});

export const StartedRecord = z.object({
  k: z.literal('started'),
  ...base,
  task_id: z.string(),
  pid: z.number().int(),
  pgid: z.number().int(),
  /** processStartTime(pid) at spawn; recovery compares it before signalling (pids get recycled) */
  start_time: z.string().nullable(),
  log_path: z.string().nullable(),
  /** the run's SIBYL_TASK_MARKER (processTree.ts); absent in records written before it existed */
  marker: z.string().optional(),
});

/** The run's process marker, written just before the agent is spawned. */
export const LaunchRecord = z.object({ k: z.literal('launch'), ...base, task_id: z.string(), marker: z.string() });

/** A durable message waiting to reach the server (task_ack / task_reject). */
export const OutboxRecord = z.object({ k: z.literal('outbox'), ...base, seq: z.number().int().min(1), msg: DurableMessageSchema });

/**
 * The end of a task and its task_complete in one line: one write, one fsync, so a crash can never
 * leave a finished task without the message that reports it.
 */
export const FinishedRecord = z.object({
  k: z.literal('finished'),
  ...base,
  task_id: z.string(),
  seq: z.number().int().min(1),
  msg: TaskCompleteMsg,
});

export const SentRecord = z.object({ k: z.literal('sent'), ...base, seq: z.number().int().min(1) });

export const JournalRecord = z.discriminatedUnion('k', [
  MetaRecord,
  AssignedRecord,
  AckedRecord,
  WorkspaceRecord,
  LaunchRecord,
  StartedRecord,
  OutboxRecord,
  FinishedRecord,
  SentRecord,
]);
export type JournalRecord = z.infer<typeof JournalRecord>;
export type AssignedRecord = z.infer<typeof AssignedRecord>;
export type StartedRecord = z.infer<typeof StartedRecord>;

/** Parse one line; undefined when it is not a record we understand. */
export function parseRecord(line: string): JournalRecord | undefined {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return undefined;
  }
  const parsed = JournalRecord.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
