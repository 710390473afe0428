import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskHistory } from '../history/historyStore.ts';
import { finishedPatch } from '../history/historyStore.ts';
import type { Logger } from '../logger.ts';
import type { TaskResult } from '../protocol/messages.ts';
import { groupAlive, isOurProcessGroup, killProcessGroup } from '../tasks/processIdentity.ts';
import { readTaskLog } from '../tasks/taskLog.ts';
import { completeMessage } from '../tasks/taskRun.ts';
import type { Journal } from './journal.ts';

/**
 * At start-up: every task a previous runner process accepted but never finished is resolved.
 * A surviving agent (verified by pid and start time, so a recycled pid is never killed) is
 * stopped; the task is reported once as failed with `runner_restarted` and its log tail,
 * retryable so the server can run it again. `failed`, not `cancelled`: the server treats
 * cancelled as terminal (§4.6.6).
 */
export async function recoverInterruptedTasks(
  journal: Journal,
  history: TaskHistory | undefined,
  log: Logger,
  graceMs = 3000,
): Promise<number> {
  const interrupted = journal.unfinishedFromPreviousRun();
  for (const t of interrupted) {
    if (t.process && isOurProcessGroup(t.process.pgid, t.process.startTime)) {
      log.warn('stopping an agent left running by a previous runner', { taskId: t.taskId, pgid: t.process.pgid });
      killProcessGroup(t.process.pgid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (groupAlive(t.process.pgid) && Date.now() < deadline) await sleep(50);
      if (groupAlive(t.process.pgid)) killProcessGroup(t.process.pgid, 'SIGKILL');
    }
    const tail = t.logPath ? await readTaskLog(t.logPath, { tail: 400 }).catch(() => undefined) : undefined;
    const lines = (stream: string): string =>
      (tail?.lines ?? [])
        .filter((l) => l.stream === stream)
        .slice(-200)
        .map((l) => l.text)
        .join('\n');
    const result: TaskResult = {
      status: 'failed',
      exit_code: null,
      command: t.command,
      worktree_path: t.worktreePath ?? '',
      stdout: lines('stdout'),
      stderr: lines('stderr'),
      duration_s: Math.max(0, Math.round((Date.now() - (t.process?.startedAt ?? t.assignedAt)) / 10) / 100),
      error: 'runner_restarted',
      ...(t.logPath ? { log_path: t.logPath } : {}),
    };
    const msg = completeMessage(t.taskId, result, true);
    journal.finish(msg);
    history?.upsert({
      agentId: t.agentId || null,
      projectId: t.projectId || null,
      prompt: t.prompt.slice(0, 500),
      command: t.command,
      assignedAt: t.assignedAt,
      ...finishedPatch(msg),
    });
    log.info('reported an interrupted task', { taskId: t.taskId });
  }
  return interrupted.length;
}
