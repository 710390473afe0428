import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Collecting the garbage that agent output leaves. Every chunk an agent prints passes through
 * buffers outside V8's heap (the pipe's reads, the task log's queued writes); those that live
 * long enough reach the old generation, where V8 frees such buffers only at a full collection,
 * and it starts one only once ~64 MB of them piled up. With the task log's write buffers reused
 * (taskLog.ts), one agent printing 50 MB still grew the runner by ~26 MB; a full collection per
 * OUTPUT_COLLECT_EVERY_BYTES of output keeps that near 10 MB, for 7 collections of ~11 ms over
 * those 50 MB, which the runner takes ~3 s to log (at 4 MiB: ~8 MB for 13 of them; issue 16,
 * `BENCH_ONLY=memory node bench/runner.bench.ts`).
 */

/** Output taken in between two collections (bytes). */
export const OUTPUT_COLLECT_EVERY_BYTES = 8 * 1024 * 1024;
/**
 * The shortest time between two collections (ms), however much is printed: ten chatty agents share
 * one count. And at least COLLECT_PAUSE_FACTOR times the last collection's pause, as a full
 * collection takes longer with a bigger heap (~11 ms idle, 50–150 ms at 50–190 MB): they never
 * take more than 1/COLLECT_PAUSE_FACTOR of the runner's time. At 1 s and 50x, the 50 MB figure
 * grew the runner by 12–16 MB (3 collections); at 250 ms and 20x, by 10–10.5 MB.
 */
export const MIN_COLLECT_GAP_MS = 250;
export const COLLECT_PAUSE_FACTOR = 20;

type Collect = (options: { type: 'major' | 'minor' }) => void;

let collect: Collect | undefined;
let taken = 0;
let counted = 0;
/** performance.now() before which no collection starts (ms) */
let nextAt = 0;

/**
 * From now on, agent output counted by outputTaken() triggers a full collection every
 * OUTPUT_COLLECT_EVERY_BYTES, spaced as above. V8's `gc` is the one `--expose-gc` gave at launch
 * (the desktop app starts its core so, coreProcess.ts); else it is made available in the running
 * process: the flag, then a new context, which gets the function (the main context does not).
 * Node's docs warn that flags set after start-up may misbehave; this one is tested on Node 22 and
 * 24 (test/tasks/outputCollection.test.ts). The daemon turns this on; a one-shot command never
 * needs it. Idempotent.
 */
export function collectAfterOutput(): void {
  if (collect) return;
  const atLaunch: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof atLaunch === 'function') {
    collect = atLaunch as Collect;
    return;
  }
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc === 'function') collect = gc as Collect;
}

/** `bytes` of agent output were taken in (read from a pipe or the spawn helper). */
export function outputTaken(bytes: number): void {
  if (!collect) return;
  counted += bytes;
  taken += bytes;
  if (taken < OUTPUT_COLLECT_EVERY_BYTES) return;
  const started = performance.now();
  if (started < nextAt) return; // counted on: the next chunk after the gap collects
  taken = 0;
  collect({ type: 'major' });
  const ended = performance.now();
  nextAt = ended + Math.max(MIN_COLLECT_GAP_MS, COLLECT_PAUSE_FACTOR * (ended - started));
}

/** Agent output counted since collectAfterOutput() (bytes); 0 before it. */
export function outputCounted(): number {
  return counted;
}
