import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Handlers, Transcript, TranscriptEntry } from '../../../preload/contract.ts';
import { AGENT_NAMES, type PresetName } from '../../runner/agents/agentSettings.ts';
import { cutBytes, type AgentStreamParser } from '../../runner/agents/preset.ts';
import { PRESETS } from '../../runner/agents/presets.ts';
import { errorMessage, RunnerError } from '../../runner/errors.ts';
import { parseLogLine } from '../../runner/tasks/taskLog.ts';
import type { AppContext } from '../appContext.ts';

/** The newest entries a transcript keeps; older ones are counted in `omitted`. */
const MAX_ENTRIES = 2000;
/** A message's budget: a long final report stays readable; the log keeps the whole text. */
const MESSAGE_BYTES = 8 * 1024;

/**
 * `tasks:transcript`: what the agent said and did, replayed from the task's log through its
 * preset's stream parser — the same parser that drew the live timeline, so both say the same
 * words. Nothing is stored twice: the log is the record, the transcript is a reading of it.
 */
export function transcriptHandlers(app: Pick<AppContext, 'history' | 'host'>): Pick<Handlers, 'tasks:transcript'> {
  return {
    'tasks:transcript': async ({ taskId }) => {
      const record = await app.history()?.get(taskId);
      // A running task's history row learns its agent and log only when it finishes; the live view knows them now.
      const live = app.host.snapshot()?.running.find((t) => t.taskId === taskId);
      if (!record && !live) throw new RunnerError('not_found', `no task ${taskId} in this runner's history`, { context: { taskId } });
      const agent = record?.agent ?? live?.agent ?? null;
      const logPath = record?.logPath ?? live?.logPath;
      const parser = isPreset(agent) ? PRESETS[agent].parser(record?.worktreePath ?? live?.worktreePath ?? '') : undefined;
      if (!parser || !logPath) return { agent, entries: [], omitted: 0 };
      return { agent, ...(await replay(logPath, parser)) };
    },
  };
}

function isPreset(agent: string | null): agent is PresetName {
  return agent !== null && agent !== 'command' && (AGENT_NAMES as readonly string[]).includes(agent);
}

/** Feed the log's stdout lines to the parser, in order, at the times they were written. Streams the file. */
async function replay(logPath: string, parser: AgentStreamParser): Promise<Omit<Transcript, 'agent'>> {
  let entries: TranscriptEntry[] = [];
  let omitted = 0;
  // Where each step's entry is, to finish it in place when its result comes.
  let stepAt = new Map<string, number>();
  // Steps whose entries were dropped: their late results are not entries of their own.
  const dropped = new Set<string>();
  try {
    const input = createReadStream(logPath, { encoding: 'utf8' });
    for await (const raw of createInterface({ input, crlfDelay: Infinity })) {
      const line = parseLogLine(raw);
      if (line.stream !== 'stdout') continue;
      const parsed = parser.line(line.text, Date.parse(line.at) || 0);
      if (parsed.message) entries.push({ kind: 'message', at: line.at, text: cutBytes(parsed.message, MESSAGE_BYTES) });
      for (const step of parsed.steps ?? []) {
        const entry: TranscriptEntry = {
          kind: 'step',
          at: line.at,
          title: step.title,
          tool: step.tool ?? null,
          state: step.state,
          durationMs: step.endedAt !== undefined ? Math.max(0, step.endedAt - step.startedAt) : null,
          ...(step.detail !== undefined ? { detail: step.detail } : {}),
        };
        if (dropped.has(step.id)) continue;
        const at = stepAt.get(step.id);
        if (at === undefined) {
          stepAt.set(step.id, entries.length);
          entries.push(entry);
        } else entries[at] = { ...entry, at: entries[at]!.at };
      }
      // Bounded while reading, not after: a 50 MiB log must not become a 50 MiB answer on the way.
      if (entries.length > 2 * MAX_ENTRIES) {
        const drop = entries.length - MAX_ENTRIES;
        omitted += drop;
        entries = entries.slice(drop);
        const kept = new Map<string, number>();
        for (const [id, i] of stepAt) {
          if (i >= drop) kept.set(id, i - drop);
          else dropped.add(id);
        }
        stepAt = kept;
      }
    }
  } catch (err) {
    throw new RunnerError('not_found', `the log of this task cannot be read: ${errorMessage(err)}`, { cause: err, context: { logPath } });
  }
  if (entries.length > MAX_ENTRIES) {
    omitted += entries.length - MAX_ENTRIES;
    entries = entries.slice(-MAX_ENTRIES);
  }
  return { entries, omitted };
}
