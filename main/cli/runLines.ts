import type { LinkStatus } from '../runner/link/link.ts';
import type { RejectReason, TaskComplete, TaskResult } from '../runner/protocol/messages.ts';
import type { TaskObserver } from '../runner/tasks/taskEvents.ts';
import { duration, promptSummary, shortId, taskReason } from '../runner/vocabulary.ts';

/**
 * What `sibyl-runner run` tells the person at the terminal (issue 15, item 11): the runner's
 * story in lines of plain words — online, each task's start and end with its reason, a lost
 * connection and the next try — while the JSON log goes to runner.log only (`--verbose` shows it
 * too). Pure over its inputs: the link's status and the task events, and `now` for the retry
 * countdown, so tests feed it directly.
 */

/** What a started task's line names, looked up in the daemon when the agent starts. */
export interface StartedTaskFacts {
  prompt: string;
  /** the agent preset (claude-code, codex, …, or command), once chosen */
  agent: string | undefined;
}

export interface RunLinesOptions {
  /** prints one line (the CLI's terminal-safe println) */
  say(line: string): void;
  /** the name the runner goes by (runner.yaml `name`, else the machine's, as `register` sent it) */
  name: string;
  /** the running task's prompt and agent, when the daemon still has it */
  lookup(taskId: string): StartedTaskFacts | undefined;
  /** epoch ms */
  now?: () => number;
  /**
   * How long a connection must stay open before "online" is said (ms; default 1000, 0 = at once).
   * The server accepts every upgrade and refuses credentials by closing at once (protocol §4.2:
   * 1008/4003 right after HTTP 101), so an open socket is not yet being online.
   */
  onlineAfterMs?: number;
  /** "online" was said (a connection stayed open): what needed the person is solved */
  onOnline?: () => void;
}

/** A prompt in a line is cut to this many characters: the line stays within a terminal's 100 columns. */
const PROMPT_CHARS = 60;

export class RunLines {
  readonly #o: RunLinesOptions;
  readonly #now: () => number;
  #wasOnline = false;
  /** the link state last told, so repeated changes (tasks, heartbeats) say nothing new */
  #told = '';
  /** prompts of tasks assigned but not yet started or refused */
  readonly #prompts = new Map<string, string>();
  /** the open connection not yet said to be online (see onlineAfterMs) */
  #openTimer: NodeJS.Timeout | undefined;
  /** stopping was said: nothing says online any more */
  #stopping = false;

  constructor(o: RunLinesOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  /** The link changed (or anything else did: only a new state or a new attempt is told). */
  link(status: Pick<LinkStatus, 'state' | 'reason' | 'attempts' | 'nextRetryAt'>): void {
    const key = `${status.state}:${status.attempts}:${status.nextRetryAt ?? ''}`;
    if (key === this.#told) return;
    if (status.state !== 'open' && this.#openTimer) {
      // That connection did not last: the next open is a new one to wait for.
      clearTimeout(this.#openTimer);
      this.#openTimer = undefined;
      this.#told = '';
    }
    switch (status.state) {
      case 'open': {
        this.#told = key;
        const after = this.#o.onlineAfterMs ?? 1000;
        if (after === 0) return this.#online();
        clearTimeout(this.#openTimer);
        this.#openTimer = setTimeout(() => this.#online(), after);
        this.#openTimer.unref();
        return;
      }
      case 'waiting': {
        if (status.nextRetryAt === undefined) return;
        this.#told = key;
        const lost = this.#wasOnline && status.attempts <= 1 ? 'connection lost' : "can't reach server";
        // A WebSocket close code means nothing to a person (the log keeps it): "the connection dropped (1006)".
        const why = status.reason ? `: ${status.reason.replace(/ \(1\d{3}\)/g, '')}` : '';
        this.#o.say(`${lost}, retrying in ${seconds(status.nextRetryAt - this.#now())} (attempt ${status.attempts})${why}`);
        return;
      }
      default:
        // connecting says nothing until it succeeds or fails; signed out and giving up are said on stderr with what to do.
        return;
    }
  }

  #online(): void {
    clearTimeout(this.#openTimer);
    this.#openTimer = undefined;
    if (this.#stopping) return;
    this.#o.say(this.#wasOnline ? `online again as ${this.#o.name}` : `online as ${this.#o.name}, waiting for tasks (Ctrl+C to stop)`);
    this.#wasOnline = true;
    this.#o.onOnline?.();
  }

  /** The task events that make lines: start, refusal, end. */
  observer(): TaskObserver {
    return {
      assigned: (spec) => {
        // A task from the server proves the connection was accepted: online now, before its start line.
        if (this.#openTimer) this.#online();
        this.#prompts.set(spec.taskId, spec.prompt);
      },
      started: (taskId) => this.#started(taskId),
      rejected: (taskId, reason, detail) => this.#rejected(taskId, reason, detail),
      finished: (taskId, result, message) => this.#finished(taskId, result, message),
    };
  }

  /** Where /metrics, /healthz and /readyz are served (the port the system chose, for `:0`). */
  metrics(url: string): void {
    this.#o.say(`metrics and health at ${url}/metrics, /healthz and /readyz`);
  }

  /** The first SIGINT/SIGTERM: what draining waits for, and how to stop waiting. */
  stopping(running: number): void {
    this.#stopping = true;
    clearTimeout(this.#openTimer);
    if (running === 0) return this.#o.say('stopping');
    // The drain asks each agent to stop (its interrupt signal) and waits for it, up to drain_timeout;
    // the task is reported as cancelled and retryable.
    this.#o.say(
      running === 1
        ? 'stopping: asking the running agent to stop; Sibyl can retry its task (Ctrl+C again to end it now)'
        : `stopping: asking the ${running} running agents to stop; Sibyl can retry their tasks (Ctrl+C again to end them now)`,
    );
  }

  /** The second signal. */
  hurrying(): void {
    this.#o.say('ending the running agents now');
  }

  stopped(): void {
    clearTimeout(this.#openTimer);
    this.#o.say('stopped');
  }

  #started(taskId: string): void {
    const facts = this.#o.lookup(taskId);
    const prompt = facts?.prompt ?? this.#prompts.get(taskId) ?? '';
    this.#prompts.delete(taskId);
    const agent = facts?.agent ? ` (${facts.agent})` : '';
    this.#o.say(`task ${shortId(taskId)} started: ${promptSummary(prompt, PROMPT_CHARS)}${agent}`);
  }

  #rejected(taskId: string, reason: RejectReason, detail: string): void {
    this.#prompts.delete(taskId);
    const why = taskReason({ status: 'rejected', error: detail, exitCode: null, rejectReason: reason });
    this.#o.say(`task ${shortId(taskId)} refused: ${lower(why)}`);
  }

  #finished(taskId: string, result: TaskResult, message: TaskComplete): void {
    this.#prompts.delete(taskId);
    const took = duration(result.duration_s);
    const id = `task ${shortId(taskId)}`;
    const why = taskReason({ status: result.status, error: result.error ?? message.error ?? null, exitCode: result.exit_code });
    switch (result.status) {
      case 'completed':
        return this.#o.say(`${id} completed in ${took}`);
      case 'timeout':
        return this.#o.say(`${id} timed out after ${took}`);
      case 'cancelled':
        // "cancelled by Sibyl after 12s"; another cause follows the time.
        if (why.startsWith('Cancelled')) return this.#o.say(`${id} ${lower(why)} after ${took}`);
        return this.#o.say(`${id} cancelled after ${took}${why ? `: ${lower(why)}` : ''}`);
      case 'failed':
        return this.#o.say(`${id} failed after ${took}${why ? `: ${lower(why)}` : ''}`);
      default:
        return unhandled(result.status);
    }
  }
}

/** "4s", "0.5s" (as the window and `status` write durations): whole seconds from 1 s on (the backoff's own steps), tenths below, at least 0.1 s. */
export function seconds(ms: number): string {
  const s = ms / 1000;
  return s >= 1 ? `${Math.round(s)}s` : `${Math.max(1, Math.round(s * 10)) / 10}s`;
}

/** "At capacity (3/3)" reads "at capacity (3/3)" after a colon; a proper noun or a command stays as it is. */
function lower(text: string): string {
  return /^[A-Z][a-z]/.test(text) && !/^(Sibyl|Claude|Codex|Gemini|Aider)\b/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text;
}

function unhandled(x: never): never {
  throw new Error(`unhandled task status: ${String(x)}`);
}
