import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistoryStore } from '../main/runner/history/historyStore.ts';
import type { HistoryPatch, HistoryQuery, HistoryStatus } from '../main/runner/history/schema.ts';
import { Journal } from '../main/runner/journal/journal.ts';
import type { Logger } from '../main/runner/logger.ts';
import type { TaskComplete } from '../main/runner/protocol/messages.ts';
import { percentile, printTable, type Row } from './stats.ts';

/**
 * The local task history (SQLite, WAL) at 1k / 10k / 100k tasks: how fast rows go in and how long
 * a page of the history window takes, so the growth of each cost is visible; then the journal's
 * durable appends. Figures only, no verdicts. Runs in the OS temp dir: fsync figures are that
 * disk's.
 */

export interface HistoryBenchFigure {
  /** tasks in the history (journal figures: undefined) */
  size: number | undefined;
  figure: string;
  perSecond?: number;
  p50Ms?: number;
  p99Ms?: number;
  bytes?: number;
}

const SIZES = [1_000, 10_000, 100_000];
const QUERIES = 200;
const WORDS = [
  'retry',
  'uploader',
  'flaky',
  'parser',
  'docs',
  'schema',
  'cache',
  'websocket',
  'reconnect',
  'migrate',
  'bump',
  'lint',
  'the',
  'and',
  'fix',
  'tests',
  'module',
  'error',
  'handler',
  'timeout',
];
const STATUSES: HistoryStatus[] = ['completed', 'completed', 'completed', 'failed', 'failed', 'timeout', 'cancelled', 'rejected'];
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

/** A prompt of ~250 characters (the history keeps 500), deterministic per i. */
function prompt(i: number): string {
  let s = `Task ${i}:`;
  for (let k = 0; s.length < 250; k++) s += ` ${WORDS[(i * 13 + k * 7 + (k >> 2)) % WORDS.length]}`;
  return s;
}

function task(i: number): HistoryPatch {
  const at = 1_700_000_000_000 + i * 1000;
  return {
    taskId: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    agentId: `agent_${(i * 31).toString(16).padStart(12, '0')}`,
    projectId: `project_${i % 17}`,
    prompt: prompt(i),
    command: ['/bin/sh', '-lc', 'claude -p "$SIBYL_TASK_PROMPT"'],
    status: STATUSES[i % STATUSES.length]!,
    assignedAt: at,
    startedAt: at + 50,
    finishedAt: at + 900,
    durationS: 0.85,
    exitCode: 0,
    // What an agent reports (issue 11), in the row as the history keeps it since schema version 2.
    agent: 'claude-code',
    model: 'claude-sonnet-4-5',
    costUsd: 0.01 * (i % 90),
    inputTokens: 1000 + (i % 5000),
    outputTokens: 100 + (i % 700),
    // A small real result: 25 lines of output (the protocol allows 200 per stream).
    result: {
      status: 'completed',
      exit_code: 0,
      worktree_path: `/w/${i}`,
      duration_s: 0.85,
      stdout: `${'x'.repeat(79)}\n`.repeat(25),
      stderr: '',
      agent: 'claude-code',
      model: 'claude-sonnet-4-5',
      summary: 'Done: the change is on the task branch.',
      usage: {
        input_tokens: 1000 + (i % 5000),
        output_tokens: 100 + (i % 700),
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 0,
      },
      cost_usd: 0.01 * (i % 90),
    },
  };
}

function latencies(fn: (i: number) => unknown, n: number): { p50Ms: number; p99Ms: number } {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn(i);
    ms.push(performance.now() - t0);
  }
  return { p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99) };
}

function rate(fn: (i: number) => unknown, n: number): { perSecond: number; p50Ms: number; p99Ms: number } {
  const t0 = performance.now();
  const l = latencies(fn, n);
  return { perSecond: n / ((performance.now() - t0) / 1000), ...l };
}

function historyAt(size: number, root: string): HistoryBenchFigure[] {
  const dir = join(root, `h${size}`);
  const h = new HistoryStore({ dbPath: join(dir, 'history.sqlite'), logDir: join(dir, 'logs') });
  try {
    const out: HistoryBenchFigure[] = [];
    const rows = Array.from({ length: size }, (_, i) => task(i));
    const t0 = performance.now();
    h.upsertMany(rows);
    out.push({ size, figure: 'bulk load (one transaction)', perSecond: size / ((performance.now() - t0) / 1000) });
    // The daemon's pattern: one autocommitted upsert per task event (assigned, running, finished).
    let next = size;
    out.push({ size, figure: 'append: new task (autocommit)', ...rate(() => h.upsert(task(next++)), 1000) });
    let upd = size;
    out.push({
      size,
      figure: 'append: status update (autocommit)',
      ...rate(() => h.upsert({ taskId: task(upd++).taskId, status: 'running', startedAt: Date.now() }), 1000),
    });

    const pages: [string, (i: number) => HistoryQuery][] = [
      ['page: newest 50', () => ({})],
      ['page: status filter', (i) => ({ status: (['failed', 'timeout', 'completed', 'cancelled'] as const)[i % 4] })],
      ['page: text search', (i) => ({ search: WORDS[i % WORDS.length]! })],
      [
        'page: text search + status',
        (i) => ({ search: WORDS[i % WORDS.length]!, status: (['failed', 'timeout', 'rejected'] as const)[i % 3] }),
      ],
      ['page: rare text (one task)', (i) => ({ search: `Task ${(i * 7919) % size}:` })],
      ['page: 2-char search (scan)', (i) => ({ search: ['zq', 'xj', 'qv'][i % 3]!, status: 'failed' })],
      ['page: 5th page, cursor', () => ({ cursor: String(Math.max(1, size - 200)) })],
    ];
    for (const [figure, q] of pages) out.push({ size, figure, ...latencies((i) => h.page(q(i)), QUERIES) });
    // The dashboard asks for today; a 90-day view walks every task here (the rows are 1 s apart, all within 90 days).
    const now = task(size - 1).finishedAt!;
    out.push({ size, figure: 'daily totals: today', ...latencies(() => h.dailyTotals({ days: 1, now }), QUERIES) });
    out.push({ size, figure: 'daily totals: 90 days', ...latencies(() => h.dailyTotals({ days: 90, now }), QUERIES / 10) });
    out.push({
      size,
      figure: 'count: text search + status',
      ...latencies((i) => h.count({ search: WORDS[i % WORDS.length]!, status: 'failed' }), QUERIES),
    });
    return out;
  } finally {
    h.close();
  }
}

function complete(taskId: string): TaskComplete {
  return {
    type: 'task_complete',
    task_id: taskId,
    success: true,
    retryable: false,
    result: {
      status: 'completed',
      exit_code: 0,
      worktree_path: `/w/${taskId}`,
      duration_s: 12.5,
      stdout: 'line\n'.repeat(200),
      stderr: '',
    },
  };
}

function journalFigures(root: string): HistoryBenchFigure[] {
  const j = Journal.open(join(root, 'journal'), { log: quiet });
  try {
    const out: HistoryBenchFigure[] = [];
    const acks: number[] = [];
    out.push({
      size: undefined,
      figure: 'journal: enqueue ack (append; fdatasync in background)',
      ...rate((i) => acks.push(j.enqueue({ type: 'task_ack', task_id: `a${i}`, agent_id: 'agent_1' })), 500),
    });
    out.push({ size: undefined, figure: 'journal: finish (result, append + fdatasync)', ...rate((i) => j.finish(complete(`f${i}`)), 500) });
    out.push({ size: undefined, figure: 'journal: markSent (append, no sync)', ...rate((i) => j.markSent(acks[i]!), acks.length) });
    out.push({
      size: undefined,
      figure: 'journal: task round trip (7 appends, 2 synchronous syncs)',
      ...rate((i) => {
        const id = `t${i}`;
        j.assigned({ taskId: id, agentId: 'agent_1', projectId: 'project_1', prompt: prompt(i), command: ['claude', '-p', 'x'] });
        j.markSent(j.enqueue({ type: 'task_ack', task_id: id, agent_id: 'agent_1' }));
        j.workspaceReady(id, `/w/${id}`, `sibyl/${id}`);
        j.started(id, { pid: 1000, pgid: 1000, startTime: 'boot:1', logPath: `/logs/${id}.log` });
        j.markSent(j.finish(complete(id)));
      }, 300),
    });
    out.push({ size: undefined, figure: 'journal: file size afterwards (compacts at 4 MiB)', bytes: j.stats.bytes });
    return out;
  } finally {
    j.close();
  }
}

const fmtRate = (n: number): string => `${Math.round(n).toLocaleString('en-US')}/s`;
const fmtMs = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1));

function toRow(f: HistoryBenchFigure): Row {
  const parts: string[] = [];
  if (f.bytes !== undefined) parts.push(`${(f.bytes / 1024).toFixed(1)} KiB`);
  if (f.perSecond !== undefined) parts.push(fmtRate(f.perSecond));
  if (f.p50Ms !== undefined && f.p99Ms !== undefined) parts.push(`p50 ${fmtMs(f.p50Ms)} ms · p99 ${fmtMs(f.p99Ms)} ms`);
  const goal = f.size === 100_000 && f.figure.startsWith('page:') && !f.figure.includes('2-char') ? 'goal ≤ 20 ms' : '-';
  return {
    figure: `${f.size === undefined ? '' : `${(f.size / 1000).toFixed(0)}k  `}${f.figure}`,
    result: parts.join(' · '),
    target: goal,
  };
}

export async function run(): Promise<HistoryBenchFigure[]> {
  const root = mkdtempSync(join(tmpdir(), 'sibyl-history-bench-'));
  try {
    const figures: HistoryBenchFigure[] = [];
    for (const size of SIZES) figures.push(...historyAt(size, root));
    figures.push(...journalFigures(root));
    printTable(
      `task history (SQLite WAL, synchronous=NORMAL, FTS5 trigram) and journal — ${QUERIES} queries per page figure, in ${tmpdir()}`,
      figures.map(toRow),
    );
    return figures;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.main) await run();
