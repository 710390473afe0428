import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';

/**
 * `npm run bench`: every benchmark in turn; each prints its own table of figures. The load average
 * is printed first and last: the figures are ratios to floors measured in the same run, but a busy
 * machine still spreads them.
 */
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
console.log(`load average at the start: ${load()}`);
const benches = ['runner.bench.ts', 'taskStart.bench.ts', 'history.bench.ts', 'worktree.bench.ts', 'repoLock.bench.ts', 'agent.bench.ts'];
for (const file of benches) {
  const url = new URL(file, import.meta.url);
  if (!existsSync(url)) continue;
  const mod = (await import(url.href)) as { run?: () => Promise<unknown> };
  if (typeof mod.run !== 'function') throw new Error(`${file} exports no run()`);
  await mod.run();
}
console.log(`\nload average at the end: ${load()}`);
