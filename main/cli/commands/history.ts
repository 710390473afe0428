import { HistoryStatus, type HistoryItem } from '../../runner/history/schema.ts';
import type { HistoryStore } from '../../runner/history/historyStore.ts';
import { openHistory } from '../../runner/services.ts';
import { UsageError } from '../../runner/errors.ts';
import { cost, duration, oneLine, promptSummary, relativeTime, shortId, taskReason } from '../../runner/vocabulary.ts';
import { jsonSafe } from '../../runner/terminalText.ts';
import { intOption, parse, println, printlnRaw, RAW_OPTION, shownText, type Io } from '../args.ts';
import { commandContext } from '../context.ts';
import { HELP } from '../help.ts';

/** The table's width without --full: it fits a 100-column terminal. */
export const HISTORY_WIDTH = 100;
/** Between two columns. */
const GAP = '  ';

/** One column: its heading, its cells, whether amounts line up on the right (as in the window's table). */
interface Column {
  head: string;
  cells: string[];
  right?: boolean;
}

/**
 * `sibyl-runner history`: the local task history, newest first, in at most 100 columns (short ids,
 * relative times, why a task did not complete); `--full` shows every field whole, `--json` all of
 * them as data (camelCase, ISO-8601 UTC times). Prompts and the other fields the server sent are
 * printed with their control characters made visible unless `--raw`; `--json` escapes them.
 */
export async function historyCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('history', argv, {
    config: { type: 'string', short: 'c' },
    status: { type: 'string' },
    search: { type: 'string' },
    limit: { type: 'string' },
    full: { type: 'boolean' },
    json: { type: 'boolean' },
    ...RAW_OPTION,
  });
  if (values.help) return (println(io.stdout, HELP.history), 0);
  const status = values.status === undefined ? undefined : HistoryStatus.safeParse(values.status);
  if (status && !status.success)
    throw new UsageError(`--status must be one of ${HistoryStatus.options.join(', ')} (got ${JSON.stringify(values.status)})`);
  const limit = intOption('history', 'limit', values.limit, 1, 200) ?? 50;
  const ctx = commandContext(values.config !== undefined ? { config: values.config } : {}, io);
  const store = openHistory(ctx.config);
  try {
    const page = store.page({
      limit,
      ...(status?.success ? { status: status.data } : {}),
      ...(values.search ? { search: values.search } : {}),
    });
    if (values.json) {
      const json = JSON.stringify(page.items.map(jsonItem), null, 2);
      printlnRaw(io.stdout, values.raw ? json : jsonSafe(json));
      return 0;
    }
    if (!page.items.length) {
      println(io.stdout, status?.success || values.search ? 'No tasks match.' : 'No tasks yet.');
      return 0;
    }
    const text = shownText(values.raw);
    const rows = page.items.map((t) => ({ t, reason: text(taskReason({ ...t, rejectReason: rejectReasonOf(store, t) })) }));
    const lines = values.full ? fullTable(rows, text) : shortTable(rows, text, Date.now());
    // Cells are already shown as `--raw` asks; println would make a raw one visible again.
    for (const line of lines) printlnRaw(io.stdout, line);
    if (page.nextCursor) println(io.stdout, `(more: raise --limit or narrow with --status/--search)`);
    return 0;
  } finally {
    store.close();
  }
}

type Row = { t: HistoryItem; reason: string };

/** Short ids, relative times, the reason and the prompt cut so that every line fits HISTORY_WIDTH. */
function shortTable(rows: Row[], text: (s: string) => string, now: number): string[] {
  const fixed: Column[] = [
    { head: 'ID', cells: rows.map(({ t }) => text(shortId(t.taskId))) },
    { head: 'STATUS', cells: rows.map(({ t }) => t.status) },
    { head: 'AGENT', cells: rows.map(({ t }) => text(t.agent ?? '—')) },
    { head: 'STARTED', cells: rows.map(({ t }) => relativeTime(t.startedAt ?? t.assignedAt, now)) },
    { head: 'TOOK', cells: rows.map(({ t }) => duration(t.durationS)), right: true },
    { head: 'COST', cells: rows.map(({ t }) => cost(t.costUsd)), right: true },
  ];
  const used = fixed.reduce((sum, c) => sum + width(c) + GAP.length, 0);
  // What is left is shared by the reason and the prompt; the reason takes at most half.
  const left = Math.max(20, HISTORY_WIDTH - used - GAP.length);
  const longestReason = Math.max('REASON'.length, ...rows.map((r) => [...r.reason].length));
  const reasonWidth = Math.min(longestReason, Math.floor(left / 2));
  const promptWidth = left - reasonWidth;
  return table([
    ...fixed,
    { head: 'REASON', cells: rows.map((r) => oneLine(r.reason, reasonWidth)) },
    { head: 'PROMPT', cells: rows.map(({ t }) => promptSummary(text(t.prompt), promptWidth)) },
  ]);
}

/** Every field whole: ids, UTC times, project, exit code, the reason, the prompt's first line. */
function fullTable(rows: Row[], text: (s: string) => string): string[] {
  return table([
    { head: 'TASK', cells: rows.map(({ t }) => text(t.taskId)) },
    { head: 'STATUS', cells: rows.map(({ t }) => t.status) },
    { head: 'AGENT', cells: rows.map(({ t }) => text(t.agent ?? '—')) },
    { head: 'STARTED (UTC)', cells: rows.map(({ t }) => utc(t.startedAt ?? t.assignedAt)) },
    { head: 'FINISHED (UTC)', cells: rows.map(({ t }) => (t.finishedAt === null ? '—' : utc(t.finishedAt))) },
    { head: 'DURATION', cells: rows.map(({ t }) => duration(t.durationS)), right: true },
    { head: 'COST', cells: rows.map(({ t }) => cost(t.costUsd)), right: true },
    { head: 'EXIT', cells: rows.map(({ t }) => (t.exitCode === null ? '—' : String(t.exitCode))), right: true },
    { head: 'PROJECT', cells: rows.map(({ t }) => text(t.projectId ?? '—')) },
    { head: 'BRANCH', cells: rows.map(({ t }) => text(t.branch ?? '—')) },
    { head: 'REASON', cells: rows.map((r) => oneLine(r.reason, 10_000) || '—') },
    { head: 'PROMPT', cells: rows.map(({ t }) => promptSummary(text(t.prompt), 10_000)) },
  ]);
}

/** The heading and the rows, columns padded to their widest cell; the last one is not padded. */
function table(columns: Column[]): string[] {
  const widths = columns.map(width);
  const line = (cell: (c: Column) => string): string =>
    columns
      .map((c, i) => {
        const value = cell(c);
        if (i === columns.length - 1) return value;
        const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - [...value].length));
        return c.right ? pad + value : value + pad;
      })
      .join(GAP)
      .trimEnd();
  const count = columns[0]?.cells.length ?? 0;
  return [line((c) => c.head), ...Array.from({ length: count }, (_, row) => line((c) => c.cells[row] ?? ''))];
}

/** In code points, as the terminal lays most text out. */
function width(c: Column): number {
  return Math.max([...c.head].length, ...c.cells.map((s) => [...s].length));
}

/** `2025-01-06 09:00:01Z`: a time to the second, in UTC and saying so. */
function utc(ms: number): string {
  return `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)}Z`;
}

/** A rejected task's reason code (at_capacity…), kept on its record only. */
function rejectReasonOf(store: HistoryStore, t: HistoryItem): string | null {
  return t.status === 'rejected' ? (store.get(t.taskId)?.rejectReason ?? null) : null;
}

/** A row as `--json` prints it: every field, times as ISO-8601 UTC like every `--json` of this CLI. */
function jsonItem(t: HistoryItem): Record<string, unknown> {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  return { ...t, assignedAt: iso(t.assignedAt), startedAt: iso(t.startedAt), finishedAt: iso(t.finishedAt) };
}
