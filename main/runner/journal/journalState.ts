import type { JournalRecord } from './records.ts';
import { JOURNAL_VERSION } from './records.ts';

/**
 * What the journal's lines add up to: unfinished tasks and unsent messages. One reducer serves
 * both the replay at open and every live append, so memory always equals what a replay would
 * build, and compaction writes back exactly this state.
 */

/** A task the previous run accepted and never finished: it still owes the server a task_complete. */
export interface InterruptedTask {
  taskId: string;
  /** '' when the assigned line was lost (corrupt) but later lines named the task */
  agentId: string;
  projectId: string;
  prompt: string;
  command: string[];
  assignedAt: number;
  acked: boolean;
  worktreePath: string | undefined;
  branch: string | undefined;
  logPath: string | undefined;
  /** the run's process marker, once it was about to be spawned (see `process.marker` for the started one) */
  marker?: string;
  /** `marker`: the run's SIBYL_TASK_MARKER, when the started record carried one */
  process: { pid: number; pgid: number; startTime: string | undefined; startedAt: number; marker?: string } | undefined;
}

export type PendingRecord = Extract<JournalRecord, { k: 'outbox' | 'finished' }>;

/** How many finished task ids are remembered to refuse a second task_complete for one run. */
const FINISHED_MEMORY = 10_000;

export class JournalState {
  readonly live = new Map<string, InterruptedTask>();
  /** unsent messages by sequence number; insertion order is sequence order */
  readonly outbox = new Map<number, PendingRecord>();
  /** task id → seq of its task_complete, so a second one for the same run is refused */
  readonly finished = new Map<string, number>();
  nextSeq = 1;

  apply(rec: JournalRecord): void {
    switch (rec.k) {
      case 'meta':
        this.nextSeq = Math.max(this.nextSeq, rec.next_seq);
        return;
      case 'assigned':
        this.finished.delete(rec.task_id); // a new run of this id (re-dispatched after the lease expired, §4.9.4)
        this.live.set(rec.task_id, {
          taskId: rec.task_id,
          agentId: rec.agent_id,
          projectId: rec.project_id,
          prompt: rec.prompt,
          command: rec.command,
          assignedAt: rec.t,
          acked: false,
          worktreePath: undefined,
          branch: undefined,
          logPath: undefined,
          process: undefined,
        });
        return;
      case 'acked':
        this.#task(rec.task_id, rec.t).acked = true;
        return;
      case 'workspace': {
        const task = this.#task(rec.task_id, rec.t);
        task.worktreePath = rec.path;
        task.branch = rec.branch ?? undefined;
        return;
      }
      case 'launch':
        this.#task(rec.task_id, rec.t).marker = rec.marker;
        return;
      case 'started': {
        const task = this.#task(rec.task_id, rec.t);
        task.process = {
          pid: rec.pid,
          pgid: rec.pgid,
          startTime: rec.start_time ?? undefined,
          startedAt: rec.t,
          ...(rec.marker ? { marker: rec.marker } : {}),
        };
        task.logPath = rec.log_path ?? undefined;
        return;
      }
      case 'outbox':
        this.outbox.set(rec.seq, rec);
        this.nextSeq = Math.max(this.nextSeq, rec.seq + 1);
        if (rec.msg.type === 'task_ack') {
          const task = this.live.get(rec.msg.task_id);
          if (task) task.acked = true;
        }
        return;
      case 'finished':
        this.live.delete(rec.task_id);
        this.outbox.set(rec.seq, rec);
        this.nextSeq = Math.max(this.nextSeq, rec.seq + 1);
        this.finished.set(rec.task_id, rec.seq);
        if (this.finished.size > FINISHED_MEMORY) this.finished.delete(this.finished.keys().next().value!);
        return;
      case 'sent':
        this.outbox.delete(rec.seq);
        return;
    }
  }

  /** The lines of a compacted journal: meta, then each live task, then unsent messages in order. */
  snapshot(now: number): JournalRecord[] {
    const out: JournalRecord[] = [{ k: 'meta', t: now, v: JOURNAL_VERSION, next_seq: this.nextSeq }];
    for (const task of this.live.values()) out.push(...taskRecords(task));
    out.push(...this.outbox.values());
    return out;
  }

  /** A task named by a later line whose `assigned` line was lost still has to be recovered. */
  #task(taskId: string, t: number): InterruptedTask {
    let task = this.live.get(taskId);
    if (!task) {
      task = {
        taskId,
        agentId: '',
        projectId: '',
        prompt: '',
        command: [],
        assignedAt: t,
        acked: false,
        worktreePath: undefined,
        branch: undefined,
        logPath: undefined,
        process: undefined,
      };
      this.live.set(taskId, task);
    }
    return task;
  }
}

function taskRecords(task: InterruptedTask): JournalRecord[] {
  const out: JournalRecord[] = [
    {
      k: 'assigned',
      t: task.assignedAt,
      task_id: task.taskId,
      agent_id: task.agentId,
      project_id: task.projectId,
      prompt: task.prompt,
      command: task.command,
    },
  ];
  if (task.acked) out.push({ k: 'acked', t: task.assignedAt, task_id: task.taskId });
  if (task.worktreePath !== undefined)
    out.push({ k: 'workspace', t: task.assignedAt, task_id: task.taskId, path: task.worktreePath, branch: task.branch ?? null });
  if (task.marker !== undefined) out.push({ k: 'launch', t: task.assignedAt, task_id: task.taskId, marker: task.marker });
  const p = task.process;
  if (p)
    out.push({
      k: 'started',
      t: p.startedAt,
      task_id: task.taskId,
      pid: p.pid,
      pgid: p.pgid,
      start_time: p.startTime ?? null,
      log_path: task.logPath ?? null,
      ...(p.marker ? { marker: p.marker } : {}),
    });
  return out;
}
