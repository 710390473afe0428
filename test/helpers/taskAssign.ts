import { TaskAssignMsg } from '../../main/runner/protocol/messages.ts';
import { toTaskSpec, type SpecDefaults, type TaskSpec } from '../../main/runner/tasks/taskSpec.ts';

/** toTaskSpec's defaults in unit tests: a worktree base that is never touched. */
export const SPEC_DEFAULTS: SpecDefaults = { worktreeBase: '/srv/wt', execCommand: undefined, executionTimeoutSeconds: 3600 };

/** The smallest valid task_assign, with the id shapes the real server sends (a UUID, graph ids). */
export const ASSIGN_BASE = {
  type: 'task_assign',
  task_id: '9e5d3c1b-7a2f-4c8e-b1d0-2f3e4a5b6c7d',
  agent_id: 'agent_4f1c2b9a7d3e',
  project_id: 'project_1a2b3c4d5e6f',
} as const;

/** ASSIGN_BASE with `extra` over it, through the wire schema and toTaskSpec; raises what they raise. */
export function specOf(extra: Record<string, unknown>, defaults: SpecDefaults = SPEC_DEFAULTS): TaskSpec {
  return toTaskSpec(TaskAssignMsg.parse({ ...ASSIGN_BASE, ...extra }), defaults);
}
