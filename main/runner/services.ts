import { dirname } from 'node:path';
import type { RunnerConfig } from './config/schema.ts';
import type { Daemon, DaemonOptions } from './daemon.ts';
import type { Logger } from './logger.ts';
import { ProjectLinks } from './projects/links.ts';
import type { HistoryBackend } from './app/historyHandlers.ts';
import type { TaskObserver } from './tasks/taskEvents.ts';
import { composeObservers } from './tasks/observers.ts';

/**
 * The pieces a daemon runs with besides the link: workspaces, journal, history, project links.
 * One place builds them, so the CLI and the desktop app run the same core.
 */
export interface CoreServices {
  daemonOptions: Partial<DaemonOptions>;
  links: ProjectLinks;
  history?: HistoryBackend;
  started(daemon: Daemon): Promise<void>;
  close(): Promise<void>;
}

export async function wireCoreServices(
  _config: RunnerConfig,
  ctx: { home: string; configPath: string; log: Logger; observer?: TaskObserver },
): Promise<CoreServices> {
  const links = new ProjectLinks({ homeDir: ctx.home, configDir: dirname(ctx.configPath), log: ctx.log.child('projects') });
  return {
    daemonOptions: { observer: composeObservers(ctx.observer) },
    links,
    started: async () => {},
    close: async () => {},
  };
}
