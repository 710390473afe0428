import assert from 'node:assert/strict';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { finishedPatch, HistoryStore } from '../../main/runner/history/historyStore.ts';
import type { HistoryPatch, HistoryStatus } from '../../main/runner/history/schema.ts';
import { tempDir } from '../helpers/tmp.ts';

const WORDS = ['retry', 'uploader', 'flaky', 'parser', 'docs', 'schema', 'cache', 'websocket', 'Reconnect', 'migrate', 'bump', 'lint'];
const STATUSES: HistoryStatus[] = ['completed', 'failed', 'timeout', 'cancelled', 'rejected', 'completed', 'completed', 'failed'];

const uuid = (i: number): string => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

function row(i: number): HistoryPatch & { prompt: string; status: HistoryStatus } {
  const w = (k: number): string => WORDS[(i * 7 + k * 5 + (i >> 3)) % WORDS.length]!;
  return {
    taskId: uuid(i),
    agentId: `agent_${(i * 31).toString(16).padStart(12, '0')}`,
    projectId: `project_${i % 17}`,
    prompt: `Task #${i}: ${w(1)} the ${w(2)} and ${w(3)}${i % 997 === 0 ? ' (needle-in-haystack)' : ''}`,
    command: ['/bin/sh', '-lc', 'make test'],
    status: STATUSES[i % STATUSES.length]!,
    assignedAt: 1_700_000_000_000 + i * 1000,
    finishedAt: 1_700_000_000_000 + i * 1000 + 500,
    durationS: 0.5,
  };
}

/** What a correct answer is, computed the slow obvious way. */
function expected(rows: ReturnType<typeof row>[], f: { status?: HistoryStatus; search?: string }): string[] {
  const needle = f.search?.toLowerCase();
  return rows
    .filter(
      (r) =>
        (f.status === undefined || r.status === f.status) &&
        (needle === undefined || [r.taskId, r.agentId ?? '', r.prompt].some((s) => s.toLowerCase().includes(needle))),
    )
    .map((r) => r.taskId)
    .reverse();
}

describe('history with 100,000 tasks', () => {
  const N = 100_000;
  const rows: ReturnType<typeof row>[] = [];
  let h: HistoryStore;

  before(() => {
    const dir = tempDir();
    h = new HistoryStore({ dbPath: join(dir, 'history.sqlite'), logDir: join(dir, 'logs') });
    for (let i = 0; i < N; i++) rows.push(row(i));
    h.upsertMany(rows);
    assert.equal(h.fullTextSearch, true, 'this SQLite build has FTS5 with the trigram tokenizer');
  });

  /** Every page of a query, following cursors, checking each page's size. */
  function all(q: { status?: HistoryStatus; search?: string }, limit: number): string[] {
    const out: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = h.page({ ...q, limit, ...(cursor ? { cursor } : {}) });
      out.push(...page.items.map((i) => i.taskId));
      if (page.nextCursor === null) return out;
      assert.equal(page.items.length, limit, 'only the last page is short');
      cursor = page.nextCursor;
    }
  }

  test('newest first, default 50, limit capped at 200', () => {
    const page = h.page();
    assert.equal(page.items.length, 50);
    assert.deepEqual(
      page.items.map((i) => i.taskId),
      expected(rows, {}).slice(0, 50),
    );
    assert.deepEqual(page.items[0], {
      taskId: uuid(N - 1),
      agentId: rows[N - 1]!.agentId,
      projectId: rows[N - 1]!.projectId,
      prompt: rows[N - 1]!.prompt,
      status: rows[N - 1]!.status,
      assignedAt: rows[N - 1]!.assignedAt,
      startedAt: null,
      finishedAt: rows[N - 1]!.finishedAt,
      durationS: 0.5,
      exitCode: null,
      branch: null,
      commitCount: null,
      error: null,
      agent: null,
      model: null,
      costUsd: null,
      inputTokens: null,
      outputTokens: null,
    });
    assert.throws(() => h.page({ limit: 201 }), /bad history query: limit/);
    assert.equal(h.count(), N);
  });

  test('status filter: every page, in order, matches a brute-force answer', () => {
    const want = expected(rows, { status: 'timeout' });
    assert.equal(h.count({ status: 'timeout' }), want.length);
    assert.deepEqual(all({ status: 'timeout' }, 200), want);
  });

  test('search: substring of prompt, task id and agent id, case-insensitive', () => {
    for (const search of ['reconnect', 'FLAKY the', 'needle-in-haystack', uuid(4242).slice(-8), 'agent_0000000a', '#99999:']) {
      const want = expected(rows, { search });
      assert.ok(want.length > 0, `"${search}" matches something`);
      assert.equal(h.count({ search }), want.length, `count for "${search}"`);
      assert.deepEqual(
        h.page({ search, limit: 200 }).items.map((i) => i.taskId),
        want.slice(0, 200),
        `first page for "${search}"`,
      );
    }
    assert.deepEqual(all({ search: 'needle-in-haystack' }, 7), expected(rows, { search: 'needle-in-haystack' }));
    assert.deepEqual(h.page({ search: 'no such text anywhere' }), { items: [], nextCursor: null });
    assert.deepEqual(h.page({ search: 'say "hi" * OR NEAR(' }).items, [], 'search text is never FTS syntax');
  });

  test('search + status, including a status with few rows and short (unindexed) searches', () => {
    for (const q of [
      { search: 'uploader', status: 'rejected' as const },
      { search: 'needle', status: 'failed' as const },
      { search: 'e', status: 'cancelled' as const },
      { search: '%', status: 'completed' as const },
    ]) {
      const want = expected(rows, q);
      assert.equal(h.count(q), want.length, `count ${JSON.stringify(q)}`);
      assert.deepEqual(
        h.page({ ...q, limit: 100 }).items.map((i) => i.taskId),
        want.slice(0, 100),
        JSON.stringify(q),
      );
    }
    // Few running tasks, a term every row has: the status-driven plan must give the same answer.
    const running = [0, 1, 2].map((k) => ({ ...row(N + k), status: 'running' as const }));
    for (const r of running) h.upsert(r);
    rows.push(...running);
    assert.deepEqual(all({ search: 'task #', status: 'running' }, 2), expected(rows, { search: 'task #', status: 'running' }));
    assert.equal(h.count({ search: 'TASK #', status: 'running' }), 3);
  });

  test('upsert changes only the given fields and keeps the search index in step', () => {
    const id = uuid(12345);
    h.upsert({ taskId: id, prompt: 'rewritten: zebra crossing', exitCode: 3 });
    const got = h.get(id);
    assert.equal(got?.prompt, 'rewritten: zebra crossing');
    assert.equal(got?.exitCode, 3);
    assert.equal(got?.status, rows[12345]!.status, 'status untouched');
    assert.deepEqual(got?.command, ['/bin/sh', '-lc', 'make test']);
    assert.deepEqual(
      h.page({ search: 'zebra' }).items.map((i) => i.taskId),
      [id],
    );
    assert.ok(!h.page({ search: '#12345:', limit: 200 }).items.some((i) => i.taskId === id), 'the old text is no longer found');
  });

  test('a bad cursor is an error, not a silent first page', () => {
    assert.throws(() => h.page({ cursor: 'drop table' }), /not a history cursor/);
  });
});

describe('history basics', () => {
  test('without the FTS index, search scans and gives the same answers; the index is rebuilt when back', () => {
    const dir = tempDir();
    const opts = { dbPath: join(dir, 'h.sqlite'), logDir: join(dir, 'logs') };
    const rows = Array.from({ length: 3000 }, (_, i) => row(i));
    const queries = [
      { search: 'flaky' },
      { search: 'PARSER the', status: 'failed' as const },
      { search: uuid(77) },
      { search: 'e', status: 'timeout' as const },
    ];
    const scan = new HistoryStore({ ...opts, fullTextSearch: false });
    assert.equal(scan.fullTextSearch, false);
    scan.upsertMany(rows);
    for (const q of queries) {
      assert.deepEqual(
        scan.page({ ...q, limit: 200 }).items.map((i) => i.taskId),
        expected(rows, q).slice(0, 200),
        JSON.stringify(q),
      );
      assert.equal(scan.count(q), expected(rows, q).length);
    }
    scan.upsert({ taskId: uuid(5), prompt: 'changed while unindexed: okapi' });
    rows[5]!.prompt = 'changed while unindexed: okapi';
    scan.close();

    const indexed = new HistoryStore(opts);
    assert.equal(indexed.fullTextSearch, true);
    for (const q of [...queries, { search: 'okapi' }]) {
      assert.deepEqual(
        indexed.page({ ...q, limit: 200 }).items.map((i) => i.taskId),
        expected(rows, q).slice(0, 200),
        JSON.stringify(q),
      );
    }
    indexed.close();
  });

  test('a task from assignment to result, persisted across reopen', () => {
    const dir = tempDir();
    const dbPath = join(dir, 'h.sqlite');
    const h = new HistoryStore({ dbPath, logDir: join(dir, 'logs') });
    h.upsert({
      taskId: 't1',
      agentId: 'agent_1',
      projectId: 'project_1',
      prompt: 'p'.repeat(800),
      command: ['claude', '-p', 'x'],
      assignedAt: 1000,
    });
    assert.equal(h.get('t1')?.status, 'assigned');
    assert.equal(h.get('t1')?.prompt.length, 500, 'prompt stored as its first 500 characters');
    h.upsert({ taskId: 't1', status: 'running', startedAt: 2000, worktreePath: '/w/t1', logPath: join(dir, 'logs', 't1.log') });
    h.upsert(
      finishedPatch(
        {
          type: 'task_complete',
          task_id: 't1',
          success: false,
          retryable: false,
          error: 'agent exited with code 2',
          result: {
            status: 'failed',
            exit_code: 2,
            worktree_path: '/w/t1',
            duration_s: 4.25,
            branch: 'sibyl/t1',
            commits: [{ sha: 'a' }, { sha: 'b' }],
          },
        },
        5000,
      ),
    );
    h.upsert({ taskId: 't2', status: 'rejected', rejectReason: 'at_capacity', assignedAt: 6000, finishedAt: 6000 });
    h.close();
    h.close(); // idempotent

    const again = new HistoryStore({ dbPath, logDir: join(dir, 'logs') });
    const t1 = again.get('t1');
    assert.deepEqual(
      { ...t1, result: undefined },
      {
        taskId: 't1',
        agentId: 'agent_1',
        projectId: 'project_1',
        prompt: 'p'.repeat(500),
        status: 'failed',
        assignedAt: 1000,
        startedAt: 2000,
        finishedAt: 5000,
        durationS: 4.25,
        exitCode: 2,
        branch: 'sibyl/t1',
        commitCount: 2,
        error: 'agent exited with code 2',
        agent: null,
        model: null,
        costUsd: null,
        inputTokens: null,
        outputTokens: null,
        command: ['claude', '-p', 'x'],
        worktreePath: '/w/t1',
        logPath: join(dir, 'logs', 't1.log'),
        rejectReason: null,
        summary: null,
        numTurns: null,
        sessionId: null,
        cacheReadTokens: null,
        cacheCreationTokens: null,
        permissionDenials: [],
        result: undefined,
      },
    );
    assert.equal(t1?.result?.exit_code, 2);
    again.upsert({ taskId: 't1', result: null });
    assert.equal(again.get('t1')?.result, null, 'null clears a field');
    assert.equal(again.get('t1')?.exitCode, 2);
    assert.equal(again.get('t2')?.rejectReason, 'at_capacity');
    assert.equal(again.get('nope'), undefined);
    assert.deepEqual(
      again.page({ search: 'ppp' }).items.map((i) => i.taskId),
      ['t1'],
      'the search index survived the reopen',
    );
    again.close();
  });

  test('prune by count and by age removes rows and their logs, only inside the log dir', async () => {
    const dir = tempDir();
    const logDir = join(dir, 'logs');
    const outside = join(dir, 'outside');
    mkdirSync(logDir);
    mkdirSync(outside);
    mkdirSync(join(outside, 'real'));
    symlinkSync(join(outside, 'real'), join(logDir, 'sneaky'));
    const h = new HistoryStore({ dbPath: join(dir, 'h.sqlite'), logDir });
    const now = Date.now();
    const day = 86_400_000;
    const logOf = (i: number): string => {
      if (i === 1) return join(outside, 'victim.log'); // a row pointing outside the log dir
      if (i === 2) return join(logDir, 'sneaky', 'victim2.log'); // inside by name, outside for real
      if (i === 3) return join(logDir, '..', 'outside', 'victim3.log');
      return join(logDir, `t${i}.log`);
    };
    for (let i = 0; i < 30; i++) {
      writeFileSync(logOf(i), 'log\n');
      // 0–9: 100 days old; 10–29: recent. Task 5 is still running: never pruned.
      const at = i < 10 ? now - 100 * day + i : now - 1000 + i;
      h.upsert({
        taskId: `t${i}`,
        status: i === 5 ? 'running' : 'completed',
        assignedAt: at,
        finishedAt: i === 5 ? null : at + 1,
        logPath: logOf(i),
      });
    }
    h.upsert({ taskId: 'no-log', status: 'failed', assignedAt: now - 200 * day, finishedAt: now - 200 * day });

    const byAge = await h.prune({ maxAgeDays: 90, maxTasks: 0 });
    assert.equal(byAge.rows, 10, 't0–t9 except the running t5, plus the old row without a log');
    assert.equal(byAge.logFiles, 6, 't0, t4, t6–t9: the outside ones are left alone');
    assert.equal(h.get('t5')?.status, 'running');
    assert.equal(h.get('no-log'), undefined);
    for (const i of [0, 4, 6, 9]) assert.ok(!existsSync(logOf(i)), `log ${i} deleted`);
    for (const i of [1, 2, 3]) assert.ok(existsSync(logOf(i)), `log ${i} outside the log dir kept`);

    const byCount = await h.prune({ maxAgeDays: 0, maxTasks: 15 });
    assert.deepEqual(byCount, { rows: 5, logFiles: 5 }, 'keeps the 15 newest finished tasks (t15–t29), deletes t10–t14');
    assert.deepEqual(
      h.page({ limit: 200 }).items.map((i) => i.taskId),
      [...Array.from({ length: 15 }, (_, k) => `t${29 - k}`), 't5'],
      'the running task stays whatever its age',
    );
    for (let i = 10; i < 15; i++) assert.ok(!existsSync(logOf(i)));
    for (let i = 15; i < 30; i++) assert.ok(existsSync(logOf(i)));
    assert.deepEqual(await h.prune({ maxAgeDays: 0, maxTasks: 0 }), { rows: 0, logFiles: 0 }, '0 and 0 keep everything');
    assert.deepEqual(await h.prune({ maxAgeDays: 90, maxTasks: 15 }), { rows: 0, logFiles: 0 }, 'nothing more to do');
    assert.equal(h.page({ search: 't12' }).items.length, 0, 'pruned rows left the search index');
    assert.equal(h.page({ search: 't16' }).items.length, 1);
    h.close();
  });
});
