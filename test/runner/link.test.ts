import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assign, completionOf, startHarness, staticAuth } from '../helpers/runnerHarness.ts';
import { sleep, until } from '../helpers/tmp.ts';

test('reconnects after the server restarts and re-announces status', async () => {
  const { core, runnerId, daemon } = await startHarness();
  const handshakes = core.handshakes.length;
  await core.stop();
  await until(() => daemon.link.status.state !== 'open', 'link to notice');
  await core.restart();
  await core.until(() => core.connected(runnerId), 10_000, 'reconnect');
  assert.ok(core.handshakes.length > handshakes);
  const last = core.handshakes.at(-1)!;
  await core.waitFor((f) => f.message?.type === 'status' && f.at >= last.at, 3000, 'status after reconnect');
});

test('results produced while the link is down are sent after reconnect, in order, once', async () => {
  const { core, runnerId, daemon } = await startHarness();
  const ids = [0, 1, 2].map((i) => assign(runnerId, core, { command: ['/bin/sh', '-c', `sleep ${0.3 + i * 0.1}`] }));
  await until(() => core.messagesOf('task_ack').length === 3, 'three acks');
  await core.stop();
  // Three results wait (plus any ack the server had no time to confirm before it went away).
  await until(() => daemon.tasks.running().length === 0 && daemon.outbox.size >= 3, 'three completions queued', 10_000);
  await core.restart();
  await until(() => ids.every((id) => completionOf(core, id).length === 1), 'all completions after reconnect', 10_000);
  const order = core.messagesOf('task_complete').map((m) => m.task_id);
  assert.deepEqual(order, ids);
  await sleep(300);
  assert.equal(core.messagesOf('task_complete').length, 3);
});

test('a half-open link (server silent, no pongs) is noticed and a new connection made', async () => {
  const { core, runnerId } = await startHarness({ daemon: { pingIntervalMs: 200 } });
  const before = core.handshakes.filter((h) => h.outcome === 'accepted').length;
  core.silence(runnerId);
  await until(() => core.handshakes.filter((h) => h.outcome === 'accepted').length > before, 'a new connection', 5000);
});

test('a link with no server heartbeat for 2.5× the interval is treated as dead (S4/S5)', async () => {
  const { core } = await startHarness({ core: { heartbeatIntervalMs: 0 }, config: { heartbeat_interval: 0.2 } });
  const before = core.handshakes.length;
  await until(() => core.handshakes.length > before, 'reconnect after the heartbeat watchdog', 5000);
});

test('1008 auth close: one refresh attempt, then back off as "auth_failed" with the signIn remedy (no hot loop)', async () => {
  let refreshes = 0;
  const { core, daemon } = await startHarness({
    awaitConnect: false,
    config: { reconnect_interval: 0.2 },
    daemon: { auth: staticAuth('not-a-valid-jwt', async () => (refreshes++, false)) },
  });
  await until(() => daemon.link.status.state === 'auth_failed', 'auth_failed state', 5000);
  const status = daemon.link.status;
  assert.match(status.reason ?? '', /^the server refused the credentials \(1008/);
  assert.doesNotMatch(status.reason ?? '', /sibyl-runner|sign in/i, 'the reason states a fact; faces word the remedy');
  assert.equal(status.remedy, 'signIn');
  assert.equal(daemon.snapshot().link.remedy, 'signIn', 'the snapshot carries the remedy to the faces');
  const n = core.handshakes.length;
  await sleep(600);
  assert.ok(core.handshakes.length - n <= 4, `handshakes in 600 ms: ${core.handshakes.length - n}`);
  assert.equal(refreshes, 1);
});

test('HTTP 500 on the upgrade (server defect S1) is retried with backoff and explained', async () => {
  const { daemon } = await startHarness({ awaitConnect: false, core: { upgradeStatus: 500 }, config: { reconnect_interval: 0.05 } });
  await until(() => /HTTP 500/.test(daemon.link.status.reason ?? ''), 'reason mentions HTTP 500', 5000);
  assert.equal(daemon.link.status.remedy, 'checkServer');
});

test('an unreachable server is a factual reason with the checkServer remedy; an open link has none', async () => {
  const { core, runnerId, daemon } = await startHarness({ config: { reconnect_interval: 0.05 } });
  assert.equal(daemon.link.status.remedy, undefined);
  await core.stop();
  await until(() => /Nothing is answering|dropped|closed/.test(daemon.link.status.reason ?? ''), 'a reason for the lost link', 5000);
  assert.equal(daemon.link.status.remedy, 'checkServer');
  assert.doesNotMatch(daemon.link.status.reason ?? '', /sibyl-runner/);
  await core.restart();
  await core.until(() => core.connected(runnerId), 10_000, 'reconnect');
  await until(() => daemon.link.status.state === 'open', 'open again', 5000);
  assert.equal(daemon.link.status.remedy, undefined);
  assert.equal(daemon.link.status.reason, undefined);
});
