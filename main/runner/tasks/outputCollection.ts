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

type Collect = (options: { type: 'major' | 'minor' }) => void;

let collect: Collect | undefined;
let taken = 0;

/**
 * From now on, agent output counted by outputTaken() triggers a full collection every
 * OUTPUT_COLLECT_EVERY_BYTES. V8's `gc` is made available in a running process: the flag,
 * then a new context, which gets the function (the main context does not). Node's docs warn that
 * flags set after start-up may misbehave; this one is checked on Node 22 and 24, not yet in
 * Electron's utilityProcess (passing --expose-gc at launch would avoid the question).
 * The daemon turns this on; a one-shot command never needs it. Idempotent.
 */
export function collectAfterOutput(): void {
  if (collect) return;
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc === 'function') collect = gc as Collect;
}

/** `bytes` of agent output were taken in (read from a pipe or the spawn helper). */
export function outputTaken(bytes: number): void {
  if (!collect) return;
  taken += bytes;
  if (taken < OUTPUT_COLLECT_EVERY_BYTES) return;
  taken = 0;
  collect({ type: 'major' });
}
