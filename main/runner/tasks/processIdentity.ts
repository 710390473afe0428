import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * A pid alone does not name a process: after a crash and a reboot, or just enough time, the same
 * number belongs to someone else. Crash recovery pairs the pid with its start time and signals
 * only when both match.
 */

let bootId: string | undefined;

/** Linux: boot id + field 22 of /proc/<pid>/stat (clock ticks since boot). Elsewhere: `ps -o lstart=`. */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (process.platform === 'linux') return linuxStartTime(pid);
  if (process.platform === 'win32') return undefined;
  try {
    // LC_ALL=C: lstart is a formatted date, and it must read the same in the next run.
    const out = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, LC_ALL: 'C' },
    }).trim();
    return out === '' ? undefined : out.replace(/\s+/g, ' ');
  } catch {
    return undefined; // ps exits 1 when there is no such process
  }
}

function linuxStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return parseProcStat(stat)?.startTime;
}

/** The fields of a Linux `/proc/<pid>/stat` line the runner uses. */
export interface ProcStat {
  /** one letter: R, S, D, Z (zombie), X (dead), T (stopped)… */
  state: string;
  ppid: number;
  pgid: number;
  /** as `processStartTime` returns it: boot id and clock ticks since boot */
  startTime: string;
}

/** Parse a `/proc/<pid>/stat` line; undefined when it is not one. */
export function parseProcStat(stat: string): ProcStat | undefined {
  // Field 2 (comm) is parenthesised and may contain spaces or ')': count fields from the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [state, ppid, pgrp] = rest;
  const ticks = rest[22 - 3];
  if (state === undefined || ticks === undefined || !/^\d+$/.test(ticks)) return undefined;
  // Ticks restart at every boot: the boot id keeps a pre-reboot record from matching a new process.
  bootId ??= readBootId();
  return { state, ppid: Number(ppid), pgid: Number(pgrp), startTime: `${bootId}:${ticks}` };
}

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'boot';
  }
}

function assertGroup(pgid: number): void {
  // kill(0) and kill(-1) mean "my own group" and "every process I may signal": never what we want.
  if (!Number.isInteger(pgid) || pgid <= 1) throw new RangeError(`refusing to signal process group ${pgid}`);
}

/** Signal every process of a group. Returns false if the group no longer exists (ESRCH). */
export function killProcessGroup(pgid: number, signal: NodeJS.Signals | number): boolean {
  assertGroup(pgid);
  try {
    // Windows has no process groups; the agent is spawned there without `detached`, so this is its pid.
    process.kill(process.platform === 'win32' ? pgid : -pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/**
 * Whether any process of the group is alive (EPERM counts: it exists, it just is not ours to
 * signal). On Linux a group of zombies is not alive: they cannot run or be killed, and where no
 * init reaps orphans (a container whose PID 1 is not an init) they would otherwise stay forever.
 */
export function groupAlive(pgid: number): boolean {
  assertGroup(pgid);
  try {
    process.kill(process.platform === 'win32' ? pgid : -pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return process.platform === 'linux' ? (linuxGroupHasRunnableMember(pgid) ?? true) : true;
}

/** Scans /proc for a member of the group that is not a zombie; undefined when /proc cannot be read. */
function linuxGroupHasRunnableMember(pgid: number): boolean | undefined {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // After the comm field: state (field 3), ppid (4), pgrp (5).
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (pgrp === String(pgid) && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

/**
 * Whether the group led by `pgid` is still the one we started, for a leader spawned detached
 * (pgid = pid). Either the leader itself is alive with the recorded start time, or the leader is
 * gone and members remain: the kernel does not hand out a pid that is still in use as a process
 * group id (Linux, macOS, BSD), so surviving members of that group are the orphans of our agent.
 * If another process now owns the leader's pid, this is someone else's group: false.
 */
export function isOurProcessGroup(pgid: number, leaderStartTime: string | undefined): boolean {
  if (process.platform === 'win32' || !Number.isInteger(pgid) || pgid <= 1) return false;
  const now = processStartTime(pgid);
  if (now !== undefined) return now === leaderStartTime;
  return groupAlive(pgid);
}
