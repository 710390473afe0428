import { spawn, type ChildProcess } from 'node:child_process';
import { build } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { wsUrlFor } from '../main/runner/api/sibylApi.ts';
import type { FakeCore } from '../test/helpers/fakeCore.ts';

/**
 * The processes the benchmarks measure, started the way a user starts them: the package's `bin`
 * (bin/sibyl-runner.js → out/cli.mjs) with `run` and a runner.yaml that sets only the server, the
 * runner id and the agent cap (everything else is the default, under a temporary HOME), default
 * logging unless `quiet`. Or the floor client (floorClient.ts) on the same fake server.
 */

/** `BENCH_BIN` points the benchmarks at another build of the CLI (a profiling build, say). */
export const BIN = process.env.BENCH_BIN ?? resolve(import.meta.dirname, '..', 'bin', 'sibyl-runner.js');
const FLOOR_SOURCE = resolve(import.meta.dirname, 'floorClient.ts');
const FLOOR_BUNDLE = resolve(import.meta.dirname, '..', 'out', 'bench', 'floorClient.mjs');

export interface BenchProcess {
  core: FakeCore;
  /** the runner id on the fake server */
  id: string;
  child: ChildProcess;
  /** the temporary HOME; the runner's folders are the defaults under it */
  home: string;
  configPath: string;
  stop(): Promise<void>;
}

export interface RunnerProcessOptions {
  maxAgents?: number;
  /** `run --quiet` (no stderr lines below error) instead of the default logging */
  quiet?: boolean;
  /** before `run`: e.g. link a project with `projects link` */
  prepare?: (p: { home: string; configPath: string; env: Record<string, string> }) => void;
}

/** Extra node flags for the measured process (`BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=…"`). */
const nodeFlags = (): string[] => (process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []);

/** `sibyl-runner run`, connected. Its stderr is read (as a terminal or journald would) and thrown away. */
export async function startRunner(core: FakeCore, opts: RunnerProcessOptions = {}): Promise<BenchProcess> {
  const home = mkdtempSync(join(tmpdir(), 'sibyl-bench-'));
  const { id, accessToken } = core.addRunner({ name: 'bench', max_concurrent_agents: opts.maxAgents ?? 20 });
  const configPath = join(home, 'runner.yaml');
  writeFileSync(
    configPath,
    YAML.stringify({
      server_url: core.url,
      runner_id: id,
      name: 'bench',
      max_concurrent_agents: opts.maxAgents ?? 20,
      // For comparisons only (`BENCH_CONFIG='{"keep_failed_worktrees_hours":0}'`); the figures use the defaults.
      ...(process.env.BENCH_CONFIG ? (JSON.parse(process.env.BENCH_CONFIG) as Record<string, unknown>) : {}),
    }),
  );
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: home, SIBYL_ACCESS_TOKEN: accessToken };
  // Passed on to compare: SIBYL_SPAWN_HOST=0 spawns from the runner itself (tasks/spawnHost.ts).
  if (process.env.SIBYL_SPAWN_HOST !== undefined) env.SIBYL_SPAWN_HOST = process.env.SIBYL_SPAWN_HOST;
  opts.prepare?.({ home, configPath, env });
  const child = spawn(process.execPath, [...nodeFlags(), BIN, 'run', ...(opts.quiet ? ['--quiet'] : []), '--config', configPath], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.resume();
  return connected(core, id, child, home, configPath);
}

/**
 * The floor client (floorClient.ts) in a bare Node process, connected. It is bundled with `ws` the
 * way the CLI is (out/bench/floorClient.mjs), so neither pays for type stripping or module lookup.
 */
export async function startFloorClient(core: FakeCore): Promise<BenchProcess> {
  await build({
    entryPoints: [FLOOR_SOURCE],
    outfile: FLOOR_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" },
  });
  const home = mkdtempSync(join(tmpdir(), 'sibyl-bench-floor-'));
  const { id, accessToken } = core.addRunner({ name: 'floor', max_concurrent_agents: 20 });
  const child = spawn(process.execPath, [FLOOR_BUNDLE, wsUrlFor(core.url, id)], {
    env: { PATH: process.env.PATH ?? '', HOME: home, SIBYL_ACCESS_TOKEN: accessToken },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return connected(core, id, child, home, '');
}

async function connected(core: FakeCore, id: string, child: ChildProcess, home: string, configPath: string): Promise<BenchProcess> {
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  await Promise.race([
    core.until(() => core.connected(id), 30_000, `${configPath ? 'the runner' : 'the floor client'} to connect`),
    exited.then(() => {
      throw new Error(`the ${configPath ? 'runner' : 'floor client'} exited before connecting (code ${child.exitCode})`);
    }),
  ]);
  return {
    core,
    id,
    child,
    home,
    configPath,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** An idle bare Node process (the memory floor): its RSS once settled, in MB. */
export async function bareNodeRssMb(settleMs: number, rss: (pid: number) => number): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, settleMs));
  const mb = rss(child.pid!) / 1024;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('close', r));
  return mb;
}
