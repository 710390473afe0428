import { outputTaken } from './outputCollection.ts';
import { LineSplitter, LineTail, PartialLineReporter } from './lineSplitter.ts';
import { killProcessGroup } from './processIdentity.ts';
import {
  DescendantTracker,
  findMarkedProcesses,
  freezeAndKill,
  killWindowsTree,
  markedAmong,
  newTaskMarker,
  signalEach,
  TASK_MARKER_VAR,
} from './processTree.ts';
import { spawnPlan } from './windowsCommand.ts';
import { spawnHere, spawnHost, type ChildLike, type HostSpawnOptions, type SpawnHost } from './spawnHost.ts';

export type StreamName = 'stdout' | 'stderr';
export type StopReason = 'timeout' | 'task_cancel' | 'runner_draining' | 'runner_shutdown';

export interface AgentProcessOptions {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** SIGTERM → SIGKILL grace: 10 s for timeouts, 5 s for cancels in the original (§5.12). */
  timeoutGraceMs?: number;
  cancelGraceMs?: number;
  onLine?: (stream: StreamName, line: string) => void;
  /**
   * A stream's unterminated line changed (progress printed with `\r` and no newline): `text` is
   * what a terminal would show, i.e. what follows the last `\r`, trimmed, at most 2048 characters.
   * Called at most once per `partialIntervalMs` per stream, never with '' and never twice with the
   * same text in a row; once the line ends it arrives through `onLine` instead.
   */
  onPartial?: (stream: StreamName, text: string) => void;
  /** minimum time between two `onPartial` calls for one stream (ms); default 250 */
  partialIntervalMs?: number;
  tailLines?: number;
  /** written to the agent's stdin, which is then closed (the prompt; never argv, which has a size limit) */
  stdin?: string | undefined;
  /** the first signal to the group on stop (SIGINT for agents that clean up on Ctrl-C); default SIGTERM */
  interruptSignal?: NodeJS.Signals;
  /**
   * After the agent (the leader) exits, how long its pipes are still read (ms; default 500). A
   * process that left the group may hold them open for ever; once a window passes with nothing
   * read (at most 10 windows) the task ends with the leader's exit code and that process is killed.
   */
  drainMs?: number;
  /** the OS whose way of ending a process tree is used (tests); default process.platform */
  platform?: NodeJS.Platform;
  /** Windows: ends the agent's whole tree, resolving to false if it could not (tests); default `killWindowsTree` */
  killTree?: (pid: number) => Promise<boolean>;
}

export interface AgentExit {
  /** exit code, or the negative signal number when killed by a signal (as the original) */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stoppedBy: StopReason | undefined;
  /** set when the process could not be started (e.g. ENOENT) */
  spawnError: string | undefined;
  stdout: string;
  stderr: string;
  durationS: number;
}

/** What to spawn for `opts`: the program (through cmd.exe for a Windows .cmd), options, and the run's marker. */
function launchOf(
  opts: AgentProcessOptions,
  platform: NodeJS.Platform,
): { file: string; args: string[]; options: HostSpawnOptions; marker: string } {
  if (!opts.argv[0]) throw new Error('empty command');
  // agentEnv's marker (it names the task); never one the runner carries itself (a runner started
  // by another runner's agent), which would make us kill our own parent's processes.
  const given = opts.env[TASK_MARKER_VAR];
  const marker = given && given !== process.env[TASK_MARKER_VAR] ? given : newTaskMarker('');
  // Windows: a .cmd agent (npm's shims) runs through cmd.exe, quoted for it (windowsCommand.ts).
  const plan = spawnPlan(opts.argv, platform);
  return {
    file: plan.file,
    args: plan.args,
    marker,
    options: {
      cwd: opts.cwd,
      env: { ...opts.env, [TASK_MARKER_VAR]: marker },
      stdin: opts.stdin === undefined ? 'ignore' : 'pipe',
      // detached: the child leads a new process group (POSIX), so we can signal -pgid.
      detached: platform !== 'win32',
      windowsHide: true,
      // cmd.exe parses its own command line: it was quoted for it already.
      windowsVerbatimArguments: plan.windowsVerbatimArguments,
    },
  };
}

/** However much an escaped process keeps writing, the drain after the agent's exit ends after this many windows. */
const DRAIN_CAP_FACTOR = 10;

const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
  SIGSEGV: 11,
  SIGABRT: 6,
  SIGPIPE: 13,
};

/**
 * One agent in its own process group, so a timeout or cancel reaches every grandchild.
 * Output is read line by line into a bounded tail; the full stream goes to `onLine` (the task log).
 *
 * Processes that left the group (`setsid`, daemons) are found by the run's marker variable
 * (`SIBYL_TASK_MARKER`, taken from `env` or made here) and, on Linux, by the descendants seen
 * while running (see processTree.ts): they get the same signals as the group on stop, and SIGKILL
 * when the task ends, however it ends. Not a process that cleared its environment before the
 * first snapshot saw it, nor one running as another user.
 *
 * Windows has no process groups and no signals a console program can catch: cancel, timeout and
 * quit end the agent's whole tree at once with `taskkill /T /F` (processTree.ts), while the agent
 * is still alive, since /T finds the tree through the agent. What it left behind after exiting on
 * its own is not found (its pid could belong to another process by then).
 */
export class AgentProcess {
  readonly pid: number | undefined;
  readonly started: Promise<void>;
  readonly exited: Promise<AgentExit>;
  readonly #child: ChildLike;
  readonly #opts: AgentProcessOptions;
  #stoppedBy: StopReason | undefined;
  #killTimer: NodeJS.Timeout | undefined;
  #timeoutTimer: NodeJS.Timeout | undefined;
  #drainTimer: NodeJS.Timeout | undefined;
  #paused = false;
  #leaderExited = false;
  #done = false;
  readonly #tracker: DescendantTracker | undefined;
  /** this run's marker: in the agent's environment, inherited by everything it starts */
  readonly marker: string;
  readonly #platform: NodeJS.Platform;
  /** Windows: the one taskkill of this run's tree, once started */
  #treeKill: Promise<void> | undefined;

  /**
   * Start the agent through the spawn host (spawnHost.ts: the fork happens off the event loop)
   * where there is one, else as the constructor does. Raises what spawn raises (E2BIG for a
   * launch too large, an empty command).
   */
  static async start(opts: AgentProcessOptions, host: SpawnHost | undefined = spawnHost()): Promise<AgentProcess> {
    if (!host || opts.platform !== undefined) return new AgentProcess(opts);
    const launch = launchOf(opts, process.platform);
    const child = await host.spawn(launch.file, launch.args, launch.options);
    return child ? new AgentProcess(opts, { child, marker: launch.marker }) : new AgentProcess(opts);
  }

  /** Spawns the agent on this thread, unless `started` is a child the spawn host started for it. */
  constructor(opts: AgentProcessOptions, started?: { child: ChildLike; marker: string }) {
    this.#opts = opts;
    this.#platform = opts.platform ?? process.platform;
    const t0 = performance.now();
    const file = opts.argv[0];
    if (!file) throw new Error('empty command');
    if (started) {
      this.marker = started.marker;
      this.#child = started.child;
    } else {
      const launch = launchOf(opts, this.#platform);
      this.marker = launch.marker;
      this.#child = spawnHere(launch.file, launch.args, launch.options);
    }
    this.pid = this.#child.pid;
    if (this.pid !== undefined && this.#platform === 'linux') this.#tracker = new DescendantTracker(this.pid);
    if (opts.stdin !== undefined && this.#child.stdin) {
      // An agent that exits without reading its stdin must not crash us with EPIPE.
      this.#child.stdin.on('error', () => undefined);
      this.#child.stdin.end(opts.stdin);
    }
    const tails = { stdout: new LineTail(opts.tailLines ?? 200), stderr: new LineTail(opts.tailLines ?? 200) };
    const partials: Partial<Record<StreamName, PartialLineReporter>> = {};
    const splitter = (stream: StreamName): LineSplitter =>
      new LineSplitter((l) => {
        tails[stream].push(l);
        partials[stream]?.lineEnded();
        opts.onLine?.(stream, l);
      });
    const splitters = { stdout: splitter('stdout'), stderr: splitter('stderr') };
    const onPartial = opts.onPartial;
    if (onPartial) {
      for (const stream of ['stdout', 'stderr'] as const) {
        partials[stream] = new PartialLineReporter(splitters[stream], (t) => onPartial(stream, t), opts.partialIntervalMs);
      }
    }
    let lastReadAt = 0;
    const read = (stream: StreamName) => (c: Buffer) => {
      lastReadAt = performance.now();
      outputTaken(c.length);
      splitters[stream].push(c);
      partials[stream]?.changed();
    };
    this.#child.stdout?.on('data', read('stdout'));
    this.#child.stderr?.on('data', read('stderr'));

    this.started = new Promise((res, rej) => {
      this.#child.once('spawn', () => res());
      this.#child.once('error', (e) => rej(e));
    });
    this.started.catch(() => {});

    this.exited = new Promise<AgentExit>((resolveExit) => {
      let spawnError: string | undefined;
      this.#child.once('error', (err: NodeJS.ErrnoException) => {
        if (this.pid === undefined || err.code === 'ENOENT' || err.code === 'EACCES') {
          spawnError = err.code === 'ENOENT' ? `command not found: ${file}` : `cannot start ${file}: ${err.message}`;
          finish(null, null);
        }
      });
      this.#child.once('exit', (code, signal) => {
        // The agent ended on its own (or was stopped before): a timeout or stop from now on would
        // misreport it; what is left is ended below either way.
        this.#leaderExited = true;
        clearTimeout(this.#timeoutTimer);
        // The leader is gone; anything left of the task is an orphan, maybe holding our pipes. End it.
        // Processes that left the group are not looked for here (a /proc scan per task end is the
        // costly part): they get SIGKILL with the rest when the task ends, after the drain.
        this.#signalGroup('SIGTERM');
        // 'close' waits for every holder of the pipes; one that left the group may never let go.
        const window = opts.drainMs ?? 500;
        const drainUntil = performance.now() + DRAIN_CAP_FACTOR * window;
        const drain = (): void => {
          const armedAt = performance.now();
          this.#drainTimer = setTimeout(() => {
            // Paused for the caller's backpressure: the output is still wanted, wait for it.
            if (this.#paused) return drain();
            // Timers run before the loop reads ready pipes: a starved runner (a loaded machine)
            // would cut output the agent wrote before it exited. setImmediate runs after that read;
            // output that came meanwhile earns another window, up to the cap (a chatty escapee).
            setImmediate(() => {
              if (this.#done) return;
              if (lastReadAt >= armedAt && performance.now() < drainUntil) return drain();
              this.#child.stdout?.destroy();
              this.#child.stderr?.destroy();
              finish(code, signal);
            });
          }, window);
        };
        drain();
      });
      this.#child.once('close', (code, signal) => finish(code, signal));
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.#done) return;
        this.#done = true;
        clearTimeout(this.#timeoutTimer);
        clearTimeout(this.#killTimer);
        clearTimeout(this.#drainTimer);
        this.#tracker?.stop();
        partials.stdout?.close();
        partials.stderr?.close();
        splitters.stdout.end();
        splitters.stderr.end();
        const exit: AgentExit = {
          exitCode: code ?? (signal ? -(SIGNAL_NUMBERS[signal] ?? 1) : null),
          signal,
          stoppedBy: this.#stoppedBy,
          spawnError,
          stdout: tails.stdout.toString(),
          stderr: tails.stderr.toString(),
          durationS: (performance.now() - t0) / 1000,
        };
        // Whatever is left of the task (a backgrounded grandchild, an escaped one) must not outlive
        // it: the exit is reported once they are killed.
        if (spawnError !== undefined) resolveExit(exit);
        else void this.#killAll().finally(() => resolveExit(exit));
      };
    });

    if (opts.timeoutMs > 0 && Number.isFinite(opts.timeoutMs)) {
      this.#timeoutTimer = setTimeout(() => this.stop('timeout'), Math.min(opts.timeoutMs, 2 ** 31 - 1));
      this.#timeoutTimer.unref();
    }
  }

  /** Backpressure: stop reading the agent's output (it blocks on a full pipe) until resumed. */
  pauseOutput(): void {
    this.#paused = true;
    this.#child.stdout?.pause();
    this.#child.stderr?.pause();
  }

  resumeOutput(): void {
    this.#paused = false;
    this.#child.stdout?.resume();
    this.#child.stderr?.resume();
  }

  /**
   * The interrupt signal (SIGTERM unless set) to the whole group and to the run's processes outside
   * it, SIGKILL after the grace period. The first reason wins; none once the agent has exited (its
   * result stands, and what it left behind is killed within `drainMs`).
   */
  stop(reason: StopReason): void {
    if (this.#done || this.#stoppedBy || this.#leaderExited) return;
    this.#stoppedBy = reason;
    const grace = reason === 'timeout' ? (this.#opts.timeoutGraceMs ?? 10_000) : (this.#opts.cancelGraceMs ?? 5_000);
    this.#signalGroup(this.#opts.interruptSignal ?? 'SIGTERM');
    this.#signalEscaped(this.#opts.interruptSignal ?? 'SIGTERM');
    clearTimeout(this.#killTimer);
    this.#killTimer = setTimeout(() => void this.#killAll(), grace);
    this.#killTimer.unref();
  }

  /**
   * End it now: SIGKILL to the group and to the run's processes outside it, without waiting out
   * the grace period (a drain whose time is up). Reported as stopped by `reason` unless it already
   * exited or was stopped.
   */
  kill(reason: StopReason): void {
    if (this.#done) return;
    if (!this.#stoppedBy && !this.#leaderExited) this.#stoppedBy = reason;
    clearTimeout(this.#killTimer);
    void this.#killAll();
  }

  /**
   * SIGKILL to the group and to every process of this run found outside it (see processTree.ts).
   * Resolves once all were signalled. Each look reads /proc synchronously (~3 ms per 100
   * processes; reading them asynchronously halved task throughput).
   */
  async #killAll(): Promise<void> {
    if (this.#platform === 'win32') return this.#endWindowsTree();
    this.#signalGroup('SIGKILL');
    try {
      await freezeAndKill(() => this.#escaped());
    } catch {
      // /proc unreadable: the group was killed; nothing more can be found
    }
  }

  #signalEscaped(signal: NodeJS.Signals): void {
    if (this.#platform === 'win32') return;
    try {
      signalEach(this.#escaped(), signal);
    } catch {
      // as above
    }
  }

  /** Processes of this run, wherever they are: by marker, and (Linux) by the descendants seen. */
  #escaped(): number[] {
    const matches = (m: string): boolean => m === this.marker;
    // Linux: one /proc listing serves the tree and the marker (read only from processes not older than the agent).
    const all = this.#tracker?.listRecent();
    this.#tracker?.snapshot(all);
    const marked = all ? markedAmong(all, matches, this.#tracker?.rootStart) : findMarkedProcesses(matches);
    return [...new Set([...marked, ...(this.#tracker?.alive() ?? [])])];
  }

  #signalGroup(signal: NodeJS.Signals): void {
    if (this.pid === undefined) return;
    // Windows: no signal reaches a console agent's tree; a grace period would only delay the end.
    if (this.#platform === 'win32') void this.#endWindowsTree();
    else killProcessGroup(this.pid, signal);
  }

  /**
   * Windows: the agent's whole tree, once (later calls wait for the same taskkill). Never after the
   * agent exited: its children are then out of reach of /T, and its pid may be another process's.
   * If taskkill fails (missing, hung past its bound) the agent itself is still ended.
   */
  #endWindowsTree(): Promise<void> {
    const pid = this.pid;
    if (this.#treeKill || pid === undefined || this.#leaderExited) return this.#treeKill ?? Promise.resolve();
    const killTree = this.#opts.killTree ?? ((p: number) => killWindowsTree(p));
    this.#treeKill = killTree(pid).then(
      (ok) => {
        if (!ok && !this.#leaderExited) this.#child.kill('SIGKILL');
      },
      () => {
        if (!this.#leaderExited) this.#child.kill('SIGKILL');
      },
    );
    return this.#treeKill;
  }
}
