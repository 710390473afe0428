import { renameSync } from 'node:fs';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { isCorruptionError } from './historyDb.ts';
import { HistoryStore, type HistoryStoreOptions } from './historyStore.ts';

/** quick_check found a problem the open did not. */
class DamagedHistory extends Error {}

/** SQLite's companions of a WAL-mode file: moved with it, or SQLite would pair them with the new file. */
const COMPANIONS = ['-wal', '-shm'] as const;

/**
 * The daemon's way to open its history. The history is derived data (the journal is what keeps
 * results), so a file SQLite calls damaged (not a database, or corrupt) is set aside as
 * `<file>.corrupt-<UTC timestamp>` with its -wal and -shm, a new one is started, and a warning
 * names both files. Only the process holding the state-folder lock may call this: a reader would
 * move the file from under the daemon. Any other open failure is raised as from HistoryStore
 * (RunnerError `history_unavailable`).
 */
export function openHistoryOrStartAfresh(opts: HistoryStoreOptions, log: Logger, now: Date = new Date()): HistoryStore {
  try {
    const store = new HistoryStore(opts);
    // A page damaged mid-file passes the open; every later write would fail and the finished-task
    // lookup with it (a re-sent assignment would run again). One check at start-up finds it.
    let problem: string;
    try {
      problem = store.quickCheck();
    } catch (err) {
      store.close();
      throw err;
    }
    if (problem === 'ok') return store;
    store.close();
    throw new DamagedHistory(problem);
  } catch (err) {
    if (opts.dbPath === ':memory:' || !(err instanceof DamagedHistory || isCorruptionError(err))) throw err;
    const setAside = `${opts.dbPath}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`;
    renameSync(opts.dbPath, setAside);
    for (const suffix of COMPANIONS) {
      try {
        renameSync(`${opts.dbPath}${suffix}`, `${setAside}${suffix}`);
      } catch {
        /* not there */
      }
    }
    log.warn('the task history was damaged: set it aside and started a new one', {
      file: opts.dbPath,
      setAside,
      error: errorMessage(err),
    });
    return new HistoryStore(opts);
  }
}
