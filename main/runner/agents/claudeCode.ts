import * as z from 'zod';
import { oneLine } from '../vocabulary.ts';
import { DEFAULT_ALLOWED_COMMANDS } from './agentSettings.ts';
import {
  cutBytes,
  parseEventLine,
  stepDetail,
  type AgentOutcome,
  type AgentPreset,
  type AgentStep,
  type AgentStreamParser,
  type ParsedLine,
} from './preset.ts';
import { toolWords } from './toolWords.ts';

/**
 * Claude Code's `--output-format stream-json --verbose` events (one JSON object per line). Only
 * the fields we read are checked; everything else passes (the CLI adds fields between versions).
 */
const TextBlock = z.looseObject({ type: z.literal('text'), text: z.string() });
const ToolUseBlock = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string(),
  name: z.string(),
  input: z.record(z.string(), z.unknown()),
});
const ToolResultBlock = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  is_error: z.boolean().optional(),
  content: z.union([z.string(), z.array(z.unknown())]).optional(),
});
const Usage = z.looseObject({
  input_tokens: z.number().optional(),
  output_tokens: z.number().optional(),
  cache_read_input_tokens: z.number().optional(),
  cache_creation_input_tokens: z.number().optional(),
});
const Denial = z.looseObject({ tool_name: z.string(), tool_input: z.unknown().optional() });

const ClaudeEvent = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('system'),
    subtype: z.string().optional(),
    session_id: z.string().optional(),
    model: z.string().optional(),
  }),
  z.looseObject({
    type: z.literal('assistant'),
    session_id: z.string().optional(),
    message: z.looseObject({ model: z.string().optional(), content: z.array(z.unknown()) }),
  }),
  z.looseObject({ type: z.literal('user'), message: z.looseObject({ content: z.union([z.string(), z.array(z.unknown())]) }) }),
  z.looseObject({
    type: z.literal('result'),
    subtype: z.string().optional(),
    is_error: z.boolean().optional(),
    result: z.string().optional(),
    session_id: z.string().optional(),
    total_cost_usd: z.number().optional(),
    num_turns: z.number().optional(),
    usage: Usage.optional(),
    permission_denials: z.array(Denial).optional(),
  }),
]);

const Todos = z.object({ todos: z.array(z.looseObject({ status: z.string() })) });

/** A tool's input as text: one `key: value` per line, strings as they are (a command, a file's content). */
function inputText(input: Record<string, unknown>): string {
  return Object.entries(input)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('\n');
}

/** A tool result's content as text: a string, or text blocks (images and other blocks are named, not shown). */
function resultText(content: string | unknown[] | undefined): string {
  if (content === undefined || typeof content === 'string') return content ?? '';
  return content
    .map((block) => {
      const text = TextBlock.safeParse(block);
      if (text.success) return text.data.text;
      const type = z.looseObject({ type: z.string() }).safeParse(block);
      return type.success ? `[${type.data.type}]` : '';
    })
    .filter(Boolean)
    .join('\n');
}

/** What the model is asked to keep in mind about the task (appended to Claude Code's system prompt). */
function systemPrompt(context: string, readOnly: boolean): string {
  return [
    'You are running as an agent of Sibyl Runner, non-interactively: nobody can answer questions during this run.',
    readOnly
      ? 'This task is read-only: inspect and report; do not modify files or commit.'
      : 'Work only inside the current directory (a git worktree made for this task). Leave your changes in the working tree; the runner commits them.',
    context,
  ].join('\n');
}

export const claudeCode: AgentPreset = {
  name: 'claude-code',
  binary: 'claude',
  label: 'Claude Code',
  install: 'npm install -g @anthropic-ai/claude-code',
  launch(ctx) {
    const s = ctx.settings;
    const argv = [ctx.executable, '-p', '--output-format', 'stream-json', '--verbose'];
    if (s.unsafe_skip_permissions) argv.push('--dangerously-skip-permissions');
    else if (s.permission_mode) argv.push('--permission-mode', s.permission_mode);
    else if (ctx.readOnly) argv.push('--permission-mode', 'plan');
    else {
      // Edits inside the worktree are accepted; shell commands only from the allow-list.
      argv.push('--permission-mode', 'acceptEdits');
      const allowed = s.allowed_commands ?? DEFAULT_ALLOWED_COMMANDS;
      if (allowed.length) argv.push('--allowedTools', ...allowed.map((c) => `Bash(${c}:*)`));
    }
    if (s.model) argv.push('--model', s.model);
    argv.push('--append-system-prompt', systemPrompt(ctx.context, ctx.readOnly));
    argv.push(...(s.args ?? []));
    return { argv, stdin: ctx.prompt, env: { ...(s.env ?? {}) }, interruptSignal: 'SIGINT', model: s.model };
  },
  parser: (cwd) => new ClaudeStreamParser(cwd),
};

/** Claude Code's stream-json → steps, activity, progress and the result's fields. */
export class ClaudeStreamParser implements AgentStreamParser {
  readonly #steps = new Map<string, AgentStep>();
  /** the input of each call still waiting for its result, as text (for the step's detail) */
  readonly #inputs = new Map<string, string>();
  readonly #cwd: string;
  #outcome: AgentOutcome = {};

  constructor(cwd: string) {
    this.#cwd = cwd;
  }

  line(text: string, now: number): ParsedLine {
    const ev = parseEventLine(text, ClaudeEvent);
    if (!ev) return {};
    switch (ev.type) {
      case 'system':
        if (ev.session_id) this.#outcome.session_id = ev.session_id;
        if (ev.model) this.#outcome.model = ev.model;
        // The runner already said "Starting Claude Code" when it launched it.
        return {};
      case 'assistant': {
        if (ev.message.model) this.#outcome.model = ev.message.model;
        const out: ParsedLine = {};
        const steps: AgentStep[] = [];
        const said: string[] = [];
        for (const block of ev.message.content) {
          const tool = ToolUseBlock.safeParse(block);
          if (tool.success) {
            const title = toolWords(tool.data.name, tool.data.input, this.#cwd);
            const input = inputText(tool.data.input);
            const step: AgentStep = { id: tool.data.id, title, tool: tool.data.name, state: 'running', startedAt: now, endedAt: undefined };
            const detail = stepDetail(input);
            if (detail !== undefined) step.detail = detail;
            this.#steps.set(step.id, step);
            this.#inputs.set(step.id, input);
            steps.push({ ...step });
            out.activity = title;
            const todos = tool.data.name === 'TodoWrite' ? Todos.safeParse(tool.data.input) : undefined;
            if (todos?.success && todos.data.todos.length) {
              const done = todos.data.todos.filter((t) => t.status === 'completed').length;
              out.progress = Math.round((done / todos.data.todos.length) * 100);
            }
            continue;
          }
          const textBlock = TextBlock.safeParse(block);
          if (textBlock.success && textBlock.data.text.trim()) {
            out.activity ??= oneLine(textBlock.data.text, 120);
            said.push(textBlock.data.text.trim());
          }
        }
        if (steps.length) out.steps = steps;
        if (said.length) out.message = said.join('\n\n');
        return out;
      }
      case 'user': {
        if (typeof ev.message.content === 'string') return {};
        const steps: AgentStep[] = [];
        for (const block of ev.message.content) {
          const r = ToolResultBlock.safeParse(block);
          const step = r.success ? this.#steps.get(r.data.tool_use_id) : undefined;
          if (!r.success || !step) continue;
          step.state = r.data.is_error ? 'error' : 'ok';
          step.endedAt = now;
          const detail = stepDetail(this.#inputs.get(step.id) ?? '', resultText(r.data.content));
          this.#inputs.delete(step.id);
          if (detail !== undefined) step.detail = detail;
          steps.push({ ...step });
        }
        return steps.length ? { steps } : {};
      }
      case 'result': {
        const o = this.#outcome;
        if (ev.session_id) o.session_id = ev.session_id;
        if (ev.result !== undefined) o.summary = cutBytes(ev.result, 4096);
        if (ev.total_cost_usd !== undefined) o.cost_usd = ev.total_cost_usd;
        if (ev.num_turns !== undefined) o.num_turns = ev.num_turns;
        if (ev.usage)
          o.usage = {
            input_tokens: ev.usage.input_tokens ?? 0,
            output_tokens: ev.usage.output_tokens ?? 0,
            cache_read_input_tokens: ev.usage.cache_read_input_tokens ?? 0,
            cache_creation_input_tokens: ev.usage.cache_creation_input_tokens ?? 0,
          };
        if (ev.permission_denials?.length) {
          // What was asked for, in words ("Running: curl …", "Writing /etc/x"), never raw JSON.
          o.permission_denials = ev.permission_denials.map((d) => ({
            tool: d.tool_name,
            input: oneLine(toolWords(d.tool_name, isRecord(d.tool_input) ? d.tool_input : {}, this.#cwd), 200),
          }));
          // Nobody can answer in a non-interactive run: a question the agent tried to ask is what it needs.
          const asked = ev.permission_denials.find((d) => d.tool_name === 'AskUserQuestion');
          const question = asked ? questionIn(asked.tool_input) : undefined;
          if (question) o.question = question;
        }
        if (ev.is_error) o.error = oneLine(ev.result ?? ev.subtype ?? 'the agent reported an error', 300);
        return { activity: ev.is_error ? 'Claude Code reported an error' : 'Finished' };
      }
    }
  }

  outcome(): AgentOutcome {
    return { ...this.#outcome };
  }
}

/** The first question text in AskUserQuestion's input ({ questions: [{ question }] }, or a bare `question`). */
function questionIn(input: unknown): string | undefined {
  const parsed = z
    .object({ questions: z.array(z.object({ question: z.string() })).min(1) })
    .or(z.object({ question: z.string() }))
    .safeParse(input);
  if (!parsed.success) return undefined;
  return oneLine('questions' in parsed.data ? parsed.data.questions[0]!.question : parsed.data.question, 500);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
