import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FakeCore } from '../test/helpers/fakeCore.ts';
import { BIN, startRunner, type BenchProcess } from './runnerProcess.ts';
import { median, printTable, type Row } from './stats.ts';

/**
 * Task start in a linked repository that has an `origin` remote (issue 16), through the real
 * `sibyl-runner run`: task_assign → the agent running, beside the same git work done by hand in a
 * shell (the worktree floor): `git fetch origin main`, `git worktree add --no-checkout -b …`,
 * `git reset --hard` in the new worktree, then the agent. On a one-file repository and on one of
 * 10,000 files, rounds interleaved so machine load weighs on both alike. The runner's own log
 * ('worktree ready', its `ms` field) gives the breakdown: lookup, fetch, worktree add, checkout,
 * include copy, and the rest (ack, agent plan, spawn).
 */

const execFileP = promisify(execFile);
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.invalid',
};
const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const PROJECT = 'project_bench0000000';
const nowNs = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

/** A checkout of `files` files whose `origin` is a bare repository beside it (file://), origin/HEAD set. */
function makeRepo(root: string, files: number): string {
  const repo = join(root, 'checkout');
  const perDir = 100;
  for (let d = 0; d < Math.ceil(files / perDir); d++) {
    const dir = join(repo, 'src', `mod${String(d).padStart(3, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < perDir && d * perDir + f < files; f++) {
      writeFileSync(join(dir, `file${f}.ts`), `export const v${d}_${f} = ${d * perDir + f};\n// ${'x'.repeat(120)}\n`);
    }
  }
  git(repo, 'init', '--quiet', '--initial-branch=main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'generated');
  git(root, 'clone', '--quiet', '--bare', repo, join(root, 'upstream.git'));
  git(repo, 'remote', 'add', 'origin', `file://${join(root, 'upstream.git')}`);
  git(repo, 'fetch', '--quiet', 'origin');
  git(repo, 'remote', 'set-head', 'origin', 'main');
  return repo;
}

/**
 * The floor: the same git work typed into a shell, timed inside that shell (from before the fetch
 * to the agent, `date`, running), so starting the shell is not counted.
 */
async function byHand(repo: string, path: string, branch: string): Promise<number> {
  const script = [
    'start=$(date +%s%N)',
    'git fetch --quiet origin main',
    `git worktree add --quiet --no-checkout -b "$1" "$2" origin/main`,
    `git -C "$2" reset --quiet --hard`,
    'end=$(/bin/date +%s%N)',
    'echo $((end - start))',
  ].join(' && ');
  const { stdout } = await execFileP('/bin/sh', ['-c', script, 'sh', branch, path], { cwd: repo, env: GIT_ENV });
  await execFileP('git', ['worktree', 'remove', '--force', path], { cwd: repo, env: GIT_ENV });
  await execFileP('git', ['branch', '-D', branch], { cwd: repo, env: GIT_ENV });
  return Number(stdout.trim()) / 1e6;
}

interface RunnerStart {
  totalMs: number;
  /** the runner's 'worktree ready' timings (ms) */
  steps: Record<string, number>;
}

/** The log lines of `sibyl-runner run` (default log folder under the bench HOME). */
function runnerLog(p: BenchProcess): { msg: string; taskId?: string; ms?: Record<string, number> }[] {
  const sibyl = join(p.home, '.sibyl');
  const dir = readdirSync(sibyl).find((d) => d.startsWith('logs'));
  const file = dir ? join(sibyl, dir, 'runner.log') : '';
  if (!file || !existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { msg: string; taskId?: string; ms?: Record<string, number> });
}

async function viaRunner(p: BenchProcess): Promise<RunnerStart> {
  const taskId = crypto.randomUUID();
  const t0 = nowNs();
  p.core.send(p.id, {
    type: 'task_assign',
    task_id: taskId,
    agent_id: 'agent_0123456789ab',
    project_id: PROJECT,
    config: { command: ['/bin/date', '+%s%N'] },
  });
  const done = await p.core.waitFor((f) => f.message?.type === 'task_complete' && f.message.task_id === taskId, 60_000, 'the task');
  const m = done.message;
  if (m?.type !== 'task_complete' || !m.result.stdout) throw new Error(`the task did not run: ${done.raw.slice(0, 500)}`);
  const totalMs = Number(BigInt(m.result.stdout.trim()) - t0) / 1e6;
  // The runner writes its log without blocking: give the line a moment to land.
  let ready: Record<string, number> | undefined;
  for (let i = 0; i < 50 && !ready; i++) {
    ready = runnerLog(p).find((l) => l.msg === 'worktree ready' && l.taskId === taskId)?.ms;
    if (!ready) await new Promise((r) => setTimeout(r, 20));
  }
  return { totalMs, steps: ready ?? {} };
}

export interface TaskStartFigures {
  files: number;
  byHandMs: number;
  runnerMs: number;
  targetMs: number;
  steps: Record<string, number>;
}

async function one(core: FakeCore, files: number, rounds: number): Promise<TaskStartFigures> {
  const root = mkdtempSync(join(tmpdir(), 'sibyl-bench-start-'));
  let runner: BenchProcess | undefined;
  try {
    const repo = makeRepo(root, files);
    runner = await startRunner(core, {
      prepare: ({ configPath, env }) => {
        execFileSync(process.execPath, [BIN, 'projects', 'link', repo, PROJECT, '--config', configPath], { env, stdio: 'ignore' });
      },
    });
    // Warm both: page cache, git's files, the runner's first-task work (agent detection, JIT).
    await byHand(repo, join(root, 'raw-warm'), 'raw-warm');
    await viaRunner(runner);
    const hand: number[] = [];
    const starts: RunnerStart[] = [];
    for (let i = 0; i < rounds; i++) {
      hand.push(await byHand(repo, join(root, `raw-${i}`), `raw-${i}`));
      starts.push(await viaRunner(runner));
    }
    const stepNames = ['lookup', 'fetch', 'add', 'checkout', 'submodules', 'include'];
    const steps: Record<string, number> = {};
    for (const s of stepNames) steps[s] = median(starts.map((x) => x.steps[s] ?? NaN));
    const runnerMs = median(starts.map((x) => x.totalMs));
    steps.rest = median(starts.map((x) => x.totalMs - stepNames.reduce((sum, s) => sum + (x.steps[s] ?? 0), 0)));
    const byHandMs = median(hand);
    return { files, byHandMs, runnerMs, targetMs: 1.3 * byHandMs + 25, steps };
  } finally {
    await runner?.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

export async function run(opts: { rounds?: number; sizes?: number[] } = {}): Promise<TaskStartFigures[]> {
  const rounds = opts.rounds ?? 8;
  const core = await FakeCore.start({ heartbeatIntervalMs: 30_000 });
  const figures: TaskStartFigures[] = [];
  try {
    for (const files of opts.sizes ?? [1, 10_000]) figures.push(await one(core, files, rounds));
  } finally {
    await core.stop();
  }
  const rows: Row[] = [];
  for (const f of figures) {
    const s = f.steps;
    const n = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '?' : x.toFixed(1));
    rows.push({
      figure: `${f.files.toLocaleString('en')} file${f.files === 1 ? '' : 's'}: task_assign→agent running`,
      result: `${f.runnerMs.toFixed(0)} ms (${(f.runnerMs / f.byHandMs).toFixed(2)}× by hand)`,
      floor: `${f.byHandMs.toFixed(0)} ms by hand`,
      target: `≤ 1.3 × floor + 25 = ${f.targetMs.toFixed(0)} ms`,
      met: f.runnerMs <= f.targetMs,
    });
    rows.push({
      figure: '  breakdown (medians, ms)',
      result: `lookup ${n(s.lookup)}, fetch ${n(s.fetch)}, worktree add ${n(s.add)}, checkout ${n(s.checkout)}, submodules ${n(s.submodules)}, include copy ${n(s.include)}, ack+plan+spawn ${n(s.rest)}`,
      target: '',
    });
  }
  printTable(`Task start in a linked repository with an origin remote (sibyl-runner run, median of ${rounds})`, rows);
  return figures;
}

if (import.meta.main) await run();
