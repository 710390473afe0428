import * as z from 'zod';

/** The agent presets this runner knows (issue 11); `command` is a plain program (the task's or exec_command). */
export const AGENT_NAMES = ['claude-code', 'codex', 'gemini', 'aider', 'opencode', 'command'] as const;
export const AgentName = z.enum(AGENT_NAMES);
export type AgentName = z.infer<typeof AgentName>;
/** The agent CLIs with a preset (everything but the plain `command`). */
export type PresetName = Exclude<AgentName, 'command'>;

/** The agent CLIs tried, in order, when nothing is configured: the first one installed runs. */
export const AUTO_AGENTS: readonly PresetName[] = ['claude-code', 'codex', 'gemini', 'aider'];

/** Sibyl's agent types (protocol §4.8 `agent_type`). */
export const AGENT_TYPES = ['general', 'planner', 'implementer', 'tester', 'reviewer', 'integrator', 'orchestrator'] as const;
export type AgentType = (typeof AGENT_TYPES)[number];

/** Agent types that look but never touch: no file writes, no commits. */
export const READ_ONLY_TYPES: ReadonlySet<string> = new Set(['planner', 'reviewer']);

/**
 * Shell commands an editing agent may run without asking, as command prefixes: looking around and
 * the common test runners. Not a sandbox: a test command runs the repository's own code, which the
 * agent may have edited. Interpreters (`node`, `python`), `npm run`/`make` (any script) and git
 * commands that take `--output` are left out on purpose; add them in `allowed_commands`.
 */
export const DEFAULT_ALLOWED_COMMANDS: readonly string[] = [
  'ls',
  'cat',
  'head',
  'tail',
  'wc',
  'grep',
  'rg',
  'git status',
  'npm test',
  'pnpm test',
  'yarn test',
  'python -m pytest',
  'pytest',
  'cargo test',
  'go test',
];

/** runner.yaml `agents.<name>`: how this runner launches one agent CLI. */
export const AgentSettings = z
  .object({
    /** the executable: an absolute path or a name looked up on PATH */
    command: z.string().min(1),
    model: z.string().min(1),
    /** extra arguments, appended after the preset's own */
    args: z.array(z.string()),
    /** extra environment for this agent (e.g. a provider base URL); the user's environment is inherited */
    env: z.record(z.string(), z.string()),
    /** the agent's own permission mode, overriding the one chosen from the agent type */
    permission_mode: z.string().min(1),
    /** shell command prefixes editing agents may run (default: DEFAULT_ALLOWED_COMMANDS) */
    allowed_commands: z.array(z.string().min(1)),
    /** run without the agent's permission system at all; only when set explicitly */
    unsafe_skip_permissions: z.boolean(),
    timeout_seconds: z.number().positive(),
  })
  .partial()
  .strict();
export type AgentSettings = z.infer<typeof AgentSettings>;

/** runner.yaml `agents`: per-agent settings, and which agent runs each agent type. */
export const AgentsConfig = z
  .object({
    by_agent_type: z.partialRecord(z.enum(AGENT_TYPES), AgentName),
    'claude-code': AgentSettings,
    codex: AgentSettings,
    gemini: AgentSettings,
    aider: AgentSettings,
    opencode: AgentSettings,
  })
  .partial()
  .strict();
export type AgentsConfig = z.infer<typeof AgentsConfig>;
