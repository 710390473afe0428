import type { DurableMessage, RunnerMessage } from '../protocol/messages.ts';
import type { Logger } from '../logger.ts';

/** Where unsent durable messages are kept: memory here, the on-disk journal in the daemon. */
export interface OutboxStore {
  /** Persist before the first send attempt; returns a sequence number. */
  enqueue(msg: DurableMessage): Promise<number> | number;
  markSent(seq: number): Promise<void> | void;
  pending(): { seq: number; msg: DurableMessage }[];
}

export class MemoryOutboxStore implements OutboxStore {
  #seq = 0;
  readonly #items = new Map<number, DurableMessage>();
  enqueue(msg: DurableMessage): number {
    this.#items.set(++this.#seq, msg);
    return this.#seq;
  }
  markSent(seq: number): void {
    this.#items.delete(seq);
  }
  pending(): { seq: number; msg: DurableMessage }[] {
    return [...this.#items].map(([seq, msg]) => ({ seq, msg }));
  }
}

export interface Sender {
  send(msg: RunnerMessage): Promise<boolean>;
}

/**
 * Messages the server must get (task_ack, task_reject, task_complete): persisted first, sent in
 * order, marked sent only after ws flushed them on an open link, re-sent after every reconnect.
 */
export class Outbox {
  readonly #store: OutboxStore;
  readonly #sender: Sender;
  readonly #log: Logger;
  #flushing: Promise<void> | undefined;
  #again = false;

  constructor(store: OutboxStore, sender: Sender, log: Logger) {
    this.#store = store;
    this.#sender = sender;
    this.#log = log;
  }

  async push(msg: DurableMessage): Promise<void> {
    await this.#store.enqueue(msg);
    await this.flush();
  }

  get size(): number {
    return this.#store.pending().length;
  }

  /** Send everything pending, oldest first; stops at the first failure (the link is down). */
  flush(): Promise<void> {
    if (this.#flushing) {
      this.#again = true;
      return this.#flushing;
    }
    this.#flushing = (async () => {
      do {
        this.#again = false;
        for (const { seq, msg } of this.#store.pending()) {
          if (!(await this.#sender.send(msg))) {
            this.#log.debug('outbox waiting for link', { pending: this.#store.pending().length });
            return;
          }
          await this.#store.markSent(seq);
        }
      } while (this.#again);
    })().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }
}
