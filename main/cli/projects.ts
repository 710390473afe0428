import { join } from 'node:path';
import { RunnerError, errorMessage } from '../runner/errors.ts';
import { ProjectLinks, type ProjectInfo } from '../runner/projects/links.ts';
import { GitWorkspaces } from '../runner/workspace/worktrees.ts';

/** `sibyl-runner projects link|unlink|list`: exit 0 ok, 1 runtime failure, 2 usage error. */

export interface ProjectsContext {
  configDir: string;
  homeDir: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** For the warm-worktree column; default `~/.sibyl/worktrees`. */
  worktreeBase?: string;
}

const USAGE = `Usage:
  sibyl-runner projects link PATH PROJECT_ID   link a local git checkout to a Sibyl project
  sibyl-runner projects unlink PROJECT_ID      remove a link made with \`projects link\`
  sibyl-runner projects list [--json]          linked projects: path, capabilities, remote, warm worktree

Links made with the Sibyl CLI (\`[paths]\` in ~/.sibyl/config.toml) are listed too; this command
only edits its own file (projects.yaml in the runner's config folder).
`;

export async function projectsCommand(argv: string[], ctx: ProjectsContext): Promise<number> {
  const [sub, ...rest] = argv;
  const usage = (problem?: string): number => {
    if (problem) ctx.stderr.write(`sibyl-runner projects: ${problem}\n\n`);
    (problem ? ctx.stderr : ctx.stdout).write(USAGE);
    return problem ? 2 : 0;
  };
  if (sub === undefined) return usage('missing subcommand');
  if (sub === '--help' || sub === '-h' || sub === 'help' || rest.includes('--help') || rest.includes('-h')) return usage();

  const links = new ProjectLinks({ homeDir: ctx.homeDir, configDir: ctx.configDir });
  try {
    switch (sub) {
      case 'link': {
        const [path, projectId, ...extra] = rest;
        if (path === undefined || projectId === undefined || extra.length > 0) return usage('link needs PATH and PROJECT_ID');
        const link = await links.link(path, projectId);
        ctx.stdout.write(`linked ${link.projectId} → ${link.path}\n`);
        return 0;
      }
      case 'unlink': {
        const [projectId, ...extra] = rest;
        if (projectId === undefined || extra.length > 0) return usage('unlink needs PROJECT_ID');
        const link = await links.unlink(projectId);
        ctx.stdout.write(`unlinked ${link.projectId} (was ${link.path})\n`);
        return 0;
      }
      case 'list': {
        const json = rest.includes('--json');
        const unknown = rest.filter((a) => a !== '--json');
        if (unknown.length > 0) return usage(`unknown argument ${unknown[0]}`);
        const { warnings } = await links.links();
        const worktrees = new GitWorkspaces({ worktreeBase: ctx.worktreeBase ?? join(ctx.homeDir, '.sibyl', 'worktrees'), links });
        const projects = await links.list({ warm: await worktrees.warmWorktrees() });
        if (json) ctx.stdout.write(JSON.stringify({ projects, warnings }, null, 2) + '\n');
        else ctx.stdout.write(formatList(projects));
        for (const w of warnings) ctx.stderr.write(`warning: ${w}\n`);
        return 0;
      }
      default:
        return usage(`unknown subcommand "${sub}"`);
    }
  } catch (err) {
    ctx.stderr.write(`sibyl-runner projects ${sub}: ${errorMessage(err)}\n`);
    return err instanceof RunnerError ? err.exitCode : 1;
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
