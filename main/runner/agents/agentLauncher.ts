import { mkdirSync, writeFileSync } from 'node:fs';
import { readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunnerConfig } from '../config/schema.ts';
import { RunnerError } from '../errors.ts';
import type { TaskSpec } from '../tasks/taskSpec.ts';
import { AGENT_TYPES, AUTO_AGENTS, READ_ONLY_TYPES, type AgentName } from './agentSettings.ts';
import { detectAgents, type InstalledAgent } from './detectAgents.ts';
import { PRESETS } from './presets.ts';
import type { AgentLaunch, AgentStreamParser } from './preset.ts';

/** Under state_dir: each task's prompt file, and each task's TMPDIR. */
const PROMPTS_DIR = 'prompts';
const TMP_DIR = 'tmp';

/**
 * Remove every task's prompt file and TMPDIR under `stateDir`. Only at start-up, under the state
 * lock and before any task runs: then all of them are leftovers of a run that was killed (kill -9,
 * power loss), and prompts must not stay on disk. Returns how many entries were removed.
 */
export async function removeTaskScratch(stateDir: string): Promise<number> {
  let removed = 0;
  for (const folder of [PROMPTS_DIR, TMP_DIR]) {
    const dir = join(stateDir, folder);
    for (const name of await readdir(dir).catch(() => [])) {
      await rm(join(dir, name), { recursive: true, force: true }).catch(() => undefined);
      removed++;
    }
  }
  return removed;
}

/** No agent can run this task here: reported as a failed, retryable task (another runner may have one). */
export class NoAgentError extends RunnerError {
  constructor(message: string) {
    super('no_agent', `no_agent: ${message}`);
  }
}

/** One task's agent, ready to start. */
export interface AgentPlan {
  /** the preset's name, or `command` for the task's own program */
  agent: AgentName;
  /** "Claude Code", or the program's name */
  label: string;
  launch: AgentLaunch;
  parser: AgentStreamParser | undefined;
  /** planner/reviewer: nothing is committed */
  readOnly: boolean;
  /** the whole prompt, for the agent and for SIBYL_TASK_PROMPT_FILE */
  promptFile: string;
  /** how long it may run (s): the task's own timeout, else `agents.<name>.timeout_seconds`, else execution_timeout */
  timeoutSeconds: number;
  /** removes the prompt file; never throws */
  cleanup(): Promise<void>;
}

export type LauncherConfig = Pick<RunnerConfig, 'agent' | 'agents' | 'state_dir'>;

/**
 * Chooses and prepares each task's agent (issue 11): the task's own command; else
 * `agents.by_agent_type.<type>`; else `agent` (runner.yaml, SIBYL_AGENT, `run --agent`); else
 * exec_command; else the first installed of claude-code, codex, gemini, aider. Installed agents
 * are detected once (`--version`, 5 s bound) and cached.
 */
export class AgentLauncher {
  readonly #config: LauncherConfig;
  readonly #env: Record<string, string | undefined>;
  #installed: Promise<InstalledAgent[]> | undefined;

  constructor(config: LauncherConfig, env: Record<string, string | undefined>) {
    this.#config = config;
    this.#env = env;
  }

  /** The agent CLIs found on this machine (cached after the first call). */
  installed(): Promise<InstalledAgent[]> {
    this.#installed ??= detectAgents(this.#config.agents, this.#env);
    return this.#installed;
  }

  /** Which agent runs `spec`; raises NoAgentError when none can. */
  async choose(spec: TaskSpec): Promise<{ agent: AgentName; installed?: InstalledAgent }> {
    if (spec.commandSource === 'config') return { agent: 'command' };
    const type = spec.agentType?.trim().toLowerCase();
    const byType = type
      ? this.#config.agents.by_agent_type?.[type as keyof NonNullable<LauncherConfig['agents']['by_agent_type']>]
      : undefined;
    const wanted = byType ?? (this.#config.agent || undefined);
    const where = byType ? `agents.by_agent_type.${type}` : 'agent';
    if (wanted === 'command' || (wanted === undefined && spec.commandSource === 'env')) {
      if (spec.command.length === 0)
        throw new NoAgentError(`${where} is "command" but no exec_command is configured (runner.yaml or SIBYL_RUNNER_EXEC_CMD)`);
      return { agent: 'command' };
    }
    const installed = await this.installed();
    if (wanted) {
      const found = installed.find((a) => a.preset.name === wanted);
      if (found) return { agent: wanted, installed: found };
      const p = PRESETS[wanted];
      throw new NoAgentError(
        `${p.label} is configured (${where}: ${wanted}) but "${this.#config.agents[wanted]?.command ?? p.binary}" was not found or did not answer --version; install it (${p.install}) or set agents.${wanted}.command`,
      );
    }
    for (const name of AUTO_AGENTS) {
      const found = installed.find((a) => a.preset.name === name);
      if (found) return { agent: name, installed: found };
    }
    throw new NoAgentError(
      `no agent CLI is installed on this runner and none is configured; install Claude Code (${PRESETS['claude-code'].install}) or Codex (${PRESETS.codex.install}), or set "agent" or "exec_command" in runner.yaml`,
    );
  }

  /**
   * The launch of `spec`'s agent in `cwd`: argv, the prompt on stdin or in a file in the state
   * folder (never argv or the environment), the interrupt signal, and a stream parser.
   */
  async plan(spec: TaskSpec, cwd: string, branch: string | undefined): Promise<AgentPlan> {
    const chosen = await this.choose(spec);
    const dir = join(this.#config.state_dir, PROMPTS_DIR);
    // Synchronous: small writes in the runner's own folder, on every task start, where three
    // thread-pool round trips cost more than the writes (see workspace/containment.ts).
    const promptFile = join(dir, `${spec.taskId}.txt`);
    try {
      writeFileSync(promptFile, spec.prompt, { mode: 0o600 });
    } catch (err) {
      // The first task (or the folder was removed): made once, not at every start.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(promptFile, spec.prompt, { mode: 0o600 });
    }
    // The agent's scratch files stay in the runner's folders, one folder per task, removed with it.
    const tmp = join(this.#config.state_dir, TMP_DIR, spec.taskId);
    // At every task end: an unlink, and an rmdir for the scratch folder most agents leave empty;
    // the recursive removal (an lstat and a readdir per entry) only for one that is not.
    const cleanup = async (): Promise<void> => {
      await unlink(promptFile).catch(() => undefined);
      await rmdir(tmp)
        .catch(() => rm(tmp, { recursive: true, force: true }))
        .catch(() => undefined);
    };
    // An agent type we do not know gets the least: read-only (a missing type is `general`).
    const type = spec.agentType?.trim().toLowerCase();
    const readOnly = type !== undefined && (READ_ONLY_TYPES.has(type) || !(AGENT_TYPES as readonly string[]).includes(type));
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
    if (chosen.agent === 'command' || !chosen.installed) {
      const program = spec.command[0] ?? '';
      return {
        agent: 'command',
        label: program.split(/[\\/]/).pop() ?? program,
        launch: { argv: spec.command, stdin: undefined, env: { TMPDIR: tmp }, interruptSignal: 'SIGTERM', model: undefined },
        parser: undefined,
        readOnly,
        promptFile,
        timeoutSeconds: spec.timeoutSeconds,
        cleanup,
      };
    }
    const { preset, executable } = chosen.installed;
    const context = [
      `Sibyl task ${spec.taskId} for agent ${spec.agentId} in project ${spec.projectId}${spec.agentType ? ` (agent type: ${spec.agentType})` : ''}.`,
      branch ? `Your changes go on branch ${branch}.` : '',
    ]
      .filter(Boolean)
      .join(' ');
    const launch = preset.launch({
      prompt: spec.prompt,
      promptFile,
      agentType: spec.agentType,
      readOnly,
      context,
      executable,
      settings: this.#config.agents[preset.name] ?? {},
    });
    const settings = this.#config.agents[preset.name] ?? {};
    const timeoutSeconds = !spec.timeoutFromTask && settings.timeout_seconds ? settings.timeout_seconds : spec.timeoutSeconds;
    launch.env = { TMPDIR: tmp, ...launch.env };
    return { agent: preset.name, label: preset.label, launch, parser: preset.parser(cwd), readOnly, promptFile, timeoutSeconds, cleanup };
  }
}
