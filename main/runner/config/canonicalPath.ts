import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * One spelling per file: symlinks (a dotfiles-managed `~/.config/sibyl`, a linked runner.yaml)
 * resolved, so the same configuration reached by two paths gets one state folder, one lock and
 * one control socket. A file that does not exist yet keeps its name under its resolved folder;
 * a folder that does not exist either is only made absolute.
 */
export function canonicalPath(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync.native(absolute);
  } catch {
    try {
      return join(realpathSync.native(dirname(absolute)), basename(absolute));
    } catch {
      return absolute;
    }
  }
}
