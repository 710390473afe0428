import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { SubscribeEvent, type Snapshot } from '../../main/runner/control/contract.ts';
import { EventFeed, type FeedSocket } from '../../main/runner/control/eventFeed.ts';
import type { TaskResult } from '../../main/runner/protocol/messages.ts';
import { specOf } from '../helpers/taskAssign.ts';
import { sleep, until } from '../helpers/tmp.ts';

/**
 * The feed against a connection whose reader the test controls: what it writes is kept as
 * "unread" until the test reads it, as a socket's buffer fills when its peer stops reading.
 */
class Connection extends EventEmitter {
  unread: string[] = [];
  read: SubscribeEvent[] = [];
  destroyed = false;
  ended = false;
  get writableLength(): number {
    return this.unread.reduce((n, l) => n + l.length, 0);
  }
  write(line: string): boolean {
    this.unread.push(line);
    return this.writableLength < 16 * 1024;
  }
  /** The peer reads everything sent so far; 'drain' follows, as on a socket. */
  readAll(): void {
    for (const l of this.unread.splice(0)) this.read.push(SubscribeEvent.parse(JSON.parse(l)));
    this.emit('drain');
  }
  end(): this {
    this.ended = true;
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

function snapshotWith(version: number): Snapshot {
  return {
    version,
    pid: 1,
    startedAt: 0,
    configPath: '/c/runner.yaml',
    runner: { id: 'r', name: 'n', serverUrl: 'http://127.0.0.1', maxAgents: 1, sandboxMode: false },
    status: 'online',
    paused: false,
    link: { state: 'open', since: 0, attempts: 0 },
    running: [],
    outboxPending: 0,
  };
}

const RESULT = { status: 'completed', exit_code: 0, worktree_path: '/w', duration_s: 1 } as TaskResult;

test('a subscriber that stops reading: line batches are dropped and counted, its state is held as the latest only, finished still arrives', async () => {
  let version = 0;
  const flushed: number[] = [];
  const feed = new EventFeed({
    snapshot: () => snapshotWith(version),
    flushHistory: () => flushed.push(version),
    stateEveryMs: 10,
    linesEveryMs: 10,
    backlogLimitBytes: 4096,
    backlogCutBytes: 64 * 1024,
    burstBytes: 1024,
  });
  const slow = new Connection();
  const quick = new Connection();
  feed.subscribe(slow as unknown as FeedSocket);
  feed.subscribe(quick as unknown as FeedSocket);
  const spec = specOf({ prompt: 'Count' });
  await feed.observer.assigned?.(spec, 0);
  const total = 2000;
  for (let i = 0; i < total; i++) {
    feed.observer.line?.(spec.taskId, 'stdout', `line ${i} ${'x'.repeat(40)}`);
    quick.readAll();
    if (i % 100 === 0) {
      version++;
      feed.changed();
      await sleep(12);
    }
  }
  await sleep(30);
  quick.readAll();
  // Bounded: the slow connection holds at most the limit plus one batch, whatever was produced.
  assert.ok(slow.writableLength <= 4096 + 2048, `${slow.writableLength} bytes waiting for the slow reader`);
  await feed.observer.finished?.(spec.taskId, RESULT, {
    type: 'task_complete',
    task_id: spec.taskId,
    success: true,
    retryable: false,
    result: RESULT,
  });
  slow.readAll();
  await until(() => slow.read.some((e) => e.event === 'finished') && slow.read.filter((e) => e.event === 'state').length > 0, 'events');
  const lines = (c: Connection): { got: number; dropped: number } =>
    c.read.reduce((n, e) => (e.event === 'lines' ? { got: n.got + e.lines.length, dropped: n.dropped + (e.dropped ?? 0) } : n), {
      got: 0,
      dropped: 0,
    });
  assert.deepEqual(lines(quick), { got: total, dropped: 0 }, 'a reader that keeps up gets every line');
  const slowLines = lines(slow);
  assert.ok(slowLines.dropped > 0, 'the slow reader missed some');
  assert.equal(slowLines.got + slowLines.dropped, total, 'every line received or counted');
  const finishedAt = slow.read.findIndex((e) => e.event === 'finished');
  assert.equal(
    slow.read[finishedAt - 1]?.event === 'lines' && slow.read[finishedAt - 1]?.event,
    'lines',
    'the count comes before finished',
  );
  // While backed up its states were replaced, not queued: after draining it has the newest, and few of them.
  // The held state is written on 'drain' (after the read above), so read once more.
  slow.readAll();
  const slowStates = slow.read.filter((e) => e.event === 'state');
  const quickStates = quick.read.filter((e) => e.event === 'state');
  assert.ok(
    slowStates.length < quickStates.length,
    `${slowStates.length} states for the slow reader, ${quickStates.length} for the quick one`,
  );
  assert.equal(slowStates.at(-1)?.event === 'state' && slowStates.at(-1)?.snapshot.version, version, 'the latest state');
  assert.ok(flushed.length > 0, 'history flushed before states');
  feed.close();
  assert.ok(quick.ended && slow.ended, 'subscribers are ended on close');
});

test('a subscriber that never reads is cut off past the hard limit, and nothing more is written to it', () => {
  const feed = new EventFeed({ snapshot: () => snapshotWith(1), backlogLimitBytes: 1024, backlogCutBytes: 4096 });
  const dead = new Connection();
  const stop = feed.subscribe(dead as unknown as FeedSocket);
  dead.unread.push('x'.repeat(4090));
  const result = { ...RESULT, status: 'failed' } as TaskResult;
  void feed.observer.finished?.('t', result, { type: 'task_complete', task_id: 't', success: false, retryable: false, result });
  assert.equal(dead.destroyed, true);
  assert.equal(dead.unread.length, 1, 'the event that would pass the limit was not written');
  stop();
  assert.equal(feed.subscribers, 0);
  feed.close();
});
