import { AgentLauncher } from './agents/agentLauncher.ts';
import { wsUrlFor } from './api/sibylApi.ts';
import type { RunnerConfig } from './config/schema.ts';
import type { Snapshot } from './control/contract.ts';
import { ControlServer, controlSocketPath } from './control/controlSocket.ts';
import type { ControlCommand } from './control/contract.ts';
import { EventFeed } from './control/eventFeed.ts';
import { RunnerError } from './errors.ts';
import { Link, type LinkStatus } from './link/link.ts';
import { MemoryOutboxStore, Outbox, type OutboxStore } from './link/outbox.ts';
import { background, logger } from './logger.ts';
import { assertNever, type ServerMessage } from './protocol/messages.ts';
import { redactUrl } from './redact.ts';
import { composeObservers } from './tasks/observers.ts';
import type { TaskObserver } from './tasks/taskEvents.ts';
import { TaskManager, type TaskManagerDeps } from './tasks/taskManager.ts';
import type { TaskSpec } from './tasks/taskSpec.ts';
import { FolderWorkspaces, type WorkspaceProvider } from './workspace/workspace.ts';

/** Where the WebSocket's bearer token comes from (stored login, env token, or OS-encrypted store). */
export interface AuthSource {
  accessToken(): Promise<string | undefined>;
  /** After an auth close: try to get new credentials once. True when it did. */
  refreshNow(): Promise<boolean>;
  secrets(): string[];
}

export interface DaemonOptions {
  config: RunnerConfig;
  configPath: string;
  auth: AuthSource;
  workspaces?: WorkspaceProvider;
  validate?: (spec: TaskSpec) => void;
  observer?: TaskObserver;
  outboxStore?: OutboxStore;
  /** warm worktrees to announce on every (re)connect with project_register */
  projects?: () => Promise<{ projectId: string; path: string; branch: string | null }[]>;
  controlSocket?: boolean;
  env?: Record<string, string | undefined>;
  /** test and tuning knobs */
  pingIntervalMs?: number;
  redialGraceMs?: number;
  timeoutGraceMs?: number;
  cancelGraceMs?: number;
  /** minimum gap between one task's activity updates (default 1000 ms) */
  activityIntervalMs?: number;
  /** the live state changed; read it with snapshot() (built only when someone looks) */
  onChange?: () => void;
  openLog?: TaskManagerDeps['openLog'];
  /** the final task_complete of a task finished by an earlier run (from the history), so a re-sent assignment is answered, not re-run */
  finishedResult?: TaskManagerDeps['finishedResult'];
  /** write queued history changes now (the subscribe stream's `history` event is sent once they are on disk) */
  flushHistory?: () => void;
  /**
   * The control socket's `shutdown` request: the face drains and exits as on SIGTERM. Without it
   * the request is refused (`unsupported`).
   */
  onShutdown?: () => void;
}

/** The runner: link ⇄ task manager ⇄ workspaces, plus the control socket. Shared by the CLI and the desktop app. */
export class Daemon {
  readonly #o: DaemonOptions;
  readonly #log = logger('daemon');
  readonly link: Link;
  readonly tasks: TaskManager;
  /** chooses each task's agent CLI; `installed()` lists the detected ones */
  readonly agents: AgentLauncher;
  readonly outbox: Outbox;
  readonly #startedAt = Date.now();
  #control: ControlServer | undefined;
  /** the control socket's `subscribe` stream: state, output lines, finished tasks, history changes */
  readonly feed: EventFeed;
  #version = 0;
  #paused = false;
  #stopped = false;

  constructor(opts: DaemonOptions) {
    this.#o = opts;
    const cfg = opts.config;
    this.link = new Link({
      url: wsUrlFor(cfg.server_url, cfg.runner_id),
      allowInsecureHttp: cfg.allow_insecure_http,
      headers: () => this.#headers(),
      onMessage: (m) => this.#onMessage(m),
      onInvalid: (frame) => {
        // A task_assign we cannot read still names its task: refuse it rather than let the server wait out its lease.
        if (frame.type === 'task_assign' && frame.taskId !== undefined)
          background(this.#log, `task_assign ${frame.taskId}`, this.tasks.refuse(frame.taskId, frame.reason));
      },
      onOpen: () => this.#onOpen(),
      onStatus: (s) => this.#onLinkStatus(s),
      onAuthFailure: () => opts.auth.refreshNow(),
      backoffBaseMs: cfg.reconnect_interval * 1000,
      maxAttempts: cfg.max_reconnect_attempts,
      heartbeatIntervalMs: cfg.heartbeat_interval * 1000,
      ...(opts.pingIntervalMs !== undefined ? { pingIntervalMs: opts.pingIntervalMs } : {}),
      ...(opts.redialGraceMs !== undefined ? { redialGraceMs: opts.redialGraceMs } : {}),
      log: logger('link'),
    });
    this.feed = new EventFeed({ snapshot: () => this.snapshot(), ...(opts.flushHistory ? { flushHistory: opts.flushHistory } : {}) });
    this.outbox = new Outbox(opts.outboxStore ?? new MemoryOutboxStore(), this.link, logger('outbox'));
    this.agents = new AgentLauncher(cfg, opts.env ?? process.env);
    this.tasks = new TaskManager({
      maxAgents: cfg.max_concurrent_agents,
      worktreeBase: cfg.worktree_base,
      execCommand: cfg.exec_command || undefined,
      executionTimeoutSeconds: cfg.execution_timeout,
      workspaces: opts.workspaces ?? new FolderWorkspaces(cfg.worktree_base),
      ...(opts.validate ? { validate: opts.validate } : {}),
      // After the journal and the history: a subscriber told of a change finds it on disk.
      observer: composeObservers(opts.observer, this.feed.observer),
      deliver: (msg) => this.outbox.push(msg),
      post: (msg) => void this.link.post(msg),
      onChange: () => this.#changed(),
      log: logger('tasks'),
      baseEnv: opts.env ?? process.env,
      agents: this.agents,
      autoCommit: cfg.auto_commit,
      pushBranch: cfg.push_branch,
      sandboxId: cfg.sandbox_id,
      secrets: () => opts.auth.secrets(),
      ...(opts.timeoutGraceMs !== undefined ? { timeoutGraceMs: opts.timeoutGraceMs } : {}),
      ...(opts.cancelGraceMs !== undefined ? { cancelGraceMs: opts.cancelGraceMs } : {}),
      ...(opts.activityIntervalMs !== undefined ? { activityIntervalMs: opts.activityIntervalMs } : {}),
      ...(opts.openLog ? { openLog: opts.openLog } : {}),
      ...(opts.finishedResult ? { finishedResult: opts.finishedResult } : {}),
    });
  }

  async start(): Promise<void> {
    if (this.#o.controlSocket !== false) {
      this.#control = await ControlServer.listen(
        controlSocketPath(this.#o.configPath),
        (req) => this.control(req),
        logger('control'),
        this.feed,
      );
    }
    this.#log.info('starting', {
      runnerId: this.#o.config.runner_id,
      server: redactUrl(this.#o.config.server_url),
      maxAgents: this.#o.config.max_concurrent_agents,
    });
    this.link.start();
  }

  /**
   * Graceful stop: status draining, no new tasks, running agents stopped (reported cancelled and
   * retryable), every result flushed while the link is up, then a clean close.
   */
  async stop(graceMs = this.#o.config.drain_timeout * 1000): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#log.info('draining', { running: this.tasks.running().length });
    this.tasks.drain(true);
    // Out of time (drain_timeout shorter than an agent's grace, or an agent deaf to SIGTERM): end
    // them now, so their results are still journaled and sent before the journal closes.
    if (!(await this.tasks.whenIdle(graceMs))) {
      this.#log.warn('drain time is up; ending the agents now', { running: this.tasks.running().length });
      this.tasks.killAll();
      await this.tasks.whenIdle(5000);
    }
    // Wait (briefly) for the server to confirm the last results; unconfirmed ones are re-sent after the next start.
    const limit = Math.min(graceMs, 3000);
    await Promise.race([this.outbox.flush(), sleep(limit)]);
    await this.outbox.settled(this.link.isOpen ? limit : 0);
    await this.link.stop();
    // Subscribers see the final state (draining, nothing running) before the stream ends.
    this.feed.close();
    await this.#control?.close();
    this.#log.info('stopped', { unsent: this.outbox.size });
  }

  /** A drain in progress should not wait any longer (a second signal): every agent is ended now. */
  hurry(): void {
    if (this.#stopped) this.tasks.killAll();
  }

  snapshot(): Snapshot {
    const cfg = this.#o.config;
    const link = this.link.status;
    return {
      version: this.#version,
      pid: process.pid,
      startedAt: this.#startedAt,
      configPath: this.#o.configPath,
      runner: {
        id: cfg.runner_id,
        name: cfg.name,
        // What status and the window show: a password in the URL stays in the configuration.
        serverUrl: redactUrl(cfg.server_url),
        maxAgents: this.tasks.maxAgents,
        sandboxMode: cfg.sandbox_mode,
      },
      ...this.tasks.status(),
      paused: this.#paused,
      link: stripUndefined(link),
      running: this.tasks.running().map(stripUndefined),
      outboxPending: this.outbox.size,
    };
  }

  pause(): void {
    this.#paused = true;
    this.tasks.drain(false);
  }

  resume(): void {
    this.#paused = false;
    this.tasks.resume();
  }

  async #headers(): Promise<Record<string, string>> {
    const cfg = this.#o.config;
    const headers: Record<string, string> = {};
    const token = await this.#o.auth.accessToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    // Ignored by the server (§4.1) but sent for parity with the original.
    if (cfg.sandbox_id) headers['X-Sibyl-Sandbox-Id'] = cfg.sandbox_id;
    if (cfg.sandbox_mode) headers['X-Sibyl-Runner-Mode'] = 'sandbox';
    return headers;
  }

  #onOpen(): void {
    // Re-announce everything on every connect (R6): true status, unconfirmed results, warm worktrees.
    this.tasks.sendStatus();
    this.outbox.connected();
    background(this.#log, 'outbox flush', this.outbox.flush());
    const projects = this.#o.projects;
    if (projects) {
      background(
        this.#log,
        'project_register',
        (async () => {
          for (const p of await projects())
            this.link.post({ type: 'project_register', project_id: p.projectId, worktree_path: p.path, worktree_branch: p.branch });
        })(),
      );
    }
  }

  #onMessage(msg: ServerMessage): void {
    switch (msg.type) {
      case 'heartbeat':
        this.link.post({ type: 'heartbeat_ack' });
        this.#changed();
        return;
      case 'task_assign':
        background(this.#log, `task_assign ${msg.task_id}`, this.tasks.assign(msg));
        return;
      case 'task_cancel':
        this.tasks.cancel(msg.task_id);
        return;
      case 'project_registered':
        this.#log.info('project registered', { projectId: msg.project_id });
        return;
      case 'error':
        if (this.outbox.answered(msg.message)) return;
        this.#log.warn('server reported an error', { message: msg.message });
        return;
      default:
        assertNever(msg);
    }
  }

  #onLinkStatus(s: LinkStatus): void {
    this.#log.debug('link status', { state: s.state, reason: s.reason });
    this.#changed();
  }

  #changed(): void {
    this.#version++;
    this.feed.changed();
    this.#o.onChange?.();
  }

  /** The control commands, for the control socket and the desktop app alike. */
  async control(req: ControlCommand): Promise<unknown> {
    switch (req.method) {
      case 'snapshot':
        return this.snapshot();
      case 'subscribe':
        throw new RunnerError('unsupported', 'subscribe is served by the control socket only');
      case 'shutdown':
        if (!this.#o.onShutdown) throw new RunnerError('unsupported', 'this runner cannot be stopped through its control socket');
        this.#o.onShutdown();
        return { stopping: true };
      case 'kick':
        this.link.kick();
        return { ok: true };
      case 'pause':
        this.pause();
        return this.snapshot();
      case 'resume':
        this.resume();
        return this.snapshot();
      case 'cancel':
        return { cancelled: this.tasks.cancel(req.taskId) };
      case 'setMaxAgents':
        this.tasks.maxAgents = req.maxAgents;
        return this.snapshot();
      default:
        return assertNever(req);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** zod's optional() means "absent", not "undefined": drop undefined fields before validation/serialisation. */
function stripUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
