import { dirname } from 'node:path';
import { UsageError } from '../runner/errors.ts';
import { ProjectLinks, type ProjectInfo } from '../runner/projects/links.ts';
import { GitWorkspaces } from '../runner/workspace/worktrees.ts';
import { println, type Io } from './args.ts';
import { commandContext } from './context.ts';
import { HELP } from './help.ts';

const usageError = (problem: string): UsageError => new UsageError(`${problem} (see \`sibyl-runner projects --help\`)`);

/**
 * `sibyl-runner projects link|unlink|list`: exit 0 ok, 1 runtime failure, 2 usage error. Errors
 * are thrown to the CLI's one printer (index.ts), which adds the remedy's words.
 */
export async function projectsCommand(argv: string[], io: Io): Promise<number> {
  // `--config` selects which runner's projects.yaml; the rest is the sub-command's own.
  const at = argv.findIndex((a) => a === '--config' || a === '-c');
  if (at >= 0 && argv[at + 1] === undefined) throw usageError(`${argv[at]} needs a PATH`);
  const config = at >= 0 ? argv[at + 1] : undefined;
  const [sub, ...rest] = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 2)] : argv;
  if (sub === '--help' || sub === '-h' || sub === 'help' || rest.includes('--help') || rest.includes('-h'))
    return (println(io.stdout, HELP.projects), 0);
  if (sub === undefined) throw usageError('missing subcommand: link, unlink or list');

  const ctx = commandContext(config !== undefined ? { config } : {}, io);
  const links = new ProjectLinks({ homeDir: ctx.home, configDir: dirname(ctx.path) });
  switch (sub) {
    case 'link': {
      const [path, projectId, ...extra] = rest;
      if (path === undefined || projectId === undefined || extra.length > 0) throw usageError('link needs PATH and PROJECT_ID');
      const link = await links.link(path, projectId);
      println(io.stdout, `linked ${link.projectId} → ${link.path}`);
      return 0;
    }
    case 'unlink': {
      const [projectId, ...extra] = rest;
      if (projectId === undefined || extra.length > 0) throw usageError('unlink needs PROJECT_ID');
      const link = await links.unlink(projectId);
      println(io.stdout, `unlinked ${link.projectId} (was ${link.path})`);
      return 0;
    }
    case 'list': {
      const json = rest.includes('--json');
      const unknown = rest.filter((a) => a !== '--json');
      if (unknown.length > 0) throw usageError(`unknown argument ${unknown[0]}`);
      const { warnings } = await links.links();
      const worktrees = new GitWorkspaces({ worktreeBase: ctx.config.worktree_base, links });
      const projects = await links.list({ warm: await worktrees.warmWorktrees() });
      if (json) println(io.stdout, JSON.stringify({ projects, warnings }, null, 2));
      else io.stdout.write(formatList(projects));
      for (const w of warnings) println(io.stderr, `warning: ${w}`);
      return 0;
    }
    default:
      throw usageError(`unknown subcommand "${sub}"`);
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
