import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskHistory } from '../history/historyStore.ts';
import { finishedPatch } from '../history/historyStore.ts';
import type { Logger } from '../logger.ts';
import type { TaskResult } from '../protocol/messages.ts';
import { groupAlive, isOurProcessGroup, killProcessGroup } from '../tasks/processIdentity.ts';
import { findMarkedProcesses, freezeAndKill, signalEach } from '../tasks/processTree.ts';
import { readTaskLog } from '../tasks/taskLog.ts';
import { completeMessage } from '../tasks/taskRun.ts';
import type { InterruptedTask, Journal } from './journal.ts';

/**
 * At start-up: every task a previous runner process accepted but never finished is resolved.
 * A surviving agent (verified by pid and start time, so a recycled pid is never killed) is
 * stopped, and so is every process of the run that left its group, found by its marker (see
 * processTree.ts: Linux and macOS, not Windows; only the marker journaled with the start, since
 * the same task id may be running under another runner by now); the task is reported once as failed with `runner_restarted` and its log tail,
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
    await stopLeftovers(t.taskId, t.process, t.marker, graceMs, log);
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

type RecordedProcess = InterruptedTask['process'];

/**
 * SIGTERM to the agent's group (if it is still ours) and to the run's escaped processes, up to
 * `graceMs` (ms) for them to go, then SIGKILL to whatever is left. Returns when all were signalled.
 */
async function stopLeftovers(
  taskId: string,
  p: RecordedProcess,
  launched: string | undefined,
  graceMs: number,
  log: Logger,
): Promise<void> {
  const exact = p?.marker ?? launched;
  // Only the journaled marker: the same task id may be running under another runner on this
  // machine (re-dispatched after this one died), and its processes are not ours to stop.
  const escaped = (): number[] => (exact ? findMarkedProcesses((m) => m === exact) : []);
  const group = p && isOurProcessGroup(p.pgid, p.startTime) ? p.pgid : undefined;
  const outside = escaped();
  if (group === undefined && outside.length === 0) return;
  log.warn('stopping an agent left running by a previous runner', { taskId, pgid: group, marked: outside.length });
  if (group !== undefined) killProcessGroup(group, 'SIGTERM');
  signalEach(outside, 'SIGTERM');
  const alive = (): boolean => (group !== undefined && groupAlive(group)) || escaped().length > 0;
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await sleep(50);
  if (group !== undefined && groupAlive(group)) killProcessGroup(group, 'SIGKILL');
  await freezeAndKill(escaped);
}
