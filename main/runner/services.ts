import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RunnerConfig } from './config/schema.ts';
import type { Daemon, DaemonOptions } from './daemon.ts';
import { historyBackend, type HistoryBackend } from './history/historyBackend.ts';
import { historyRecorder } from './history/historyObserver.ts';
import { openHistoryOrStartAfresh } from './history/historyRecovery.ts';
import { HISTORY_FILE, HistoryStore } from './history/historyStore.ts';
import { Journal } from './journal/journal.ts';
import { journalObserver } from './journal/journalObserver.ts';
import { recoverInterruptedTasks } from './journal/recovery.ts';
import { removeTaskScratch } from './agents/agentLauncher.ts';
import { background, type Logger } from './logger.ts';
import { ProjectLinks } from './projects/links.ts';
import type { TaskObserver } from './tasks/taskEvents.ts';
import { openTaskLog, taskLogPath } from './tasks/taskLog.ts';
import { composeObservers } from './tasks/observers.ts';
import { finishedResultFrom } from './tasks/finishedResult.ts';
import { GitWorkspaces, validateGitRefs } from './workspace/worktrees.ts';

/** How often finished worktrees past their keep period (and the disk cap) are swept. */
const SWEEP_EVERY_MS = 10 * 60 * 1000;
const PRUNE_EVERY_MS = 24 * 3600 * 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The pieces a daemon runs with besides the link: workspaces, journal (durable outbox), history,
 * task logs, project links. One place builds them, so the CLI and the desktop app run the same core.
 */
export interface CoreServices {
  daemonOptions: Partial<DaemonOptions>;
  links: ProjectLinks;
  workspaces: GitWorkspaces;
  journal: Journal;
  historyStore: HistoryStore;
  history: HistoryBackend;
  /** tasks of a previous run resolved at start-up (reported failed/runner_restarted) */
  recovered: number;
  /** New history limits (days, tasks; 0 = no limit), applied now and by every later prune. */
  setRetention(r: { maxAgeDays: number; maxTasks: number }): void;
  /**
   * The start-up worktree sweep (worktrees of the previous run, `git worktree prune` on every
   * linked repository: seconds with many links). Awaited before the link starts, so no task is
   * taken while it decides which worktrees are finished; never throws (a failure is logged).
   */
  startupSweep(): Promise<void>;
  /** The daemon runs: history prune in the background, then the periodic sweep and prune. */
  started(daemon: Daemon): Promise<void>;
  close(): Promise<void>;
}

export function taskLogDir(config: RunnerConfig): string {
  return join(config.log_dir, 'tasks');
}

/** The history file for readers (`history`, `logs`, the window): a damaged file is an error here, never moved. */
export function openHistory(config: RunnerConfig): HistoryStore {
  mkdirSync(config.state_dir, { recursive: true, mode: 0o700 });
  return new HistoryStore({ dbPath: join(config.state_dir, HISTORY_FILE), logDir: taskLogDir(config) });
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
  const logDir = taskLogDir(config);
  mkdirSync(logDir, { recursive: true });
  const logPaths = new Map<string, string>();
  const logPathFor = (taskId: string): string | undefined => logPaths.get(taskId);
  const journal = Journal.open(config.state_dir, { log: ctx.log.child('journal') });
  let historyStore: HistoryStore | undefined;
  let recovered: number;
  try {
    // The daemon (it holds the state lock) is the one that may set a damaged history aside.
    historyStore = openHistoryOrStartAfresh(
      { dbPath: join(config.state_dir, HISTORY_FILE), logDir: taskLogDir(config), checkpointWhenIdle: true },
      ctx.log.child('history'),
    );
    recovered = await recoverInterruptedTasks(journal, historyStore, ctx.log.child('recovery'));
    const leftovers = await removeTaskScratch(config.state_dir);
    if (leftovers > 0) ctx.log.info('removed prompt files and TMPDIRs of interrupted tasks', { count: leftovers });
  } catch (err) {
    historyStore?.close();
    journal.close();
    throw err;
  }
  const store = historyStore;

  // project_register needs the server's project UUID (§4.6.4, R7): graph ids would get the link dropped.
  const warm = async (): Promise<{ projectId: string; path: string; branch: string | null }[]> =>
    (await workspaces.warmWorktrees()).filter((w) => UUID.test(w.projectId));
  let retention = { maxAgeDays: config.history_retention_days, maxTasks: config.history_max_tasks };
  const prune = async (): Promise<void> => {
    const r = await store.prune(retention);
    if (r.rows) ctx.log.info('history pruned', { rows: r.rows, logFiles: r.logFiles });
  };
  const recorder = historyRecorder(store, ctx.log.child('history'), logPathFor);
  const cleanup = { finished: (taskId: string) => void logPaths.delete(taskId) };
  let timers: NodeJS.Timeout[] = [];
  return {
    daemonOptions: {
      workspaces,
      validate: (spec) => validateGitRefs(spec),
      outboxStore: journal,
      finishedResult: (taskId) => finishedResultFrom(store.get(taskId)),
      observer: composeObservers(journalObserver(journal, logPathFor), recorder.observer, ctx.observer, cleanup),
      openLog: (taskId) => {
        const path = taskLogPath(logDir, taskId);
        logPaths.set(taskId, path);
        return { path, writer: openTaskLog(path, { maxBytes: config.task_log_max_mb * 1024 * 1024 }) };
      },
      projects: warm,
      flushHistory: () => recorder.flush(),
    },
    links,
    workspaces,
    journal,
    historyStore: store,
    history: flushedFirst(historyBackend(store), () => recorder.flush()),
    recovered,
    setRetention: (r) => {
      retention = r;
      background(ctx.log, 'history prune', prune());
    },
    startupSweep: async () => {
      ctx.log.info('start-up worktree sweep');
      await workspaces.sweep().catch((err: unknown) => ctx.log.warn('worktree sweep failed', { error: err }));
    },
    started: async () => {
      background(ctx.log, 'history prune', prune());
      timers = [
        setInterval(() => background(ctx.log, 'worktree sweep', workspaces.sweep()), SWEEP_EVERY_MS),
        setInterval(() => background(ctx.log, 'history prune', prune()), PRUNE_EVERY_MS),
      ];
      for (const t of timers) t.unref();
    },
    close: async () => {
      for (const t of timers) clearInterval(t);
      // Task starts write the worktree registry in the background: the file gets the last of them.
      await workspaces.settled();
      recorder.flush();
      try {
        journal.close();
      } finally {
        store.close();
      }
    },
  };
}

/** Reads see every state change already pushed to the window: queued history writes go first. */
function flushedFirst(backend: HistoryBackend, flush: () => void): HistoryBackend {
  return {
    page: (q) => (flush(), backend.page(q)),
    get: (id) => (flush(), backend.get(id)),
    readLog: (id, o) => (flush(), backend.readLog(id, o)),
    dailyTotals: (q) => (flush(), backend.dailyTotals(q)),
    activity: (q) => (flush(), backend.activity(q)),
  };
}
