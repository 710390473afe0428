import { EventEmitter } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Starting agents and gits from a small helper process instead of the runner. Node's spawn forks
 * the calling process: the whole runner, whose page tables are copied while its memory map is
 * locked, and then waits until the child has exec'd. On a small VM that is 5–40 ms per spawn, and
 * a worker thread does not help (1af7a9d, backed out in 16d0eb9): it shares the runner's memory
 * map, so the main thread stalls on its next page fault for as long as the fork lasts. The helper
 * is a bare Node process (a few MB of its own memory) that only spawns: the runner sends it a
 * request over an IPC channel and goes on; the helper forks itself, which is cheap and stalls
 * nobody, and relays the child's pid, output, spawn/error/exit/close events back in order.
 * Signals need no relay: a process group is signalled by pid from the runner.
 *
 * The agents are the helper's children. When the runner ends, the helper ends too (its channel
 * closes); agents, which lead their own process groups, are left as a killed runner leaves them
 * today, for crash recovery. If the helper dies, its children are reported ended and the runner
 * spawns on its own thread from then on. It starts with the first spawn and ends IDLE_MS after
 * its last child.
 */

/** What the caller needs of a child process: the part of ChildProcess the agent and git code use. */
export interface ChildLike {
  readonly pid?: number | undefined;
  readonly stdin: { end(data: string): unknown; on(event: 'error', listener: (err: Error) => void): unknown } | null;
  readonly stdout: OutputLike | null;
  readonly stderr: OutputLike | null;
  on(event: 'exit' | 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  on(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown;
  once(event: 'spawn', listener: () => void): unknown;
  once(event: 'exit' | 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  once(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown;
  kill(signal?: NodeJS.Signals): boolean;
}

export interface OutputLike {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  destroy(): unknown;
}

/** The spawn options the host passes on (all of them plain data). */
export interface HostSpawnOptions {
  cwd?: string;
  /** always given: the helper's own environment is not the caller's */
  env: Record<string, string>;
  /** stdin: 'ignore' or 'pipe'; stdout and stderr are always piped */
  stdin: 'ignore' | 'pipe';
  detached: boolean;
  windowsHide?: boolean;
  windowsVerbatimArguments?: boolean;
}

/** After its last child, the helper is kept this long for the next one (ms): starting one takes ~50 ms. */
const IDLE_MS = 30_000;
/**
 * Output the helper reads ahead of the runner, per child (bytes): beyond it the helper stops
 * reading the pipes (the agent then waits on them), so a flood of output is held in the pipe, not
 * in the runner's memory, and the caller's pause takes effect within this much.
 */
const IN_FLIGHT_BYTES = 1024 * 1024;
/**
 * The helper collects its garbage after relaying this much output (bytes). Each chunk is read into
 * one buffer and serialised into another; V8 collects such memory once ~64 MB of it piled up, so an
 * agent printing 50 MB grew the helper by ~45 MB. A minor collection per 4 MB took it to ~18 MB
 * (bench/runner.bench.ts) for well under a millisecond each.
 */
const COLLECT_EVERY_BYTES = 4 * 1024 * 1024;

/**
 * The helper's code, as source for `node -e`: it must run the same from out/cli.mjs and the
 * TypeScript sources, so it is not a module of its own that a bundler would have to emit.
 * Messages in: spawn, stdin, read (bytes the main thread has taken), pause, resume, destroy, kill.
 * Out: spawned | failed (spawn threw), then event (spawn, error, exit, close) and data, per child
 * id, in the order they happened.
 */
const HELPER_SOURCE = `
const { spawn } = require('node:child_process');
const parentPort = { postMessage: (m) => process.send(m) };
process.on('disconnect', () => process.exit(0));
const IN_FLIGHT = ${IN_FLIGHT_BYTES};
const COLLECT_EVERY = ${COLLECT_EVERY_BYTES};
let relayed = 0;
const children = new Map();
const plainError = (e) => ({ message: String(e && e.message), code: e && e.code, errno: e && e.errno, syscall: e && e.syscall, path: e && e.path });
const flow = (c) => {
  const pause = c.asked || c.inFlight > IN_FLIGHT;
  if (pause === c.paused) return;
  c.paused = pause;
  for (const s of [c.child.stdout, c.child.stderr]) pause ? s.pause() : s.resume();
};
process.on('message', (m) => {
  if (m.op === 'spawn') {
    let child;
    try {
      child = spawn(m.file, m.args, {
        cwd: m.options.cwd, env: m.options.env, detached: m.options.detached,
        stdio: [m.options.stdin, 'pipe', 'pipe'], windowsHide: m.options.windowsHide,
        windowsVerbatimArguments: m.options.windowsVerbatimArguments,
      });
    } catch (e) {
      parentPort.postMessage({ op: 'failed', id: m.id, error: plainError(e) });
      return;
    }
    const c = { child, inFlight: 0, asked: false, paused: false };
    children.set(m.id, c);
    parentPort.postMessage({ op: 'spawned', id: m.id, pid: child.pid });
    const send = (name, args) => parentPort.postMessage({ op: 'event', id: m.id, name, args });
    if (child.stdin) child.stdin.on('error', () => {});
    for (const stream of ['stdout', 'stderr']) {
      child[stream].on('data', (chunk) => {
        c.inFlight += chunk.length;
        parentPort.postMessage({ op: 'data', id: m.id, stream, bytes: chunk });
        flow(c);
        relayed += chunk.length;
        if (relayed >= COLLECT_EVERY) { relayed = 0; gc({ type: 'minor' }); }
      });
    }
    child.once('spawn', () => send('spawn', []));
    child.on('error', (e) => send('error', [plainError(e)]));
    child.on('exit', (code, signal) => send('exit', [code, signal]));
    child.on('close', (code, signal) => { children.delete(m.id); send('close', [code, signal]); });
    return;
  }
  const c = children.get(m.id);
  if (!c) return;
  if (m.op === 'stdin') c.child.stdin && c.child.stdin.end(m.data);
  else if (m.op === 'read') { c.inFlight -= m.bytes; flow(c); }
  else if (m.op === 'pause' || m.op === 'resume') { c.asked = m.op === 'pause'; flow(c); }
  else if (m.op === 'destroy') { c.child.stdout.destroy(); c.child.stderr.destroy(); }
  else if (m.op === 'kill') { try { c.child.kill(m.signal); } catch {} }
});
`;

type ErrorShape = { message: string; code?: string; errno?: number; syscall?: string; path?: string };
type FromHelper =
  | { op: 'spawned'; id: number; pid: number | undefined }
  | { op: 'failed'; id: number; error: ErrorShape }
  | { op: 'data'; id: number; stream: 'stdout' | 'stderr'; bytes: Uint8Array }
  | { op: 'event'; id: number; name: 'spawn' | 'error' | 'exit' | 'close'; args: unknown[] };

function toError(e: ErrorShape): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(e.message);
  if (e.code !== undefined) err.code = e.code;
  if (e.errno !== undefined) err.errno = e.errno;
  if (e.syscall !== undefined) err.syscall = e.syscall;
  if (e.path !== undefined) err.path = e.path;
  return err;
}

/**
 * A child started by the helper: events and output arrive from it, requests go to it. Like
 * a ChildProcess, a paused output emits nothing (what arrives meanwhile waits here, at most
 * IN_FLIGHT_BYTES), and 'close' comes only after every chunk was emitted.
 */
class RemoteChild extends EventEmitter implements ChildLike {
  readonly pid?: number | undefined;
  readonly stdin: ChildLike['stdin'];
  readonly stdout: RemoteOutput;
  readonly stderr: RemoteOutput;
  readonly #post: (m: Record<string, unknown>) => void;
  #close: unknown[] | undefined;
  /**
   * What arrived before the caller could listen: the helper's messages come several to a read and
   * are handled in one go, so a quick child's exit can come in the same go as its pid.
   */
  #held: (() => void)[] | undefined = [];

  constructor(pid: number | undefined, piped: boolean, post: (m: Record<string, unknown>) => void) {
    super();
    this.pid = pid;
    this.#post = post;
    let paused = false;
    const control = {
      read: (bytes: number) => post({ op: 'read', bytes }),
      pause: () => {
        if (!paused) post({ op: 'pause' });
        paused = true;
      },
      resume: () => {
        if (!this.stdout.paused && !this.stderr.paused) {
          if (paused) post({ op: 'resume' });
          paused = false;
        }
        this.#closeWhenDrained();
      },
      destroy: () => post({ op: 'destroy' }),
    };
    this.stdout = new RemoteOutput(control);
    this.stderr = new RemoteOutput(control);
    this.stdin = piped ? { end: (data: string) => post({ op: 'stdin', data }), on: () => this.stdin } : null;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    this.#post({ op: 'kill', signal });
    return true;
  }

  /** Handle `event` now, or once the caller had its turn to listen (see #held). */
  receive(event: () => void): void {
    if (this.#held) this.#held.push(event);
    else event();
  }

  /** The caller listens now: what was held is handled, in order. */
  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const event of held) event();
  }

  /** The helper's 'close': passed on once no output is waiting to be emitted. */
  closed(args: unknown[]): void {
    this.#close = args;
    this.#closeWhenDrained();
  }

  #closeWhenDrained(): void {
    if (this.#close === undefined || this.stdout.waiting || this.stderr.waiting) return;
    const args = this.#close;
    this.#close = undefined;
    this.emit('close', ...args);
  }
}

interface OutputControl {
  read(bytes: number): void;
  pause(): void;
  resume(): void;
  destroy(): void;
}

class RemoteOutput extends EventEmitter implements OutputLike {
  readonly #control: OutputControl;
  readonly #queue: Buffer[] = [];
  #paused = false;
  #destroyed = false;

  constructor(control: OutputControl) {
    super();
    this.#control = control;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** chunks received while paused, not yet emitted */
  get waiting(): boolean {
    return this.#queue.length > 0;
  }

  /** A chunk from the helper: emitted now, or when resumed. */
  push(chunk: Buffer): void {
    if (this.#destroyed) return this.#control.read(chunk.length);
    if (this.#paused) this.#queue.push(chunk);
    else this.#emit(chunk);
  }

  pause(): this {
    this.#paused = true;
    this.#control.pause();
    return this;
  }

  resume(): this {
    this.#paused = false;
    while (!this.#paused && this.#queue.length > 0) this.#emit(this.#queue.shift()!);
    this.#control.resume();
    return this;
  }

  destroy(): this {
    this.#destroyed = true;
    for (const c of this.#queue.splice(0)) this.#control.read(c.length);
    this.#control.destroy();
    return this;
  }

  #emit(chunk: Buffer): void {
    this.emit('data', chunk);
    this.#control.read(chunk.length);
  }
}

/** The helper process, started on demand. */
export class SpawnHost {
  #helper: ChildProcess | undefined;
  #next = 0;
  readonly #pending = new Map<number, { resolve: (c: RemoteChild) => void; reject: (e: unknown) => void; piped: boolean }>();
  readonly #children = new Map<number, RemoteChild>();
  #idleTimer: NodeJS.Timeout | undefined;
  /** the helper could not be started or died: spawn on the caller's thread from now on */
  #broken = false;

  /** False once the helper could not start or failed: the caller spawns itself. */
  get usable(): boolean {
    return !this.#broken;
  }

  /**
   * Start `file` with `args` from the helper. Resolves once it is forked (with its pid); rejects
   * with what spawn threw there (E2BIG, EINVAL…) as an Error with the same code. A failure to
   * exec (ENOENT) arrives as the child's 'error' event, as with spawn itself.
   */
  spawn(file: string, args: readonly string[], options: HostSpawnOptions): Promise<ChildLike> {
    const helper = this.#ensure();
    clearTimeout(this.#idleTimer);
    // While it has work, its answers keep the process alive (as a child's own pipes would).
    helper.channel?.ref();
    const id = ++this.#next;
    return new Promise<ChildLike>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, piped: options.stdin === 'pipe' });
      helper.send({ op: 'spawn', id, file, args, options });
    });
  }

  #ensure(): ChildProcess {
    if (this.#helper) return this.#helper;
    const helper = spawn(process.execPath, ['--max-semi-space-size=1', '--expose-gc', '-e', HELPER_SOURCE], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
      env: {},
      windowsHide: true,
    });
    // Neither the helper nor, while it has nothing to do, its channel keeps the runner alive.
    helper.unref();
    helper.on('message', (m: FromHelper) => this.#receive(m));
    helper.on('error', (err) => this.#lost(helper, err));
    helper.on('exit', (code, signal) => this.#lost(helper, new Error(`the spawn helper ended (${signal ?? code})`)));
    this.#helper = helper;
    return helper;
  }

  #receive(m: FromHelper): void {
    if (m.op === 'spawned' || m.op === 'failed') {
      const waiting = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (!waiting) return;
      if (m.op === 'failed') {
        waiting.reject(toError(m.error));
        this.#maybeIdle();
        return;
      }
      const helper = this.#helper;
      const post = (msg: Record<string, unknown>): void => {
        if (helper?.connected) helper.send({ ...msg, id: m.id });
      };
      const child = new RemoteChild(m.pid, waiting.piped, post);
      this.#children.set(m.id, child);
      waiting.resolve(child);
      // The caller attaches its listeners when the promise resolves, a microtask from now.
      setImmediate(() => child.release());
      return;
    }
    const child = this.#children.get(m.id);
    if (!child) return;
    if (m.op === 'data') {
      const b = m.bytes;
      const chunk = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      child.receive(() => (m.stream === 'stdout' ? child.stdout : child.stderr).push(chunk));
      return;
    }
    if (m.name === 'close') {
      this.#children.delete(m.id);
      this.#maybeIdle();
    }
    child.receive(() => {
      if (m.name === 'error') child.emit('error', toError(m.args[0] as ErrorShape));
      else if (m.name === 'close') child.closed(m.args);
      else child.emit(m.name, ...m.args);
    });
  }

  #maybeIdle(): void {
    if (this.#children.size > 0 || this.#pending.size > 0) return;
    this.#helper?.channel?.unref();
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      if (this.#children.size > 0 || this.#pending.size > 0) return;
      const helper = this.#helper;
      this.#helper = undefined;
      // It exits when its channel closes.
      if (helper?.connected) helper.disconnect();
    }, IDLE_MS);
    this.#idleTimer.unref();
  }

  /** The helper died under its children (it never should): they are reported ended, and it is not used again. */
  #lost(helper: ChildProcess, err: Error): void {
    if (this.#helper !== helper) return; // an idle helper we ended ourselves
    this.#helper = undefined;
    this.#broken = true;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    for (const child of this.#children.values()) {
      child.receive(() => {
        child.emit('exit', null, 'SIGKILL');
        child.closed([null, 'SIGKILL']);
      });
    }
    this.#children.clear();
  }
}

let shared: SpawnHost | undefined;
let enabled = false;

/**
 * From now on this process spawns agents and gits through the helper (the daemon does, when its
 * task manager is made); a one-shot command does not, since starting a helper for one git costs
 * more than the fork it saves.
 */
export function useSpawnHost(): void {
  enabled = true;
}

/**
 * The process's spawn helper, or undefined where spawning stays on the caller's thread: before
 * useSpawnHost(), on Windows (CreateProcess does not copy the runner, so there is nothing to move
 * off the loop), inside Electron (the desktop app's core: its executable is not a plain Node),
 * with SIBYL_SPAWN_HOST=0 (to compare, or if a platform misbehaves), and once the helper failed.
 */
export function spawnHost(): SpawnHost | undefined {
  if (!enabled || process.platform === 'win32' || process.versions.electron || process.env.SIBYL_SPAWN_HOST === '0') return undefined;
  shared ??= new SpawnHost();
  return shared.usable ? shared : undefined;
}
