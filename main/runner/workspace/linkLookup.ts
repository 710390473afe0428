import { lstatSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ProjectLinks, UsableLink } from '../projects/links.ts';

/** What GitWorkspaces needs of the project links (tests pass a ProjectLinks, or a fake without its files). */
export type LinkSource = Pick<ProjectLinks, 'find' | 'links'> & Partial<Pick<ProjectLinks, 'linksFile' | 'cliConfigFile'>>;

interface Remembered {
  /** the two link files' identities when this was looked up */
  files: string;
  link: UsableLink | undefined;
  /** for a found link: its folder's, its .git's and its common git directory's identities */
  repo: string;
}

/**
 * ProjectLinks.find for every task start, remembered: a lookup reads and validates projects.yaml
 * and ~/.sibyl/config.toml and runs `git rev-parse` twice in the linked folder (some 100 ms of a
 * task start on a busy machine). The answer is used again while both files are unchanged (mtime,
 * size and inode, one stat each) and, for a found link, while its folder, its `.git` and its
 * common git directory are the same ones (inodes and kinds): a repository moved, re-cloned or
 * deleted is looked up again. Without the files' paths (a fake), every call asks `links`.
 */
export class LinkLookup {
  readonly #links: LinkSource;
  readonly #memo = new Map<string, Remembered>();

  constructor(links: LinkSource) {
    this.#links = links;
  }

  async find(projectId: string): Promise<UsableLink | undefined> {
    const { linksFile, cliConfigFile } = this.#links;
    if (linksFile === undefined || cliConfigFile === undefined) return this.#links.find(projectId);
    const files = `${identity(linksFile)}|${identity(cliConfigFile)}`;
    const known = this.#memo.get(projectId);
    if (known && known.files === files && known.repo === repoIdentity(known.link)) return known.link;
    const link = await this.#links.find(projectId);
    this.#memo.set(projectId, { files, link, repo: repoIdentity(link) });
    return link;
  }
}

/** mtime, size, inode and kind of `path`, or '-' when there is nothing. */
function identity(path: string): string {
  const s = statSync(path, { throwIfNoEntry: false });
  return s ? `${s.mtimeMs}:${s.size}:${s.ino}:${s.mode & 0o170000}` : '-';
}

/** Inodes and kinds only: a checkout's folder and .git change mtime with every git command. */
function repoIdentity(link: UsableLink | undefined): string {
  if (!link) return '';
  const id = (p: string, follow: boolean): string => {
    const s = follow ? statSync(p, { throwIfNoEntry: false }) : lstatSync(p, { throwIfNoEntry: false });
    return s ? `${s.ino}:${s.mode & 0o170000}` : '-';
  };
  const top = link.repo.topLevel;
  return [id(link.path, true), top ? id(join(top, '.git'), false) : '', id(link.repo.commonDir, true)].join('|');
}
