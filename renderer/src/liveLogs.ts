import type { EventPayload, LogLine } from '../../preload/contract.ts';
import { call, on } from './bridge.ts';

const KEEP = 200;
type Listener = (taskId: string, lines: readonly LogLine[]) => void;

/**
 * The tail of each running task's output, fed by `task:line` pushes. Kept outside the dashboard so
 * leaving the screen and coming back does not lose what already streamed. A task seen for the first
 * time is seeded once from its log file (the window may have opened mid-task); lines pushed while
 * that read was in flight are kept after it, without duplicates.
 */
export class LiveLogs {
  private readonly tails = new Map<string, LogLine[]>();
  private readonly seeded = new Set<string>();
  private readonly listeners = new Set<Listener>();

  start(): void {
    on('task:line', (line) => this.push(line));
  }

  lines(taskId: string): readonly LogLine[] {
    return this.tails.get(taskId) ?? [];
  }

  seed(taskId: string): void {
    if (this.seeded.has(taskId)) return;
    this.seeded.add(taskId);
    call('logs:read', { taskId, tail: 50 }).then(
      ({ lines }) => {
        const seen = new Set(lines.map(key));
        const pushed = (this.tails.get(taskId) ?? []).filter((l) => !seen.has(key(l)));
        this.tails.set(taskId, [...lines, ...pushed].slice(-KEEP));
        this.emit(taskId);
      },
      // No log yet (the task is still preparing its worktree): the pushes will fill the tail.
      () => undefined,
    );
  }

  /** Forget tasks that are no longer running. */
  retain(running: ReadonlySet<string>): void {
    for (const id of [...this.tails.keys(), ...this.seeded]) {
      if (running.has(id)) continue;
      this.tails.delete(id);
      this.seeded.delete(id);
    }
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private push(event: EventPayload<'task:line'>): void {
    const tail = this.tails.get(event.taskId) ?? [];
    tail.push({ at: event.at, stream: event.stream, text: event.text });
    if (tail.length > KEEP) tail.splice(0, tail.length - KEEP);
    this.tails.set(event.taskId, tail);
    this.emit(event.taskId);
  }

  private emit(taskId: string): void {
    const lines = this.lines(taskId);
    for (const listener of [...this.listeners]) listener(taskId, lines);
  }
}

const key = (l: LogLine): string => `${l.at}\u0000${l.stream}\u0000${l.text}`;
