import { RunnerError } from '../runner/errors.ts';
import type { HistoryRecord } from '../runner/history/schema.ts';
import type { ProjectLink } from '../runner/projects/links.ts';
import { promptSummary, relativeTime } from '../runner/vocabulary.ts';

/**
 * Ids as people type them: any unique start of an id, such as the 8 characters the window, the
 * tray, `history` and the `sibyl/<id>` branches show. A start that fits several ids is an error
 * that lists them (exit 2), so the next try can be exact.
 */

/** How many candidates an ambiguous start lists. */
const SHOWN = 5;

/** What resolving needs of the task history (HistoryStore). */
export interface TaskIds {
  get(taskId: string): HistoryRecord | undefined;
  taskIdsStartingWith(prefix: string, limit?: number): string[];
}

/**
 * The task id `typed` names: the id itself, a unique start of it, or a task branch
 * (`sibyl/1a2b3c4d`, whose part after `sibyl/` is the id's start). Throws RunnerError `not_found`
 * (exit 1) when no task matches and `ambiguous_id` (exit 2) listing the candidates when several do.
 */
export function resolveTaskId(history: TaskIds, typed: string, now: number = Date.now()): string {
  const wanted = typed.trim();
  if (history.get(wanted)) return wanted;
  const start = wanted.replace(/^sibyl\//, '');
  const ids = start ? history.taskIdsStartingWith(start, SHOWN + 1) : [];
  if (ids.length === 1 && ids[0] !== undefined) return ids[0];
  if (ids.length === 0) throw new RunnerError('not_found', `no task ${typed} in the history (\`sibyl-runner history\` lists them)`);
  const lines = ids.slice(0, SHOWN).map((id) => {
    const t = history.get(id);
    return t
      ? `${id}  ${t.status.padEnd(9)}  ${relativeTime(t.startedAt ?? t.assignedAt, now).padEnd(8)}  ${promptSummary(t.prompt, 40)}`
      : id;
  });
  throw ambiguous(typed, 'tasks', lines, ids.length > SHOWN);
}

/**
 * The linked project `typed` names among `links`: its id, or a unique start of one. An id no link
 * has is returned as typed, for the caller to report in its own words.
 */
export function resolveProjectId(links: readonly ProjectLink[], typed: string): string {
  const ids = [...new Set(links.map((l) => l.projectId))];
  if (ids.includes(typed) || !typed) return typed;
  const matches = ids.filter((id) => id.startsWith(typed));
  if (matches.length === 1 && matches[0] !== undefined) return matches[0];
  if (matches.length === 0) return typed;
  const lines = matches.slice(0, SHOWN).map((id) => `${id}  ${links.find((l) => l.projectId === id)?.path ?? ''}`);
  throw ambiguous(typed, 'linked projects', lines, matches.length > SHOWN);
}

function ambiguous(typed: string, what: string, lines: string[], more: boolean): RunnerError {
  const list = [...lines, ...(more ? ['…'] : [])].map((l) => `  ${l}`).join('\n');
  return new RunnerError(
    'ambiguous_id',
    `"${typed}" is the start of ${more ? 'more than ' : ''}${lines.length} ${what}; type more of the id:\n${list}`,
    {
      exitCode: 2,
      remedy: 'checkInput',
    },
  );
}
