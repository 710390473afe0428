import { randomBytes } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import { parseProcStat, processStartTime } from './processIdentity.ts';

/**
 * Finding the processes a task started after they left its process group (`setsid`, a daemon's
 * double fork): a group signal no longer reaches them, and if they kept our stdout/stderr the
 * task never ends. Two ways, used together:
 *
 * - **The marker.** Every agent gets `SIBYL_TASK_MARKER=<random, per run>` in its environment; a
 *   child inherits it, whatever group or session it moves to. Linux: read from
 *   `/proc/<pid>/environ` (only the runner's own user's processes are readable — the only ones it
 *   could signal anyway). macOS: `ps -A -E -ww` (untested here). It cannot see a process that was
 *   started with a cleared environment (`env -i`, an `execve` without it), or one that rewrote its
 *   environment block in place, or runs as another user (sudo).
 * - **The tree, tracked while running (Linux only).** `DescendantTracker` snapshots the parent links
 *   of /proc every second, so a process that cleared its environment but lived for a snapshot is
 *   still known by pid and start time after it is reparented to init.
 *
 * Windows has neither: there the agent's tree is ended with `taskkill /PID <pid> /T /F`
 * (`killWindowsTree`), which walks the parent links from the agent while it is still alive. A
 * process whose parent already exited is no longer in that tree and survives (a Job Object would
 * catch it; Node cannot assign one to a child it spawns). A cgroup would catch everything on Linux but
 * needs a delegated cgroup (systemd-run --user --scope), which the runner cannot count on.
 */

/** The environment variable carrying a task run's marker to every process it starts. */
export const TASK_MARKER_VAR = 'SIBYL_TASK_MARKER';

const MARKER_PREFIX = 'sibyl1';

/**
 * A new marker for one run of a task: `sibyl1.<32 hex>.<task id, URI-encoded>`. The random part
 * makes it unique to this run (a re-run of the same task, by this or another runner, differs);
 * the task id lets crash recovery find a run whose marker was not journaled. No spaces, so `ps`
 * output can be split on them.
 */
export function newTaskMarker(taskId: string): string {
  return `${MARKER_PREFIX}.${randomBytes(16).toString('hex')}.${encodeURIComponent(taskId)}`;
}

/** The task id inside a marker made by `newTaskMarker`; undefined for anything else. */
export function markerTaskId(marker: string): string | undefined {
  const m = /^sibyl1\.[0-9a-f]{32}\.(.*)$/.exec(marker);
  if (!m?.[1]) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
}

/** One process as seen in /proc/<pid>/stat. `startTime` is `processStartTime(pid)`'s value. */
export interface ProcessEntry {
  pid: number;
  ppid: number;
  pgid: number;
  startTime: string;
  /** a zombie (or dead) process: it runs nothing and cannot be signalled away, only reaped */
  zombie: boolean;
}

/**
 * Every process in /proc (Linux), or only those whose pid `within` accepts (their stat is not
 * read at all: reading it is the cost); undefined elsewhere or when /proc cannot be read.
 */
export function listProcesses(within?: (pid: number) => boolean): ProcessEntry[] | undefined {
  if (process.platform !== 'linux') return undefined;
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const out: ProcessEntry[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (within && !within(pid)) continue;
    const entry = readStat(pid);
    if (entry) out.push(entry);
  }
  return out;
}

/** How long the gap between two looks at the pid counter may be before a window is no longer trusted (ms). */
const PID_WINDOW_GAP_MS = 2000;

/**
 * Linux: the pids a process started at or after `first` (a task's agent) can have. Pids are
 * handed out in increasing order, wrapping at pid_max, so everything the task started lies in the
 * stretch from `first` to the last pid handed out (/proc/sys/kernel/ns_last_pid, this pid
 * namespace's). Ending a task looked at every process's stat; looking only inside the stretch
 * reads the few the task could have made. The stretch is measured by looking at the counter now
 * and then (observe(); the task's DescendantTracker does every second): it is trusted only while
 * it covers less than half of pid_max and no two looks were more than PID_WINDOW_GAP_MS apart,
 * since a whole lap of the counter between two looks would go unseen. Otherwise (and where the
 * counter cannot be read) `contains` is undefined and the caller reads every process, as before.
 */
export class PidWindow {
  readonly #first: number;
  readonly #max: number;
  #last: number;
  #lastAt: number;
  /** pids handed out since `first` (an upper bound: the reserved low pids skipped at a wrap count too) */
  #span = 0;
  #trusted = true;

  private constructor(first: number, max: number, last: number) {
    this.#first = first;
    this.#max = max;
    this.#last = last;
    this.#lastAt = performance.now();
    this.#grow(this.#ahead(first, last));
  }

  /** A window from `first` (just spawned), or undefined where the counter cannot be read. */
  static open(first: number): PidWindow | undefined {
    if (process.platform !== 'linux') return undefined;
    const max = readCounter('/proc/sys/kernel/pid_max');
    const last = readCounter('/proc/sys/kernel/ns_last_pid');
    if (max === undefined || last === undefined || first <= 0 || first >= max) return undefined;
    return new PidWindow(first, max, last);
  }

  /** Look at the counter now. */
  observe(): void {
    const last = readCounter('/proc/sys/kernel/ns_last_pid');
    const now = performance.now();
    if (last === undefined || now - this.#lastAt > PID_WINDOW_GAP_MS) this.#trusted = false;
    else this.#grow(this.#ahead(this.#last, last));
    this.#last = last ?? this.#last;
    this.#lastAt = now;
  }

  /** Whether `pid` may be a process started at or after `first`; undefined when the window is not trusted. */
  get contains(): ((pid: number) => boolean) | undefined {
    if (!this.#trusted) return undefined;
    const first = this.#first;
    const span = this.#span;
    return (pid) => this.#ahead(first, pid) <= span;
  }

  /** How many pids `to` lies past `from`, going round at pid_max. */
  #ahead(from: number, to: number): number {
    return (((to - from) % this.#max) + this.#max) % this.#max;
  }

  #grow(by: number): void {
    this.#span += by;
    if (this.#span >= this.#max / 2) this.#trusted = false;
  }
}

function readCounter(path: string): number | undefined {
  try {
    // 'utf8' takes Node's native read; other encodings read into a fresh 64 KiB buffer, since
    // /proc files report no size (issue 16: that was most of the garbage of 10 starting agents).
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** What a tracker does at each periodic look: before the listing (synchronously), then with it. */
interface ListingWatcher {
  before(): void;
  absorb(all: ProcessEntry[]): void;
}

interface ListingTicker {
  timer: NodeJS.Timeout;
  watchers: Set<ListingWatcher>;
  busy: boolean;
}

/**
 * One periodic /proc listing per interval, shared by every task's tracker: each looks once a
 * second, and ten agents reading every process's stat ten times a second cost the runner a core's
 * share (issue 16). One timer per interval; each listing is read once and given to all, fresh.
 */
const tickers = new Map<number, ListingTicker>();

/** Adds `watcher` to the listing every `intervalMs` (ms); returns what removes it (the last one stops the timer). */
export function watchListing(intervalMs: number, watcher: ListingWatcher): () => void {
  let ticker = tickers.get(intervalMs);
  if (!ticker) {
    const created: ListingTicker = { timer: setInterval(() => void tick(created), intervalMs), watchers: new Set(), busy: false };
    created.timer.unref();
    tickers.set(intervalMs, created);
    ticker = created;
  }
  const t = ticker;
  t.watchers.add(watcher);
  return () => {
    t.watchers.delete(watcher);
    if (t.watchers.size > 0) return;
    clearInterval(t.timer);
    if (tickers.get(intervalMs) === t) tickers.delete(intervalMs);
  };
}

async function tick(t: ListingTicker): Promise<void> {
  for (const w of t.watchers) w.before();
  if (t.busy) return; // the last listing is still being read: this look is skipped, not queued
  t.busy = true;
  try {
    const all = await listProcessesAsync();
    if (all) for (const w of [...t.watchers]) w.absorb(all);
  } catch {
    // readListing does not reject; a watcher's own failure must not stop the others' looks
  } finally {
    t.busy = false;
  }
}

/** `listProcesses` without blocking the event loop (a few ms per hundred processes otherwise). */
export function listProcessesAsync(): Promise<ProcessEntry[] | undefined> {
  return readListing();
}

async function readListing(): Promise<ProcessEntry[] | undefined> {
  if (process.platform !== 'linux') return undefined;
  let names: string[];
  try {
    names = (await readdir('/proc')).filter((n) => /^\d+$/.test(n));
  } catch {
    return undefined;
  }
  const out: ProcessEntry[] = [];
  // In batches: one read per process at once would queue thousands of requests on libuv's pool.
  for (let i = 0; i < names.length; i += 64) {
    const batch = await Promise.all(
      names.slice(i, i + 64).map(async (name) => {
        const stat = await readProcText(`/proc/${name}/stat`).catch(() => undefined);
        return stat === undefined ? undefined : toEntry(Number(name), stat);
      }),
    );
    for (const e of batch) if (e) out.push(e);
  }
  return out;
}

/** Bytes read from a /proc file in one go: a stat line is a few hundred; a small read comes from Node's shared pool. */
const PROC_READ_BYTES = 2048;

/**
 * A small /proc file's text, read asynchronously into a pooled buffer: readFile sizes its
 * buffer by the file, and /proc files report none, so it allocated 64 KiB for each (issue 16).
 */
async function readProcText(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(PROC_READ_BYTES);
    const { bytesRead } = await fh.read(buf, 0, PROC_READ_BYTES, 0);
    return bytesRead < PROC_READ_BYTES ? buf.toString('utf8', 0, bytesRead) : await readFile(path, 'utf8');
  } finally {
    await fh.close();
  }
}

function readStat(pid: number): ProcessEntry | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
  return toEntry(pid, stat);
}

function toEntry(pid: number, stat: string): ProcessEntry | undefined {
  const p = parseProcStat(stat);
  return p && { pid, ppid: p.ppid, pgid: p.pgid, startTime: p.startTime, zombie: p.state === 'Z' || p.state === 'X' };
}

/**
 * Pids of live processes whose environment holds `SIBYL_TASK_MARKER=<m>` with `matches(m)` true.
 * Never the runner itself. [] where the platform offers no way to read environments (Windows,
 * or `ps` failing); a process of another user is not seen.
 */
export function findMarkedProcesses(matches: (marker: string) => boolean): number[] {
  if (process.platform === 'linux') return linuxMarked(matches);
  if (process.platform === 'win32') return [];
  return psMarked(matches);
}

function linuxMarked(matches: (marker: string) => boolean): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  return names.filter((name) => /^\d+$/.test(name) && hasMarker(Number(name), matches)).map(Number);
}

/**
 * Linux: the processes among `entries` (one /proc listing) whose marker matches, reading the
 * environment only of those started at or after `notBefore` (a start time as `processStartTime`
 * gives it): an older process cannot have been started by the task, and reading every process's
 * environment was most of the cost of ending a task on a busy machine.
 */
export function markedAmong(
  entries: readonly ProcessEntry[],
  matches: (marker: string) => boolean,
  notBefore: string | undefined,
): number[] {
  const since = ticksOf(notBefore);
  return entries
    .filter((e) => e.pid !== process.pid && !e.zombie && (since === undefined || (ticksOf(e.startTime, notBefore) ?? since) >= since))
    .filter((e) => hasMarker(e.pid, matches))
    .map((e) => e.pid);
}

/** The clock ticks of a Linux start time (`<boot id>:<ticks>`); undefined when unknown or, given `sameBootAs`, from another boot. */
function ticksOf(startTime: string | undefined, sameBootAs?: string): number | undefined {
  if (startTime === undefined) return undefined;
  const colon = startTime.lastIndexOf(':');
  if (sameBootAs !== undefined && startTime.slice(0, colon) !== sameBootAs.slice(0, sameBootAs.lastIndexOf(':'))) return undefined;
  const ticks = Number(startTime.slice(colon + 1));
  return Number.isFinite(ticks) ? ticks : undefined;
}

function hasMarker(pid: number, matches: (marker: string) => boolean): boolean {
  if (pid === process.pid) return false;
  let environ: string;
  try {
    environ = readEnviron(pid);
  } catch {
    return false; // another user's process (EACCES), or gone
  }
  const key = `${TASK_MARKER_VAR}=`;
  return environ.split('\0').some((kv) => kv.startsWith(key) && matches(kv.slice(key.length)));
}

/** Reused by readEnviron (bytes); grown for a bigger environment, and let go again after it. */
const ENVIRON_BUFFER_BYTES = 16 * 1024;
let environBuffer = Buffer.allocUnsafeSlow(ENVIRON_BUFFER_BYTES);

/**
 * `/proc/<pid>/environ` as latin1 (its bytes as they are), read into one reused buffer:
 * readFileSync allocated 64 KiB for each process looked at. Raises what open/read raise.
 */
function readEnviron(pid: number): string {
  const fd = openSync(`/proc/${pid}/environ`, 'r');
  try {
    let length = 0;
    for (;;) {
      if (length === environBuffer.length) {
        const bigger = Buffer.allocUnsafeSlow(environBuffer.length * 2);
        environBuffer.copy(bigger, 0, 0, length);
        environBuffer = bigger;
      }
      const n = readSync(fd, environBuffer, length, environBuffer.length - length, null);
      if (n === 0) return environBuffer.toString('latin1', 0, length);
      length += n;
    }
  } finally {
    closeSync(fd);
    // One process with a huge environment (a CI job's, say) must not keep megabytes for the runner's life.
    if (environBuffer.length > 4 * ENVIRON_BUFFER_BYTES) environBuffer = Buffer.allocUnsafeSlow(ENVIRON_BUFFER_BYTES);
  }
}

/** macOS / BSD: `ps -E` appends each process's environment to its command (own processes only). */
function psMarked(matches: (marker: string) => boolean): number[] {
  let out: string;
  try {
    out = execFileSync('ps', ['-A', '-E', '-ww', '-o', 'pid=', '-o', 'command='], {
      encoding: 'utf8',
      timeout: 5000,
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return [];
  }
  const found: number[] = [];
  const re = new RegExp(`(?:^|\\s)${TASK_MARKER_VAR}=(\\S+)`, 'g');
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s(.*)$/.exec(line);
    if (!m?.[1] || !m[2] || Number(m[1]) === process.pid) continue;
    for (const hit of m[2].matchAll(re)) {
      if (hit[1] && matches(hit[1])) {
        found.push(Number(m[1]));
        break;
      }
    }
  }
  return found;
}

/**
 * Remembers every descendant of `rootPid` seen while it runs (Linux; elsewhere it knows nothing):
 * a snapshot of /proc's parent links every `intervalMs` (ms; read asynchronously), following links from the root and
 * from any process already known, so a child of a process that was reparented is still found.
 * Each is kept with its start time, so a pid reused after it exited is never reported.
 */
export class DescendantTracker {
  readonly #root: number;
  readonly #rootStart: string | undefined;
  readonly #known = new Map<number, string>();
  /** leaves the shared periodic listing */
  readonly #unwatch: (() => void) | undefined;
  /** the pids the root and everything it starts can have (see PidWindow) */
  readonly #window: PidWindow | undefined;

  constructor(rootPid: number, intervalMs = 1000) {
    this.#root = rootPid;
    // Once the root has exited its pid may be reused: its children are then someone else's.
    this.#rootStart = processStartTime(rootPid);
    if (process.platform !== 'linux') return;
    this.#window = PidWindow.open(rootPid);
    const window = this.#window;
    this.#unwatch = watchListing(intervalMs, { before: () => window?.observe(), absorb: (all) => this.#absorb(all) });
  }

  /**
   * The processes that can be the root's or started after it, read now (synchronously): only the
   * pids inside its PidWindow while that is trusted, else every process. Undefined when /proc
   * cannot be read.
   */
  listRecent(): ProcessEntry[] | undefined {
    this.#window?.observe();
    return listProcesses(this.#window?.contains);
  }

  /** The leader's start time (as processStartTime gives it), when it could be read. */
  get rootStart(): string | undefined {
    return this.#rootStart;
  }

  /** Look now, synchronously (the periodic look reads /proc without blocking); `all` is a listing just taken. */
  snapshot(all = listProcesses()): void {
    if (all) this.#absorb(all);
  }

  #absorb(all: ProcessEntry[]): void {
    const byParent = new Map<number, ProcessEntry[]>();
    for (const p of all) {
      const list = byParent.get(p.ppid);
      if (list) list.push(p);
      else byParent.set(p.ppid, [p]);
    }
    const alive = new Map(all.map((p) => [p.pid, p.startTime]));
    // Roots: the leader, and every known process still alive as the same process.
    const root = this.#rootStart !== undefined && alive.get(this.#root) === this.#rootStart ? [this.#root] : [];
    const queue = [...root, ...[...this.#known].filter(([pid, t]) => alive.get(pid) === t).map(([pid]) => pid)];
    const seen = new Set<number>(queue);
    while (queue.length > 0) {
      const pid = queue.pop()!;
      for (const child of byParent.get(pid) ?? []) {
        if (seen.has(child.pid) || child.pid === process.pid) continue;
        seen.add(child.pid);
        this.#known.set(child.pid, child.startTime);
        queue.push(child.pid);
      }
    }
  }

  /** Known descendants that are still the same live process. */
  alive(): number[] {
    const out: number[] = [];
    for (const [pid, t] of this.#known) {
      if (processStartTime(pid) === t) out.push(pid);
      else this.#known.delete(pid);
    }
    return out;
  }

  /** Stop the periodic snapshots (what is known stays). */
  stop(): void {
    this.#unwatch?.();
  }
}

/** Send `signal` to each pid; a pid already gone (ESRCH) or not ours (EPERM) is skipped. */
export function signalEach(pids: Iterable<number>, signal: NodeJS.Signals): void {
  for (const pid of pids) {
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      process.kill(pid, signal);
    } catch {
      // gone or not ours: nothing to do
    }
  }
}

/**
 * Kill every process `find` returns, including those it starts while we look: each round stops
 * (SIGSTOP) what it finds, so a stopped process cannot fork again, and looks again, until a round
 * finds nothing new (at most `maxRounds`); then all of them get SIGKILL, which also ends a stopped
 * process. Resolves to the pids killed; `find` may read /proc without blocking the event loop.
 */
export async function freezeAndKill(find: () => Iterable<number> | Promise<Iterable<number>>, maxRounds = 8): Promise<number[]> {
  const frozen = new Set<number>();
  for (let round = 0; round < maxRounds; round++) {
    const fresh = [...(await find())].filter((pid) => !frozen.has(pid) && pid !== process.pid && pid > 1);
    if (fresh.length === 0) break;
    signalEach(fresh, 'SIGSTOP');
    for (const pid of fresh) frozen.add(pid);
  }
  signalEach(frozen, 'SIGKILL');
  return [...frozen];
}

/** Runs a program and resolves to its exit code when it ends; rejects if it cannot start or outlives `timeout` (ms). */
export type ExecFileFn = (file: string, args: readonly string[], opts: { timeout: number; windowsHide: boolean }) => Promise<number>;

const execFileQuiet: ExecFileFn = (file, args, opts) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { ...opts, killSignal: 'SIGKILL' }, (err) => {
      if (!err) resolve(0);
      else if (typeof err.code === 'number') resolve(err.code);
      else reject(new Error(err.message));
    });
  });

/** taskkill's exit codes that mean the tree is gone: 0 (ended) and 128 (no such process: it ended meanwhile). */
const TREE_GONE = new Set([0, 128]);

/**
 * The command that ends a Windows process and every process below it: `taskkill /PID <pid> /T /F`.
 * /T walks the parent links from `pid` (so `pid` must still be alive: a pid is not reused while
 * Node holds the child's handle, i.e. until its 'exit' event); /F because console programs, which
 * agents are, ignore the polite WM_CLOSE. Raises RangeError for a pid that is not a real process.
 */
export function windowsTreeKillCommand(pid: number, systemRoot = process.env.SystemRoot): { file: string; args: string[] } {
  if (!Number.isInteger(pid) || pid <= 4) throw new RangeError(`refusing to kill process tree ${pid}`);
  // By full path: a `taskkill` earlier on PATH (the agent's folder, a user's bin) must not stand in for it.
  const file = systemRoot ? `${systemRoot}\\System32\\taskkill.exe` : 'taskkill.exe';
  return { file, args: ['/PID', String(pid), '/T', '/F'] };
}

/**
 * Ends `pid` and its whole tree on Windows (`windowsTreeKillCommand`), awaited: resolves once
 * taskkill has finished, at most `timeoutMs` (ms, default 5000) later; never rejects. True when the
 * tree is gone (exit 0, or 128: already gone); false when taskkill is missing, hung or failed (exit 1:
 * access denied or partly failed), so the caller falls back to killing the agent itself. `exec` is for tests.
 */
export async function killWindowsTree(pid: number, opts: { exec?: ExecFileFn; timeoutMs?: number } = {}): Promise<boolean> {
  const { file, args } = windowsTreeKillCommand(pid);
  const timeoutMs = opts.timeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      (opts.exec ?? execFileQuiet)(file, args, { timeout: timeoutMs, windowsHide: true }).then(
        (code) => TREE_GONE.has(code),
        () => false,
      ),
      bound,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
