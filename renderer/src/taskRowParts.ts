import type { TaskRow } from '../../preload/contract.ts';
import { promptSummary, shortId, taskReason } from '../../main/runner/vocabulary.ts';
import { h } from './dom.ts';

/**
 * The pieces a list of tasks shows, the same on the dashboard and in the history (issue 15,
 * item 5): one link style to a task, and the reason line under a task that did not complete.
 */

/** The route of a task's detail. */
export function taskHref(taskId: string): string {
  return `#/history/${encodeURIComponent(taskId)}`;
}

/** The task's prompt in one line, linking to its detail; the whole prompt on hover. */
export function taskLink(row: Pick<TaskRow, 'taskId' | 'prompt'>, maxChars: number): HTMLAnchorElement {
  return h('a', { class: 'task-link', href: taskHref(row.taskId), title: row.prompt }, promptSummary(row.prompt, maxChars));
}

/** Why a task failed, was rejected, timed out or was cancelled ("At capacity (3/3)"); null for one that completed or runs. */
export function reasonLine(row: Pick<TaskRow, 'status' | 'error' | 'exitCode'>): HTMLElement | null {
  const why = taskReason({ status: row.status, error: row.error, exitCode: row.exitCode });
  if (!why) return null;
  return h(
    'div',
    { class: 'task-reason', 'data-testid': 'task-reason', 'data-tone': row.status === 'cancelled' ? 'neutral' : 'danger', title: why },
    why,
  );
}

/** A project id as a line can hold it: a UUID by its start (the whole id on hover), anything shorter as it is. */
export function shortProject(id: string): string {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(id) ? shortId(id) : id;
}
