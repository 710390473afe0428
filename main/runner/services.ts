import { dirname } from 'node:path';
import type { RunnerConfig } from './config/schema.ts';
import type { Daemon, DaemonOptions } from './daemon.ts';
import { background, type Logger } from './logger.ts';
import { ProjectLinks } from './projects/links.ts';
import type { TaskObserver } from './tasks/taskEvents.ts';
import { composeObservers } from './tasks/observers.ts';
import type { HistoryBackend } from './app/historyHandlers.ts';
import { GitWorkspaces, validateGitRefs } from './workspace/worktrees.ts';

/** How often finished worktrees past their keep period (and the disk cap) are swept. */
const SWEEP_EVERY_MS = 10 * 60 * 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The pieces a daemon runs with besides the link: workspaces, journal, history, project links.
 * One place builds them, so the CLI and the desktop app run the same core.
 */
export interface CoreServices {
  daemonOptions: Partial<DaemonOptions>;
  links: ProjectLinks;
  workspaces: GitWorkspaces;
  history?: HistoryBackend;
  started(daemon: Daemon): Promise<void>;
  close(): Promise<void>;
}

export async function wireCoreServices(
  config: RunnerConfig,
  ctx: { home: string; configPath: string; log: Logger; observer?: TaskObserver },
): Promise<CoreServices> {
  const links = new ProjectLinks({ homeDir: ctx.home, configDir: dirname(ctx.configPath), log: ctx.log.child('projects') });
  const workspaces = new GitWorkspaces({
    worktreeBase: config.worktree_base,
    repoCacheDir: config.repo_cache_dir,
    links,
    keepFailedWorktreesHours: config.keep_failed_worktrees_hours,
    diskCapBytes: config.worktree_disk_cap_mb * 1024 * 1024,
    log: ctx.log.child('worktrees'),
  });
  // project_register needs the server's project UUID (§4.6.4, R7): graph ids would get the link dropped.
  const warm = async (): Promise<{ projectId: string; path: string; branch: string | null }[]> => (await workspaces.warmWorktrees()).filter((w) => UUID.test(w.projectId));
  let sweepTimer: NodeJS.Timeout | undefined;
  return {
    daemonOptions: {
      workspaces,
      validate: (spec) => validateGitRefs(spec),
      observer: composeObservers(ctx.observer),
      projects: warm,
    },
    links,
    workspaces,
    started: async () => {
      await workspaces.sweep().catch((err: unknown) => ctx.log.warn('worktree sweep failed', { error: err }));
      sweepTimer = setInterval(() => background(ctx.log, 'worktree sweep', workspaces.sweep()), SWEEP_EVERY_MS);
      sweepTimer.unref();
    },
    close: async () => {
      clearInterval(sweepTimer);
    },
  };
}
