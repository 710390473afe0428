import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultConfig } from '../../main/runner/config/schema.ts';
import { Daemon } from '../../main/runner/daemon.ts';
import { Journal } from '../../main/runner/journal/journal.ts';
import { MESSAGE_BUDGET_BYTES } from '../../main/runner/protocol/messageBudget.ts';
import { openTaskLog, taskLogPath } from '../../main/runner/tasks/taskLog.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { agentGate, assign, completionOf, settled, startHarness, staticAuth } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

/**
 * Issue 12, "sent is not received": a result counts as delivered only once the server has
 * confirmably handled it (link/outbox.ts: a delivery check answered in order). Until then it is
 * queued and sent again on the next connection or after a restart.
 */

const accepted = (core: FakeCore): number => core.handshakes.filter((h) => h.outcome === 'accepted').length;

test('half-open link: a result written into a dead connection arrives once on the next one', async () => {
  // Pings every 1.5 s: the agent ends (and its result is written) before the runner notices the dead link.
  const { core, runnerId, daemon } = await startHarness({ daemon: { pingIntervalMs: 1500 } });
  const gate = agentGate();
  const id = assign(runnerId, core, { command: ['/bin/sh', '-c', `${gate.waitScript}; echo work-done`] });
  await core.waitFor((f) => f.message?.type === 'task_ack', 5000, 'the ack');
  await until(() => daemon.outbox.size === 0, 'the ack confirmed');
  const before = accepted(core);
  core.silence(runnerId);
  gate.open();
  await until(() => daemon.tasks.running().length === 0, 'the agent to end');
  assert.ok(daemon.outbox.size >= 1, 'the result written into the silent link is not counted as delivered');
  await until(() => completionOf(core, id).length === 1, 'the result on a new connection', 15_000);
  assert.ok(accepted(core) > before, 'it came on a new connection');
  assert.equal(completionOf(core, id)[0]?.result.status, 'completed');
  await settled({ core, daemon, runnerId });
  assert.equal(completionOf(core, id).length, 1, 'once');
});

test('accepted then closed 1008: the result written into that connection is kept and sent after a restart with a valid token', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  const { id: runnerId, accessToken } = core.addRunner();
  const home = tempDir();
  const config = { ...defaultConfig(home), server_url: core.url, runner_id: runnerId, reconnect_interval: 0.05 };
  let token = accessToken;
  const auth = { ...staticAuth(''), accessToken: async () => token };
  const journalDir = join(home, 'state');
  // A daemon over the journal in journalDir, as `run` builds it (the journal is its outbox store).
  const daemonOnJournal = (): { daemon: Daemon; journal: Journal } => {
    const journal = Journal.open(journalDir);
    const options = { config, configPath: join(home, 'runner.yaml'), auth, controlSocket: false, redialGraceMs: 50 };
    return { daemon: new Daemon({ ...options, env: { PATH: process.env.PATH }, outboxStore: journal }), journal };
  };
  const { daemon: first, journal: firstJournal } = daemonOnJournal();
  await first.start();
  try {
    await core.until(() => core.connected(runnerId), 5000, 'connect');
    const gate = agentGate();
    const id = assign(runnerId, core, { command: ['/bin/sh', '-c', gate.waitScript] });
    await core.waitFor((f) => f.message?.type === 'task_ack', 5000, 'the ack');
    await until(() => first.outbox.size === 0, 'the ack confirmed');
    // The access token expires: every redial is accepted and closed at once with 1008.
    token = 'expired.token.value';
    core.close(runnerId, 1001, 'going away');
    await until(() => core.handshakes.some((h) => h.outcome.startsWith('close 1008')), 'a 1008 close after the handshake');
    gate.open();
    await until(() => first.tasks.running().length === 0, 'the agent to end');
    await until(() => core.handshakes.filter((h) => h.outcome.startsWith('close 1008')).length >= 3, 'more redials refused');
    assert.equal(completionOf(core, id).length, 0, 'nothing reached the server');
    assert.equal(first.outbox.size, 1, 'the result is still queued');
    await first.stop(1000);

    firstJournal.close();
    token = accessToken;
    const { daemon: second } = daemonOnJournal();
    await second.start();
    try {
      await until(() => completionOf(core, id).length === 1, 'the result after the restart');
      await settled({ core, daemon: second, runnerId });
      assert.equal(completionOf(core, id).length, 1);
    } finally {
      await second.stop(1000);
    }
  } finally {
    await first.stop(1000);
    await core.stop();
  }
});

test('a result too big for the server (36 MB of output, NUL bytes) is cut to the message budget and delivered once', async () => {
  const logs = tempDir();
  const openLog = (taskId: string) => {
    const path = taskLogPath(logs, taskId);
    return { path, writer: openTaskLog(path, { maxBytes: 100 * 1024 * 1024 }) };
  };
  const { core, runnerId, daemon } = await startHarness({ daemon: { openLog } });
  const script = [
    "const line = 'x'.repeat(90000);",
    'for (let i = 0; i < 200; i++) { console.log(line + i); console.error(line + i); }',
    "process.stdout.write(Buffer.alloc(3 * 1024 * 1024)); process.stdout.write('\\nlast line\\n');",
  ].join('\n');
  const before = accepted(core);
  const id = assign(runnerId, core, { command: [process.execPath, '-e', script] });
  await until(() => completionOf(core, id).length === 1, 'the result', 30_000);
  await settled({ core, daemon, runnerId });
  const frame = core.frames.find((f) => f.message?.type === 'task_complete' && f.message.task_id === id);
  assert.ok(frame);
  assert.ok(Buffer.byteLength(frame.raw) <= MESSAGE_BUDGET_BYTES, `${Buffer.byteLength(frame.raw)} bytes`);
  const msg = completionOf(core, id)[0]!;
  assert.equal(msg.result.status, 'completed');
  assert.match(msg.result.stdout ?? '', /last line$/, 'the end of the output is kept');
  assert.match(msg.result.stderr ?? '', /x199$/);
  assert.match(
    msg.result.stdout ?? '',
    /^\[sibyl-runner: \d+ bytes cut from the start of stdout to fit the message limit; the whole output is in /,
  );
  assert.ok(msg.result.log_path && statSync(msg.result.log_path).size > 10 * MESSAGE_BUDGET_BYTES, 'the log keeps far more');
  assert.ok((msg.result.stdout ?? '').includes(msg.result.log_path), 'the marker names the log');
  assert.equal(accepted(core), before, 'the link was never closed (no 1009)');
  assert.equal(completionOf(core, id).length, 1);
});

test('a re-sent task_assign of a finished task gets its stored result again; the agent does not run twice', async () => {
  // The daemon's real outbox store: the journal (it once refused to queue a result it had sent before).
  const { core, runnerId, daemon, home } = await startHarness({ daemon: { outboxStore: Journal.open(tempDir()) } });
  const runs = join(home, 'runs.txt');
  const taskId = crypto.randomUUID();
  const msg = {
    type: 'task_assign',
    task_id: taskId,
    agent_id: 'agent_0123456789ab',
    project_id: 'project_1a2b3c4d5e6f',
    config: { command: ['/bin/sh', '-c', `echo run >> '${runs}'; echo finished`] },
  };
  core.send(runnerId, msg);
  await until(() => completionOf(core, taskId).length === 1, 'the result');
  await settled({ core, daemon, runnerId });
  core.send(runnerId, msg);
  await until(() => completionOf(core, taskId).length === 2, 'the result again');
  await settled({ core, daemon, runnerId });
  const [a, b] = completionOf(core, taskId);
  assert.deepEqual(b, a);
  assert.equal(readFileSync(runs, 'utf8'), 'run\n', 'the agent ran once');
});

test('a task_assign with a mistyped agent_id, project_id or config is rejected invalid_task, naming the field', async () => {
  const details = new Map<string, string>();
  const { core, runnerId, daemon } = await startHarness({
    daemon: { observer: { rejected: (id, _reason, detail) => void details.set(id, detail) } },
  });
  const base = { type: 'task_assign', agent_id: 'agent_0123456789ab', project_id: 'project_1a2b3c4d5e6f', config: {} };
  const cases = [
    { ...base, task_id: crypto.randomUUID(), agent_id: 123 },
    { ...base, task_id: crypto.randomUUID(), project_id: undefined },
    { ...base, task_id: crypto.randomUUID(), config: 'nope' },
  ];
  for (const c of cases) core.send(runnerId, c);
  await settled({ core, daemon, runnerId });
  const rejects = core.messagesOf('task_reject');
  for (const [c, field] of cases.map((c, i) => [c, ['agent_id', 'project_id', 'config'][i]!] as const)) {
    assert.match(details.get(c.task_id) ?? '', new RegExp(`^invalid task_assign: ${field}: `), 'the reason names the field');
    assert.deepEqual(
      rejects.filter((r) => r.task_id === c.task_id).map((r) => r.reason),
      ['invalid_task'],
      `one reject for ${JSON.stringify(c)}`,
    );
  }
  assert.equal(core.messagesOf('task_ack').length, 0);
  assert.equal(core.messagesOf('task_complete').length, 0);
});
