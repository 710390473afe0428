import type { AgentSettings, PresetName } from './agentSettings.ts';

/** What a preset knows when it builds the launch of one task's agent. */
export interface LaunchContext {
  /** the task's prompt, whole */
  prompt: string;
  /** a file in the runner's state folder holding the whole prompt (SIBYL_TASK_PROMPT_FILE) */
  promptFile: string;
  /** Sibyl's agent type (§4.8), e.g. implementer or reviewer */
  agentType: string | undefined;
  /** planner/reviewer: no file writes, no commits */
  readOnly: boolean;
  /** the task's context for the agent's system prompt: ids, branch, worktree */
  context: string;
  /** the executable to run (configured path, or the preset's binary name found on PATH) */
  executable: string;
  settings: AgentSettings;
}

/** How one agent process is started and stopped. */
export interface AgentLaunch {
  argv: string[];
  /** written to the agent's stdin, which is then closed; never in argv or the environment (E2BIG) */
  stdin: string | undefined;
  /** extra environment on top of the task's */
  env: Record<string, string>;
  /** the first signal on cancel or timeout (the way the agent expects to be interrupted); SIGKILL to the group after the grace period */
  interruptSignal: NodeJS.Signals;
  /** the model asked for, when the launch names one */
  model: string | undefined;
}

/** Token counts as the agents report them (Anthropic's names; Codex's are mapped). */
export interface AgentUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

/** One step of the agent's work, for the live timeline and the activity line. */
export interface AgentStep {
  /** stable id within the task (the tool call id, or a counter) */
  id: string;
  /** plain words: "Editing src/upload.ts", "Running: npm test", "Planning" */
  title: string;
  /** the tool's name as the agent calls it, when the step is a tool call */
  tool: string | undefined;
  state: 'running' | 'ok' | 'error';
  /** ms since the epoch */
  startedAt: number;
  endedAt: number | undefined;
  /**
   * What the tool was given and, once it answered, what it answered, as text within
   * DETAIL_BYTES: the transcript's disclosure. The live view leaves it out (it is pushed often).
   */
  detail?: string;
}

/** What a stream parser took from one line of the agent's output. */
export interface ParsedLine {
  /** the activity line to show now, in plain words (never raw JSON) */
  activity?: string;
  /** 0–100 from the agent's own todo list */
  progress?: number;
  /** steps started or finished by this line */
  steps?: AgentStep[];
  /** what the agent said in its own words (assistant text), whole; for the transcript */
  message?: string;
}

/**
 * What the agent reported about its run, gathered while it streamed (kept on cancel and
 * timeout). Fields the agent did not report stay undefined.
 */
export interface AgentOutcome {
  model?: string;
  /** the agent's final message, at most 4 KiB */
  summary?: string;
  usage?: AgentUsage;
  cost_usd?: number;
  num_turns?: number;
  session_id?: string;
  /** what the agent asked for and was refused */
  permission_denials?: { tool: string; input: string }[];
  /** the agent said it failed (e.g. an API error) even if it exited 0 */
  error?: string;
  /** the agent stopped to ask the user something */
  question?: string;
}

/** Reads an agent's stdout line by line. One instance per task. */
export interface AgentStreamParser {
  line(text: string, now: number): ParsedLine;
  outcome(): AgentOutcome;
}

/**
 * One agent CLI: how to launch it non-interactively in the task's worktree, pass it the prompt,
 * read its event stream, and stop it (style.md pattern 14). The task runner knows only this.
 */
export interface AgentPreset {
  name: PresetName;
  /** the executable looked up on PATH when `agents.<name>.command` is not set */
  binary: string;
  /** human name for messages: "Claude Code" */
  label: string;
  /** what to install, for the no_agent error */
  install: string;
  launch(ctx: LaunchContext): AgentLaunch;
  /** a structured parser when the CLI prints an event stream (paths shown relative to `cwd`); plain text otherwise */
  parser(cwd: string): AgentStreamParser | undefined;
}

/** Cut text to at most `max` bytes of UTF-8 (not characters), "…" included, for fields with a byte budget. */
export function cutBytes(text: string, max: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= max) return text;
  // Room for "…" (3 bytes); step back over a partial multi-byte character.
  let end = Math.max(0, max - 3);
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return `${buf.subarray(0, end).toString('utf8')}…`;
}

/** A step's detail budget: enough to recognise a command and its output, small enough to list hundreds. */
export const DETAIL_BYTES = 2048;

/**
 * A step's detail: the tool's input, then a blank line and its result, within DETAIL_BYTES. The
 * input keeps at least half of the budget when both are long, so a command is never crowded out by
 * its output. Undefined when there is neither.
 */
export function stepDetail(input: string, result?: string): string | undefined {
  const inText = input.trim();
  const outText = result?.trim() ?? '';
  if (!outText) return inText ? cutBytes(inText, DETAIL_BYTES) : undefined;
  if (!inText) return cutBytes(outText, DETAIL_BYTES);
  const sep = 2;
  const inBudget = Math.max(DETAIL_BYTES / 2, DETAIL_BYTES - sep - Buffer.byteLength(outText, 'utf8'));
  const shownIn = cutBytes(inText, inBudget);
  return `${shownIn}\n\n${cutBytes(outText, DETAIL_BYTES - sep - Buffer.byteLength(shownIn, 'utf8'))}`;
}

/** One line of an agent's JSON event stream, checked with `schema`; undefined for anything else (text, unknown events). */
export function parseEventLine<T>(
  text: string,
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
): T | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
