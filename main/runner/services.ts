import type { RunnerConfig } from './config/schema.ts';
import type { Daemon, DaemonOptions } from './daemon.ts';
import type { Logger } from './logger.ts';

/**
 * The pieces a daemon runs with besides the link: workspaces, journal, history. One place builds
 * them, so the CLI and the desktop app run the same core.
 */
export interface CoreServices {
  daemonOptions: Partial<DaemonOptions>;
  started(daemon: Daemon): Promise<void>;
  close(): Promise<void>;
}

export async function wireCoreServices(_config: RunnerConfig, _ctx: { home: string; configPath: string; log: Logger }): Promise<CoreServices> {
  return { daemonOptions: {}, started: async () => {}, close: async () => {} };
}
