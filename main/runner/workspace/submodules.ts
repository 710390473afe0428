import { lstat, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../errors.ts';
import * as git from '../git/git.ts';
import { REPO_URL_PROTOCOLS, redactUrl, repoUrlProblem } from '../git/refNames.ts';
import type { Logger } from '../logger.ts';

/**
 * Submodules in a task's worktree. `git worktree add` leaves them empty (`-<sha> vendor/lib`);
 * the agent should see what a checkout of that commit has. Each submodule is cloned into the
 * worktree's own git directory (git keeps a linked worktree's modules apart), from:
 *
 * 1. the linked checkout's own clone, `<commonDir>/modules/<name>`, when it has the recorded
 *    commit: offline, objects hard-linked, and the clone's `origin` then set to the URL that
 *    clone came from, so the agent (and relative URLs of nested submodules) see the real remote;
 * 2. else its URL, under the protocol allow-list of `config.repo_url` (REPO_URL_PROTOCOLS) and
 *    bounded by the fetch timeout. A URL written in `.gitmodules` must also pass repoUrlProblem
 *    (relative `./`, `../` URLs resolve against the superproject's remote); a URL the user
 *    configured for the linked checkout is theirs and is used as is.
 *
 * Nested submodules follow the same rules, MAX_DEPTH levels deep. Nothing here is fatal: what
 * cannot be had is listed (`missing`, with a note why) for the task's result, and the task runs.
 * Only an abort stops the step. The repository's shared configuration is never written.
 */

/** Nested submodules deeper than this are reported missing, not followed (a loop guard). */
const MAX_DEPTH = 8;
/** A note quotes at most this much of git's error. */
const NOTE_ERROR_CHARS = 200;

export interface SubmoduleReport {
  /** Paths (from the worktree's root) checked out at their recorded commit. */
  initialised: string[];
  /** Paths left empty. */
  missing: string[];
  /** One `path: why` per missing submodule. */
  notes: string[];
}

export interface SubmoduleOptions {
  /** Bound on each clone or fetch over the network (ms). */
  fetchTimeoutMs: number;
  /** Kills the git under way; the call then rejects. */
  signal?: AbortSignal;
  log: Logger;
}

/**
 * Check out the submodules (recursively) of the freshly populated worktree `root`. Resolves to
 * what was and was not done; rejects only when `signal` aborts.
 */
export async function initSubmodules(root: string, opts: SubmoduleOptions): Promise<SubmoduleReport> {
  const report: SubmoduleReport = { initialised: [], missing: [], notes: [] };
  // The worktree was just checked out from HEAD: no .gitmodules there, none in HEAD (the common
  // case costs one lstat, not a git). One that is there is read from HEAD, never followed.
  if (!(await lstat(join(root, '.gitmodules')).catch(() => undefined))) return report;
  // No .gitmodules: nothing git itself could check out either.
  const declared = await git.declaredSubmodules(root);
  if (declared.length === 0) return report;
  const info = await git.repoInfo(root);
  const sources = info ? join(info.commonDir, 'modules') : undefined;
  await initLevel({ dir: root, prefix: '', sources, depth: 0, declared }, opts, report);
  if (report.initialised.length || report.missing.length)
    opts.log.info('submodules', { root, initialised: report.initialised.length, missing: report.missing });
  return report;
}

interface Level {
  /** The (super)project worktree whose submodules are checked out. */
  dir: string;
  /** `dir` relative to the task's root, with a trailing slash ('' at the top). */
  prefix: string;
  /** Where the linked checkout keeps this level's submodule clones (`…/modules`), if anywhere. */
  sources: string | undefined;
  depth: number;
  /** `dir`'s .gitmodules entries when the caller already read them. */
  declared?: git.DeclaredSubmodule[];
}

async function initLevel(level: Level, opts: SubmoduleOptions, report: SubmoduleReport): Promise<void> {
  const { dir, prefix, depth } = level;
  const [links, declared] = await Promise.all([git.gitlinks(dir), level.declared ?? git.declaredSubmodules(dir)]);
  const missing = (path: string, why: string): void => {
    report.missing.push(prefix + path);
    report.notes.push(`${prefix + path}: ${why}`);
  };
  for (const link of links) {
    const sub = declared.find((d) => d.path === link.path);
    if (!sub) {
      missing(link.path, 'no entry in .gitmodules');
      continue;
    }
    const nameProblem = submoduleNameProblem(sub.name);
    if (nameProblem) {
      missing(link.path, `submodule name ${JSON.stringify(sub.name.slice(0, 80))} ${nameProblem}`);
      continue;
    }
    const target = { name: sub.name, path: link.path };
    const source = level.sources ? join(level.sources, sub.name) : undefined;
    let offline = false;
    let offlineError: string | undefined;
    if (source && (await isGitDir(source)) && (await git.resolveCommit(source, link.commit)) === link.commit) {
      try {
        // Our own folder, not a server-supplied URL: only the local transport is needed.
        await git.submoduleUpdate(dir, target, { url: source, allowProtocols: 'file', ...signalOf(opts) });
        offline = true;
        const upstream = await git.configGet(source, 'remote.origin.url');
        if (upstream) await git.setRemoteUrl(join(dir, link.path), 'origin', upstream);
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        offlineError = shortError(err);
      }
    }
    if (!offline) {
      const urlProblem = await fetchUrlProblem(dir, sub, depth === 0);
      const before = offlineError ? `copying the linked checkout's clone failed (${offlineError}); ` : '';
      if (urlProblem) {
        missing(link.path, `${before}not in the linked checkout, and its URL ${urlProblem}`);
        continue;
      }
      try {
        await git.submoduleUpdate(dir, target, { allowProtocols: REPO_URL_PROTOCOLS, timeoutMs: opts.fetchTimeoutMs, ...signalOf(opts) });
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        missing(link.path, `${before}could not be fetched: ${shortError(err)}`);
        continue;
      }
    }
    // Below the top, `dir` is a clone in this worktree's own git directory: recording the URL
    // there is ours to do, and makes `git submodule status` show it initialised.
    if (depth > 0) await git.submoduleInit(dir, link.path).catch(() => undefined);
    report.initialised.push(prefix + link.path);

    const inner = join(dir, link.path);
    if (depth + 1 >= MAX_DEPTH) {
      for (const deeper of await git.gitlinks(inner).catch(() => []))
        missing(`${link.path}/${deeper.path}`, `nested more than ${MAX_DEPTH} levels deep`);
      continue;
    }
    await initLevel(
      { dir: inner, prefix: `${prefix + link.path}/`, sources: offline && source ? join(source, 'modules') : undefined, depth: depth + 1 },
      opts,
      report,
    );
  }
}

/**
 * Why git may not fetch this submodule by URL, or undefined. At the top, a URL the user set in the
 * linked checkout's configuration (`submodule.<name>.url`) wins over .gitmodules, as in git.
 */
async function fetchUrlProblem(dir: string, sub: git.DeclaredSubmodule, top: boolean): Promise<string | undefined> {
  if (top && (await git.configGet(dir, `submodule.${sub.name}.url`)) !== undefined) return undefined;
  const url = sub.url;
  if (!url) return 'is not set in .gitmodules';
  if (url.startsWith('./') || url.startsWith('../')) return undefined;
  const problem = repoUrlProblem(url);
  return problem ? `${JSON.stringify(redactUrl(url).slice(0, 120))} ${problem}` : undefined;
}

/**
 * Names become config keys (`-c submodule.<name>.url=…`, split at the first "=") and folder names
 * under `modules/`: refuse what would break either (git itself refuses ".." since CVE-2018-11235).
 */
function submoduleNameProblem(name: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (/[\x00-\x1f\x7f=]/.test(name)) return 'contains "=" or a control character';
  if (name.split(/[/\\]/).some((part) => part === '' || part === '.' || part === '..')) return 'has an empty, "." or ".." path component';
  return undefined;
}

/** A git directory (HEAD and objects), not merely a folder inside one (git would look upwards). */
async function isGitDir(dir: string): Promise<boolean> {
  const isA = (p: string, kind: 'file' | 'dir'): Promise<boolean> =>
    stat(p).then(
      (s) => (kind === 'file' ? s.isFile() : s.isDirectory()),
      () => false,
    );
  return (await isA(join(dir, 'HEAD'), 'file')) && (await isA(join(dir, 'objects'), 'dir'));
}

function signalOf(opts: SubmoduleOptions): { signal?: AbortSignal } {
  return opts.signal ? { signal: opts.signal } : {};
}

/**
 * git's reason, short: its `fatal:`/`error:` lines when it printed any — `git submodule update`
 * first prints warnings about other submodules and "Cloning into …", which would crowd the reason
 * out of the note — else everything but those lines.
 */
function shortError(err: unknown): string {
  const lines = errorMessage(err)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const reasons = lines.filter((l) => /(^|: )(fatal|error):/.test(l));
  const rest = lines.filter((l) => !/(^|: )(warning:|Cloning into)/.test(l));
  const text = (reasons.length > 0 ? reasons : rest.length > 0 ? rest : lines).join(' ').replace(/\s+/g, ' ');
  return text.length > NOTE_ERROR_CHARS ? `${text.slice(0, NOTE_ERROR_CHARS)}…` : text;
}
