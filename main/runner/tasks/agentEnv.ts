import { cutBytes } from '../agents/preset.ts';
import { newTaskMarker, TASK_MARKER_VAR } from './processTree.ts';
import type { TaskSpec } from './taskSpec.ts';

/** SIBYL_TASK_PROMPT keeps at most this much of the prompt (bytes); SIBYL_TASK_PROMPT_FILE has all of it. */
export const PROMPT_ENV_MAX_BYTES = 64 * 1024;

/** The original's scrubbed token variables (§5.10). */
const SCRUBBED = ['SIBYL_RUNNER_TOKEN', 'SIBYL_AUTH_TOKEN', 'SIBYL_API_KEY', 'SIBYL_ACCESS_TOKEN', 'SIBYL_REFRESH_TOKEN'];

/**
 * The agent's environment: the daemon's, minus our credentials, plus the task variables.
 * Not an allow-list: agents (Claude Code, Codex, Aider) need their own API keys from the
 * user's environment; what we hold back is everything that would let the agent act as the runner.
 * `SIBYL_TASK_MARKER` is this run's marker (processTree.ts); AgentProcess kills by it.
 */
export function agentEnv(opts: {
  base: Record<string, string | undefined>;
  spec: TaskSpec;
  worktreePath: string;
  /** the whole prompt, in the runner's state folder */
  promptFile: string;
  sandboxId: string;
  secrets: string[];
  extra: Record<string, string>;
}): Record<string, string> {
  const secrets = new Set(opts.secrets.filter((s) => s.length >= 8));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.base)) {
    if (v === undefined || SCRUBBED.includes(k) || secrets.has(v)) continue;
    env[k] = v;
  }
  env.SIBYL_TASK_ID = opts.spec.taskId;
  env.SIBYL_AGENT_ID = opts.spec.agentId;
  env.SIBYL_PROJECT_ID = opts.spec.projectId;
  // Environment blocks are small on every OS (E2BIG past ~128 KiB per string on Linux): the
  // variable keeps the start, the file the whole prompt.
  // NUL cannot travel in an environment string; the file and stdin keep the prompt byte for byte.
  env.SIBYL_TASK_PROMPT = cutBytes(opts.spec.prompt.replaceAll('\0', ''), PROMPT_ENV_MAX_BYTES);
  env.SIBYL_TASK_PROMPT_FILE = opts.promptFile;
  env.SIBYL_WORKTREE_PATH = opts.worktreePath;
  if (opts.sandboxId) env.SIBYL_SANDBOX_ID = opts.sandboxId;
  Object.assign(env, opts.extra);
  // New for every run, after `extra` and over the daemon's own (a runner started by an agent has
  // one): every process the agent starts inherits it, so it is found after leaving the group.
  env[TASK_MARKER_VAR] = newTaskMarker(opts.spec.taskId);
  return env;
}
