import { readFileSync } from 'node:fs';

/** Small helpers for benchmark figures. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const median = (values: number[]): number => percentile(values, 50);

/**
 * One line of a benchmark table. `floor` is what the same measurement gives for the least a
 * program can do on this machine, now (a bare Node process, raw git); `met` compares the result
 * with the target, and is left out where a row has no target.
 */
export interface Row {
  figure: string;
  result: string;
  target: string;
  floor?: string;
  met?: boolean;
  /** why the verdict is what it is (e.g. the floor alone misses the target on this machine) */
  note?: string;
}

/** A markdown table: figure, result, floor (when any row has one), target, verdict (when any row has one). */
export function printTable(title: string, rows: Row[]): void {
  const hasFloor = rows.some((r) => r.floor !== undefined);
  const hasVerdict = rows.some((r) => r.met !== undefined || r.note !== undefined);
  const verdict = (r: Row): string => [r.met === undefined ? '' : r.met ? 'met' : 'MISSED', r.note ?? ''].filter(Boolean).join(': ');
  const header = ['figure', 'result', ...(hasFloor ? ['floor'] : []), 'target', ...(hasVerdict ? ['verdict'] : [])];
  const cells = rows.map((r) => [r.figure, r.result, ...(hasFloor ? [r.floor ?? ''] : []), r.target, ...(hasVerdict ? [verdict(r)] : [])]);
  const widths = header.map((h, i) => Math.max(6, h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const c of cells) console.log(line(c));
}

/** Linux only, which is where benchmarks run: a process's resident set (or its peak), in kB. */
export function rssKb(pid: number, field: 'VmRSS' | 'VmHWM' | 'RssAnon' = 'VmRSS'): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(text);
  return m ? Number(m[1]) : NaN;
}

/** "p50 1.23 ms, p99 4.56 ms" */
export const p50p99 = (xs: number[]): string => `p50 ${percentile(xs, 50).toFixed(2)} ms, p99 ${percentile(xs, 99).toFixed(2)} ms`;
