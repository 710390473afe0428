import { lstatSync, mkdirSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, parse, relative, resolve, sep } from 'node:path';
import { RunnerError } from '../errors.ts';
import { isInside } from '../tasks/taskSpec.ts';

/**
 * Containment on resolved paths. A path that is inside a folder by its text can still lead out
 * of it through a symlink on the way (a tracked symlink in a kept worktree, a sub-folder that
 * became a symlink upstream). Every folder the runner makes, runs an agent in or deletes is
 * checked here against the real location of its root, and folders are created one level at a
 * time so nothing is ever made outside. Checks happen just before use: a symlink swapped in
 * afterwards by someone with write access to the folders is not defended against.
 *
 * The file system calls here are synchronous on purpose: a task start makes some twenty of these
 * metadata calls (lstat, realpath, mkdir) on the runner's own folders, each a few microseconds,
 * and through libuv's thread pool each cost a round trip of 0.3–0.5 ms on a busy machine, which
 * added up to most of a task start. The functions keep their async signatures.
 */

/**
 * What is at `p` (a symlink not followed), or undefined when nothing is or it cannot be read. A
 * missing path, the common answer at a task start, returns without building an Error.
 */
export const lstatOrUndefined = (p: string): Stats | undefined => {
  try {
    return lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
};
const realpathOrUndefined = (p: string): string | undefined => {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
};
const readlinkOr = (p: string, fallback: string): string => {
  try {
    return readlinkSync(p);
  } catch {
    return fallback;
  }
};

/** Error code of a path that leads outside the folder it must stay in. */
export const PATH_ESCAPES = 'path_escapes';

/** Symlinks followed while resolving one path before giving up (Linux's own limit is 40). */
const MAX_LINKS = 40;

/** Whether `err` is the error raised by assertInside / mkdirInside for a path leading out of its folder. */
export function isPathEscape(err: unknown): err is RunnerError {
  return err instanceof RunnerError && err.code === PATH_ESCAPES;
}

/**
 * Real paths of folders resolved before, each kept while both its path and the remembered real
 * path still lead to the same folder (device and inode, by two stats that follow symlinks). Every
 * task start resolves the runner's bases (~/.sibyl/worktrees-…, the task's project folder) several
 * times, one lstat per component each time: ~25 of the ~140 system calls of a task's start and end
 * (issue 16). A folder moved away, a symlink swapped in on its path, or another folder left at the
 * old real path changes what one of the stats finds and the entry is dropped, so a check never
 * walks from a real path that no longer names the folder the path leads to.
 * At most KNOWN_FOLDERS entries, the least recently used going first.
 */
const knownFolders = new Map<string, { real: string; dev: number; ino: number }>();
const KNOWN_FOLDERS = 256;

/** The remembered real path of the folder at `abs` (absolute, normalised), if it is still that folder. */
function knownFolder(abs: string): string | undefined {
  const hit = knownFolders.get(abs);
  if (!hit) return undefined;
  knownFolders.delete(abs);
  if (!sameFolder(abs, hit) || !sameFolder(hit.real, hit)) return undefined;
  knownFolders.set(abs, hit); // most recently used last
  return hit.real;
}

function sameFolder(path: string, known: { dev: number; ino: number }): boolean {
  const st = statSync(path, { throwIfNoEntry: false });
  return st !== undefined && st.isDirectory() && st.dev === known.dev && st.ino === known.ino;
}

function rememberFolder(abs: string, real: string): void {
  const st = statSync(real, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return;
  if (knownFolders.size >= KNOWN_FOLDERS) knownFolders.delete(knownFolders.keys().next().value as string);
  knownFolders.set(abs, { real, dev: st.dev, ino: st.ino });
}

/**
 * Where `path` really is: every symlink on the way followed, dangling ones included (their text is
 * followed), and the part that does not exist yet appended as written. Raises RunnerError
 * `path_escapes` for a symlink loop.
 */
export async function resolvePath(path: string): Promise<string> {
  const abs = resolve(path);
  const known = knownFolder(abs);
  if (known !== undefined) return known;
  // From the nearest folder resolved before, walking only what lies below it.
  let from = dirname(abs);
  let fromReal: string | undefined;
  for (; from !== dirname(from); from = dirname(from)) {
    if (knownFolders.has(from) && (fromReal = knownFolder(from)) !== undefined) break;
  }
  if (fromReal === undefined) {
    const real = realpathOrUndefined(abs);
    if (real !== undefined) {
      rememberFolder(abs, real);
      return real;
    }
  }
  const start = fromReal === undefined ? parse(abs).root : from;
  let todo = abs.slice(start.length).split(/[\\/]+/);
  let cur = fromReal ?? start;
  let links = 0;
  while (todo.length > 0) {
    const name = todo.shift() as string;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      cur = dirname(cur);
      continue;
    }
    const next = join(cur, name);
    const st = lstatOrUndefined(next);
    // Missing (or under a file): nothing further can be a symlink yet.
    if (st === undefined) return resolve(next, ...todo);
    if (!st.isSymbolicLink()) {
      cur = next;
      continue;
    }
    const target = realpathOrUndefined(next);
    if (target !== undefined) {
      cur = target;
      continue;
    }
    // A dangling symlink: what gets created through it lands where its text points.
    if (++links > MAX_LINKS) throw new RunnerError(PATH_ESCAPES, `${path} cannot be resolved: too many symlinks (a loop?)`);
    const text = readlinkSync(next);
    todo = [...text.split(/[\\/]+/), ...todo];
    if (isAbsolute(text)) cur = parse(text).root || parse(abs).root;
  }
  return cur;
}

/** `p` is `root` or inside it (both resolved). */
export function within(root: string, p: string): boolean {
  return p === root || isInside(root, p);
}

/** The first symlink between `base` and `path` (by text) whose target is outside `baseReal`, with its target. */
async function escapingLink(base: string, path: string, baseReal: string): Promise<{ link: string; target: string } | undefined> {
  if (!isInside(base, path)) return undefined;
  const rel = relative(resolve(base), resolve(path));
  let cur = resolve(base);
  for (const name of rel.split(sep)) {
    cur = join(cur, name);
    const st = lstatOrUndefined(cur);
    if (st === undefined) return undefined;
    if (!st.isSymbolicLink()) continue;
    const target = await resolvePath(cur).catch(() => undefined);
    if (target === undefined || !within(baseReal, target)) return { link: cur, target: readlinkOr(cur, '?') };
  }
  return undefined;
}

async function escapeError(what: string, path: string, base: string, baseReal: string): Promise<RunnerError> {
  const found = await escapingLink(base, path, baseReal);
  const how = found ? ` through the symlink ${found.link} → ${found.target}` : '';
  return new RunnerError(PATH_ESCAPES, `${what} ${path} leads outside ${base}${how}`, {
    context: { path, base, ...(found ? { symlink: found.link } : {}) },
  });
}

/**
 * Checks that `path`, resolved, is inside `base`, resolved (`base` itself only with
 * `allowBase`). Resolves to the real path. Raises RunnerError `path_escapes` naming the symlink
 * that leads out; `what` starts the message ("the task's folder").
 */
export async function assertInside(base: string, path: string, what: string, opts: { allowBase?: boolean } = {}): Promise<string> {
  const baseReal = await resolvePath(base);
  const real = await resolvePath(path);
  const ok = opts.allowBase ? within(baseReal, real) : isInside(baseReal, real);
  if (!ok) throw await escapeError(what, path, base, baseReal);
  return real;
}

/**
 * Creates `dir` (and what is missing on the way) below `root`, one level at a time, each existing
 * level checked to resolve inside `root` before anything is created in it: nothing is ever made
 * outside `root`. `root` itself is created when missing. Resolves to the real path of `dir`.
 * Raises RunnerError `path_escapes` (naming the symlink) or `not_a_folder` (a file on the way), or the fs error.
 */
export async function mkdirInside(root: string, dir: string, what = 'the folder'): Promise<string> {
  if (!lstatOrUndefined(root)) mkdirSync(root, { recursive: true });
  const rootReal = await resolvePath(root);
  if (!within(resolve(root), resolve(dir))) throw await escapeError(what, dir, root, rootReal);
  const rel = relative(resolve(root), resolve(dir));
  let cur = rootReal;
  for (const name of rel === '' ? [] : rel.split(sep)) {
    const next = join(cur, name);
    // Most levels exist already (the project's folder): looked at first, since a failing mkdir
    // costs an exception, which is most of what the call costs.
    if (!lstatOrUndefined(next)) {
      try {
        mkdirSync(next);
        cur = next;
        continue;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    // mkdir does not follow a symlink at `next`: it exists, so check where it leads before going on.
    const real = await resolvePath(next);
    if (!within(rootReal, real)) {
      const target = readlinkOr(next, '?');
      throw new RunnerError(PATH_ESCAPES, `${what} ${dir} leads outside ${root} through the symlink ${next} → ${target}`, {
        context: { path: dir, base: root, symlink: next },
      });
    }
    if (!statSync(real).isDirectory()) {
      throw new RunnerError('not_a_folder', `${what} ${dir} cannot be made: ${next} is not a folder`, { context: { path: next } });
    }
    cur = real;
  }
  return cur;
}
