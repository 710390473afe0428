import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { test } from 'node:test';
import {
  COLLECT_PAUSE_FACTOR,
  collectAfterOutput,
  MIN_COLLECT_GAP_MS,
  OUTPUT_COLLECT_EVERY_BYTES,
  outputCounted,
  outputTaken,
} from '../../main/runner/tasks/outputCollection.ts';
import { assign, completionOf, startHarness } from '../helpers/runnerHarness.ts';
import { sleep, until } from '../helpers/tmp.ts';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Runs `fn` and says when it started and ended (performance.now() ms), to match gc entries to it. */
function timed(fn: () => void): { from: number; to: number } {
  const from = performance.now();
  fn();
  return { from, to: performance.now() };
}

test('output past the threshold runs a full collection within the call, spaced by the gap; less output does not', async () => {
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
    const first = timed(() => outputTaken(OUTPUT_COLLECT_EVERY_BYTES));
    await until(() => during(first), 'a full collection inside the call that reached the threshold');
    const below = timed(() => outputTaken(OUTPUT_COLLECT_EVERY_BYTES - 1));
    const early = timed(() => outputTaken(1)); // the threshold again, but within the gap
    // The gap: a second at least, more after a long pause (first.to - first.from bounds that pause).
    await sleep(Math.max(MIN_COLLECT_GAP_MS, COLLECT_PAUSE_FACTOR * (first.to - first.from)) - (performance.now() - first.to) + 20);
    const late = timed(() => outputTaken(1));
    await until(() => during(late), 'a full collection once the gap has passed');
    await tick();
    assert.ok(!during(below), 'none inside the call that stayed below it');
    assert.ok(!during(early), 'none within the gap after a collection');
  } finally {
    observer.disconnect();
  }
});

test("the daemon counts its agents' output (through the spawn helper and past its handover)", async () => {
  const h = await startHarness();
  const before = outputCounted();
  const bytes = 3 * 1024 * 1024; // past the helper's 256 KiB handover, on both streams
  const taskId = assign(h.runnerId, h.core, { command: ['/bin/sh', '-c', `head -c ${bytes} /dev/zero; head -c ${bytes} /dev/zero >&2`] });
  await until(() => completionOf(h.core, taskId).length, 'the task to end', 30_000);
  assert.ok(outputCounted() - before >= 2 * bytes, `counted ${outputCounted() - before} of ${2 * bytes} bytes`);
});

test('a gc given at launch (--expose-gc, as the desktop app starts its core) is the one used', () => {
  const module = new URL('../../main/runner/tasks/outputCollection.ts', import.meta.url).href;
  const script = `
    let calls = 0;
    const launch = globalThis.gc;
    globalThis.gc = (o) => { calls++; launch(o); };
    const m = await import(${JSON.stringify(module)});
    m.collectAfterOutput();
    m.outputTaken(m.OUTPUT_COLLECT_EVERY_BYTES);
    console.log(calls);`;
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(out.trim(), '1');
});
