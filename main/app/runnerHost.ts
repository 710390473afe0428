import type { CoreState } from '../../preload/contract.ts';
import type { CredentialStore } from '../runner/config/credentials.ts';
import type { LoadedConfig } from '../runner/config/loadConfig.ts';
import { Snapshot, type ControlCommand, type FinishedEvent, type LinesEvent, type SubscribeEvent } from '../runner/control/contract.ts';
import { controlRequest, controlSocketPath } from '../runner/control/controlSocket.ts';
import { subscribeControl, type ControlSubscription } from '../runner/control/subscription.ts';
import { RunnerError } from '../runner/errors.ts';
import { background, logger } from '../runner/logger.ts';
import type { CoreChild, CoreExit, CoreLauncher } from './coreLauncher.ts';
import { launchOwnCore, type OwnCore } from './ownCore.ts';

const log = logger('host');

/** Restart delays: the first, doubling up to the last; back to the first after the core ran this long. */
export interface RestartPolicy {
  firstMs: number;
  maxMs: number;
  resetAfterMs: number;
}
const RESTART: RestartPolicy = { firstMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 };

export interface RunnerHostOptions {
  env: Record<string, string | undefined>;
  /** the app's own store; the core process asks for it over its channel */
  credentials: CredentialStore;
  launcher: CoreLauncher;
  /** the state (snapshot or core state) changed */
  onChange: () => void;
  onLines: (e: LinesEvent) => void;
  onFinished: (e: FinishedEvent) => void;
  /** overrides for tests */
  restart?: Partial<RestartPolicy>;
  startTimeoutMs?: number;
}

/** What the host is connected to now. */
type Link = { kind: 'own'; core: OwnCore; since: number } | { kind: 'headless'; sub: ControlSubscription } | { kind: 'none' };

/**
 * The runner core, for the desktop app, always in another process and always over its control
 * socket (issue 14, item 7): a headless `sibyl-runner run` already serving this config is attached
 * to; otherwise, once registered, the app's own core process is launched (`launcher`, the same
 * daemon entry as `run`) and subscribed to. Live state, output lines and finished tasks come from
 * the subscription; commands go over the socket. If the core dies, it is started again after 1 s,
 * doubling to 30 s (reset once it ran a minute); if the headless runner stops, the app starts its
 * own after the same back-off. `core()` says which of this is happening.
 */
export class RunnerHost {
  readonly #o: RunnerHostOptions;
  readonly #restart: RestartPolicy;
  #loaded: LoadedConfig | undefined;
  #link: Link = { kind: 'none' };
  #snapshot: Snapshot | null = null;
  #core: CoreState = { state: 'stopped' };
  /** bumped by every start and stop: callbacks of an older generation do nothing */
  #gen = 0;
  #retry: NodeJS.Timeout | undefined;
  #attempt = 0;
  /** start and stop run one at a time */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: RunnerHostOptions) {
    this.#o = opts;
    this.#restart = { ...RESTART, ...opts.restart };
  }

  /** True while attached to a headless `sibyl-runner run` (it owns runner.yaml then). */
  get attached(): boolean {
    return this.#link.kind === 'headless';
  }

  snapshot(): Snapshot | null {
    return this.#snapshot;
  }

  core(): CoreState {
    return this.#core;
  }

  /**
   * Start (or restart) for `loaded`: attach to a headless daemon if one serves it, else (when
   * registered) launch the app's own core and subscribe. Raises what kept the core from starting
   * (ownCore.ts: `core_start_failed` with its words, `core_start_timeout`); no retry follows a
   * failed first start (the window shows it, and restarting is the user's call).
   */
  start(loaded: LoadedConfig): Promise<void> {
    return this.#serially(async () => {
      await this.#stopNow();
      this.#loaded = loaded;
      this.#attempt = 0;
      const gen = ++this.#gen;
      try {
        await this.#connect(gen, 'starting');
      } catch (err) {
        if (gen === this.#gen) this.#setCore({ ...this.#core, state: 'stopped', attempt: undefined, nextRetryAt: undefined });
        throw err;
      }
    });
  }

  /** Stop: detach, or ask the own core to drain (`shutdown`) and wait for it to end (bounded; then killed). */
  stop(): Promise<void> {
    return this.#serially(() => this.#stopNow());
  }

  kick(): void {
    if (this.#link.kind !== 'none' && this.#loaded)
      background(log, 'kick', controlRequest(controlSocketPath(this.#loaded.path), { method: 'kick' }));
  }

  /** A control command over the socket; a snapshot it answers with becomes the state at once. */
  async command(req: ControlCommand): Promise<unknown> {
    if (this.#link.kind === 'none' || !this.#loaded)
      throw new RunnerError('not_running', 'the runner is not running (register first)', { remedy: 'retry' });
    const res = await controlRequest(controlSocketPath(this.#loaded.path), req);
    if (!res) throw new RunnerError('daemon_gone', 'the runner stopped answering', { remedy: 'retry' });
    if (!res.ok) throw new RunnerError(res.error.code, res.error.message);
    this.#accept(res.result);
    return res.result;
  }

  #serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Attach to what serves the socket, else launch our own core; raises when that fails. */
  async #connect(gen: number, state: 'starting' | 'restarting'): Promise<void> {
    const loaded = this.#loaded!;
    const socket = controlSocketPath(loaded.path);
    const onEvent = (e: SubscribeEvent): void => this.#event(gen, e);
    const existing = await subscribeControl(socket, { onEvent, timeoutMs: 1000 });
    if (gen !== this.#gen) return void existing?.close();
    if (existing) {
      log.info('attached to a running headless daemon', { socket });
      this.#link = { kind: 'headless', sub: existing };
      this.#accept(existing.snapshot);
      this.#setCore({ state: 'running', owner: 'headless', pid: existing.snapshot.pid });
      void existing.closed.then(() => this.#headlessGone(gen));
      return;
    }
    const { config } = loaded;
    if (!config.runner_id || !config.server_url) return this.#setCore({ state: 'stopped' });
    this.#setCore({ ...this.#core, state, owner: 'app' });
    const core = await launchOwnCore({
      launcher: this.#o.launcher,
      configPath: loaded.path,
      env: this.#o.env,
      credentials: this.#o.credentials,
      socket,
      startTimeoutMs: this.#o.startTimeoutMs ?? 60_000,
      onEvent,
      log,
    }).catch((err: unknown) => {
      if (err instanceof RunnerError) this.#core = { ...this.#core, lastExit: exitOf(err) };
      throw err;
    });
    if (gen !== this.#gen) {
      // Stopped while it started: this one is not wanted.
      core.sub.close();
      await stopCore(core.child, socket, 5000);
      return;
    }
    this.#link = { kind: 'own', core, since: Date.now() };
    this.#accept(core.sub.snapshot);
    this.#setCore({
      state: 'running',
      owner: 'app',
      pid: core.child.pid,
      ...(this.#core.lastExit ? { lastExit: this.#core.lastExit } : {}),
    });
    void core.child.exited.then((exit) => this.#ownExited(gen, core, exit));
    void core.sub.closed.then(() => this.#ownStreamClosed(gen, core));
  }

  #event(gen: number, e: SubscribeEvent): void {
    if (gen !== this.#gen) return;
    switch (e.event) {
      case 'state':
        return this.#accept(e.snapshot);
      case 'lines':
        return this.#o.onLines(e);
      case 'finished':
        return this.#o.onFinished(e);
      case 'history':
        // The window re-reads the history when the running tasks change; the file is already written by then (eventFeed.ts).
        return;
    }
  }

  /** A newer state of the same process, or any state of a new one (a restarted core starts its versions again). */
  #accept(raw: unknown): void {
    const parsed = Snapshot.safeParse(raw);
    if (!parsed.success) return;
    const s = parsed.data;
    const current = this.#snapshot;
    if (current && current.pid === s.pid && s.version < current.version) return;
    this.#snapshot = s;
    this.#o.onChange();
  }

  #setCore(core: CoreState): void {
    this.#core = Object.fromEntries(Object.entries(core).filter(([, v]) => v !== undefined)) as CoreState;
    this.#o.onChange();
  }

  #ownExited(gen: number, core: OwnCore, exit: CoreExit): void {
    if (gen !== this.#gen) return;
    const ran = this.#link.kind === 'own' ? Date.now() - this.#link.since : 0;
    log.error('the runner core exited; restarting it', { code: exit.code, signal: exit.signal, stderr: core.stderrTail() });
    core.sub.close();
    if (ran >= this.#restart.resetAfterMs) this.#attempt = 0;
    this.#scheduleRetry(gen, { ...exit, at: Date.now(), ...(core.stderrTail() ? { stderr: core.stderrTail() } : {}) });
  }

  /** The stream ended but the process may live on (it cut us off for not reading): subscribe again, or end it. */
  async #ownStreamClosed(gen: number, core: OwnCore): Promise<void> {
    const ended = await endsWithin(core.child, 2000);
    if (ended || gen !== this.#gen || !this.#loaded) return;
    const again = await subscribeControl(controlSocketPath(this.#loaded.path), { onEvent: (e) => this.#event(gen, e), timeoutMs: 3000 });
    if (gen !== this.#gen) return void again?.close();
    if (!again) {
      log.warn('the runner core stopped answering; ending it');
      core.child.kill();
      return;
    }
    const fresh: OwnCore = { ...core, sub: again };
    if (this.#link.kind === 'own') this.#link = { ...this.#link, core: fresh };
    this.#accept(again.snapshot);
    void again.closed.then(() => this.#ownStreamClosed(gen, fresh));
  }

  #headlessGone(gen: number): void {
    if (gen !== this.#gen) return;
    log.warn('the headless daemon stopped; starting our own core');
    this.#scheduleRetry(gen, undefined);
  }

  #scheduleRetry(gen: number, lastExit: CoreState['lastExit']): void {
    this.#link = { kind: 'none' };
    this.#snapshot = null;
    this.#attempt++;
    const delay = Math.min(this.#restart.maxMs, this.#restart.firstMs * 2 ** (this.#attempt - 1));
    const keepExit = lastExit ?? this.#core.lastExit;
    this.#setCore({
      state: 'restarting',
      attempt: this.#attempt,
      nextRetryAt: Date.now() + delay,
      ...(keepExit ? { lastExit: keepExit } : {}),
    });
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      void this.#serially(async () => {
        if (gen !== this.#gen) return;
        try {
          await this.#connect(gen, 'restarting');
          if (gen === this.#gen && this.#link.kind !== 'none') log.info('the runner core runs again', { attempt: this.#attempt });
        } catch (err) {
          log.error('the runner core did not start again', { attempt: this.#attempt, error: err });
          if (gen === this.#gen) this.#scheduleRetry(gen, undefined);
        }
      });
    }, delay);
  }

  async #stopNow(): Promise<void> {
    this.#gen++;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    const link = this.#link;
    this.#link = { kind: 'none' };
    this.#snapshot = null;
    if (link.kind === 'headless') link.sub.close();
    if (link.kind === 'own' && this.#loaded) {
      const drainMs = this.#loaded.config.drain_timeout * 1000 + 5000;
      await stopCore(link.core.child, controlSocketPath(this.#loaded.path), drainMs, link.core.sub);
    }
    if (link.kind !== 'none' || this.#core.state !== 'stopped') this.#setCore({ state: 'stopped' });
  }
}

/** Ask the core to drain and exit; past `waitMs`, end it. */
async function stopCore(child: CoreChild, socket: string, waitMs: number, sub?: ControlSubscription): Promise<void> {
  const asked = await controlRequest(socket, { method: 'shutdown' }, 3000);
  if (!asked?.ok) log.warn('the runner core did not take the shutdown request; ending it');
  const ended = asked?.ok ? await endsWithin(child, waitMs) : false;
  sub?.close();
  if (!ended) {
    child.kill();
    await endsWithin(child, 5000);
  }
}

/** A start failure's exit, for CoreState.lastExit. */
function exitOf(err: RunnerError): CoreState['lastExit'] {
  const { exitCode, signal, stderr } = err.context;
  return {
    code: typeof exitCode === 'number' ? exitCode : null,
    signal: typeof signal === 'string' ? signal : null,
    at: Date.now(),
    ...(typeof stderr === 'string' ? { stderr } : {}),
  };
}

/**
 * Whether the process ends within `ms`. The timer is kept (the core process itself does not keep
 * this process alive, coreLauncher.ts; the wait for its end must) and cleared as soon as it ends.
 */
function endsWithin(child: CoreChild, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void child.exited.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
