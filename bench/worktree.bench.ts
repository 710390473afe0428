import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../main/runner/logger.ts';
import { ProjectLinks } from '../main/runner/projects/links.ts';
import type { TaskSpec } from '../main/runner/tasks/taskSpec.ts';
import type { PreparedWorkspace } from '../main/runner/workspace/workspace.ts';
import { GitWorkspaces } from '../main/runner/workspace/worktrees.ts';
import { percentile, printTable } from './stats.ts';

/**
 * Per-task worktree preparation (GitWorkspaces.prepare: link lookup, fetch of the base from a
 * file:// origin, branch, worktree, checkout, bookkeeping) against a raw `git worktree add` of the
 * same ref, on a linked repository of 10,000 files; then 8 tasks prepared at once on it.
 */

const execFileP = promisify(execFile);
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.invalid',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};
const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const PROJECT = 'project_bench0000000';

export interface WorktreeBenchFigures {
  files: number;
  rounds: number;
  /** Median ms of `git worktree add -b <branch> <path> origin/main`. */
  rawMs: number;
  /** Median ms of GitWorkspaces.prepare for the same ref. */
  prepareMs: number;
  /** prepareMs / rawMs (target ≤ 1.2). */
  ratio: number;
  /** Wall time of 8 prepares started at once on the same repository. */
  concurrent8Ms: number;
}

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
  // A linked checkout normally has an origin: give it a file:// one so prepare really fetches.
  git(root, 'clone', '--quiet', '--bare', repo, join(root, 'upstream.git'));
  git(repo, 'remote', 'add', 'origin', `file://${join(root, 'upstream.git')}`);
  git(repo, 'fetch', '--quiet', 'origin');
  git(repo, 'remote', 'set-head', 'origin', 'main');
  return repo;
}

let seq = 0;
function spec(): TaskSpec {
  seq++;
  const taskId = `${(0xbe000000 + seq).toString(16)}-0000-4000-8000-000000000000`;
  return {
    taskId,
    agentId: 'agent_bench',
    projectId: PROJECT,
    prompt: '',
    agentType: undefined,
    command: ['true'],
    commandSource: 'config',
    timeoutSeconds: 60,
    timeoutFromTask: false,
    worktreePath: undefined,
    branch: undefined,
    baseRef: undefined,
    repoUrl: undefined,
    shadow: false,
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const value = await fn();
  return [performance.now() - t0, value];
}

export async function run(opts: { files?: number; rounds?: number } = {}): Promise<WorktreeBenchFigures> {
  const files = opts.files ?? 10_000;
  const rounds = opts.rounds ?? 5;
  const root = mkdtempSync(join(tmpdir(), 'sibyl-bench-wt-'));
  try {
    const repo = makeRepo(root, files);
    const links = new ProjectLinks({ homeDir: join(root, 'home'), configDir: join(root, 'config'), log: quiet });
    await links.link(repo, PROJECT);
    const ws = new GitWorkspaces({ worktreeBase: join(root, 'wt'), repoCacheDir: join(root, 'repos'), links, log: quiet });

    const raw = async (i: number): Promise<number> => {
      const path = join(root, 'raw', String(i));
      const [ms] = await timed(() =>
        execFileP('git', ['worktree', 'add', '--quiet', '-b', `raw-${i}`, path, 'origin/main'], { cwd: repo, env: GIT_ENV }),
      );
      git(repo, 'worktree', 'remove', '--force', path);
      return ms;
    };
    const prepare = async (): Promise<number> => {
      const [ms, w] = await timed(() => ws.prepare(spec()));
      await w.release({ status: 'completed', dirty: false });
      return ms;
    };

    await raw(0); // warm the page cache and git's own files for both sides
    await prepare();
    const rawMs: number[] = [];
    const prepareMs: number[] = [];
    for (let i = 1; i <= rounds; i++) {
      rawMs.push(await raw(i));
      prepareMs.push(await prepare());
    }
    const rawMedian = percentile(rawMs, 50);
    const prepareMedian = percentile(prepareMs, 50);

    const [concurrent8Ms, eight] = await timed(() => Promise.all(Array.from({ length: 8 }, () => ws.prepare(spec()))));
    if (new Set(eight.map((w: PreparedWorkspace) => w.path)).size !== 8) throw new Error('8 tasks did not get 8 worktrees');
    await Promise.all(eight.map((w) => w.release({ status: 'completed', dirty: false })));

    const figures: WorktreeBenchFigures = {
      files,
      rounds,
      rawMs: rawMedian,
      prepareMs: prepareMedian,
      ratio: prepareMedian / rawMedian,
      concurrent8Ms,
    };
    printTable(`worktree preparation (${files} files, median of ${rounds})`, [
      { figure: 'raw git worktree add', result: `${rawMedian.toFixed(0)} ms`, target: '-' },
      { figure: 'GitWorkspaces.prepare', result: `${prepareMedian.toFixed(0)} ms`, target: '-' },
      { figure: 'prepare / raw', result: figures.ratio.toFixed(2), target: '≤ 1.2' },
      {
        figure: '8 tasks at once, total',
        result: `${concurrent8Ms.toFixed(0)} ms (${(concurrent8Ms / rawMedian).toFixed(1)}× one raw add)`,
        target: '-',
      },
    ]);
    return figures;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.main) await run();
