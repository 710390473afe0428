import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import { controlRequest, controlSocketPath } from '../../main/runner/control/controlSocket.ts';
import { SubscribeEvent, type LinesEvent } from '../../main/runner/control/contract.ts';
import { subscribeControl } from '../../main/runner/control/subscription.ts';
import { assign, cli, cliRun, registeredRunner } from '../helpers/runnerHarness.ts';
import { until } from '../helpers/tmp.ts';

/**
 * The control socket's `subscribe` stream, against one real `sibyl-runner run` shared by the
 * tests of this file (each test runs its own task; the last one shuts it down).
 */
// At the top level, not in before(): the helpers' after() hooks (temp folders, the fake core)
// would run at the end of a before hook.
const { core, id, config, env } = await registeredRunner();
const socket = controlSocketPath(config);
const daemon = cli(['run', '--config', config], env);
await core.until(() => core.connected(id), 15_000, 'the daemon connects');

test('a burst of output arrives batched: far fewer events than lines, all in order, none lost; then finished and history', async () => {
  const events: SubscribeEvent[] = [];
  const sub = await subscribeControl(socket, { onEvent: (e) => events.push(e) });
  assert.ok(sub, 'subscribed');
  after(() => sub.close());
  assert.equal(sub.snapshot.runner.id, id);
  const taskId = assign(id, core, { command: ['/bin/sh', '-c', 'seq 1 5000'] }, { prompt: 'count to five thousand' });
  await until(() => events.some((e) => e.event === 'finished' && e.taskId === taskId), 'the finished event');
  await until(() => events.findLast((e) => e.event === 'state')?.snapshot.running.length === 0, 'a state without the task');
  const batches = events.filter((e): e is LinesEvent => e.event === 'lines' && e.taskId === taskId);
  const lines = batches.flatMap((b) => b.lines);
  assert.deepEqual(
    lines.map((l) => l.text),
    Array.from({ length: 5000 }, (_, i) => String(i + 1)),
    'every line, in order',
  );
  assert.ok(batches.length <= 50, `5000 lines came in ${batches.length} batches`);
  assert.ok(
    batches.every((b) => b.dropped === undefined),
    'nothing dropped for a reader that keeps up',
  );
  assert.ok(lines.every((l) => l.stream === 'stdout' && !Number.isNaN(Date.parse(l.at))));
  const finishedAt = events.findIndex((e) => e.event === 'finished');
  assert.ok(events.findLastIndex((e) => e.event === 'lines') < finishedAt, 'the last lines come before the finished event');
  assert.deepEqual(events[finishedAt], {
    event: 'finished',
    taskId,
    projectId: 'project_1a2b3c4d5e6f',
    prompt: 'count to five thousand',
    status: 'completed',
  });
  assert.ok(
    events.some((e) => e.event === 'state' && e.snapshot.running.some((t) => t.taskId === taskId)),
    'a state with the task running',
  );
  // The history event means the row is on disk: another process reads it at once.
  await until(() => events.some((e, i) => i > finishedAt && e.event === 'history'), 'a history event after the finished one');
  const history = await cliRun(['history', '--json', '--config', config], env);
  assert.match(history.stdout, new RegExp(`${taskId}[^]*completed`));
});

test('a subscriber that does not read misses line batches, counted, instead of growing the daemon', async () => {
  // A raw connection that subscribes and then stops reading: the kernel's buffers fill, then the daemon's.
  const sock = connect(socket);
  after(() => sock.destroy());
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(JSON.stringify({ id: 7, method: 'subscribe' }) + '\n');
  sock.pause();
  // 60k lines of ~200 bytes: ~12 MB, far more than the backlog limit (1 MiB) plus kernel buffers.
  const line = 'x'.repeat(200);
  const taskId = assign(id, core, { command: ['/bin/sh', '-c', `i=0; while [ $i -lt 60000 ]; do echo "$i ${line}"; i=$((i+1)); done`] });
  await core.waitFor((f) => f.message?.type === 'task_complete' && f.message.task_id === taskId, 120_000, 'completion');
  // Now read everything that was kept for it.
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (c: string) => (buf += c));
  sock.resume();
  // Complete lines only: the last one may still be arriving.
  const parsed = (): unknown[] =>
    buf
      .slice(0, buf.lastIndexOf('\n') + 1)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as unknown);
  await until(() => parsed().some((e) => SubscribeEvent.safeParse(e).data?.event === 'finished'), 'the finished event', 30_000);
  const [answer, ...rest] = parsed();
  assert.equal((answer as { id: number; ok: boolean }).ok, true);
  const events = rest.map((e) => SubscribeEvent.parse(e));
  const batches = events.filter((e): e is LinesEvent => e.event === 'lines' && e.taskId === taskId);
  const received = batches.reduce((n, b) => n + b.lines.length, 0);
  const dropped = batches.reduce((n, b) => n + (b.dropped ?? 0), 0);
  assert.ok(dropped > 0, `some batches were dropped for the slow reader (received ${received}, ${batches.length} batches)`);
  assert.ok(received < 60_000, `received ${received} of 60000 lines`);
  // Every line is accounted for: received, or counted as dropped in a batch the reader got.
  assert.equal(received + dropped, 60_000);
  assert.ok(
    events.some((e) => e.event === 'finished' && e.taskId === taskId && e.status === 'completed'),
    'finished is never dropped',
  );
});

test('shutdown drains and exits 0, like SIGTERM', async () => {
  const ended: SubscribeEvent[] = [];
  const sub = await subscribeControl(socket, { onEvent: (e) => ended.push(e) });
  assert.ok(sub);
  const taskId = assign(id, core, { command: ['/bin/sh', '-c', 'sleep 30'] });
  await until(
    () => ended.some((e) => e.event === 'state' && e.snapshot.running.some((t) => t.taskId === taskId && t.phase === 'running')),
    'running',
  );
  const res = await controlRequest(socket, { method: 'shutdown' });
  assert.deepEqual(res, { id: 1, ok: true, result: { stopping: true } });
  const code = await new Promise<number | null>((r) => daemon.on('close', (c) => r(c)));
  assert.equal(code, 0);
  await sub.closed;
  const last = ended.findLast((e) => e.event === 'state');
  assert.equal(last?.event === 'state' && last.snapshot.status, 'draining', 'the final state says draining');
  const done = core.messagesOf('task_complete').find((m) => m.task_id === taskId);
  assert.equal(done?.result.status, 'cancelled', 'the running task was stopped and reported');
});
