import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { historyHandlers } from '../../main/app/handlers/history.ts';
import { activitySql } from '../../main/runner/history/activity.ts';
import { historyBackend } from '../../main/runner/history/historyBackend.ts';
import { HistoryStore } from '../../main/runner/history/historyStore.ts';
import type { HistoryStatus } from '../../main/runner/history/schema.ts';
import { tempDir } from '../helpers/tmp.ts';

// Local days are the point: fix the zone, one with a DST change inside the test's days.
process.env.TZ = 'America/New_York';

const at = (d: number, h: number, m = 0): number => new Date(2024, 2, d, h, m).getTime(); // March 2024, local time
const now = at(11, 15); // the day after clocks went forward (10 March, 02:00 → 03:00 in New York)

function store(): { h: HistoryStore; dbPath: string } {
  const dir = tempDir('sibyl-activity-');
  const dbPath = join(dir, 'history.sqlite');
  return { h: new HistoryStore({ dbPath, logDir: join(dir, 'logs') }), dbPath };
}

let n = 0;
function finished(
  h: HistoryStore,
  status: HistoryStatus,
  finishedAt: number | null,
  usage: { costUsd?: number; inputTokens?: number; outputTokens?: number } = {},
): void {
  const taskId = `task-${n++}`;
  h.upsert({ taskId, status, assignedAt: (finishedAt ?? now) - 60_000, ...(finishedAt === null ? {} : { finishedAt }), ...usage });
}

test('activity: per local day by outcome, oldest first, ending today, in one query over the covering index', () => {
  const { h, dbPath } = store();
  finished(h, 'completed', at(11, 0, 0), { costUsd: 0.25, inputTokens: 1000, outputTokens: 100 }); // today, first minute
  finished(h, 'failed', at(11, 14), { costUsd: 0.5, inputTokens: 500, outputTokens: 50 });
  finished(h, 'timeout', at(11, 14, 30)); // a timeout is a failure; it reported nothing
  finished(h, 'cancelled', at(11, 14, 40), { costUsd: 0.1 });
  finished(h, 'rejected', at(11, 10)); // never ran: not counted
  finished(h, 'running', null); // not finished
  finished(h, 'completed', at(10, 23, 59), { costUsd: 0.01, inputTokens: 10, outputTokens: 1 }); // yesterday, last minute
  finished(h, 'completed', at(10, 1, 30), { costUsd: 0.02, inputTokens: 20, outputTokens: 2 }); // yesterday, before the clock change
  finished(h, 'failed', at(8, 12)); // three days ago: outside days = 3

  const empty = { completed: 0, failed: 0, cancelled: 0, costUsd: null, inputTokens: null, outputTokens: null };
  assert.deepEqual(h.activity({ days: 3, now }), [
    { day: '2024-03-09', ...empty },
    { day: '2024-03-10', completed: 2, failed: 0, cancelled: 0, costUsd: 0.03, inputTokens: 30, outputTokens: 3 },
    { day: '2024-03-11', completed: 1, failed: 2, cancelled: 1, costUsd: 0.85, inputTokens: 1500, outputTokens: 150 },
  ]);
  const fortnight = h.activity({ days: 14, now });
  assert.equal(fortnight.length, 14);
  assert.equal(fortnight[0]!.day, '2024-02-27');
  assert.equal(fortnight[13]!.day, '2024-03-11');
  assert.deepEqual(fortnight[10], { day: '2024-03-08', ...empty, failed: 1 });
  // The same days as dailyTotals, split by outcome: the counts add up and the sums are the same.
  const daily = h.dailyTotals({ days: 14, now });
  assert.deepEqual(
    fortnight.map((d) => [d.day, d.completed + d.failed + d.cancelled, d.costUsd, d.inputTokens, d.outputTokens]),
    daily.map((d) => [d.day, d.tasks, d.costUsd, d.inputTokens, d.outputTokens]),
  );
  assert.throws(() => h.activity({ days: 0 }), /bad activity query/);
  assert.throws(() => h.activity({ days: 91 }), /bad activity query/);
  h.close();

  // One statement, whatever the number of days, read from the covering index alone.
  const db = new DatabaseSync(dbPath, { readOnly: true });
  const plan = db
    .prepare(`EXPLAIN QUERY PLAN ${activitySql(14)}`)
    .all(...Array.from({ length: 14 }, (_, k) => [k, 0, 1]).flat())
    .map((r) => String(r.detail));
  db.close();
  assert.ok(
    plan.some((line) => /USING COVERING INDEX tasks_finished_totals \(finished_at>\? AND finished_at<\?\)/.test(line)),
    plan.join('\n'),
  );
  assert.ok(!plan.some((line) => /SCAN t\b/.test(line)), plan.join('\n'));
});

test('activity through the backend and the window handler; empty before registration', async () => {
  const { h } = store();
  finished(h, 'completed', Date.now(), { costUsd: 1.5 });
  finished(h, 'failed', Date.now());
  const backend = historyBackend(h);
  const days = await historyHandlers({ history: () => backend })['history:activity']({ days: 14 });
  assert.equal(days.length, 14);
  assert.deepEqual(days.at(-1), (await backend.activity({ days: 1 }))[0]);
  assert.equal(days.at(-1)!.completed, 1);
  assert.equal(days.at(-1)!.failed, 1);
  assert.equal(days.at(-1)!.costUsd, 1.5);
  assert.deepEqual(await historyHandlers({ history: () => undefined })['history:activity']({ days: 14 }), []);
  h.close();
});
