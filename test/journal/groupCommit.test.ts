import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Journal } from '../../main/runner/journal/journal.ts';
import { MemoryOutboxStore, Outbox, type OutboxStore, type Sender } from '../../main/runner/link/outbox.ts';
import { configureLogging, logger } from '../../main/runner/logger.ts';
import type { DurableMessage, TaskComplete } from '../../main/runner/protocol/messages.ts';
import { tempDir, until } from '../helpers/tmp.ts';

configureLogging({ quiet: true });

const complete = (taskId: string): TaskComplete => ({
  type: 'task_complete',
  task_id: taskId,
  success: true,
  retryable: false,
  result: { status: 'completed', exit_code: 0, worktree_path: `/w/${taskId}`, duration_s: 0.1 },
});
const ack = (taskId: string): DurableMessage => ({ type: 'task_ack', task_id: taskId, agent_id: 'agent_000000000001' });

test('a task_complete waits for the flush that covers it; an ack does not; both are in the file at once', async () => {
  const dir = tempDir();
  const j = Journal.open(dir);
  const ackSeq = j.enqueue(ack('t1'));
  const doneSeq = j.finish(complete('t1'));
  assert.equal(j.whenDurable(ackSeq), undefined, 'an ack is never held back');
  // Written at once (a killed runner loses nothing), flushed by the group commit.
  const text = readFileSync(j.path, 'utf8');
  assert.match(text, /"k":"outbox"/);
  assert.match(text, /"k":"finished"/);
  const wait = j.whenDurable(doneSeq);
  assert.ok(wait instanceof Promise, 'the result waits for its flush');
  await wait;
  assert.equal(j.whenDurable(doneSeq), undefined, 'once flushed it may leave');
  await j.synced();
  j.close();
});

test('many results finishing together share flushes, and every one is released', async () => {
  const dir = tempDir();
  const j = Journal.open(dir);
  const seqs = Array.from({ length: 50 }, (_, i) => j.finish(complete(`t${i}`)));
  await Promise.all(seqs.map((s) => j.whenDurable(s) ?? Promise.resolve()));
  assert.ok(seqs.every((s) => j.whenDurable(s) === undefined));
  j.close();
});

test('the outbox holds a result until it is on disk, results keep their order, and acks do not wait behind them', async () => {
  const sent: string[] = [];
  const sender: Sender = {
    send: (msg) => {
      sent.push(`${msg.type}${'task_id' in msg ? ` ${msg.task_id}` : ''}`);
      return Promise.resolve(true);
    },
  };
  let onDisk = false;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r)).then(() => {
    onDisk = true;
  });
  const items: { seq: number; msg: DurableMessage }[] = [];
  const store: OutboxStore = {
    enqueue: (msg) => items.push({ seq: items.length + 1, msg }),
    markSent: () => undefined,
    pending: () => [...items],
    // The first result (seq 2) is still on its way to the disk; the second (seq 4) is there.
    whenDurable: (seq) => (seq === 2 && !onDisk ? gate : undefined),
  };
  const outbox = new Outbox(store, sender, logger('test'));
  outbox.connected();
  await outbox.push(ack('a'));
  const pushing = [outbox.push(complete('a')), outbox.push(ack('b')), outbox.push(complete('b'))];
  await new Promise((r) => setTimeout(r, 20));
  const messages = (): string[] => sent.filter((s) => !s.startsWith('runner_delivery_check'));
  assert.deepEqual(messages(), ['task_ack a', 'task_ack b'], 'the pickup went out; both results wait for the first one');
  release();
  await Promise.all(pushing);
  assert.deepEqual(messages(), ['task_ack a', 'task_ack b', 'task_complete a', 'task_complete b']);
});

test('a message confirmed while its confirmation is still being recorded is not sent again by a flush meanwhile', async () => {
  const sent: string[] = [];
  const checks: string[] = [];
  const sender: Sender = {
    send: (msg) => {
      if (msg.type.startsWith('runner_delivery_check:')) checks.push(msg.type);
      else sent.push(`${msg.type}${'task_id' in msg ? ` ${msg.task_id}` : ''}`);
      return Promise.resolve(true);
    },
  };
  // markSent is a journal write: slow, and the message stays pending until it is done.
  const items = new Map<number, DurableMessage>();
  let recorded!: () => void;
  const recording = new Promise<void>((r) => (recorded = r));
  const store: OutboxStore = {
    enqueue: (msg) => {
      items.set(items.size + 1, msg);
      return items.size;
    },
    markSent: async (seq) => {
      await recording;
      items.delete(seq);
    },
    pending: () => [...items].map(([seq, msg]) => ({ seq, msg })),
  };
  const outbox = new Outbox(store, sender, logger('test'));
  outbox.connected();
  await outbox.push(ack('a'));
  await until(() => checks.length === 1, 'the delivery check');
  assert.equal(outbox.answered(`Unknown message type: ${checks[0]}`), true);
  // Another task's message arrives while the ack's confirmation is being written.
  await outbox.push(ack('b'));
  await outbox.flush();
  assert.deepEqual(sent, ['task_ack a', 'task_ack b'], 'the confirmed ack went out once');
  recorded();
  await until(() => outbox.size === 1, 'the confirmation recorded');
  await outbox.flush();
  assert.deepEqual(sent, ['task_ack a', 'task_ack b']);
});

test('a message confirmed (and recorded at once, as the journal does) while a flush awaits an earlier send is not sent again from that flush', async () => {
  const sent: string[] = [];
  const checks: string[] = [];
  // A frame's send resolves in ws's write callback, a few ms later.
  const sender: Sender = {
    send: (msg) => {
      if (msg.type.startsWith('runner_delivery_check:')) {
        checks.push(msg.type);
        return Promise.resolve(true);
      }
      sent.push(`${msg.type}${'task_id' in msg ? ` ${msg.task_id}` : ''}`);
      return new Promise((r) => setTimeout(() => r(true), 5));
    },
  };
  let onDisk = false;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r)).then(() => {
    onDisk = true;
  });
  class Store extends MemoryOutboxStore {
    whenDurable(seq: number): Promise<void> | undefined {
      return seq === 1 && !onDisk ? gate : undefined;
    }
  }
  const outbox = new Outbox(new Store(), sender, logger('test'));
  outbox.connected();
  const result = outbox.push(complete('c1')); // waits for its flush to the disk
  await outbox.push(ack('a2')); // goes out at once
  await until(() => checks.length === 1, 'the delivery check');
  release(); // c1 is on disk: a flush takes the pending list [c1, a2] and awaits c1's send
  await new Promise((r) => setImmediate(r));
  assert.equal(outbox.answered(`Unknown message type: ${checks[0]}`), true, 'a2 confirmed meanwhile');
  await result;
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(sent, ['task_ack a2', 'task_complete c1'], 'a2 went out once');
});
