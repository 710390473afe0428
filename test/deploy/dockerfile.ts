import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** One Dockerfile instruction: its keyword (upper case), the flags before its arguments (`--from=build`), and the rest. */
export interface Instruction {
  cmd: string;
  flags: Record<string, string>;
  args: string;
  /** which stage it belongs to: 0 for the first FROM's, 1 for the next… */
  stage: number;
}

/** The instructions of a Dockerfile: comments and the parser directive dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (!pending && (line.trim() === '' || line.trimStart().startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    const m = /^(\S+)\s+(.*)$/.exec(whole);
    if (!m) throw new Error(`not an instruction: ${whole}`);
    const cmd = m[1]!.toUpperCase();
    let args = m[2]!;
    const flags: Record<string, string> = {};
    for (let f = /^--([a-z-]+)=(\S+)\s+/.exec(args); f; f = /^--([a-z-]+)=(\S+)\s+/.exec(args)) {
      flags[f[1]!] = f[2]!;
      args = args.slice(f[0].length);
    }
    if (cmd === 'FROM') stage++;
    out.push({ cmd, flags, args, stage });
  }
  return out;
}

/**
 * Whether `.dockerignore` keeps `path` (relative, `/`-separated) out of the build context: its
 * patterns as Docker reads them (relative to the context's root, `*` within a name, `**` across
 * folders, a folder's pattern covering what is inside it; `!` re-includes, the last match wins).
 */
export function dockerIgnores(patterns: string[], path: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    const pattern = (negate ? line.slice(1) : line).replace(/^\/+/, '').replace(/\/+$/, '');
    const re = new RegExp(
      '^' +
        pattern
          .split('/')
          .map((part) =>
            part === '**'
              ? '(?:.*)'
              : part
                  .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                  .replace(/\*/g, '[^/]*')
                  .replace(/\?/g, '[^/]'),
          )
          .join('/')
          .replace(/\(\?:\.\*\)\//g, '(?:.*/)?') +
        '(?:/.*)?$',
    );
    if (re.test(path)) ignored = !negate;
  }
  return ignored;
}

export function dockerignorePatterns(repo: string): string[] {
  return readFileSync(join(repo, '.dockerignore'), 'utf8').split('\n');
}

/**
 * What `docker build` would send from `repo`: its files (tracked and not ignored by git, as the
 * working tree has them) minus what .dockerignore excludes, copied to `dest`. node_modules is
 * linked in afterwards by the caller when it stands in for `npm ci`.
 */
export function buildContext(repo: string, dest: string): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: repo, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  const patterns = dockerignorePatterns(repo);
  const kept = listed.filter((p) => !dockerIgnores(patterns, p));
  for (const p of kept) {
    mkdirSync(dirname(join(dest, p)), { recursive: true });
    try {
      cpSync(join(repo, p), join(dest, p));
    } catch (err) {
      // Listed by git but deleted in the working tree (someone's change in progress): not in the context either.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return kept;
}

/** Stands in for the build stage's `npm ci`: the checkout's own node_modules, linked. */
export function linkNodeModules(repo: string, dest: string): void {
  symlinkSync(join(repo, 'node_modules'), join(dest, 'node_modules'), 'dir');
}
