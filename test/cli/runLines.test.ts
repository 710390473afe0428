import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RunLines, seconds } from '../../main/cli/runLines.ts';
import { agentGate, assign, cli, cliRun, completionOf, registeredRunner } from '../helpers/runnerHarness.ts';
import { until } from '../helpers/tmp.ts';
import { spec } from '../helpers/workspaceFixture.ts';

/**
 * `run` tells its story in words (issue 15, item 11): online, each task's start and end with its
 * reason, a lost connection and the next try; the log stays in runner.log unless --verbose; and a
 * second `run` on the same configuration points at `status` with exit 2 (item 16).
 */

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.on('close', (code) => r(code)));
}

const short = (id: string): string => id.slice(0, 8);

test('run on a terminal: online, tasks started and ended with their reasons, a refusal, a lost server, draining; no log lines', async () => {
  const { core, id, home, config, env } = await registeredRunner({ name: 'box', max_concurrent_agents: 1, reconnect_interval: 0.2 });
  const run = cli(['run', '--config', config], env);
  const stdout = (): string[] => run.output().stdout.split('\n').filter(Boolean);
  await until(() => stdout().includes('online as box, waiting for tasks (Ctrl+C to stop)'), 'the online line');

  const ok = assign(id, core, { command: ['/bin/sh', '-c', 'echo done'], prompt: 'Fix the upload bug\nin the web app' });
  await until(() => completionOf(core, ok).length, 'the first task to finish');
  const failing = assign(id, core, { command: ['/bin/sh', '-c', 'echo "no such file" >&2; exit 3'], prompt: 'Break it' });
  await until(() => completionOf(core, failing).length, 'the failing task to finish');
  const missing = assign(id, core, { command: ['/nonexistent/agent-cli'], prompt: 'Use a missing agent' });
  await until(() => completionOf(core, missing).length, 'the task without its command to finish');
  // At capacity (1 agent): a gated task holds the slot and the next one is refused.
  const gate = agentGate();
  const held = assign(id, core, { command: ['/bin/sh', '-c', gate.waitScript], prompt: 'Wait for the gate' });
  await until(() => stdout().some((l) => l.startsWith(`task ${short(held)} started`)), 'the gated task to start');
  const refused = assign(id, core, { command: ['/bin/true'], prompt: 'One too many' });
  await until(() => stdout().some((l) => l.startsWith(`task ${short(refused)} refused`)), 'the refusal');

  await core.stop();
  await until(() => stdout().some((l) => l.startsWith("can't reach server") && / \(attempt 2\): /.test(l)), 'two failed attempts');
  await core.listen();
  await until(() => stdout().includes('online again as box'), 'back online');

  run.kill('SIGTERM');
  await until(() => stdout().some((l) => l.startsWith('stopping')), 'the stop to be said');
  gate.open();
  assert.equal(await exitOf(run), 0, run.output().stderr);

  const lines = stdout();
  const after = (prefix: string): string => lines.find((l) => l.startsWith(prefix)) ?? `(no line starting ${prefix})`;
  assert.equal(lines[0], 'online as box, waiting for tasks (Ctrl+C to stop)');
  assert.equal(after(`task ${short(ok)} started`), `task ${short(ok)} started: Fix the upload bug (command)`);
  assert.match(after(`task ${short(ok)} completed`), new RegExp(`^task ${short(ok)} completed in \\d+s$`));
  assert.match(
    after(`task ${short(failing)} failed`),
    new RegExp(`^task ${short(failing)} failed after \\d+s: exit code 3: no such file$`),
  );
  assert.match(after(`task ${short(missing)} failed`), /failed after \d+s: command not found: \/nonexistent\/agent-cli$/);
  assert.equal(after(`task ${short(refused)}`), `task ${short(refused)} refused: at capacity (1/1)`);
  assert.match(after('connection lost'), /^connection lost, retrying in [\d.]+s \(attempt 1\): /);
  assert.match(
    after("can't reach server"),
    new RegExp(
      `^can't reach server, retrying in [\\d.]+s \\(attempt \\d+\\): Nothing is answering at 127\\.0\\.0\\.1:${core.port} — is Sibyl running\\?$`,
    ),
  );
  assert.equal(after('stopping'), 'stopping: asking the running agent to stop; Sibyl can retry its task (Ctrl+C again to end it now)');
  // Draining stops the running agents; their results still go out.
  assert.match(after(`task ${short(held)} cancelled`), new RegExp(`^task ${short(held)} cancelled after \\d+s: the runner stopped$`));
  assert.equal(lines.at(-1), 'stopped');

  // The log's routine lines stay off the terminal (its warnings would show): its JSON lines are in runner.log.
  assert.doesNotMatch(run.output().stderr, /INFO|DEBUG|\[link\]|\[cli\]/, run.output().stderr);
  const log = readFileSync(join(home, 'logs', 'runner.log'), 'utf8')
    .trim()
    .split('\n');
  assert.ok(log.length > 5);
  for (const line of log) assert.doesNotThrow(() => JSON.parse(line) as unknown, line);
  assert.ok(log.some((l) => l.includes('"msg":"link down"')));
});

test('-v adds the log on stderr; -q prints nothing on stdout', async () => {
  const { core, id, config, env } = await registeredRunner({ name: 'box' });
  const verbose = cli(['run', '-v', '--config', config], env);
  await core.until(() => core.connected(id), 10_000, 'the verbose runner connects');
  await until(() => / DEBUG | INFO +\[/.test(verbose.output().stderr), 'log lines on stderr');
  // Said once the connection has stayed open a moment (the server refuses credentials by closing at once).
  await until(() => verbose.output().stdout.includes('online as box'), 'the online line');
  verbose.kill('SIGTERM');
  assert.equal(await exitOf(verbose), 0);
  assert.match(verbose.output().stdout, /^online as box, waiting for tasks/m);
  await core.until(() => !core.connected(id), 10_000, 'the server sees it gone');

  const quiet = cli(['run', '-q', '--config', config], env);
  await core.until(() => core.connected(id), 10_000, 'the quiet runner connects');
  const task = assign(id, core, { command: ['/bin/true'] });
  await until(() => completionOf(core, task).length, 'a task to finish');
  quiet.kill('SIGTERM');
  assert.equal(await exitOf(quiet), 0);
  assert.deepEqual(quiet.output(), { stdout: '', stderr: '' });
});

test('a second run for the same config: "already running for this config (pid N); see `sibyl-runner status`", exit 2', async () => {
  const { core, id, config, env } = await registeredRunner();
  const first = cli(['run', '--config', config], env);
  await core.until(() => core.connected(id), 10_000, 'the first runner connects');
  const second = await cliRun(['run', '--config', config], env);
  assert.equal(second.code, 2);
  assert.equal(second.stdout, '');
  assert.equal(second.stderr, `sibyl-runner run: already running for this config (pid ${first.pid}); see \`sibyl-runner status\`\n`);
  first.kill('SIGTERM');
  assert.equal(await exitOf(first), 0);
});

test('RunLines: one line per new state or attempt, the wait in seconds', () => {
  const said: string[] = [];
  let now = 1_000_000;
  const lines = new RunLines({ say: (l) => said.push(l), name: 'box', lookup: () => undefined, now: () => now, onlineAfterMs: 0 });
  lines.link({ state: 'connecting', attempts: 0, reason: undefined, nextRetryAt: undefined });
  lines.link({ state: 'waiting', attempts: 1, reason: 'Nothing is answering at h:1 — is Sibyl running?', nextRetryAt: now + 4000 });
  now += 100;
  lines.link({ state: 'waiting', attempts: 1, reason: 'Nothing is answering at h:1 — is Sibyl running?', nextRetryAt: now + 3900 });
  lines.link({ state: 'open', attempts: 0, reason: undefined, nextRetryAt: undefined });
  lines.link({ state: 'open', attempts: 0, reason: undefined, nextRetryAt: undefined });
  lines.link({ state: 'waiting', attempts: 1, reason: 'the connection dropped (1006)', nextRetryAt: now + 250 });
  lines.link({ state: 'open', attempts: 0, reason: undefined, nextRetryAt: undefined });
  assert.deepEqual(said, [
    "can't reach server, retrying in 4s (attempt 1): Nothing is answering at h:1 — is Sibyl running?",
    'online as box, waiting for tasks (Ctrl+C to stop)',
    'connection lost, retrying in 0.3s (attempt 1): the connection dropped',
    'online again as box',
  ]);
  assert.deepEqual([seconds(4000), seconds(1490), seconds(500), seconds(20), seconds(-5)], ['4s', '1s', '0.5s', '0.1s', '0.1s']);
});

test('signed out: the line saying so and what to do comes once, however often the link tries again', async () => {
  const { config, home } = await registeredRunner({ reconnect_interval: 0.2 });
  const run = cli(['run', '--config', config], { HOME: home });
  const attempts = async (): Promise<number> => {
    const r = await cliRun(['status', '--json', '--config', config], { HOME: home });
    const link = (JSON.parse(r.stdout) as { daemon?: { link?: { attempts?: number } } | null }).daemon?.link;
    return link?.attempts ?? 0;
  };
  let seen = 0;
  await until(async () => (seen = await attempts()) >= 3, 'three sign-in attempts');
  run.kill('SIGTERM');
  assert.equal(await exitOf(run), 0);
  const told = run
    .output()
    .stderr.split('\n')
    .filter((l) => l.startsWith('sibyl-runner run: '));
  assert.equal(told.length, 1, `${seen} attempts:\n${run.output().stderr}`);
  assert.doesNotMatch(run.output().stderr, /registration sync failed/, 'the sign-in line says it all');
  assert.match(told[0]!, /^sibyl-runner run: no usable credentials: .* — run `sibyl-runner login --server http:\/\/127\.0\.0\.1:\d+`$/);
});

test('RunLines: "online" only once a connection stayed open; one the server closes at once (refused credentials) is not said', async () => {
  const said: string[] = [];
  let onOnline = 0;
  const lines = new RunLines({
    say: (l) => said.push(l),
    name: 'box',
    lookup: () => undefined,
    onlineAfterMs: 50,
    onOnline: () => onOnline++,
  });
  lines.link({ state: 'open', attempts: 0, reason: undefined, nextRetryAt: undefined });
  lines.link({ state: 'auth_failed', attempts: 1, reason: 'the server refused the credentials', nextRetryAt: undefined });
  await new Promise((r) => setTimeout(r, 120));
  assert.deepEqual(said, [], 'accepted and closed at once: not online');
  lines.link({ state: 'open', attempts: 0, reason: undefined, nextRetryAt: undefined });
  assert.deepEqual(said, [], 'not yet');
  await until(() => said.length === 1, 'the online line');
  assert.deepEqual(said, ['online as box, waiting for tasks (Ctrl+C to stop)']);
  assert.equal(onOnline, 1);
});

test('a refused token: never "online", and the sign-in line once, however often the server accepts and closes', async () => {
  const { config, home } = await registeredRunner({ reconnect_interval: 0.2 });
  const run = cli(['run', '--config', config], { HOME: home, SIBYL_ACCESS_TOKEN: 'not-a-token-this-server-signed' });
  await until(() => (run.output().stderr.match(/refused the credentials/g) ?? []).length >= 1, 'the refusal');
  // Several more accept-then-close rounds (reconnect_interval 0.2 s).
  await new Promise((r) => setTimeout(r, 2500));
  run.kill('SIGTERM');
  assert.equal(await exitOf(run), 0);
  const { stdout, stderr } = run.output();
  assert.doesNotMatch(stdout, /online/, stdout);
  const told = stderr.split('\n').filter((l) => l.startsWith('sibyl-runner run: '));
  assert.equal(told.length, 1, stderr);
  // The token in the environment is used before any stored login: signing in again would not help.
  assert.match(told[0]!, /refused the credentials .*— fix or unset SIBYL_ACCESS_TOKEN: it is used instead of the stored login$/);
  assert.doesNotMatch(stderr, /registration sync failed/, 'the sign-in line says it all');
});

test('RunLines: a task from the server says online at once; nothing says online once stopping was said', async () => {
  const said: string[] = [];
  const lines = new RunLines({ say: (l) => said.push(l), name: 'box', lookup: () => undefined, onlineAfterMs: 60_000 });
  const observer = lines.observer();
  lines.link({ state: 'open', attempts: 0, reason: undefined, nextRetryAt: undefined });
  await observer.assigned?.(spec({ prompt: 'Fix it' }), Date.now());
  assert.deepEqual(said, ['online as box, waiting for tasks (Ctrl+C to stop)'], 'a task_assign proves the connection was accepted');

  const late: string[] = [];
  const stopping = new RunLines({ say: (l) => late.push(l), name: 'box', lookup: () => undefined, onlineAfterMs: 30 });
  stopping.link({ state: 'open', attempts: 0, reason: undefined, nextRetryAt: undefined });
  stopping.stopping(2);
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(late, ['stopping: asking the 2 running agents to stop; Sibyl can retry their tasks (Ctrl+C again to end them now)']);
});

test(
  'giving up reconnecting (max_reconnect_attempts) ends run with exit 1, so a service manager starts it again',
  { timeout: 30_000 },
  async () => {
    const { core, config, env } = await registeredRunner({ max_reconnect_attempts: 2, reconnect_interval: 0.05 });
    await core.stop();
    const run = cli(['run', '--config', config], env);
    assert.equal(await exitOf(run), 1, run.output().stderr);
    const { stdout, stderr } = run.output();
    assert.match(stderr, /^sibyl-runner run: .*gave up after 2 attempts \(max_reconnect_attempts\)/m);
    assert.match(stdout, /^stopped$/m);
  },
);
