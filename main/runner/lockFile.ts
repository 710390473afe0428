import { closeSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import * as z from 'zod';
import { processStartTime } from './tasks/processIdentity.ts';

/**
 * Lock files between processes, shared by the state lock (one daemon per state folder) and the
 * repository lock (worktree changes of several runners on one repository). Node has no flock, so
 * a lock is a file made atomically with link(2) (it appears complete or not at all; NTFS hard
 * links behave the same) holding the owner's pid and process start time. A lock whose owner is
 * gone (crash, kill -9, reboot) is stale and may be taken over: the start time tells a dead owner
 * from a new process that got the same pid.
 */

/** What every lock file holds; a lock may add fields (the state lock adds its config path). */
export const LockHolder = z.object({
  pid: z.number().int().positive(),
  /** processStartTime(pid) when the lock was taken; absent where the platform cannot say */
  startTime: z.string().optional(),
  /** epoch ms */
  since: z.number(),
});
export type LockHolder = z.infer<typeof LockHolder>;

let ownStartTime: { startTime?: string } | undefined;

/** This process as a lock holder, now. Its start time is read once (on macOS that costs a `ps`). */
export function selfHolder(): LockHolder {
  if (ownStartTime === undefined) {
    const t = processStartTime(process.pid);
    ownStartTime = t === undefined ? {} : { startTime: t };
  }
  return { pid: process.pid, since: Date.now(), ...ownStartTime };
}

let tmpCounter = 0;

/**
 * Write the whole content to a private file, then link it into place. True when the lock is now
 * ours, false when the file exists (someone holds the lock). Other fs errors are thrown as they are.
 */
export function tryLink(path: string, content: string): boolean {
  const tmp = `${path}.${process.pid}.${tmpCounter++}.tmp`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if (isCode(err, 'EEXIST')) return false;
    throw err;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* never created */
    }
  }
}

/**
 * The holder recorded in the lock file at `path`: 'missing' when there is none, 'unreadable' when
 * it does not parse with `schema` (a foreign or damaged file: linked whole, so never half-written
 * by us). Other fs errors are thrown as they are.
 */
export function readHolder<S extends z.ZodType<LockHolder>>(path: string, schema: S): z.infer<S> | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (isCode(err, 'ENOENT')) return 'missing';
    throw err;
  }
  try {
    return schema.parse(JSON.parse(text));
  } catch {
    return 'unreadable';
  }
}

/** Same pid and, where the platform tells, same start time: a reused pid is not the holder. */
export function holderAlive(holder: LockHolder): boolean {
  if (holder.pid === process.pid) return holder.startTime === selfHolder().startTime;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if (!isCode(err, 'EPERM')) return false; // ESRCH: no such process
  }
  if (holder.startTime === undefined) return true;
  const now = processStartTime(holder.pid);
  return now === undefined || now === holder.startTime;
}

/**
 * Remove the stale lock at `path` under a takeover lock (`<path>.takeover`), after checking it is
 * still the one judged stale (read with the same `schema`): without this, a second taker could
 * remove the lock the first one just took. Returns without removing anything while another live
 * process is taking over; the caller tries to link again either way.
 */
export function takeOverStale<S extends z.ZodType<LockHolder>>(path: string, judged: z.infer<S> | 'unreadable', schema: S): void {
  const guard = `${path}.takeover`;
  if (!tryLink(guard, `${JSON.stringify(selfHolder())}\n`)) {
    const other = readHolder(guard, LockHolder);
    // A takeover lasts milliseconds; one whose process is gone crashed during it.
    if (typeof other === 'object' && holderAlive(other)) return;
    try {
      unlinkSync(guard);
    } catch {
      /* another taker removed it */
    }
    return;
  }
  try {
    const now = readHolder(path, schema);
    const same =
      now === judged || (typeof now === 'object' && typeof judged === 'object' && now.pid === judged.pid && now.since === judged.since);
    if (same) unlinkSync(path);
  } catch {
    /* gone already: the next round links */
  } finally {
    try {
      unlinkSync(guard);
    } catch {
      /* ignore */
    }
  }
}

/** Remove the lock file at `path` if it still holds `content` (ours). Never throws. */
export function removeIfOurs(path: string, content: string): void {
  try {
    // A lock taken over (we were judged stale: impossible while we live, but cheap to check) is not ours to remove.
    if (readFileSync(path, 'utf8') === content) unlinkSync(path);
  } catch {
    /* already gone */
  }
}

export function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === code;
}
