import { dirname } from 'node:path';
import { UsageError } from '../runner/errors.ts';
import { configureLogging } from '../runner/logger.ts';
import { ProjectLinks, type ProjectInfo } from '../runner/projects/links.ts';
import { GitWorkspaces } from '../runner/workspace/worktrees.ts';
import { parse, println, seeHelp, type Io } from './args.ts';
import { commandContext } from './context.ts';
import { HELP } from './help.ts';
import { resolveProjectId } from './idPrefix.ts';
import { didYouMean } from './suggest.ts';

const SUBCOMMANDS = ['link', 'unlink', 'list'];
const usageError = (problem: string): UsageError => new UsageError(`${problem} ${seeHelp('projects')}`);

/**
 * `sibyl-runner projects link|unlink|list`: exit 0 ok, 1 runtime failure, 2 usage error. Errors
 * are thrown to the CLI's one printer (index.ts), which adds the remedy's words. `unlink` takes a
 * unique start of a linked project's id.
 */
export async function projectsCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('projects', argv, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } }, 3);
  const [sub, ...rest] = positionals;
  if (values.help || sub === 'help') return (println(io.stdout, HELP.projects), 0);
  if (sub === undefined) throw usageError('missing subcommand: link, unlink or list');
  if (!SUBCOMMANDS.includes(sub))
    throw new UsageError(`unknown subcommand "${sub}"${didYouMean(sub, SUBCOMMANDS) || ` ${seeHelp('projects')}`}`);
  if (values.json && sub !== 'list') throw usageError('--json applies to list');
  // The command prints what it did; the core's log line would say it a second time.
  configureLogging({ quiet: true });

  const ctx = commandContext(values.config !== undefined ? { config: values.config } : {}, io);
  const links = new ProjectLinks({ homeDir: ctx.home, configDir: dirname(ctx.path) });
  switch (sub) {
    case 'link': {
      const [path, projectId, ...extra] = rest;
      if (path === undefined || projectId === undefined || extra.length > 0) throw usageError('link needs PATH and PROJECT_ID');
      const link = await links.link(path, projectId);
      println(io.stdout, `Linked ${link.projectId} → ${link.path}`);
      return 0;
    }
    case 'unlink': {
      const [typed, ...extra] = rest;
      if (typed === undefined || extra.length > 0) throw usageError('unlink needs PROJECT_ID');
      const link = await links.unlink(resolveProjectId((await links.links()).links, typed));
      println(io.stdout, `Unlinked ${link.projectId} (was ${link.path})`);
      return 0;
    }
    default: {
      if (rest.length > 0) throw usageError(`unexpected argument "${rest[0]}"`);
      const { warnings } = await links.links();
      const worktrees = new GitWorkspaces({ worktreeBase: ctx.config.worktree_base, links });
      const projects = await links.list({ warm: await worktrees.warmWorktrees() });
      if (values.json) println(io.stdout, JSON.stringify({ projects, warnings }, null, 2));
      else io.stdout.write(formatList(projects));
      for (const w of warnings) println(io.stderr, `warning: ${w}`);
      return 0;
    }
  }
}

function formatList(projects: ProjectInfo[]): string {
  if (projects.length === 0) return 'No linked projects. Link one with: sibyl-runner projects link PATH PROJECT_ID\n';
  const rows = projects.map((p) => [
    p.projectId,
    p.path,
    p.source,
    p.problem ? `SKIPPED: ${p.problem}` : p.capabilities.join(',') || '-',
    p.remoteUrl ?? '-',
    p.warmWorktree ? `${p.warmWorktree.path}${p.warmWorktree.branch ? ` (${p.warmWorktree.branch})` : ''}` : '-',
  ]);
  const header = ['PROJECT', 'PATH', 'SOURCE', 'CAPABILITIES', 'REMOTE', 'WARM WORKTREE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd() + '\n';
  return line(header) + rows.map(line).join('');
}
