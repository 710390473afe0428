import type { Daemon } from '../daemon.ts';
import type { Logger } from '../logger.ts';
import type { TaskObserver } from '../tasks/taskEvents.ts';
import type { WorkspaceProvider } from '../workspace/workspace.ts';
import type { ListenAddress } from './listenAddress.ts';
import { listenMetrics } from './metricsServer.ts';
import { readiness, type RunnerPhase } from './readiness.ts';
import { RunnerMetrics } from './runnerMetrics.ts';

/**
 * The metrics and health endpoint of one runner, as startRunner wires it: built before the core
 * services (it feeds on their task events), attached to the daemon once there is one.
 */
export interface MetricsEndpoint {
  /** `http://host:port` as bound */
  url: string;
  /** counts tasks, durations, tokens and cost; compose it with the other observers */
  observer: TaskObserver;
  /** the daemon's workspace provider, with each preparation timed */
  timed(provider: WorkspaceProvider): WorkspaceProvider;
  /** the daemon runs: gauges and /readyz read it from now on */
  attach(daemon: Daemon): void;
  /** the daemon's state changed (its onChange): counts reconnects */
  changed(): void;
  /** a drain to stop began: /readyz answers 503 from now on */
  stopping(): void;
  close(): Promise<void>;
}

/**
 * Binds `address` and serves /metrics, /healthz and /readyz for one runner (metricsServer.ts).
 * Only loaded (with prom-client) when metrics_listen is set: a runner without it pays nothing.
 * Raises RunnerError `metrics_listen_failed` when the address cannot be bound.
 */
export async function startMetricsEndpoint(address: ListenAddress, log: Logger): Promise<MetricsEndpoint> {
  const metrics = new RunnerMetrics();
  let daemon: Daemon | undefined;
  let phase: RunnerPhase = 'starting';
  const server = await listenMetrics(
    address,
    {
      metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
      readiness: () => readiness(phase, daemon?.link.status),
    },
    log,
  );
  log.info('serving metrics and health', { url: server.url, paths: '/metrics /healthz /readyz' });
  return {
    url: server.url,
    observer: metrics.observer,
    timed: (provider) => metrics.timed(provider),
    attach: (d) => {
      daemon = d;
      phase = 'running';
      metrics.readFrom({
        agentsRunning: () => d.tasks.status().agent_count,
        capacity: () => d.tasks.maxAgents,
        linkUp: () => d.link.isOpen,
        outboxPending: () => d.outbox.size,
      });
      metrics.linkState(d.link.status.state);
    },
    changed: () => {
      if (daemon) metrics.linkState(daemon.link.status.state);
    },
    stopping: () => {
      phase = 'stopping';
    },
    close: () => server.close(),
  };
}
