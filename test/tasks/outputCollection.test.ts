import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { test } from 'node:test';
import { collectAfterOutput, OUTPUT_COLLECT_EVERY_BYTES, outputTaken } from '../../main/runner/tasks/outputCollection.ts';
import { until } from '../helpers/tmp.ts';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Runs `fn` and says when it started and ended (performance.now() ms), to match gc entries to it. */
function timed(fn: () => void): { from: number; to: number } {
  const from = performance.now();
  fn();
  return { from, to: performance.now() };
}

test('output past the threshold runs a full collection within the call; less output does not', async () => {
  // The benefit (a runner that no longer grows by ~45 MB while an agent prints 50 MB) is measured
  // by bench/runner.bench.ts; here, that the collection happens exactly where it should.
  const full: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
        full.push(e.startTime);
  });
  observer.observe({ entryTypes: ['gc'] });
  const during = (w: { from: number; to: number }): boolean => full.some((t) => t >= w.from && t <= w.to);
  try {
    collectAfterOutput();
    collectAfterOutput(); // idempotent
    outputTaken(OUTPUT_COLLECT_EVERY_BYTES); // start counting from a collection
    const below = timed(() => outputTaken(OUTPUT_COLLECT_EVERY_BYTES - 1));
    const reached = timed(() => outputTaken(1));
    await until(() => during(reached), 'a full collection inside the call that reached the threshold');
    await tick();
    assert.ok(!during(below), 'none inside the call that stayed below it');
  } finally {
    observer.disconnect();
  }
});
