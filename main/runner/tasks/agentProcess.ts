import { spawn, type ChildProcess } from 'node:child_process';
import { LineSplitter, LineTail, PartialLineReporter } from './lineSplitter.ts';
import { killProcessGroup } from './processIdentity.ts';

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
 */
export class AgentProcess {
  readonly pid: number | undefined;
  readonly started: Promise<void>;
  readonly exited: Promise<AgentExit>;
  readonly #child: ChildProcess;
  readonly #opts: AgentProcessOptions;
  #stoppedBy: StopReason | undefined;
  #killTimer: NodeJS.Timeout | undefined;
  #timeoutTimer: NodeJS.Timeout | undefined;
  #done = false;

  constructor(opts: AgentProcessOptions) {
    this.#opts = opts;
    const t0 = performance.now();
    const [file, ...args] = opts.argv;
    if (!file) throw new Error('empty command');
    // detached: the child leads a new process group (POSIX), so we can signal -pgid.
    this.#child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    this.pid = this.#child.pid;
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
    const read = (stream: StreamName) => (c: Buffer) => {
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
      this.#child.once('exit', () => {
        // The leader is gone; anything left in its group is an orphan holding our pipes. End it.
        this.#signalGroup('SIGTERM');
        this.#killTimer ??= setTimeout(() => this.#signalGroup('SIGKILL'), 2000);
        this.#killTimer.unref();
      });
      this.#child.once('close', (code, signal) => finish(code, signal));
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.#done) return;
        this.#done = true;
        clearTimeout(this.#timeoutTimer);
        clearTimeout(this.#killTimer);
        // Whatever is left of the group (a backgrounded grandchild) must not outlive the task.
        if (spawnError === undefined) this.#signalGroup('SIGKILL');
        partials.stdout?.close();
        partials.stderr?.close();
        splitters.stdout.end();
        splitters.stderr.end();
        resolveExit({
          exitCode: code ?? (signal ? -(SIGNAL_NUMBERS[signal] ?? 1) : null),
          signal,
          stoppedBy: this.#stoppedBy,
          spawnError,
          stdout: tails.stdout.toString(),
          stderr: tails.stderr.toString(),
          durationS: (performance.now() - t0) / 1000,
        });
      };
    });

    if (opts.timeoutMs > 0 && Number.isFinite(opts.timeoutMs)) {
      this.#timeoutTimer = setTimeout(() => this.stop('timeout'), Math.min(opts.timeoutMs, 2 ** 31 - 1));
      this.#timeoutTimer.unref();
    }
  }

  /** Backpressure: stop reading the agent's output (it blocks on a full pipe) until resumed. */
  pauseOutput(): void {
    this.#child.stdout?.pause();
    this.#child.stderr?.pause();
  }

  resumeOutput(): void {
    this.#child.stdout?.resume();
    this.#child.stderr?.resume();
  }

  /** The interrupt signal (SIGTERM unless set) to the whole group, SIGKILL after the grace period. The first reason wins. */
  stop(reason: StopReason): void {
    if (this.#done || this.#stoppedBy) return;
    this.#stoppedBy = reason;
    const grace = reason === 'timeout' ? (this.#opts.timeoutGraceMs ?? 10_000) : (this.#opts.cancelGraceMs ?? 5_000);
    this.#signalGroup(this.#opts.interruptSignal ?? 'SIGTERM');
    clearTimeout(this.#killTimer);
    this.#killTimer = setTimeout(() => this.#signalGroup('SIGKILL'), grace);
    this.#killTimer.unref();
  }

  #signalGroup(signal: NodeJS.Signals): void {
    if (this.pid === undefined) return;
    if (process.platform === 'win32') this.#child.kill(signal);
    else killProcessGroup(this.pid, signal);
  }
}
