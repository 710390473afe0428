import type { Socket } from 'node:net';
import type { TaskObserver } from '../tasks/taskEvents.ts';
import type { FinishedEvent, OutputLine, Snapshot, SubscribeEvent } from './contract.ts';

/** What a subscriber's connection must offer (a net.Socket; tests may pass a stand-in). */
export type FeedSocket = Pick<Socket, 'write' | 'writableLength' | 'destroyed' | 'destroy' | 'end' | 'once'>;

export interface EventFeedOptions {
  /** the daemon's live state, built when a state event is due */
  snapshot(): Snapshot;
  /** write queued history changes now, so a `history` event is only sent once they are on disk */
  flushHistory?(): void;
  /** the least time between two state events (default 100 ms: the latest state wins meanwhile) */
  stateEveryMs?: number;
  /** how long a task's lines are gathered into one batch (default 100 ms: ~10 batches a second) */
  linesEveryMs?: number;
  /** a subscriber's unsent bytes past which its line batches are dropped, and counted (default 1 MiB) */
  backlogLimitBytes?: number;
  /** unsent bytes past which a subscriber that still does not read is disconnected (default 8 MiB) */
  backlogCutBytes?: number;
  /** lines gathered past this many bytes are sent before the interval is up (default 256 KiB) */
  burstBytes?: number;
}

/**
 * The `subscribe` stream's source (control socket, protocol in contract.ts): the daemon's state
 * changes coalesced, every task's output lines batched, finished tasks and history changes, fanned
 * out to each subscribed connection. Nothing is gathered while nobody subscribes.
 *
 * Memory stays bounded whatever a subscriber does: one that does not read (its socket backs up past
 * `backlogLimitBytes`) misses line batches, counted in its next batch of the task; its state is
 * held as the latest one only and sent once it drains; finished events are always written; past
 * `backlogCutBytes` it is disconnected (it can subscribe again and starts from a fresh snapshot).
 */
export class EventFeed {
  readonly #o: Required<Omit<EventFeedOptions, 'flushHistory'>> & Pick<EventFeedOptions, 'flushHistory'>;
  readonly #subscribers = new Set<Subscriber>();
  readonly #tasks = new Map<string, { projectId: string; prompt: string }>();
  #pending = new Map<string, OutputLine[]>();
  #pendingBytes = 0;
  #linesTimer: NodeJS.Timeout | undefined;
  #stateTimer: NodeJS.Timeout | undefined;
  #historyTimer: NodeJS.Timeout | undefined;
  #lastStateAt = 0;

  constructor(opts: EventFeedOptions) {
    this.#o = {
      stateEveryMs: 100,
      linesEveryMs: 100,
      backlogLimitBytes: 1024 * 1024,
      backlogCutBytes: 8 * 1024 * 1024,
      burstBytes: 256 * 1024,
      ...opts,
    };
  }

  /** Task events the stream carries; composed after the journal and history observers. */
  readonly observer: TaskObserver = {
    assigned: (spec) => {
      this.#tasks.set(spec.taskId, { projectId: spec.projectId, prompt: spec.prompt });
      this.historyChanged();
    },
    rejected: () => this.historyChanged(),
    started: () => this.historyChanged(),
    line: (taskId, stream, text) => this.#line(taskId, stream, text),
    finished: (taskId, result) => {
      const task = this.#tasks.get(taskId);
      this.#tasks.delete(taskId);
      if (!this.#subscribers.size) return;
      // Its last lines go before the news that it ended.
      this.#flushLines(taskId);
      const event: FinishedEvent = {
        event: 'finished',
        taskId,
        projectId: task?.projectId ?? '',
        prompt: task?.prompt ?? '',
        status: result.status,
        ...(result.error !== undefined ? { error: result.error } : {}),
      };
      const line = encode(event);
      for (const s of this.#subscribers) {
        s.sendDroppedCount(taskId);
        s.send(line);
      }
      this.historyChanged();
    },
  };

  /** The state as a subscription starts from (its answer). */
  snapshot(): Snapshot {
    return this.#o.snapshot();
  }

  /** How many connections are subscribed. */
  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** The live state changed: a state event goes out now, or when `stateEveryMs` since the last one is up. */
  changed(): void {
    if (!this.#subscribers.size || this.#stateTimer) return;
    const wait = Math.max(0, this.#lastStateAt + this.#o.stateEveryMs - Date.now());
    this.#stateTimer = setTimeout(() => {
      this.#stateTimer = undefined;
      this.#lastStateAt = Date.now();
      // A task gone from `running` is in the history file by the time a subscriber sees it gone.
      this.#o.flushHistory?.();
      const line = encode({ event: 'state', snapshot: this.#o.snapshot() });
      for (const s of this.#subscribers) s.sendState(line);
    }, wait);
  }

  /** The history file changed (or is about to: queued writes are flushed before the event goes out). */
  historyChanged(): void {
    if (!this.#subscribers.size || this.#historyTimer) return;
    this.#historyTimer = setTimeout(() => {
      this.#historyTimer = undefined;
      this.#o.flushHistory?.();
      const line = encode({ event: 'history' });
      for (const s of this.#subscribers) s.sendHistory(line);
    }, this.#o.stateEveryMs);
  }

  /**
   * Add a connection: from now on it receives every event, until it closes or `unsubscribe` is
   * called. The caller writes the subscribe answer (the snapshot) first, in the same tick.
   */
  subscribe(sock: FeedSocket): () => void {
    const sub = new Subscriber(sock, this.#o.backlogLimitBytes, this.#o.backlogCutBytes);
    this.#subscribers.add(sub);
    return () => this.#subscribers.delete(sub);
  }

  /**
   * The daemon is stopping: pending lines, the history and the final state go out, then every
   * subscriber is disconnected (at once if it does not read: the control server waits for its
   * connections to close).
   */
  close(): void {
    for (const t of [this.#linesTimer, this.#stateTimer, this.#historyTimer]) clearTimeout(t);
    this.#linesTimer = this.#stateTimer = this.#historyTimer = undefined;
    if (this.#subscribers.size) {
      this.#flushAll();
      this.#o.flushHistory?.();
      const last = [encode({ event: 'history' }), encode({ event: 'state', snapshot: this.#o.snapshot() })];
      for (const s of this.#subscribers) for (const l of last) s.send(l);
    }
    for (const s of this.#subscribers) s.end();
    this.#subscribers.clear();
  }

  #line(taskId: string, stream: 'stdout' | 'stderr', text: string): void {
    if (!this.#subscribers.size) return;
    const batch = this.#pending.get(taskId) ?? [];
    if (!batch.length) this.#pending.set(taskId, batch);
    batch.push({ stream, text, at: new Date().toISOString() });
    this.#pendingBytes += text.length + 64;
    // A burst larger than one batch should carry is sent at once rather than held in memory.
    if (this.#pendingBytes >= this.#o.burstBytes) return this.#flushAll();
    this.#linesTimer ??= setTimeout(() => {
      this.#linesTimer = undefined;
      this.#flushAll();
    }, this.#o.linesEveryMs);
  }

  #flushAll(): void {
    clearTimeout(this.#linesTimer);
    this.#linesTimer = undefined;
    for (const taskId of [...this.#pending.keys()]) this.#flushLines(taskId);
    this.#pendingBytes = 0;
  }

  #flushLines(taskId: string): void {
    const lines = this.#pending.get(taskId);
    this.#pending.delete(taskId);
    if (!lines?.length) return;
    for (const s of this.#subscribers) s.sendLines(taskId, lines);
  }
}

function encode(event: SubscribeEvent): string {
  return JSON.stringify(event) + '\n';
}

/** One subscribed connection, with what it missed and what waits for it to drain. */
class Subscriber {
  readonly #sock: FeedSocket;
  readonly #limit: number;
  readonly #cut: number;
  /** lines of each task it did not get, since its last batch of that task */
  readonly #dropped = new Map<string, number>();
  /** the latest state and a history change, held while the connection is backed up */
  #heldState: string | undefined;
  #heldHistory: string | undefined;
  #waitingForDrain = false;

  constructor(sock: FeedSocket, limit: number, cut: number) {
    this.#sock = sock;
    this.#limit = limit;
    this.#cut = cut;
  }

  get #backedUp(): boolean {
    return this.#sock.writableLength > this.#limit;
  }

  sendLines(taskId: string, lines: OutputLine[]): void {
    if (this.#sock.destroyed) return;
    if (this.#backedUp) {
      this.#dropped.set(taskId, (this.#dropped.get(taskId) ?? 0) + lines.length);
      return;
    }
    const dropped = this.#dropped.get(taskId);
    this.#dropped.delete(taskId);
    this.send(encode({ event: 'lines', taskId, lines, ...(dropped ? { dropped } : {}) }));
  }

  /** What it missed of a task that has ended (no later batch would carry the count): written even when backed up, as finished is. */
  sendDroppedCount(taskId: string): void {
    const dropped = this.#dropped.get(taskId);
    this.#dropped.delete(taskId);
    if (dropped) this.send(encode({ event: 'lines', taskId, lines: [], dropped }));
  }

  sendState(line: string): void {
    if (this.#backedUp) return this.#hold('state', line);
    this.send(line);
  }

  sendHistory(line: string): void {
    if (this.#backedUp) return this.#hold('history', line);
    this.send(line);
  }

  send(line: string): void {
    if (this.#sock.destroyed) return;
    if (this.#sock.writableLength + line.length > this.#cut) {
      this.#sock.destroy();
      return;
    }
    this.#sock.write(line);
  }

  end(): void {
    if (this.#sock.destroyed) return;
    if (this.#sock.writableLength > this.#limit) return void this.#sock.destroy();
    this.#sock.end();
    // A reader that stopped reading would hold the connection (and the daemon's stop) open.
    setTimeout(() => this.#sock.destroy(), 1000).unref();
  }

  #hold(kind: 'state' | 'history', line: string): void {
    if (kind === 'state') this.#heldState = line;
    else this.#heldHistory = line;
    if (this.#waitingForDrain) return;
    this.#waitingForDrain = true;
    this.#sock.once('drain', () => {
      this.#waitingForDrain = false;
      const held = [this.#heldState, this.#heldHistory];
      this.#heldState = this.#heldHistory = undefined;
      for (const l of held) if (l) this.send(l);
    });
  }
}
