import { cutBytes } from '../agents/preset.ts';
import { RUNNER_ENV_VARS } from '../config/loadConfig.ts';
import { newTaskMarker, TASK_MARKER_VAR } from './processTree.ts';
import type { TaskSpec } from './taskSpec.ts';

/** SIBYL_TASK_PROMPT keeps at most this much of the prompt (bytes); SIBYL_TASK_PROMPT_FILE has all of it. */
export const PROMPT_ENV_MAX_BYTES = 64 * 1024;

/**
 * Held back from the agent by name: the original's token variables (§5.10), and every variable
 * the runner reads as its own configuration (loadConfig.ts), above all SIBYL_CONFIG_FILE and
 * SIBYL_CONFIG_DIR, which say where credentials.json is; and the launcher's ELECTRON_RUN_AS_NODE.
 * (SIBYL_SANDBOX_ID is set again below.)
 */
const SCRUBBED: ReadonlySet<string> = new Set([
  'SIBYL_RUNNER_TOKEN',
  'SIBYL_AUTH_TOKEN',
  'SIBYL_API_KEY',
  'SIBYL_ACCESS_TOKEN',
  'SIBYL_REFRESH_TOKEN',
  ...RUNNER_ENV_VARS,
  // The packaged CLI runs on the app's Electron in Node mode; an agent that starts an Electron
  // program (an editor, another tool) must get the real thing, not a Node.
  'ELECTRON_RUN_AS_NODE',
]);

/** Shorter strings are not treated as secrets: a substring test on them would drop unrelated variables. */
const MIN_SECRET_LENGTH = 8;

/**
 * The agent's environment: the daemon's, minus our credentials, plus the task variables.
 * Not an allow-list: agents (Claude Code, Codex, Aider) need their own API keys from the
 * user's environment; what we hold back is everything that would let the agent act as the runner:
 * the variables in SCRUBBED, and any variable whose value contains one of `secrets` (the runner's
 * access, refresh and runner tokens), e.g. `AUTH="Bearer <token>"` or a URL with the token in it.
 * `extra` (the agent's configured `env`, the workspace's variables) is the user's and kept as given.
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
  const secrets = [...new Set(opts.secrets.filter((s) => s.length >= MIN_SECRET_LENGTH))];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.base)) {
    if (v === undefined || SCRUBBED.has(k) || secrets.some((secret) => v.includes(secret))) continue;
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
