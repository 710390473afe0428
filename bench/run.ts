import { existsSync } from 'node:fs';

/** `npm run bench`: every benchmark in turn; each prints its own table of figures. */
const benches = ['runner.bench.ts', 'history.bench.ts', 'worktree.bench.ts', 'repoLock.bench.ts', 'agent.bench.ts'];
for (const file of benches) {
  const url = new URL(file, import.meta.url);
  if (!existsSync(url)) continue;
  const mod = (await import(url.href)) as { run?: () => Promise<unknown> };
  if (typeof mod.run !== 'function') throw new Error(`${file} exports no run()`);
  await mod.run();
}
