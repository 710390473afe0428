import type { LinkState } from '../link/link.ts';

/** Where the runner is in its life, as the health endpoint sees it. */
export type RunnerPhase = 'starting' | 'running' | 'stopping';

/** `/readyz`'s answer: 200 with `{ ready: true }`, else 503 with a short reason a person or a probe log can read. */
export interface Readiness {
  ready: boolean;
  /** the link's state, once the daemon runs */
  link?: LinkState;
  reason?: string;
}

/**
 * Ready means the server can give this runner work: it is registered (start-up refuses a runner
 * without a runner_id) and its link is open, and it is not draining to stop. Paused still counts
 * as ready: someone paused it on purpose, and a probe restarting or unlisting it would not help.
 */
export function readiness(phase: RunnerPhase, link?: { state: LinkState; reason?: string | undefined }): Readiness {
  if (phase === 'starting' || !link) return { ready: false, reason: 'starting: the link to the server is not started yet' };
  if (phase === 'stopping') return { ready: false, link: link.state, reason: 'stopping: draining the running tasks' };
  if (link.state === 'open') return { ready: true, link: link.state };
  return { ready: false, link: link.state, reason: link.reason ?? `the link to the server is ${link.state}` };
}
