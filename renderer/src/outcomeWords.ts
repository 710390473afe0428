import type { TaskDetail } from '../../preload/contract.ts';
import { duration, taskPhaseLabel, taskReason, type Tone } from '../../main/runner/vocabulary.ts';

/**
 * The banner at the top of a task's detail (issue 15, item 4): what happened, why, and what to do
 * about it, in that order. Pure, from the task's record.
 */
export interface Outcome {
  tone: Tone;
  /** "Failed: Command not found: claude" */
  title: string;
  /** What to do next, as a sentence; '' when nothing is needed. */
  todo: string;
  /** A screen that helps with `todo` ("Settings"), when there is one. */
  link?: { label: string; href: string };
}

/** The banner's words for a task; the commit count is the one the detail shows. */
export function outcomeOf(task: TaskDetail, commits: number | null): Outcome {
  const why = taskReason({ status: task.status, error: task.error, exitCode: task.exitCode, rejectReason: task.rejectReason });
  const head = (label: string): string => (why ? `${label}: ${why}` : label);
  switch (task.status) {
    case 'assigned':
    case 'running':
      return {
        tone: 'info',
        title: `${taskPhaseLabel(task.status)}…`,
        todo: 'Its live output is on the dashboard.',
        link: { label: 'Dashboard', href: '#/dashboard' },
      };
    case 'completed': {
      const took = task.durationS === null ? '' : ` in ${duration(task.durationS)}`;
      const work =
        commits === null
          ? ''
          : commits === 0
            ? ' No commits.'
            : ` ${commits} commit${commits === 1 ? '' : 's'}${task.branch ? ` on ${task.branch}` : ''}.`;
      return { tone: 'ok', title: `Completed${took}.${work}`, todo: '' };
    }
    case 'failed':
      return { tone: 'danger', title: head('Failed'), ...failedTodo(why) };
    case 'timeout':
      return {
        tone: 'warn',
        title: why || 'Timed out',
        todo: 'The agent ran longer than it was allowed. Give the task more time in Sibyl, or split it into smaller ones.',
      };
    case 'cancelled':
      return {
        tone: 'neutral',
        title: why || 'Cancelled',
        todo: task.worktreePath ? 'What the agent did so far is kept in its folder and branch.' : '',
      };
    case 'rejected':
      return { tone: 'danger', title: head('Rejected'), ...rejectedTodo(task.rejectReason, why) };
    default:
      return unreachable(task.status);
  }
}

function failedTodo(why: string): Pick<Outcome, 'todo' | 'link'> {
  if (/^(Command not found|Cannot start)/i.test(why))
    return { todo: 'Install it, or choose another agent in Settings.', link: { label: 'Settings', href: '#/settings' } };
  if (/^Killed by/.test(why)) return { todo: "Something ended the agent's process. Its last output is at the end of the log below." };
  if (/^Exit code/.test(why)) return { todo: 'The agent said why in its last output, at the end of the log below.' };
  return { todo: 'The log below has the details.' };
}

function rejectedTodo(reason: string | null, why: string): Pick<Outcome, 'todo' | 'link'> {
  if (reason === 'at_capacity' || why.startsWith('At capacity'))
    return {
      todo: 'Every agent slot was busy, so Sibyl can hand the task to another runner or try again. If this machine can take more, raise the maximum in Settings.',
      link: { label: 'Settings', href: '#/settings' },
    };
  if (reason === 'runner_draining') return { todo: 'The runner was paused or stopping, so it took no new work.' };
  return { todo: "Sibyl sent a task this runner can't run. The task's details are below." };
}

function unreachable(x: never): never {
  throw new Error(`unhandled case: ${String(x)}`);
}
