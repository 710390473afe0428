import type { DeliveryCheck, DurableMessage, RunnerMessage } from '../protocol/messages.ts';
import { deliveryCheck, deliveryCheckAnswered } from '../protocol/messages.ts';
import { fitToBudget } from '../protocol/messageBudget.ts';
import type { Logger } from '../logger.ts';

/** Where unconfirmed durable messages are kept: memory here, the on-disk journal in the daemon. */
export interface OutboxStore {
  /** Persist before the first send attempt; returns a sequence number. */
  enqueue(msg: DurableMessage): Promise<number> | number;
  /** The server has confirmably handled the message: it need never be sent again. */
  markSent(seq: number): Promise<void> | void;
  /** Unconfirmed messages, oldest first. */
  pending(): { seq: number; msg: DurableMessage }[];
  /**
   * A promise when message `seq` must not be sent yet (its record is still on its way to the disk:
   * the journal's group commit), resolving once it may; undefined when it may be sent now.
   */
  whenDurable?(seq: number): Promise<void> | undefined;
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
  /**
   * Resolves true once the frame was written to an open connection, false when there is none;
   * rejects when the message can never be sent (it is then dropped, with an error logged).
   */
  send(msg: RunnerMessage | DeliveryCheck): Promise<boolean>;
}

/** A delivery check in flight: it confirms every message written before it on its connection. */
interface OpenCheck {
  n: number;
  /** messages with a write number up to this one are confirmed by the check's answer */
  upTo: number;
  connection: number;
}

/**
 * Messages the server must get (task_ack, task_reject, task_complete): persisted first, sent in
 * order, and kept until the server has **confirmably handled** them, then re-sent on every new
 * connection until it has.
 *
 * How delivery is confirmed: the server sends no reply to these messages (protocol §4.5), but it
 * handles one connection's frames strictly in order and answers a frame of unknown type with
 * `{"type":"error","message":"Unknown message type: <type>"}`. After writing messages the outbox
 * writes one delivery check, `{"type":"runner_delivery_check:<n>"}`; the answer naming `<n>`
 * proves everything written before it on that connection was handled. Cost per confirmation: one
 * ~40-byte frame each way and one round trip (checks are coalesced: at most one is in flight, and
 * one covers every message written before it). A connection that ends before the answer (a
 * half-open link, a 1008 close right after the handshake, a 1009 for an oversized frame) confirms
 * nothing: its messages are sent again on the next connection. The server treats a repeated
 * task_complete as rewriting the same final state (§10 item 4), so a repeat is harmless.
 */
export class Outbox {
  readonly #store: OutboxStore;
  readonly #sender: Sender;
  readonly #log: Logger;
  #flushing: Promise<void> | undefined;
  /** a flush to run once the first result not yet on disk is (see flush) */
  #afterFlush: Promise<void> | undefined;
  #again = false;
  /** bumped on every new connection: what was written before it is unconfirmed again */
  #connection = 0;
  /** seq → write number, for messages written on the current connection and not yet confirmed */
  readonly #written = new Map<number, number>();
  /**
   * Messages a check confirmed whose confirmation is still being recorded (markSent is a journal
   * write): the store still lists them as pending, and a flush meanwhile must not send them again.
   */
  readonly #confirming = new Set<number>();
  #writes = 0;
  #checks = 0;
  #check: OpenCheck | undefined;
  #checkSoon: NodeJS.Immediate | undefined;
  readonly #settled = new Set<() => void>();

  constructor(store: OutboxStore, sender: Sender, log: Logger) {
    this.#store = store;
    this.#sender = sender;
    this.#log = log;
  }

  /**
   * Queue a message (cut to MESSAGE_BUDGET_BYTES first: the server closes the link on an oversized
   * frame, 1009) and send what is pending. Rejects only when the store cannot persist it.
   */
  async push(msg: DurableMessage): Promise<void> {
    const fitted = fitToBudget(msg);
    if (!fitted) {
      this.#log.error('a message that cannot fit the size limit was dropped', { type: msg.type, taskId: msg.task_id });
      return;
    }
    const seq = await this.#store.enqueue(fitted);
    await this.flush();
    // A result not yet on disk went out with a later flush: this push resolves once it has.
    const durable = this.#store.whenDurable?.(seq);
    if (durable) {
      await durable;
      await this.flush();
    }
  }

  /** Messages not yet confirmed by the server (written or not). */
  get size(): number {
    return this.#store.pending().length;
  }

  /**
   * A new connection is open: nothing written on an earlier one counts as delivered until a check
   * on this one confirms it. Call before flush() in the link's open handler.
   */
  connected(): void {
    this.#connection++;
    this.#written.clear();
    this.#check = undefined;
  }

  /**
   * A server `error` frame: true when it answers one of our delivery checks (the caller then
   * need not report it). Confirms what the check covers and checks again for anything later.
   */
  answered(message: string | undefined): boolean {
    const n = deliveryCheckAnswered(message);
    if (n === undefined) return false;
    const check = this.#check;
    if (!check || check.n !== n || check.connection !== this.#connection) return true; // an earlier connection's check
    this.#check = undefined;
    const confirmed = [...this.#written].filter(([, write]) => write <= check.upTo).map(([seq]) => seq);
    for (const seq of confirmed) {
      this.#written.delete(seq);
      this.#confirming.add(seq);
    }
    void this.#confirm(confirmed).then((failed) => {
      // Recorded ones stay until a flush's snapshot no longer lists them (a flush running now may
      // hold a snapshot taken before markSent); failed ones are pending again.
      for (const seq of failed) this.#confirming.delete(seq);
      if (this.#written.size > 0) this.#sendCheck();
      this.#notifySettled();
    });
    return true;
  }

  /** Resolves true once nothing is left unconfirmed, false after `timeoutMs` (ms). */
  settled(timeoutMs: number): Promise<boolean> {
    if (this.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.#settled.delete(fn);
        resolve(ok);
      };
      const fn = (): void => {
        if (this.size === 0) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#settled.add(fn);
    });
  }

  /**
   * Write everything pending and not yet written on this connection, oldest first, then a check.
   * A result not yet on disk (and every result after it) is written by a flush that starts once it
   * is; the returned promise does not wait for that (push does, for its own message).
   */
  flush(): Promise<void> {
    if (this.#flushing) {
      this.#again = true;
      return this.#flushing;
    }
    this.#flushing = (async () => {
      do {
        this.#again = false;
        const connection = this.#connection;
        /** the first result not yet on disk: it and every later result wait for it */
        let unflushed: Promise<void> | undefined;
        const pending = this.#store.pending();
        if (this.#confirming.size > 0) {
          const listed = new Set(pending.map((p) => p.seq));
          for (const seq of this.#confirming) if (!listed.has(seq)) this.#confirming.delete(seq);
        }
        for (const { seq, msg } of pending) {
          if (this.#written.has(seq) || this.#confirming.has(seq)) continue;
          // A result leaves only once it is on disk, and results leave in their order. An ack or a
          // reject does not wait behind another task's result (a task's own ack is always queued
          // before its result), so a pickup never waits for a disk flush.
          if (msg.type === 'task_complete') {
            if (unflushed) continue;
            unflushed = this.#store.whenDurable?.(seq);
            if (unflushed) continue;
          }
          let sent: boolean;
          try {
            sent = await this.#sender.send(msg);
          } catch (err) {
            // It can never be sent (over the size limit): keeping it would block everything behind it.
            this.#log.error('an undeliverable message was dropped from the outbox', { type: msg.type, taskId: msg.task_id, error: err });
            await this.#confirm([seq]);
            continue;
          }
          if (!sent) {
            this.#log.debug('outbox waiting for link', { pending: this.size });
            return;
          }
          // The connection changed while this was written: it goes again on the new one.
          if (connection !== this.#connection) break;
          this.#written.set(seq, ++this.#writes);
        }
        if (connection === this.#connection && this.#written.size > 0 && !this.#check) this.#sendCheck();
        // Not awaited here: acks enqueued meanwhile must not wait for the disk. Sent by the flush it starts.
        if (unflushed && !this.#afterFlush) {
          this.#afterFlush = unflushed.then(() => {
            this.#afterFlush = undefined;
            return this.flush();
          });
        }
      } while (this.#again);
    })().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  /**
   * The check goes out after the messages written in this turn of the event loop (setImmediate),
   * so one check covers a task's ack and the results of the tasks that finished with it.
   */
  #sendCheck(): void {
    if (this.#checkSoon) return;
    this.#checkSoon = setImmediate(() => {
      this.#checkSoon = undefined;
      if (this.#written.size > 0 && !this.#check) this.#sendCheckNow();
    });
  }

  #sendCheckNow(): void {
    const check: OpenCheck = { n: ++this.#checks, upTo: this.#writes, connection: this.#connection };
    this.#check = check;
    void this.#sender.send(deliveryCheck(check.n)).then((ok) => {
      if (!ok && this.#check === check) this.#check = undefined;
    });
  }

  async #confirm(seqs: number[]): Promise<number[]> {
    const failed: number[] = [];
    for (const seq of seqs) {
      try {
        await this.#store.markSent(seq);
      } catch (err) {
        // Not recorded as sent: a later flush sends it again, which the server tolerates (§10 item 4).
        this.#log.warn('could not record a confirmed delivery', { seq, error: err });
        failed.push(seq);
      }
    }
    return failed;
  }

  #notifySettled(): void {
    for (const fn of [...this.#settled]) fn();
  }
}
