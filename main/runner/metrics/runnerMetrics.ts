import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import * as z from 'zod';
import type { LinkState } from '../link/link.ts';
import type { TaskResult } from '../protocol/messages.ts';
import type { TaskObserver } from '../tasks/taskEvents.ts';
import type { TaskSpec } from '../tasks/taskSpec.ts';
import type { PreparedWorkspace, WorkspaceProvider } from '../workspace/workspace.ts';

/** What the gauges read when Prometheus scrapes (the daemon's live state; nothing is copied between scrapes). */
export interface RunnerGauges {
  agentsRunning(): number;
  capacity(): number;
  linkUp(): boolean;
  outboxPending(): number;
}

/** A task's end as counted: the result statuses (protocol §4.6.6) and a refused assignment. */
export type CountedStatus = TaskResult['status'] | 'rejected';

/** Agent tasks run for minutes; a plain command for milliseconds. Seconds. */
const TASK_BUCKETS = [0.1, 1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];
/** A folder is made in milliseconds; a fetch of a large repository under its lock takes minutes. Seconds. */
const PREPARE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * The agent's report in a result (taskRun.ts agentFields). The result is a loose object, so what a
 * preset put there is checked here: a malformed or negative figure is not counted (a Prometheus
 * counter never goes down, and prom-client throws on a negative increment).
 */
const amount = z.number().finite().nonnegative();
const AgentReport = z.object({
  usage: z
    .object({
      input_tokens: amount.optional(),
      output_tokens: amount.optional(),
      cache_read_input_tokens: amount.optional(),
      cache_creation_input_tokens: amount.optional(),
    })
    .optional()
    .catch(undefined),
  cost_usd: amount.optional().catch(undefined),
});

/** `kind` label of sibyl_runner_agent_tokens_total ← the usage field it counts. */
const TOKEN_KINDS = {
  input: 'input_tokens',
  output: 'output_tokens',
  cache_read: 'cache_read_input_tokens',
  cache_creation: 'cache_creation_input_tokens',
} as const;

/**
 * One runner's Prometheus metrics (issue 17) in a registry of its own, never prom-client's global
 * one, so several runners (tests, an app) in one process do not mix. Fed by the task observer
 * (counts, durations, tokens, cost), by the link's state changes (reconnects) and by timing the
 * workspace provider; the gauges are read from the daemon at scrape time. Names and meanings:
 *
 * - `sibyl_runner_tasks_total{status}`: tasks ended here — completed, failed, timeout, cancelled
 *   (a result was sent) or rejected (refused at assignment: at capacity, draining, invalid).
 * - `sibyl_runner_task_duration_seconds`: a finished task's `duration_s` (its run: workspace, agent, commit).
 * - `sibyl_runner_worktree_prepare_seconds`: each successful workspace preparation (fetch, worktree, checkout).
 * - `sibyl_runner_agent_tokens_total{kind}` (input, output, cache_read, cache_creation) and
 *   `sibyl_runner_agent_cost_usd_total`: what the agents reported in their results.
 * - `sibyl_runner_reconnects_total`: times the link opened again after it had been open.
 * - `sibyl_runner_agents_running`, `sibyl_runner_capacity`, `sibyl_runner_link_up` (1 open, 0 not),
 *   `sibyl_runner_outbox_pending` (results and acks not yet confirmed by the server).
 * - prom-client's process and Node.js metrics (`process_*`, `nodejs_*`).
 */
export class RunnerMetrics {
  readonly registry = new Registry();
  readonly #tasks: Counter<'status'>;
  readonly #duration: Histogram;
  readonly #prepare: Histogram;
  readonly #tokens: Counter<'kind'>;
  readonly #cost: Counter;
  readonly #reconnects: Counter;
  #gauges: RunnerGauges | undefined;
  #wasOpen = false;
  #lastLink: LinkState | undefined;

  constructor() {
    const registers = [this.registry];
    this.#tasks = new Counter({
      name: 'sibyl_runner_tasks_total',
      help: 'Tasks ended on this runner, by status',
      labelNames: ['status'],
      registers,
    });
    // Every status is there from the start: a rate() over a series that appears late misses its first increase.
    for (const status of ['completed', 'failed', 'timeout', 'cancelled', 'rejected'] satisfies CountedStatus[])
      this.#tasks.inc({ status }, 0);
    this.#duration = new Histogram({
      name: 'sibyl_runner_task_duration_seconds',
      help: 'Duration of finished tasks, from the start of their run (workspace preparation) to their result',
      buckets: TASK_BUCKETS,
      registers,
    });
    this.#prepare = new Histogram({
      name: 'sibyl_runner_worktree_prepare_seconds',
      help: "Time to prepare a task's workspace (fetch, worktree, checkout)",
      buckets: PREPARE_BUCKETS,
      registers,
    });
    this.#tokens = new Counter({
      name: 'sibyl_runner_agent_tokens_total',
      help: 'Tokens the agents reported using, by kind',
      labelNames: ['kind'],
      registers,
    });
    for (const kind of Object.keys(TOKEN_KINDS)) this.#tokens.inc({ kind }, 0);
    this.#cost = new Counter({ name: 'sibyl_runner_agent_cost_usd_total', help: 'Cost the agents reported, in US dollars', registers });
    this.#reconnects = new Counter({
      name: 'sibyl_runner_reconnects_total',
      help: 'Times the link to the server opened again after it had been open',
      registers,
    });
    const gauge = (name: string, help: string, read: (g: RunnerGauges) => number): void => {
      const metric: Gauge = new Gauge({
        name,
        help,
        registers,
        collect: () => metric.set(this.#gauges ? read(this.#gauges) : 0),
      });
    };
    gauge('sibyl_runner_agents_running', 'Agents running now', (g) => g.agentsRunning());
    gauge('sibyl_runner_capacity', 'Agents this runner may run at once (max_concurrent_agents)', (g) => g.capacity());
    gauge('sibyl_runner_link_up', '1 while the link to the server is open, else 0', (g) => (g.linkUp() ? 1 : 0));
    gauge('sibyl_runner_outbox_pending', 'Messages (acks, results) waiting for the server to confirm them', (g) => g.outboxPending());
    collectDefaultMetrics({ register: this.registry });
  }

  /** From now on the gauges read `gauges` (before: 0). */
  readFrom(gauges: RunnerGauges): void {
    this.#gauges = gauges;
  }

  /** The link's state, on every change: an `open` after an earlier `open` is a reconnect. */
  linkState(state: LinkState): void {
    if (state === this.#lastLink) return;
    this.#lastLink = state;
    if (state !== 'open') return;
    if (this.#wasOpen) this.#reconnects.inc();
    this.#wasOpen = true;
  }

  /** Counts tasks, durations, tokens and cost as they end. Never throws (the journal and history come first). */
  readonly observer: TaskObserver = {
    rejected: () => this.#tasks.inc({ status: 'rejected' }),
    finished: (_taskId, result) => {
      this.#tasks.inc({ status: result.status });
      if (Number.isFinite(result.duration_s) && result.duration_s >= 0) this.#duration.observe(result.duration_s);
      const report = AgentReport.safeParse(result);
      if (!report.success) return;
      const { usage, cost_usd } = report.data;
      for (const [kind, field] of Object.entries(TOKEN_KINDS)) {
        const n = usage?.[field];
        if (n) this.#tokens.inc({ kind }, n);
      }
      if (cost_usd) this.#cost.inc(cost_usd);
    },
  };

  /** `provider` with each successful preparation timed; a failed or stopped one is not a preparation time. */
  timed(provider: WorkspaceProvider): WorkspaceProvider {
    return {
      prepare: async (spec: TaskSpec, signal?: AbortSignal): Promise<PreparedWorkspace> => {
        const end = this.#prepare.startTimer();
        const workspace = await provider.prepare(spec, signal);
        end();
        return workspace;
      },
    };
  }
}
