import type { EventPayload, LogLine } from '../../preload/contract.ts';
import { call, on } from './bridge.ts';

const KEEP = 200;
type Listener = (taskId: string, lines: readonly LogLine[]) => void;

/**
 * The tail of each running task's output, fed by `task:lines` pushes (batched in main, ~10 a
 * second per task). Received batches are applied once per animation frame: a burst of output
 * costs one redraw per frame per task, not one per line. Kept outside the dashboard so leaving
 * the screen and coming back does not lose what already streamed. A task seen for the first time
 * is seeded once from its log file (the window may have opened mid-task); lines pushed while that
 * read was in flight are kept after it, without duplicates.
 */
export class LiveLogs {
  private readonly tails = new Map<string, LogLine[]>();
  private readonly seeded = new Set<string>();
  private readonly listeners = new Set<Listener>();
  /** batches received since the last frame, applied together */
  private queued: EventPayload<'task:lines'>[] = [];
  private frame: number | undefined;

  start(): void {
    on('task:lines', (batch) => this.enqueue(batch));
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

  private enqueue(batch: EventPayload<'task:lines'>): void {
    this.queued.push(batch);
    this.frame ??= requestAnimationFrame(() => this.apply());
  }

  private apply(): void {
    this.frame = undefined;
    const batches = this.queued;
    this.queued = [];
    const changed = new Set<string>();
    for (const { taskId, lines } of batches) {
      const tail = this.tails.get(taskId) ?? [];
      // Only the last KEEP lines of a batch can stay: a large batch is not copied line by line.
      tail.push(...lines.slice(-KEEP));
      if (tail.length > KEEP) tail.splice(0, tail.length - KEEP);
      this.tails.set(taskId, tail);
      changed.add(taskId);
    }
    for (const taskId of changed) this.emit(taskId);
  }

  private emit(taskId: string): void {
    const lines = this.lines(taskId);
    for (const listener of [...this.listeners]) listener(taskId, lines);
  }
}

const key = (l: LogLine): string => `${l.at}\u0000${l.stream}\u0000${l.text}`;
