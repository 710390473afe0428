import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import YAML from 'yaml';
import * as z from 'zod';
import { writeFileAtomic } from '../config/atomicWrite.ts';
import { readValidated, syntaxError, unreadable, validationError } from '../config/readValidated.ts';
import { patchYamlText } from '../config/yamlEdit.ts';
import { RunnerError, UsageError, errorMessage } from '../errors.ts';
import { remoteUrl, repoInfo, type RepoInfo } from '../git/git.ts';
import { redactUrl } from '../git/refNames.ts';
import { logger, type Logger } from '../logger.ts';
import { SAFE_ID_RULE, isSafeId } from '../tasks/taskSpec.ts';
import { detectProjectCapabilities } from './capabilities.ts';

/**
 * Project links: local checkout ⇄ project id. Two sources, read fresh on every call so a
 * `projects link` made while the daemon runs is seen by the next task:
 * - the Sibyl CLI's `[paths]` table in `~/.sibyl/config.toml` (sibyl-protocol.md §5.5), read only;
 * - our own `<configDir>/projects.yaml`, written by `sibyl-runner projects link/unlink`.
 * Ours wins when both name the same project. A link whose folder is missing or not a git
 * repository is reported and skipped, never fatal.
 */

export type LinkSource = 'sibyl-cli' | 'runner';

export interface ProjectLink {
  projectId: string;
  /** Absolute path of the linked folder. */
  path: string;
  source: LinkSource;
}

/** A link whose folder is a git repository, with what git says about it. */
export interface UsableLink extends ProjectLink {
  repo: RepoInfo;
}

export interface WarmWorktree {
  projectId: string;
  path: string;
  branch: string | null;
}

export interface ProjectInfo extends ProjectLink {
  exists: boolean;
  isGitRepo: boolean;
  usable: boolean;
  /** Why the link is skipped, or null. */
  problem: string | null;
  capabilities: string[];
  /** `origin`'s URL with any password redacted, or null. */
  remoteUrl: string | null;
  warmWorktree: { path: string; branch: string | null } | null;
}

export interface ProjectLinksOptions {
  /** HOME: `~/.sibyl/config.toml` is read from here, and `~` in paths expands to it. */
  homeDir: string;
  /** Where `projects.yaml` lives (the runner's config folder). */
  configDir: string;
  log?: Logger;
}

/** Keys of a link this version does not know are kept when the file is edited. */
const LinksFileSchema = z.object({
  version: z.literal(1),
  links: z.array(
    z.looseObject({
      project_id: z.string().refine(isSafeId, { error: (issue) => `${JSON.stringify(issue.input)} is not a valid project id` }),
      path: z.string().refine((p) => isAbsolute(p), 'must be an absolute path'),
    }),
  ),
});
type LinksFile = z.infer<typeof LinksFileSchema>;

/** Only the CLI's `[paths]` table matters here; its entries are checked one by one so one bad entry skips only itself. */
const CliConfigSchema = z.looseObject({ paths: z.record(z.string(), z.unknown()).optional() });
type CliConfig = z.infer<typeof CliConfigSchema>;

const HEADER = '# Project links of sibyl-runner: edit with `sibyl-runner projects link|unlink`.\n';

export class ProjectLinks {
  readonly cliConfigFile: string;
  readonly linksFile: string;
  readonly #home: string;
  readonly #log: Logger;
  /** The CLI's file is re-read for every task: say what is wrong with it once. */
  readonly #warned = new Set<string>();

  constructor(opts: ProjectLinksOptions) {
    this.#home = opts.homeDir;
    this.cliConfigFile = join(opts.homeDir, '.sibyl', 'config.toml');
    this.linksFile = join(opts.configDir, 'projects.yaml');
    this.#log = opts.log ?? logger('projects');
  }

  /** Every link, ours first; `warnings` lists entries of the CLI's file that were skipped. */
  async links(): Promise<{ links: ProjectLink[]; warnings: string[] }> {
    const [ours, cli] = await Promise.all([this.#readOwn(), this.#readCli()]);
    const linked = new Set(ours.links.map((l) => l.project_id));
    const links: ProjectLink[] = ours.links.map((l) => ({ projectId: l.project_id, path: l.path, source: 'runner' }));
    for (const l of cli.links) if (!linked.has(l.projectId)) links.push(l);
    for (const w of cli.warnings.filter((x) => !this.#warned.has(x))) {
      this.#warned.add(w);
      this.#log.warn('project link skipped', { reason: w });
    }
    return { links, warnings: cli.warnings };
  }

  /** The first usable link of `projectId`; unusable ones are logged and skipped. */
  async find(projectId: string): Promise<UsableLink | undefined> {
    const { links } = await this.links();
    for (const link of links.filter((l) => l.projectId === projectId)) {
      const checked = await inspect(link);
      if (checked.repo) return { ...link, repo: checked.repo };
      this.#log.warn('project link skipped', { projectId, path: link.path, source: link.source, problem: checked.problem });
    }
    return undefined;
  }

  /** Every link with its state, capabilities, remote and (when given) warm worktree. Never throws for a bad link. */
  async list(opts: { warm?: WarmWorktree[] } = {}): Promise<ProjectInfo[]> {
    const { links } = await this.links();
    return Promise.all(
      links.map(async (link): Promise<ProjectInfo> => {
        const checked = await inspect(link);
        const warm = opts.warm?.find((w) => w.projectId === link.projectId);
        const url = checked.repo ? await remoteUrl(link.path) : undefined;
        return {
          ...link,
          exists: checked.exists,
          isGitRepo: checked.repo !== undefined,
          usable: checked.repo !== undefined,
          problem: checked.problem ?? null,
          capabilities: checked.exists ? await detectProjectCapabilities(link.path) : [],
          remoteUrl: url ? redactUrl(url) : null,
          warmWorktree: warm ? { path: warm.path, branch: warm.branch } : null,
        };
      }),
    );
  }

  /** Link `path` to `projectId` in projects.yaml (replacing an earlier link of that project). */
  async link(path: string, projectId: string): Promise<ProjectLink> {
    if (!isSafeId(projectId)) throw new UsageError(`"${projectId}" is not a project id (${SAFE_ID_RULE}; e.g. project_1a2b3c4d5e6f)`);
    const abs = this.#expand(path);
    const checked = await inspect({ projectId, path: abs, source: 'runner' });
    if (!checked.repo) throw new RunnerError('link_invalid', `cannot link ${abs}: ${checked.problem ?? 'not usable'}`);
    await this.#editOwn((links) => [...links.filter((l) => l.project_id !== projectId), { project_id: projectId, path: abs }]);
    this.#log.info('project linked', { projectId, path: abs });
    return { projectId, path: abs, source: 'runner' };
  }

  /** Remove our link of `projectId`; links made by the Sibyl CLI are the CLI's to remove. */
  async unlink(projectId: string): Promise<ProjectLink> {
    const file = await this.#readOwn();
    const ours = file.links.find((l) => l.project_id === projectId);
    if (ours) {
      await this.#editOwn((links) => links.filter((l) => l.project_id !== projectId));
      this.#log.info('project unlinked', { projectId, path: ours.path });
      return { projectId, path: ours.path, source: 'runner' };
    }
    const cli = (await this.#readCli()).links.find((l) => l.projectId === projectId);
    if (cli) {
      throw new RunnerError(
        'link_external',
        `${projectId} is linked by the Sibyl CLI ([paths] in ${this.cliConfigFile} → ${cli.path}); remove it there, sibyl-runner only edits ${this.linksFile}`,
      );
    }
    throw new RunnerError('link_not_found', `no link for project ${projectId}`);
  }

  #expand(p: string): string {
    const home = p === '~' || p.startsWith('~/') ? join(this.#home, p.slice(1)) : p;
    return resolve(home);
  }

  async #readOwn(): Promise<LinksFile> {
    return (await readValidated(this.linksFile, LinksFileSchema)) ?? { version: 1, links: [] };
  }

  /**
   * Change the list of links in projects.yaml. People annotate this file too, so only the lines of
   * links that come or go change (yamlEdit.ts); comments and keys this version does not know stay.
   */
  async #editOwn(change: (links: LinksFile['links']) => LinksFile['links']): Promise<void> {
    let text = '';
    try {
      text = await readFile(this.linksFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unreadable(this.linksFile, err);
    }
    if (!text.trim()) text = HEADER;
    const doc = YAML.parseDocument(text);
    const [error] = doc.errors;
    if (error) throw syntaxError(this.linksFile, 'yaml', error);
    const raw: unknown = doc.toJS() ?? { version: 1, links: [] };
    const parsed = LinksFileSchema.safeParse(raw);
    if (!parsed.success) throw validationError(this.linksFile, parsed.error);
    const out = patchYamlText(text, doc, { version: 1, links: change(parsed.data.links) });
    if (out !== undefined) await writeFileAtomic(this.linksFile, out);
  }

  /** The CLI's file belongs to another tool: problems in it are warnings, never fatal (§5.5). */
  async #readCli(): Promise<{ links: ProjectLink[]; warnings: string[] }> {
    let doc: CliConfig | undefined;
    try {
      doc = await readValidated(this.cliConfigFile, CliConfigSchema);
    } catch (err) {
      return { links: [], warnings: [`${errorMessage(err)}; its [paths] are ignored`] };
    }
    const paths = doc?.paths;
    if (paths === undefined) return { links: [], warnings: [] };
    const links: ProjectLink[] = [];
    const warnings: string[] = [];
    for (const [dir, id] of Object.entries(paths)) {
      if (typeof id !== 'string' || !isSafeId(id)) {
        warnings.push(`${this.cliConfigFile}: paths."${dir}": ${JSON.stringify(id)} is not a project id`);
        continue;
      }
      links.push({ projectId: id, path: this.#expand(dir), source: 'sibyl-cli' });
    }
    return { links, warnings };
  }
}

async function inspect(link: ProjectLink): Promise<{ exists: boolean; repo: RepoInfo | undefined; problem: string | undefined }> {
  try {
    const s = await stat(link.path);
    if (!s.isDirectory()) return { exists: true, repo: undefined, problem: `${link.path} is not a directory` };
  } catch {
    return { exists: false, repo: undefined, problem: `${link.path} does not exist` };
  }
  const repo = await repoInfo(link.path);
  return repo
    ? { exists: true, repo, problem: undefined }
    : { exists: true, repo: undefined, problem: `${link.path} is not a git repository` };
}
