import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Real git repositories in temp folders for tests. Identity and config come from the environment
 * so commits work on a bare machine and the user's ~/.gitconfig never leaks in.
 */

const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test Agent',
  GIT_AUTHOR_EMAIL: 'agent@example.invalid',
  GIT_COMMITTER_NAME: 'Test Agent',
  GIT_COMMITTER_EMAIL: 'agent@example.invalid',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A temp folder removed by the returned cleanup. */
export function tempDir(prefix = 'sibyl-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
}

/** Write `files`, stage everything, commit; returns the new commit's sha. */
export function commit(repo: string, files: Record<string, string>, message: string): string {
  writeFiles(repo, files);
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '--no-verify', '-m', message);
  return git(repo, 'rev-parse', 'HEAD');
}

/** A working repository with one commit on `branch`. */
export function makeRepo(dir: string, opts: { branch?: string; files?: Record<string, string> } = {}): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '--quiet', `--initial-branch=${opts.branch ?? 'main'}`);
  commit(dir, opts.files ?? { 'README.md': '# test\n' }, 'initial commit');
  return dir;
}

/**
 * `upstream.git` (bare, the "server") and `checkout` (a clone of it, the user's linked folder).
 * Returns both plus a `push` helper that commits to upstream through a scratch clone.
 */
export function makeRemotePair(
  root: string,
  opts: { branch?: string; files?: Record<string, string> } = {},
): {
  upstream: string;
  checkout: string;
  url: string;
  pushUpstream: (files: Record<string, string>, message: string) => string;
} {
  const branch = opts.branch ?? 'main';
  const seed = makeRepo(join(root, 'seed'), opts);
  const upstream = join(root, 'upstream.git');
  git(root, 'clone', '--quiet', '--bare', seed, upstream);
  const url = `file://${upstream}`;
  const checkout = join(root, 'checkout');
  git(root, 'clone', '--quiet', url, checkout);
  git(seed, 'remote', 'add', 'origin', url);
  const pushUpstream = (files: Record<string, string>, message: string): string => {
    git(seed, 'pull', '--quiet', '--ff-only', 'origin', branch);
    const sha = commit(seed, files, message);
    git(seed, 'push', '--quiet', 'origin', `HEAD:${branch}`);
    return sha;
  };
  return { upstream, checkout, url, pushUpstream };
}
