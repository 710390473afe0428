import * as z from 'zod';
import { oneLine } from '../vocabulary.ts';
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
import { commandText, shownPath } from './toolWords.ts';

/**
 * `codex exec --json` events (JSON lines): thread.started, turn.started/completed/failed,
 * item.started/updated/completed with typed items, error. Unknown kinds are ignored.
 */
const Item = z.looseObject({
  id: z.string(),
  type: z.string(),
  text: z.string().optional(),
  command: z.unknown().optional(),
  exit_code: z.number().nullable().optional(),
  status: z.string().optional(),
  changes: z.array(z.looseObject({ path: z.string(), kind: z.string().optional() })).optional(),
  items: z.array(z.looseObject({ text: z.string().optional(), completed: z.boolean().optional() })).optional(),
  server: z.string().optional(),
  tool: z.string().optional(),
  query: z.string().optional(),
  message: z.string().optional(),
  /** command_execution: what the command printed */
  aggregated_output: z.string().optional(),
  /** mcp_tool_call: the call's arguments, its result or its error */
  arguments: z.unknown().optional(),
  result: z.unknown().optional(),
  error: z.unknown().optional(),
});
type Item = z.infer<typeof Item>;
const CodexEvent = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('thread.started'), thread_id: z.string() }),
  z.looseObject({ type: z.literal('turn.started') }),
  z.looseObject({
    type: z.literal('turn.completed'),
    usage: z
      .looseObject({
        input_tokens: z.number().optional(),
        cached_input_tokens: z.number().optional(),
        cache_write_input_tokens: z.number().optional(),
        output_tokens: z.number().optional(),
      })
      .optional(),
  }),
  z.looseObject({ type: z.literal('turn.failed'), error: z.looseObject({ message: z.string() }).optional() }),
  z.looseObject({ type: z.enum(['item.started', 'item.updated', 'item.completed']), item: Item }),
  z.looseObject({ type: z.literal('error'), message: z.string().optional() }),
]);

/** Codex's sandbox per agent type: read-only for planners and reviewers, the worktree for the rest. */
function sandboxFor(readOnly: boolean): string {
  return readOnly ? 'read-only' : 'workspace-write';
}

export const codex: AgentPreset = {
  name: 'codex',
  binary: 'codex',
  label: 'Codex',
  install: 'npm install -g @openai/codex',
  launch(ctx) {
    const s = ctx.settings;
    // `-` reads the prompt from stdin; approvals are never asked for (nobody can answer).
    const argv = [ctx.executable, 'exec', '--json', '--skip-git-repo-check', '-c', 'approval_policy="never"'];
    if (s.unsafe_skip_permissions) argv.push('--dangerously-bypass-approvals-and-sandbox');
    else argv.push('--sandbox', s.permission_mode ?? sandboxFor(ctx.readOnly));
    if (s.model) argv.push('--model', s.model);
    argv.push(...(s.args ?? []), '-');
    return { argv, stdin: `${ctx.context}\n\n${ctx.prompt}`, env: { ...(s.env ?? {}) }, interruptSignal: 'SIGINT', model: s.model };
  },
  parser: (cwd) => new CodexStreamParser(cwd),
};

/** Codex's JSONL → steps, activity, progress and the result's fields. */
export class CodexStreamParser implements AgentStreamParser {
  readonly #cwd: string;
  readonly #steps = new Map<string, AgentStep>();
  #outcome: AgentOutcome = {};
  /** the last `error` event, until a turn completes after it */
  #pendingError: string | undefined;

  constructor(cwd: string) {
    this.#cwd = cwd;
  }

  line(text: string, now: number): ParsedLine {
    const ev = parseEventLine(text, CodexEvent);
    if (!ev) return {};
    const o = this.#outcome;
    switch (ev.type) {
      case 'thread.started':
        o.session_id = ev.thread_id;
        return {};
      case 'turn.started':
        return {};
      case 'turn.completed': {
        this.#pendingError = undefined;
        const u = ev.usage;
        if (u) {
          const prev = o.usage ?? { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
          o.usage = {
            input_tokens: prev.input_tokens + (u.input_tokens ?? 0),
            output_tokens: prev.output_tokens + (u.output_tokens ?? 0),
            cache_read_input_tokens: prev.cache_read_input_tokens + (u.cached_input_tokens ?? 0),
            cache_creation_input_tokens: prev.cache_creation_input_tokens + (u.cache_write_input_tokens ?? 0),
          };
        }
        o.num_turns = (o.num_turns ?? 0) + 1;
        return {};
      }
      case 'turn.failed':
        o.error = oneLine(ev.error?.message ?? 'the turn failed', 300);
        return { activity: 'Codex reported an error' };
      case 'error':
        // "Reconnecting... 1/5": fatal only if no turn completes after it.
        this.#pendingError = oneLine(ev.message ?? 'error', 300);
        return {};
      default:
        return this.#item(ev.type, ev.item, now);
    }
  }

  #item(kind: 'item.started' | 'item.updated' | 'item.completed', item: Item, now: number): ParsedLine {
    const done = kind === 'item.completed';
    if (item.type === 'agent_message') {
      if (done && item.text !== undefined) this.#outcome.summary = cutBytes(item.text, 4096);
      if (!item.text) return {};
      // Updates repeat the message so far; the transcript takes it once, complete.
      return { activity: oneLine(item.text, 120), ...(done && item.text.trim() ? { message: item.text.trim() } : {}) };
    }
    if (item.type === 'reasoning') return { activity: 'Thinking' };
    if (item.type === 'todo_list' && item.items?.length) {
      const finished = item.items.filter((t) => t.completed).length;
      return { activity: 'Planning', progress: Math.round((finished / item.items.length) * 100) };
    }
    // Codex reports warnings as error items (e.g. unknown model metadata); only turn.failed and error events fail a run.
    if (item.type === 'error') return {};
    const title = this.#title(item);
    if (!title) return {};
    const step = this.#steps.get(item.id) ?? {
      id: item.id,
      title,
      tool: item.type,
      state: 'running' as const,
      startedAt: now,
      endedAt: undefined,
    };
    step.title = title;
    const detail = stepDetail(...this.#detail(item));
    if (detail !== undefined) step.detail = detail;
    if (done) {
      const failed = item.status === 'failed' || (item.exit_code !== undefined && item.exit_code !== null && item.exit_code !== 0);
      step.state = failed ? 'error' : 'ok';
      step.endedAt = now;
    }
    this.#steps.set(item.id, step);
    return { activity: title, steps: [{ ...step }] };
  }

  /** What the item was given and what came of it, as text (stepDetail makes it fit). */
  #detail(item: Item): [input: string, result: string | undefined] {
    const json = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v, null, 2));
    switch (item.type) {
      case 'command_execution': {
        const code = item.exit_code !== undefined && item.exit_code !== null && item.exit_code !== 0 ? `exit code ${item.exit_code}` : '';
        return [commandText(item.command), [item.aggregated_output?.trimEnd() ?? '', code].filter(Boolean).join('\n')];
      }
      case 'file_change':
        return [(item.changes ?? []).map((c) => `${c.kind ?? 'update'} ${shownPath(c.path, this.#cwd)}`).join('\n'), undefined];
      case 'mcp_tool_call':
        return [json(item.arguments), json(item.error) || json(item.result)];
      case 'web_search':
        return [item.query ?? '', undefined];
      default:
        return ['', undefined];
    }
  }

  #title(item: Item): string | undefined {
    switch (item.type) {
      case 'command_execution':
        return `Running: ${oneLine(commandText(item.command), 100) || 'a command'}`;
      case 'file_change': {
        const changes = item.changes ?? [];
        if (changes.length === 1) {
          const c = changes[0]!;
          const verb = c.kind === 'add' ? 'Creating' : c.kind === 'delete' ? 'Deleting' : 'Editing';
          return `${verb} ${shownPath(c.path, this.#cwd)}`;
        }
        return `Editing ${changes.length} files`;
      }
      case 'mcp_tool_call':
        return `Using ${item.server ? `${item.server}: ` : ''}${item.tool ?? 'a tool'}`;
      case 'web_search':
        return `Searching the web: ${oneLine(item.query ?? '', 80)}`;
      default:
        return undefined;
    }
  }

  outcome(): AgentOutcome {
    const error = this.#outcome.error ?? this.#pendingError;
    return { ...this.#outcome, ...(error !== undefined ? { error } : {}) };
  }
}
