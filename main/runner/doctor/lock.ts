import { join } from 'node:path';
import { canonicalPath } from '../config/canonicalPath.ts';
import { holderAlive, readHolder } from '../lockFile.ts';
import { LOCK_FILE, LockOwner } from '../stateLock.ts';
import { check, isoTime, type DoctorCheck } from './check.ts';

/** What the state lock says about a daemon (stateLock.ts), read without taking it. */
export type LockState =
  | { kind: 'free' }
  | { kind: 'stale'; pid: number }
  | { kind: 'unreadable' }
  | { kind: 'held'; owner: LockOwner; sameConfig: boolean }
  | { kind: 'error'; message: string };

/** Reads `<stateDir>/runner.lock` and whether its owner still runs; never takes or changes it. */
export function readStateLock(stateDir: string, configPath: string): LockState {
  let owner: LockOwner | 'missing' | 'unreadable';
  try {
    owner = readHolder(join(stateDir, LOCK_FILE), LockOwner);
  } catch (err) {
    // ENOTDIR, EACCES: the state folder's own check says why and what to do.
    return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
  if (owner === 'missing') return { kind: 'free' };
  if (owner === 'unreadable') return { kind: 'unreadable' };
  if (!holderAlive(owner)) return { kind: 'stale', pid: owner.pid };
  return { kind: 'held', owner, sameConfig: owner.configPath === canonicalPath(configPath) };
}

/**
 * The state lock as a check. A daemon holding it is not a problem (it is the runner, running);
 * a daemon of another configuration holding it is, since `run` would then refuse to start.
 */
export function lockCheck(state: LockState, stateDir: string, configPath: string): DoctorCheck {
  const id = 'stateLock';
  const title = 'daemon';
  const path = join(stateDir, LOCK_FILE);
  switch (state.kind) {
    case 'free':
      return check(id, title, 'ok', 'No daemon runs for this configuration (the state lock is free)', { detail: { path, held: false } });
    case 'stale':
      return check(
        id,
        title,
        'ok',
        `No daemon runs; the lock left by pid ${state.pid} (no longer running) is taken over at the next start`,
        {
          detail: { path, held: false, stalePid: state.pid },
        },
      );
    case 'unreadable':
      return check(id, title, 'warn', `${path} is not a runner lock; the next start replaces it`, {
        fix: `if another program wrote ${path}, give the runner its own state_dir in ${configPath}`,
        detail: { path, held: false },
      });
    case 'held': {
      const { owner } = state;
      const detail = { path, held: true, pid: owner.pid, since: isoTime(owner.since), ownerConfigPath: owner.configPath };
      if (state.sameConfig) {
        return check(id, title, 'ok', `The daemon is running (pid ${owner.pid}, since ${isoTime(owner.since)})`, { detail });
      }
      return check(
        id,
        title,
        'fail',
        `The state folder is in use by the daemon of another configuration (pid ${owner.pid}, ${owner.configPath})`,
        {
          fix: `give each configuration its own state_dir: set state_dir in ${configPath}`,
          detail,
        },
      );
    }
    case 'error':
      return check(id, title, 'skip', `Cannot read the state lock (${state.message}); see the state folder's check`, { detail: { path } });
    default:
      return unhandled(state);
  }
}

function unhandled(state: never): never {
  throw new Error(`unhandled lock state: ${JSON.stringify(state)}`);
}
