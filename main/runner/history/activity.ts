import type { StatementSync } from 'node:sqlite';
import { num } from './historyRows.ts';
import type { ActivityDay, HistoryStatus } from './schema.ts';

/** Tasks that ran and ended, by the bar they go in; rejected ones never ran. */
const OUTCOMES = {
  completed: ['completed'],
  failed: ['failed', 'timeout'],
  cancelled: ['cancelled'],
} as const satisfies Record<string, readonly HistoryStatus[]>;

const FINISHED: readonly HistoryStatus[] = Object.values(OUTCOMES).flat();

/**
 * `n` local days ending with the one holding `now` (epoch ms), oldest first: each day's name
 * (YYYY-MM-DD) and its bounds in epoch ms. From the JS clock, so a day is 23 or 25 hours across a
 * DST change, and "today" is the day the faces show.
 */
export function localDays(n: number, now: number): { day: string; start: number; end: number }[] {
  const today = new Date(now);
  const [y, m, d] = [today.getFullYear(), today.getMonth(), today.getDate()];
  return Array.from({ length: n }, (_, k) => {
    const start = new Date(y, m, d - (n - 1 - k));
    const end = new Date(y, m, d - (n - 1 - k) + 1);
    const day = `${start.getFullYear()}-${pad2(start.getMonth() + 1)}-${pad2(start.getDate())}`;
    return { day, start: start.getTime(), end: end.getTime() };
  });
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * The activity query for `n` days: one statement, whatever `n`. The days' bounds go in as a
 * VALUES table, each joined to its finished tasks by a range on `tasks_finished_totals`, which
 * holds every column summed here (finished_at, status, cost, tokens): no table lookups.
 */
export function activitySql(n: number): string {
  const list = (statuses: readonly HistoryStatus[]): string => statuses.map((s) => `'${s}'`).join(', ');
  return `WITH days(k, start, stop) AS (VALUES ${Array.from({ length: n }, () => '(?, ?, ?)').join(', ')})
    SELECT d.k AS k,
      sum(t.status IN (${list(OUTCOMES.completed)})) AS completed,
      sum(t.status IN (${list(OUTCOMES.failed)})) AS failed,
      sum(t.status IN (${list(OUTCOMES.cancelled)})) AS cancelled,
      sum(t.cost_usd) AS cost, sum(t.input_tokens) AS input, sum(t.output_tokens) AS output
    FROM days d LEFT JOIN tasks t INDEXED BY tasks_finished_totals
      ON t.finished_at >= d.start AND t.finished_at < d.stop AND t.status IN (${list(FINISHED)})
    GROUP BY d.k ORDER BY d.k`;
}

/** Per local day, oldest first and ending today: finished tasks by outcome and their cost and tokens (see TaskHistory.activity). */
export function activityDays(prepare: (sql: string) => StatementSync, n: number, now: number): ActivityDay[] {
  const days = localDays(n, now);
  const rows = prepare(activitySql(n)).all(...days.flatMap((d, k) => [k, d.start, d.end]));
  const byDay = new Map(rows.map((r) => [num(r.k), r]));
  return days.map((d, k) => {
    const r = byDay.get(k);
    return {
      day: d.day,
      completed: num(r?.completed) ?? 0,
      failed: num(r?.failed) ?? 0,
      cancelled: num(r?.cancelled) ?? 0,
      costUsd: num(r?.cost),
      inputTokens: num(r?.input),
      outputTokens: num(r?.output),
    };
  });
}
