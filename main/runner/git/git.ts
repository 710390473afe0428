import { readdir, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { RunnerError, errorMessage } from '../errors.ts';
import { spawnHere, spawnHost, type ChildLike, type HostSpawnOptions } from '../tasks/spawnHost.ts';
import { redactUrlsIn } from './refNames.ts';

/**
 * The one module that runs git. Every argument that could come from outside (ref names, paths,
 * URLs) sits after `--` or `--end-of-options`, or has been checked by refNames.ts first, so a
 * value such as `--upload-pack=x` can never be read as an option.
 *
 * Each git runs in its own process group (POSIX), and a timeout or an abort signals the whole
 * group: a fetch over HTTP runs `git remote-http` → `git-remote-http` under it, and killing git
 * alone left those blocked on a silent server for ever (issue 12, case 10).
 */

export interface GitCallOptions {
  /** Kill git (and its helpers) after this many milliseconds in total. */
  timeoutMs?: number;
  /** Kill git (and its helpers) when this aborts; the call then rejects with GitFailed. */
  signal?: AbortSignal;
  /** For server-supplied URLs only: the transports git may use (GIT_ALLOW_PROTOCOL). */
  allowProtocols?: string;
}

export class GitFailed extends RunnerError {
  readonly args: string[];
  readonly timedOut: boolean;
  constructor(args: string[], message: string, timedOut: boolean, cause?: unknown) {
    // The subcommand, past global options such as `-c key=value`.
    const command = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-c') ?? '';
    super('git_failed', `git ${command}: ${message}`, { cause });
    this.args = args;
    this.timedOut = timedOut;
  }
}

/** Variables that would point git at another repository than the one we pass with `-C`. */
const REPO_LOCATION_VARS = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
  'GIT_PREFIX',
];
/** Editors and pagers are never used by a non-interactive git. */
const INTERACTIVE_VARS = ['EDITOR', 'VISUAL', 'GIT_EDITOR', 'GIT_SEQUENCE_EDITOR', 'PAGER', 'GIT_PAGER'];
/** After SIGTERM (git removes its lock files), the group gets SIGKILL if it is still there after this (ms). */
const KILL_GRACE_MS = 2000;
/** After git exits, how long its output may take to arrive while something else still holds the pipes (ms). */
const PIPE_GRACE_MS = 1000;

/**
 * The runner's environment for git, minus what would redirect it or make it wait for a person.
 * Credential helpers and SSH settings of the user who started the runner are kept: they come from
 * that user, never from the server.
 */
function gitEnvironment(allowProtocols: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const k of [...REPO_LOCATION_VARS, ...INTERACTIVE_VARS]) delete env[k];
  // A fetch must fail, not wait for a password nobody will type.
  env.GIT_TERMINAL_PROMPT = '0';
  env.GCM_INTERACTIVE = 'never';
  if (env.GIT_SSH_COMMAND === undefined && env.GIT_SSH === undefined) env.GIT_SSH_COMMAND = 'ssh -o BatchMode=yes';
  env.LC_ALL = 'C'; // stable messages for the few we parse (shortstat, "couldn't find remote ref")
  if (allowProtocols) env.GIT_ALLOW_PROTOCOL = allowProtocols;
  return env;
}

/** SIGTERM to git's process group (its pid on Windows), SIGKILL to what is left after KILL_GRACE_MS. */
function killGit(pid: number | undefined, exited: () => boolean): void {
  if (pid === undefined) return;
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(process.platform === 'win32' ? pid : -pid, sig);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  // The helpers may outlive git itself; the group is signalled again whether or not git exited.
  setTimeout(() => {
    if (process.platform !== 'win32' || !exited()) signal('SIGKILL');
  }, KILL_GRACE_MS).unref();
}

/**
 * Run git in `dir`; resolves to stdout. A non-zero exit rejects with GitFailed carrying git's
 * stderr (URLs redacted); so do a timeout and an abort, after git's process group was killed.
 */
async function run(dir: string, args: string[], opts: GitCallOptions = {}): Promise<string> {
  const argv = ['-c', 'core.hooksPath=/dev/null', ...args];
  // Hooks are the repository's (and an agent may have just written them): the runner never runs them.
  if (opts.signal?.aborted) throw new GitFailed(args, 'aborted before it started', false, opts.signal.reason);
  const options: HostSpawnOptions = {
    cwd: dir,
    env: gitEnvironment(opts.allowProtocols),
    stdin: 'ignore',
    // Its own group, so a kill reaches the transport helpers too (no console window on Windows).
    detached: process.platform !== 'win32',
    windowsHide: true,
  };
  // A task start runs several gits: forked off the event loop where the spawn host serves (spawnHost.ts).
  const host = spawnHost();
  const child: ChildLike = (await host?.spawn('git', argv, options)) ?? spawnHere('git', argv, options);
  return new Promise<string>((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    let settled = false;
    let exited = false;
    const finish = (e: GitFailed | undefined, stdout?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (e) reject(e);
      else resolve(stdout ?? '');
    };
    const stop = (message: string, timedOut: boolean, cause?: unknown): void => {
      if (settled) return;
      killGit(child.pid, () => exited);
      finish(new GitFailed(args, message, timedOut, cause));
    };
    const onAbort = (): void => stop('stopped', false, opts.signal?.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // Aborted while the host was starting it.
    if (opts.signal?.aborted) onAbort();
    const timer = opts.timeoutMs ? setTimeout(() => stop(`timed out after ${opts.timeoutMs} ms`, true), opts.timeoutMs) : undefined;
    const ended = (code: number | null, sig: NodeJS.Signals | null): void => {
      if (code === 0) return finish(undefined, Buffer.concat(out).toString('utf8'));
      const stderr = redactUrlsIn(Buffer.concat(err).toString('utf8').trim());
      finish(new GitFailed(args, stderr || (sig ? `killed by ${sig}` : `exit code ${code}`), false));
    };
    child.on('exit', (code, sig) => {
      exited = true;
      // A helper git left behind may hold the pipes (an ssh ControlPersist master): git's exit decides.
      setTimeout(() => ended(code, sig), PIPE_GRACE_MS).unref();
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      exited = true;
      void explainSpawnError(dir, e).then((message) => finish(new GitFailed(args, message, false, e)));
    });
    child.on('close', ended);
  });
}

/** "spawn git ENOENT" means a missing folder as often as a missing git: say which. */
async function explainSpawnError(dir: string, e: NodeJS.ErrnoException): Promise<string> {
  if (e.code !== 'ENOENT') return errorMessage(e);
  const here = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  return here ? 'git is not installed (not found on PATH)' : `no such folder: ${dir}`;
}

const lines = (out: string): string[] =>
  out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

export interface RepoInfo {
  /** Absolute path of the shared git directory (the same for every worktree of one repository). */
  commonDir: string;
  bare: boolean;
  /** Top of the working tree; undefined for a bare repository. */
  topLevel: string | undefined;
  /** `dir` relative to topLevel, with a trailing slash, or '' at the top. */
  prefix: string;
}

/** Undefined when `dir` is not inside a git repository (or git refuses it, e.g. unsafe ownership). */
export async function repoInfo(dir: string): Promise<RepoInfo | undefined> {
  let first: string[];
  try {
    first = lines(await run(dir, ['rev-parse', '--path-format=absolute', '--git-common-dir', '--is-bare-repository']));
  } catch {
    return undefined;
  }
  const [commonDir, bare] = first;
  if (!commonDir) return undefined;
  if (bare === 'true') return { commonDir, bare: true, topLevel: undefined, prefix: '' };
  const out = await run(dir, ['rev-parse', '--show-toplevel', '--show-prefix']);
  const [topLevel, prefix] = out.split('\n');
  return { commonDir, bare: false, topLevel: topLevel?.trim() || undefined, prefix: prefix?.trim() ?? '' };
}

/** `git check-ref-format --branch`: the caller has already refused names starting with "-". */
export async function isValidBranchName(dir: string, name: string): Promise<boolean> {
  if (name.startsWith('-')) return false;
  try {
    return (await run(dir, ['check-ref-format', '--branch', name])).trim() !== '';
  } catch {
    return false;
  }
}

/** The commit `ref` names, or undefined. */
export async function resolveCommit(dir: string, ref: string): Promise<string | undefined> {
  const out = await run(dir, ['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`]).catch(() => '');
  return out.trim() || undefined;
}

/** Target of a symbolic ref (`HEAD`, `refs/remotes/origin/HEAD`), or undefined. */
export async function symbolicRef(dir: string, name: string): Promise<string | undefined> {
  const out = await run(dir, ['symbolic-ref', '--', name]).catch(() => '');
  return out.trim() || undefined;
}

export async function listRemotes(dir: string): Promise<string[]> {
  return lines(await run(dir, ['remote']).catch(() => ''));
}

export async function remoteUrl(dir: string, remote = 'origin'): Promise<string | undefined> {
  const out = await run(dir, ['remote', 'get-url', '--', remote]).catch(() => '');
  return out.trim() || undefined;
}

/** Ask the remote for its HEAD and record it as `refs/remotes/<remote>/HEAD` (network; bounded by opts). */
export async function updateRemoteHead(dir: string, remote: string, opts: GitCallOptions): Promise<boolean> {
  try {
    await run(dir, ['remote', 'set-head', remote, '--auto'], opts);
    return true;
  } catch {
    return false;
  }
}

/** `git fetch <remote> [refspecs]`, without touching FETCH_HEAD. */
export async function fetch(
  dir: string,
  remote: string,
  refspecs: string[],
  opts: GitCallOptions & { prune?: boolean; tags?: boolean } = {},
): Promise<void> {
  const flags = ['--verbose', '--no-write-fetch-head', ...(opts.prune ? ['--prune'] : []), ...(opts.tags === false ? ['--no-tags'] : [])];
  await run(dir, ['fetch', ...flags, '--', remote, ...refspecs], opts);
}

/**
 * Push `branch` from the worktree `dir` to `remote` (same name there), never forcing. Raises
 * GitFailed (no such remote, rejected, no network within `timeoutMs`).
 */
export async function pushBranch(dir: string, remote: string, branch: string, opts: GitCallOptions = {}): Promise<void> {
  await run(dir, ['push', '--porcelain', '--', remote, `refs/heads/${branch}:refs/heads/${branch}`], opts);
}

/** A bare repository whose `origin` is `url`, fetching branches to `refs/remotes/origin/*` so our own branches are never overwritten. */
export async function initMirror(dir: string, url: string, opts: GitCallOptions): Promise<void> {
  await run(process.cwd(), ['init', '--bare', '--', dir]);
  await run(dir, ['remote', 'add', '--', 'origin', url]);
  await fetch(dir, 'origin', [], { ...opts, prune: true });
}

export interface AddWorktree {
  path: string;
  /** Create this branch at `start`… */
  newBranch?: string;
  start?: string;
  /** …or check out this existing branch. */
  branch?: string;
  /** false: register the worktree only; populateWorktree fills it (outside the repository lock). */
  checkout: boolean;
}

/** How many times in all `worktree add` is tried when another git changes the worktree records under it. */
const WORKTREE_ADD_ATTEMPTS = 4;

/**
 * `git worktree add` at `w.path`. Callers hold the repository lock (repoLock.ts), which keeps
 * other runners out; a git not using it (the user's own `git worktree prune`, an older runner) can
 * still remove or prune a worktree at the same moment, and the add then fails half-way through
 * the records ("failed to read .git/worktrees/<id>/commondir", "could not open
 * '.git/worktrees/<id>/locked' for writing"). What that attempt left is undone (the branch `-b`
 * made, a folder holding only `.git`) and the add tried again, WORKTREE_ADD_ATTEMPTS times in
 * all. Raises GitFailed.
 */
export async function addWorktree(repo: string, w: AddWorktree): Promise<void> {
  // A checkout done by `worktree add` itself leaves submodules alone, as populateWorktree does.
  const noCheckout = w.checkout ? [] : ['--no-checkout'];
  const pre = w.checkout ? ['-c', 'submodule.recurse=false'] : [];
  let args: string[];
  if (w.newBranch !== undefined && w.start !== undefined) {
    args = [...pre, 'worktree', 'add', '--no-track', ...noCheckout, '-b', w.newBranch, '--', w.path, w.start];
  } else if (w.branch !== undefined) {
    args = [...pre, 'worktree', 'add', ...noCheckout, '--', w.path, w.branch];
  } else {
    throw new Error('addWorktree needs newBranch and start, or branch');
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await run(repo, args);
      return;
    } catch (err) {
      if (attempt >= WORKTREE_ADD_ATTEMPTS || !metConcurrentChange(err, w.path)) throw err;
      await undoHalfAdd(repo, w);
      await sleep(10 + Math.random() * 40 * attempt); // let the other git finish
    }
  }
}

/**
 * Whether `worktree add -b` failed because a branch stands in the way of the new one: the name
 * exists ("a branch named … already exists") or a ref path conflict ("cannot lock ref …").
 */
export function isBranchInTheWay(err: unknown): boolean {
  return err instanceof GitFailed && !err.timedOut && /a branch named .* already exists|cannot lock ref/.test(err.message);
}

/** git's words when another git removed or pruned worktree records while this one read or wrote them. */
function metConcurrentChange(err: unknown, path: string): boolean {
  if (!(err instanceof GitFailed) || err.timedOut) return false;
  // The new worktree's own path may contain "worktrees/" (the default folder does): only git's records count.
  const said = err.message.split(path).join('<new worktree>');
  return /(failed to read|could not (open|create|read|write)|unable to (open|create|read|write))[^\n]*worktrees\//.test(said);
}

/**
 * Undo a failed `worktree add`: git runs `-b` (making the branch) before it touches the worktree
 * records, so the branch stays behind; it is deleted only while it still points at the start. A
 * folder git left with nothing but `.git` goes too (git usually removes it itself).
 */
async function undoHalfAdd(repo: string, w: AddWorktree): Promise<void> {
  if (w.newBranch !== undefined && w.start !== undefined) {
    const start = await resolveCommit(repo, w.start);
    if (start) await run(repo, ['update-ref', '-d', `refs/heads/${w.newBranch}`, start]).catch(() => undefined);
  }
  const left = await readdir(w.path).catch(() => undefined);
  if (left?.every((e) => e === '.git')) await rm(w.path, { recursive: true, force: true });
}

/** Check out HEAD into a worktree added with `checkout: false` (what `worktree add` itself runs). */
export async function populateWorktree(path: string, signal?: AbortSignal): Promise<void> {
  await run(path, ['reset', '--hard', '--no-recurse-submodules'], signal ? { signal } : {});
}

export async function removeWorktree(repo: string, path: string): Promise<void> {
  await run(repo, ['worktree', 'remove', '--force', '--', path]);
}

export async function pruneWorktrees(repo: string): Promise<void> {
  await run(repo, ['worktree', 'prune', '--verbose']);
}

export async function deleteBranch(repo: string, name: string): Promise<void> {
  await run(repo, ['branch', '-D', '--', name]);
}

/** An existing branch that stands in the way of creating another (see branchConflict). */
export interface BranchConflict {
  /** The existing branch's name (without `refs/heads/`). */
  existing: string;
  /** `same`: the name itself exists; `parent`: `a` exists, blocking `a/…`; `child`: `a/…` exists, blocking `a`. */
  kind: 'same' | 'parent' | 'child';
}

/**
 * The existing branch that keeps `name` from being created, or undefined when it is free. Refs
 * are paths: `sibyl` and `sibyl/x` cannot both exist (git: "cannot lock ref … exists"). `name`
 * must have passed refNameProblem (no glob characters: it is also a for-each-ref pattern).
 */
export async function branchConflict(repo: string, name: string): Promise<BranchConflict | undefined> {
  // One git run: a for-each-ref pattern matches by whole path components, so the first component
  // lists that branch itself and every branch under it — all parents, `name` and its children.
  const top = name.split('/')[0] ?? name;
  const out = await run(repo, ['for-each-ref', '--format=%(refname)', `refs/heads/${top}`]);
  const existing = new Set(out.split('\n').flatMap((l) => (l.startsWith('refs/heads/') ? [l.slice('refs/heads/'.length)] : [])));
  const parts = name.split('/');
  for (let i = 1; i < parts.length; i++) {
    const parent = parts.slice(0, i).join('/');
    if (existing.has(parent)) return { existing: parent, kind: 'parent' };
  }
  if (existing.has(name)) return { existing: name, kind: 'same' };
  const child = [...existing].find((b) => b.startsWith(`${name}/`));
  return child === undefined ? undefined : { existing: child, kind: 'child' };
}

/**
 * Delete branch `name` only while it still points at `expected` (git checks and deletes in one
 * step, so a commit made meanwhile is never lost). Resolves to false when the branch moved or is
 * gone. It does not check whether a worktree has the branch checked out: the caller does.
 * Raises GitFailed.
 */
export async function deleteBranchAt(repo: string, name: string, expected: string): Promise<boolean> {
  if ((await resolveCommit(repo, `refs/heads/${name}`)) !== expected) return false;
  await run(repo, ['update-ref', '-m', 'sibyl-runner: task branch without commits', '-d', `refs/heads/${name}`, expected]);
  return true;
}

/**
 * Detach the HEAD of the worktree `dir` at the commit it is on. Nothing else changes: index and
 * files stay as they are, and the branch is free for another worktree. Raises GitFailed.
 */
export async function detachHead(dir: string, why: string): Promise<void> {
  const head = await resolveCommit(dir, 'HEAD');
  if (head === undefined) throw new GitFailed(['update-ref'], `${dir} has no HEAD commit to detach at`, false);
  await run(dir, ['update-ref', '--no-deref', '-m', `sibyl-runner: ${why}`, 'HEAD', head]);
}

/** One worktree of a repository as `git worktree list --porcelain` reports it. */
export interface WorktreeEntry {
  path: string;
  /** The branch checked out (without `refs/heads/`); undefined when detached or bare. */
  branch: string | undefined;
  /** `git worktree lock`ed: prune leaves it alone. */
  locked: boolean;
  /** Git found its folder gone (git ≥ 2.31 says so; the caller also checks the folder). */
  prunable: boolean;
}

/** Every worktree of the repository at `repo`, the main one first. Raises GitFailed. */
export async function listWorktrees(repo: string): Promise<WorktreeEntry[]> {
  let out: string;
  let sep: string;
  try {
    // -z (git ≥ 2.36) is the only form a path with a newline survives; older git has the line form.
    out = await run(repo, ['worktree', 'list', '--porcelain', '-z']);
    sep = '\0';
  } catch {
    out = await run(repo, ['worktree', 'list', '--porcelain']);
    sep = '\n';
  }
  const entries: WorktreeEntry[] = [];
  let cur: WorktreeEntry | undefined;
  for (const line of out.split(sep)) {
    if (line.startsWith('worktree ')) {
      cur = { path: line.slice('worktree '.length), branch: undefined, locked: false, prunable: false };
      entries.push(cur);
    } else if (cur && line.startsWith('branch refs/heads/')) cur.branch = line.slice('branch refs/heads/'.length);
    else if (cur && (line === 'locked' || line.startsWith('locked '))) cur.locked = true;
    else if (cur && (line === 'prunable' || line.startsWith('prunable '))) cur.prunable = true;
  }
  return entries;
}

/** `git config --get key` in `dir` (its repository's configuration), or undefined when unset. */
export async function configGet(dir: string, key: string): Promise<string | undefined> {
  const out = await run(dir, ['config', '--get', key]).catch(() => undefined);
  return out === undefined ? undefined : out.replace(/\n$/, '');
}

export async function setRemoteUrl(dir: string, remote: string, url: string): Promise<void> {
  await run(dir, ['remote', 'set-url', '--', remote, url]);
}

/** A submodule entry in the index: where it sits and the commit the superproject records. */
export interface Gitlink {
  path: string;
  commit: string;
}

/** The gitlinks (mode 160000) in the index of the worktree `dir`. Raises GitFailed. */
export async function gitlinks(dir: string): Promise<Gitlink[]> {
  const out = await run(dir, ['ls-files', '--stage', '-z']);
  const found: Gitlink[] = [];
  for (const entry of out.split('\0')) {
    // "<mode> <sha> <stage>\t<path>"
    const tab = entry.indexOf('\t');
    if (!entry.startsWith('160000 ') || tab < 0) continue;
    const [, commit = ''] = entry.slice(0, tab).split(' ');
    found.push({ path: entry.slice(tab + 1), commit });
  }
  return found;
}

/** What `.gitmodules` declares for one submodule. */
export interface DeclaredSubmodule {
  name: string;
  path: string | undefined;
  url: string | undefined;
}

/**
 * The submodules `.gitmodules` declares in the commit checked out at `dir` (read from HEAD, not
 * the file: a symlinked or edited .gitmodules is not followed). Empty when there is none.
 */
export async function declaredSubmodules(dir: string): Promise<DeclaredSubmodule[]> {
  const out = await run(dir, ['config', '-z', '--blob', 'HEAD:.gitmodules', '--get-regexp', '^submodule\\.']).catch(() => '');
  const byName = new Map<string, DeclaredSubmodule>();
  for (const pair of out.split('\0')) {
    // "submodule.<name>.<key>\n<value>"; <name> may itself contain dots.
    const nl = pair.indexOf('\n');
    if (nl < 0) continue;
    const key = pair.slice(0, nl);
    const value = pair.slice(nl + 1);
    const dot = key.lastIndexOf('.');
    const name = key.slice('submodule.'.length, dot);
    const field = key.slice(dot + 1);
    if (dot <= 'submodule.'.length || (field !== 'path' && field !== 'url')) continue;
    const sub = byName.get(name) ?? { name, path: undefined, url: undefined };
    sub[field] = value;
    byName.set(name, sub);
  }
  return [...byName.values()];
}

/**
 * Check out the submodule `name` at `path` in the worktree `dir` at the commit the superproject
 * records (`git submodule update --checkout`), cloning it first into this worktree's own git
 * directory. `url` overrides where it is cloned from (else the user's configured URL, else
 * .gitmodules, relative URLs resolved against the superproject's remote). It is made active for
 * this one command only: the repository's shared configuration is not written. Raises GitFailed.
 */
export async function submoduleUpdate(
  dir: string,
  sub: { name: string; path: string },
  opts: GitCallOptions & { url?: string },
): Promise<void> {
  const config = ['-c', `submodule.${sub.name}.active=true`, ...(opts.url ? ['-c', `submodule.${sub.name}.url=${opts.url}`] : [])];
  await run(dir, [...config, '--literal-pathspecs', 'submodule', 'update', '--checkout', '--', sub.path], opts);
}

/** `git submodule init -- path`: record the submodule's URL in `dir`'s repository configuration. */
export async function submoduleInit(dir: string, path: string): Promise<void> {
  await run(dir, ['--literal-pathspecs', 'submodule', 'init', '--', path]);
}

/** `HEAD`'s branch name, or undefined when detached or unborn. */
export async function currentBranch(dir: string): Promise<string | undefined> {
  const ref = await symbolicRef(dir, 'HEAD');
  return ref?.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
}

/** Who commits when the repository has no identity configured (issue 11). */
export const FALLBACK_AUTHOR = { name: 'Sibyl Runner', email: 'runner@localhost' } as const;

/**
 * Stage every change in the worktree `dir` except the paths in `exclude` (files the runner copied
 * in, e.g. a .env), and commit it with `subject` and a trailer ("Sibyl-Task: <id>"). The author is
 * the repository's git identity, else FALLBACK_AUTHOR. Hooks and signing are skipped: nobody is
 * there to answer a pinentry prompt, and a failing hook must not lose the work. Resolves to the
 * new commit, or undefined when there was nothing to commit. Raises GitFailed.
 */
export async function commitAll(
  dir: string,
  opts: { subject: string; trailer: string; exclude: readonly string[] },
): Promise<string | undefined> {
  await run(dir, ['add', '--all', '--', '.']);
  if (opts.exclude.length) await run(dir, ['reset', '--quiet', '--', ...opts.exclude]);
  const staged = await run(dir, ['diff', '--cached', '--name-only', '-z']);
  if (!staged.replace(/\0/g, '').trim()) return undefined;
  const identity = async (key: string): Promise<string> => (await run(dir, ['config', '--get', key]).catch(() => '')).trim();
  const [name, email] = await Promise.all([identity('user.name'), identity('user.email')]);
  await run(dir, [
    '-c',
    `user.name=${name || FALLBACK_AUTHOR.name}`,
    '-c',
    `user.email=${email || FALLBACK_AUTHOR.email}`,
    '-c',
    'commit.gpgsign=false',
    'commit',
    '--no-verify',
    '-m',
    opts.subject,
    '--trailer',
    opts.trailer,
  ]);
  return resolveCommit(dir, 'HEAD');
}

export interface CommitSummary {
  sha: string;
  subject: string;
}

/** Commits in `head` not in `base`: the count, and the newest `limit` (as `git log` lists them). */
export async function commitsBetween(
  dir: string,
  base: string,
  head: string,
  limit = 50,
): Promise<{ count: number; items: CommitSummary[] }> {
  const range = `${base}..${head}`;
  const count = Number((await run(dir, ['rev-list', '--count', '--end-of-options', range])).trim());
  if (count === 0) return { count, items: [] };
  const out = await run(dir, ['log', `--max-count=${limit}`, '--format=%H%x1f%s%x1e', '--end-of-options', range]);
  const items = out
    .split('\x1e')
    .map((r) => r.trim())
    .filter(Boolean)
    .map((r) => {
      const [sha = '', subject = ''] = r.split('\x1f');
      return { sha, subject };
    });
  return { count: Number.isFinite(count) ? count : items.length, items };
}

/** `git diff --shortstat base...head`, as numbers. */
export async function diffStat(
  dir: string,
  base: string,
  head: string,
): Promise<{ files_changed: number; insertions: number; deletions: number }> {
  if (base === head) return { files_changed: 0, insertions: 0, deletions: 0 };
  const out = await run(dir, ['diff', '--shortstat', '--no-ext-diff', '--no-textconv', `${base}...${head}`, '--']);
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? 0);
  return {
    files_changed: num(/(\d+) files? changed/),
    insertions: num(/(\d+) insertions?\(\+\)/),
    deletions: num(/(\d+) deletions?\(-\)/),
  };
}

/** Paths `git status` reports (modified, staged, untracked, each untracked file listed). */
export async function changedPaths(dir: string): Promise<string[]> {
  // --branch: a header line that is always there (see run()).
  const out = await run(dir, ['status', '--porcelain=v1', '-z', '--branch', '--untracked-files=all', '--no-renames']);
  return out
    .split('\0')
    .filter((e) => e.length > 3 && !e.startsWith('## '))
    .map((e) => e.slice(3));
}

/**
 * Untracked files under `dir` matching the gitignore-syntax patterns in `patternFile`. Git does the
 * matching, so negations and directory rules mean exactly what they mean in a .gitignore.
 */
export async function untrackedMatching(dir: string, patternFile: string): Promise<string[]> {
  const out = await run(dir, ['ls-files', '-z', '--others', '--ignored', `--exclude-from=${patternFile}`]);
  return out.split('\0').filter(Boolean);
}
