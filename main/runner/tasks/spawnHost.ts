import { EventEmitter } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';

/**
 * Starting agents and gits from a small helper process instead of the runner. Node's spawn forks
 * the calling process: the whole runner, whose page tables are copied while its memory map is
 * locked, and then waits until the child has exec'd. On a small VM that is 5–40 ms per spawn, and
 * a worker thread does not help (1af7a9d, backed out in 16d0eb9): it shares the runner's memory
 * map, so the main thread stalls on its next page fault for as long as the fork lasts. The helper
 * is a bare Node process (a few MB of its own memory) that only spawns: the runner sends it a
 * request over an IPC channel and goes on; the helper forks itself, which is cheap and stalls
 * nobody, and relays the child's pid, output and spawn/error/exit events back in order. A stream
 * that goes on printing is not relayed for long: past HANDOVER_BYTES the helper hands the pipe
 * itself to the runner over the channel (a descriptor passed with its message), and the output
 * goes from the agent to the runner as from the runner's own child. Relaying all of it grew the
 * helper by ~20 MB while an agent printed 50 MB; handing every pipe over at once cost the runner
 * ~0.5 ms of CPU per task (two descriptors received and acknowledged, two sockets opened and
 * closed), which most tasks, printing little, do not need. Signals need no relay: a process group
 * is signalled by pid from the runner.
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
/** Output of one stream relayed before its pipe is handed to the runner instead (bytes). */
const HANDOVER_BYTES = 256 * 1024;
/**
 * The helper collects its garbage after relaying this much output (bytes). Each chunk is read into
 * one buffer and serialised into another; V8 collects such memory once ~64 MB of it piled up.
 */
const COLLECT_EVERY_BYTES = 4 * 1024 * 1024;

/**
 * The helper does a full collection after this many spawns. Each spawn leaves a few KB of garbage
 * in its old generation, which V8 lets pile up to ~20 MB before collecting it on its own: under a
 * steady stream of tasks the helper's memory went 7 → 27 MB; with this, it stays at ~14 MB. A
 * collection of its small heap takes ~2 ms of the helper's time, not the runner's.
 */
const COLLECT_EVERY_SPAWNS = 100;

/**
 * The helper's Node flags: a small young generation (1 MB); `--expose-gc` for the collections
 * above. (`--minor-ms`, young-generation mark-sweep: −0.4 MB with 10 agents, but +4 MB after 500
 * spawns. `--jitless`: −0.2 MB, but on Node 24 it prints a warning nothing turns off.) A Node that
 * does not know a flag exits with code 9 before running anything: the waiting spawns are then done
 * by their callers (see #lost).
 */
export const HELPER_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--expose-gc'];

/** Node's exit code for an option it does not know (Node's docs, "Exit codes": 9 Invalid Argument). */
const INVALID_ARGUMENT = 9;

/** `file` spawned from this thread, as the helper would have: stdout and stderr piped. */
export function spawnHere(file: string, args: readonly string[], options: HostSpawnOptions): ChildProcess {
  return spawn(file, args, { ...options, stdio: [options.stdin, 'pipe', 'pipe'] });
}

/**
 * The helper's code, as source for `node -e`: it must run the same from out/cli.mjs and the
 * TypeScript sources, so it is not a module of its own that a bundler would have to emit.
 * Messages in: spawn, stdin, read (bytes the runner has taken), pause, resume, destroy, kill.
 * Out, per child id, in the order they happened: spawned | failed (spawn threw); then data and
 * eof (a relayed stream ended) per stream, or `out` with the stream's pipe passed along; and
 * event (spawn, error, exit).
 *
 * A pipe handed over must not be read here meanwhile: Node sends a descriptor only once the
 * runner acknowledged the previous one, and what the helper read until then would be lost. So
 * its reading is stopped (after what it had buffered is relayed) and it is marked unreadable, so
 * that Node's "flush the pipes of an exited child" does not start it again.
 */
const HELPER_SOURCE = `
const { spawn } = require('node:child_process');
process.on('disconnect', () => process.exit(0));
const IN_FLIGHT = ${IN_FLIGHT_BYTES};
const HANDOVER = ${HANDOVER_BYTES};
const COLLECT_EVERY = ${COLLECT_EVERY_BYTES};
const COLLECT_EVERY_SPAWNS = ${COLLECT_EVERY_SPAWNS};
let spawns = 0;
let relayed = 0;
const children = new Map();
const plainError = (e) => ({ message: String(e && e.message), code: e && e.code, errno: e && e.errno, syscall: e && e.syscall, path: e && e.path });
const flow = (c) => {
  const pause = c.asked || c.inFlight > IN_FLIGHT;
  if (pause === c.paused) return;
  c.paused = pause;
  for (const name of ['stdout', 'stderr']) if (!c.handed[name]) pause ? c.child[name].pause() : c.child[name].resume();
};
const relay = (c, id, name, chunk) => {
  c.inFlight += chunk.length;
  c.sent[name] += chunk.length;
  process.send({ op: 'data', id, stream: name, bytes: chunk });
  relayed += chunk.length;
  if (relayed >= COLLECT_EVERY && typeof gc === 'function') { relayed = 0; gc({ type: 'minor' }); }
};
const handOver = (c, id, name) => {
  const s = c.child[name];
  if (c.handed[name] || s.destroyed || s.readableEnded) return;
  c.handed[name] = true;
  s.removeAllListeners('data');
  s.pause();
  for (let chunk; (chunk = s.read()) !== null; ) relay(c, id, name, chunk);
  s._handle.readStop();
  s.readable = false;
  process.send({ op: 'out', id, stream: name }, s);
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
      process.send({ op: 'failed', id: m.id, error: plainError(e) });
      return;
    }
    const c = { child, inFlight: 0, asked: false, paused: false, sent: { stdout: 0, stderr: 0 }, handed: {}, handing: {}, closed: {}, exited: false };
    children.set(m.id, c);
    process.send({ op: 'spawned', id: m.id, pid: child.pid });
    if (++spawns % COLLECT_EVERY_SPAWNS === 0 && typeof gc === 'function') setImmediate(() => gc());
    const send = (name, args) => process.send({ op: 'event', id: m.id, name, args });
    if (child.stdin) child.stdin.on('error', () => {});
    for (const name of ['stdout', 'stderr']) {
      const s = child[name];
      s.on('data', (chunk) => {
        relay(c, m.id, name, chunk);
        flow(c);
        if (c.sent[name] >= HANDOVER && !c.handing[name]) { c.handing[name] = true; setImmediate(() => handOver(c, m.id, name)); }
      });
      s.on('close', () => { c.closed[name] = true; forget(); if (!c.handed[name]) process.send({ op: 'eof', id: m.id, stream: name }); });
    }
    // A handed-over pipe never closes here, so neither does the child: it is forgotten once it
    // exited and what is still relayed has ended (until then, the runner's reads pace it).
    const forget = () => { if (c.exited && ['stdout', 'stderr'].every((n) => c.handed[n] || c.closed[n])) children.delete(m.id); };
    child.once('spawn', () => send('spawn', []));
    child.on('error', (e) => send('error', [plainError(e)]));
    child.on('exit', (code, signal) => { c.exited = true; forget(); send('exit', [code, signal]); });
    child.on('close', () => children.delete(m.id));
    return;
  }
  const c = children.get(m.id);
  if (!c) return;
  if (m.op === 'stdin') c.child.stdin && c.child.stdin.end(m.data);
  else if (m.op === 'read') { c.inFlight -= m.bytes; flow(c); }
  else if (m.op === 'pause' || m.op === 'resume') { c.asked = m.op === 'pause'; flow(c); }
  else if (m.op === 'destroy') { for (const name of ['stdout', 'stderr']) if (!c.handed[name]) c.child[name].destroy(); children.delete(m.id); }
  else if (m.op === 'kill') { try { c.child.kill(m.signal); } catch {} }
});
`;

type ErrorShape = { message: string; code?: string; errno?: number; syscall?: string; path?: string };
type StreamName = 'stdout' | 'stderr';
type FromHelper =
  | { op: 'spawned'; id: number; pid: number | undefined }
  | { op: 'failed'; id: number; error: ErrorShape }
  | { op: 'data'; id: number; stream: StreamName; bytes: Uint8Array }
  | { op: 'eof'; id: number; stream: StreamName }
  | { op: 'out'; id: number; stream: StreamName }
  | { op: 'event'; id: number; name: 'spawn' | 'error' | 'exit'; args: unknown[] };

function toError(e: ErrorShape): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(e.message);
  if (e.code !== undefined) err.code = e.code;
  if (e.errno !== undefined) err.errno = e.errno;
  if (e.syscall !== undefined) err.syscall = e.syscall;
  if (e.path !== undefined) err.path = e.path;
  return err;
}

/**
 * A child started by the helper: events and relayed output arrive from it, requests go to it, a
 * handed-over pipe is read here. Like a ChildProcess, a paused output emits nothing, and 'close'
 * comes after 'exit' (or a failure to start) once both outputs ended, so after every chunk.
 */
class RemoteChild extends EventEmitter implements ChildLike {
  readonly pid?: number | undefined;
  readonly stdin: ChildLike['stdin'];
  readonly stdout: RemoteOutput;
  readonly stderr: RemoteOutput;
  readonly #post: (m: Record<string, unknown>) => void;
  /** the arguments of 'close', once the child has ended */
  #ended: unknown[] | undefined;
  #closed = false;
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
    const control: OutputControl = {
      read: (bytes) => post({ op: 'read', bytes }),
      pause: () => {
        if (!paused) post({ op: 'pause' });
        paused = true;
      },
      resume: () => {
        if (!this.stdout.paused && !this.stderr.paused) {
          if (paused) post({ op: 'resume' });
          paused = false;
        }
      },
      destroy: () => post({ op: 'destroy' }),
      closed: () => this.#closeWhenDone(),
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

  /** The child exited (or never started): 'close' follows with `args` once both outputs ended. */
  ended(args: unknown[]): void {
    this.#ended ??= args;
    this.#closeWhenDone();
  }

  /** The helper is gone: what it would still have relayed or handed over never comes. */
  abandon(): void {
    this.stdout.abandon();
    this.stderr.abandon();
  }

  #closeWhenDone(): void {
    if (this.#closed || this.#ended === undefined || !this.stdout.closed || !this.stderr.closed) return;
    this.#closed = true;
    this.emit('close', ...this.#ended);
  }
}

interface OutputControl {
  /** relayed bytes taken by the caller */
  read(bytes: number): void;
  pause(): void;
  resume(): void;
  destroy(): void;
  /** this output has ended */
  closed(): void;
}

/**
 * One of a child's outputs, as the caller sees it: relayed chunks first (queued while paused, at
 * most IN_FLIGHT_BYTES), then, if the helper hands it over, the pipe itself.
 */
class RemoteOutput extends EventEmitter implements OutputLike {
  readonly #control: OutputControl;
  readonly #queue: Buffer[] = [];
  #pipe: Socket | undefined;
  #paused = false;
  #destroyed = false;
  /** the helper relayed the stream's end, or will never relay or hand over more */
  #eof = false;
  #closed = false;

  constructor(control: OutputControl) {
    super();
    this.#control = control;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** ended: every chunk emitted (or the output destroyed) */
  get closed(): boolean {
    return this.#closed;
  }

  /** A relayed chunk: emitted now, or when resumed. */
  push(chunk: Buffer): void {
    if (this.#destroyed) return this.#control.read(chunk.length);
    if (this.#paused) this.#queue.push(chunk);
    else this.#emit(chunk);
  }

  /** The helper relayed the stream's end. */
  eof(): void {
    this.#eof = true;
    this.#closeWhenDone();
  }

  /** The pipe, handed over after the relayed chunks. */
  attach(pipe: Socket): void {
    if (this.#pipe || this.#closed || this.#destroyed) {
      pipe.destroy();
      return;
    }
    this.#pipe = pipe;
    // A read error ends the output, as on a ChildProcess's own pipe.
    pipe.on('error', () => undefined);
    pipe.on('close', () => this.eof());
    pipe.on('data', (chunk: Buffer) => this.emit('data', chunk));
    if (this.#paused || this.#queue.length > 0) pipe.pause();
  }

  abandon(): void {
    if (!this.#pipe) this.eof();
  }

  pause(): this {
    this.#paused = true;
    this.#pipe?.pause();
    this.#control.pause();
    return this;
  }

  resume(): this {
    this.#paused = false;
    while (!this.#paused && this.#queue.length > 0) this.#emit(this.#queue.shift()!);
    if (this.#paused) return this;
    this.#pipe?.resume();
    this.#control.resume();
    this.#closeWhenDone();
    return this;
  }

  destroy(): this {
    if (this.#destroyed) return this;
    this.#destroyed = true;
    for (const c of this.#queue.splice(0)) this.#control.read(c.length);
    this.#pipe?.destroy();
    this.#control.destroy();
    this.#eof = true;
    this.#closeWhenDone();
    return this;
  }

  #emit(chunk: Buffer): void {
    this.emit('data', chunk);
    this.#control.read(chunk.length);
  }

  #closeWhenDone(): void {
    if (this.#closed || !this.#eof || this.#queue.length > 0) return;
    this.#closed = true;
    this.#control.closed();
  }
}

/** A spawn the helper was asked for and has not answered yet. */
interface Pending {
  resolve: (c: ChildLike | undefined) => void;
  reject: (e: unknown) => void;
  /** stdin is piped: the child gets a stdin to write to */
  piped: boolean;
}

/** The helper process, started on demand. */
export class SpawnHost {
  readonly #flags: readonly string[];
  /** the current helper has sent something: it ran, so it may have acted on a request */
  #heard = false;
  #helper: ChildProcess | undefined;
  #next = 0;
  readonly #pending = new Map<number, Pending>();
  readonly #children = new Map<number, RemoteChild>();
  #idleTimer: NodeJS.Timeout | undefined;
  /** the helper could not be started or died: spawn on the caller's thread from now on */
  #broken = false;

  /** `flags`: the helper's Node flags (HELPER_FLAGS; a test passes one Node rejects). */
  constructor(flags: readonly string[] = HELPER_FLAGS) {
    this.#flags = flags;
  }

  /** False once the helper could not start or failed: the caller spawns itself. */
  get usable(): boolean {
    return !this.#broken;
  }

  /**
   * Start `file` with `args` from the helper. Resolves once it is forked (with its pid); rejects
   * with what spawn threw there (E2BIG, EINVAL…) as an Error with the same code. A failure to
   * exec (ENOENT) arrives as the child's 'error' event, as with spawn itself. Resolves to
   * undefined when the helper could not start (or failed before): nothing was forked, and the
   * caller spawns it itself (spawnHere), with its listeners attached at once.
   */
  spawn(file: string, args: readonly string[], options: HostSpawnOptions): Promise<ChildLike | undefined> {
    if (this.#broken) return Promise.resolve(undefined);
    const helper = this.#ensure();
    clearTimeout(this.#idleTimer);
    // While it has work, it and its answers keep the process alive (as a child's own pipes would).
    helper.ref();
    helper.channel?.ref();
    const id = ++this.#next;
    return new Promise<ChildLike | undefined>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, piped: options.stdin === 'pipe' });
      helper.send({ op: 'spawn', id, file, args, options });
    });
  }

  #ensure(): ChildProcess {
    if (this.#helper) return this.#helper;
    const helper = spawn(process.execPath, [...this.#flags, '-e', HELPER_SOURCE], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
      env: {},
      windowsHide: true,
    });
    // While it has nothing to do, neither the helper nor its channel keeps the runner alive.
    helper.unref();
    helper.on('message', (m: FromHelper, pipe: unknown) => this.#receive(m, pipe as Socket | undefined));
    // Never started (no pid), or refused its options before running any code: nothing was forked.
    // With a pid, an 'error' is a failed send or kill: the 'exit' that follows decides.
    helper.on('error', (err) => {
      if (helper.pid === undefined) this.#lost(helper, err, true);
    });
    helper.on('exit', (code, signal) =>
      this.#lost(helper, new Error(`the spawn helper ended (${signal ?? code})`), code === INVALID_ARGUMENT && !this.#heard),
    );
    this.#helper = helper;
    this.#heard = false;
    return helper;
  }

  #receive(m: FromHelper, pipe: Socket | undefined): void {
    this.#heard = true;
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
      child.once('close', () => {
        this.#children.delete(m.id);
        this.#maybeIdle();
      });
      waiting.resolve(child);
      // The caller attaches its listeners when the promise resolves, a microtask from now.
      setImmediate(() => child.release());
      return;
    }
    const child = this.#children.get(m.id);
    if (!child) {
      pipe?.destroy();
      return;
    }
    if (m.op === 'data' || m.op === 'eof' || m.op === 'out') {
      const output = m.stream === 'stdout' ? child.stdout : child.stderr;
      if (m.op === 'data') {
        const b = m.bytes;
        const chunk = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
        child.receive(() => output.push(chunk));
      } else if (m.op === 'eof') child.receive(() => output.eof());
      // Node passes a pipe it could not send as none: the output ends there.
      else child.receive(() => (pipe ? output.attach(pipe) : output.abandon()));
      return;
    }
    child.receive(() => {
      if (m.name === 'error') {
        const err = toError(m.args[0] as ErrorShape);
        child.emit('error', err);
        // Never started: no 'exit' follows, 'close' does (with the errno, as Node gives it).
        if (child.pid === undefined) child.ended([err.errno ?? null, null]);
      } else if (m.name === 'exit') {
        child.emit('exit', ...m.args);
        child.ended(m.args);
      } else child.emit(m.name);
    });
  }

  #maybeIdle(): void {
    if (this.#children.size > 0 || this.#pending.size > 0) return;
    this.#helper?.unref();
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

  /**
   * The helper is gone (it never should be): from now on the caller spawns, and its children are
   * reported ended. `neverRan`: it ran no code, so none of the waiting spawns happened and each
   * resolves to undefined (the caller spawns it); otherwise any of them may have, and each is
   * rejected with `err` rather than started twice.
   */
  #lost(helper: ChildProcess, err: Error, neverRan: boolean): void {
    if (this.#helper !== helper) return; // an idle helper we ended ourselves
    this.#helper = undefined;
    this.#broken = true;
    for (const p of this.#pending.values()) {
      if (neverRan) p.resolve(undefined);
      else p.reject(err);
    }
    this.#pending.clear();
    for (const child of this.#children.values()) {
      child.receive(() => {
        child.abandon();
        child.emit('exit', null, 'SIGKILL');
        child.ended([null, 'SIGKILL']);
      });
    }
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
