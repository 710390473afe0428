import { HistoryStatus } from '../../runner/history/schema.ts';
import { openHistory } from '../../runner/services.ts';
import { UsageError } from '../../runner/errors.ts';
import { cost, duration, promptSummary } from '../../runner/vocabulary.ts';
import { jsonSafe } from '../../runner/terminalText.ts';
import { intOption, parse, println, printlnRaw, RAW_OPTION, shownText, type Io } from '../args.ts';
import { commandContext } from '../context.ts';
import { HELP } from '../help.ts';

function when(ms: number | null): string {
  return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-';
}

/**
 * `sibyl-runner history`: the local task history, newest first. Prompts and the other fields the
 * server sent are printed with their control characters made visible unless `--raw`; `--json`
 * escapes them (the same JSON to a parser).
 */
export async function historyCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('history', argv, {
    config: { type: 'string', short: 'c' },
    status: { type: 'string' },
    search: { type: 'string' },
    limit: { type: 'string' },
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
      const json = JSON.stringify(page.items, null, 2);
      printlnRaw(io.stdout, values.raw ? json : jsonSafe(json));
      return 0;
    }
    if (!page.items.length) {
      println(io.stdout, 'No tasks yet.');
      return 0;
    }
    const text = shownText(values.raw);
    const rows = page.items.map((t) =>
      [
        t.taskId,
        t.status,
        t.agent ?? '-',
        when(t.startedAt ?? t.assignedAt),
        duration(t.durationS),
        cost(t.costUsd),
        t.exitCode === null ? '-' : String(t.exitCode),
        t.projectId ?? '-',
        promptSummary(t.prompt, 50),
      ].map(text),
    );
    const head = ['TASK', 'STATUS', 'AGENT', 'STARTED', 'DURATION', 'COST', 'EXIT', 'PROJECT', 'PROMPT'];
    // Amounts line up on the right, as in the window's table.
    const right = new Set(['DURATION', 'COST']);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const cell = (c: string, i: number): string =>
      i === head.length - 1 ? c : right.has(head[i]!) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!);
    // Cells are already shown as `--raw` asks; println would make a raw one visible again.
    for (const r of [head, ...rows]) printlnRaw(io.stdout, r.map(cell).join('  '));
    if (page.nextCursor) println(io.stdout, `(more: raise --limit or narrow with --status/--search)`);
    return 0;
  } finally {
    store.close();
  }
}
