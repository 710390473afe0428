import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { after } from 'node:test';
import { writeFileSync } from 'node:fs';
import YAML from 'yaml';
import { defaultConfig, type RunnerConfig } from '../../main/runner/config/schema.ts';
import { Daemon, type AuthSource, type DaemonOptions } from '../../main/runner/daemon.ts';
import { configureLogging } from '../../main/runner/logger.ts';
import { FakeCore, type FakeCoreOptions } from './fakeCore.ts';
import { tempDir, until } from './tmp.ts';

configureLogging({ quiet: true });

export const REPO = resolve(import.meta.dirname, '../..');
export const BIN = join(REPO, 'bin', 'sibyl-runner.js');

export interface Harness {
  core: FakeCore;
  daemon: Daemon;
  runnerId: string;
  token: string;
  home: string;
  config: RunnerConfig;
}

export function staticAuth(token: string, refresh?: () => Promise<boolean>): AuthSource {
  return { accessToken: async () => token, refreshNow: refresh ?? (async () => false), secrets: () => [token] };
}

/** A fake Sibyl Core plus an in-process daemon registered with it; both stopped after the test file. */
export async function startHarness(
  opts: { core?: FakeCoreOptions; config?: Partial<RunnerConfig>; daemon?: Partial<DaemonOptions>; awaitConnect?: boolean } = {},
): Promise<Harness> {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0, ...opts.core });
  after(() => core.stop());
  const { id: runnerId, accessToken: token } = core.addRunner({ name: 'test-runner' });
  const home = tempDir();
  const config: RunnerConfig = {
    ...defaultConfig(home),
    server_url: core.url,
    runner_id: runnerId,
    name: 'test-runner',
    reconnect_interval: 0.05,
    ...opts.config,
  };
  const daemon = new Daemon({
    config,
    configPath: join(home, 'runner.yaml'),
    auth: staticAuth(token),
    controlSocket: false,
    redialGraceMs: 50,
    env: { PATH: process.env.PATH },
    ...opts.daemon,
  });
  after(() => daemon.stop(2000));
  await daemon.start();
  if (opts.awaitConnect !== false) await core.until(() => core.connected(runnerId), 5000, 'runner to connect');
  return { core, daemon, runnerId, token, home, config };
}

/** task_assign in Variant A shape with a fresh UUID task id. */
export function assign(
  runnerId: string,
  core: FakeCore,
  config: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): string {
  const taskId = crypto.randomUUID();
  core.send(runnerId, {
    type: 'task_assign',
    task_id: taskId,
    agent_id: `agent_${taskId.slice(0, 12).replace(/-/g, 'a')}`,
    project_id: 'project_1a2b3c4d5e6f',
    config,
    ...extra,
  });
  return taskId;
}

export function completionOf(core: FakeCore, taskId: string) {
  return core.messagesOf('task_complete').filter((m) => m.task_id === taskId);
}

/**
 * A file the test creates when the agent may go on: `waitScript` is a shell loop that waits for
 * it, so a test looks at a running task without racing the task's end. It gives up after ~2 min:
 * a test that failed (its runner killed, the agent left in its own group) leaves no loop behind
 * forking `sleep` every 20 ms under the next tests and benchmarks. Given up, it exits 97.
 */
export function agentGate(): { waitScript: string; open(): void } {
  const path = join(tempDir('sibyl-gate-'), 'open');
  return {
    waitScript: `i=0; while [ ! -e '${path}' ] && [ $i -lt 6000 ]; do sleep 0.02; i=$((i+1)); done; [ -e '${path}' ] || exit 97`,
    open: () => writeFileSync(path, ''),
  };
}

/** The core sends a heartbeat and waits for its ack: every frame the runner sent before the ack has arrived by then (one ordered socket). */
export async function heartbeatRoundTrip(core: FakeCore, runnerId: string): Promise<void> {
  const acks = core.messagesOf('heartbeat_ack', runnerId).length;
  core.send(runnerId, { type: 'heartbeat', server_time: new Date().toISOString() });
  await core.until(() => core.messagesOf('heartbeat_ack', runnerId).length > acks, 5000, 'the ack of a heartbeat');
}

/**
 * Resolves once the in-process daemon runs no task, has nothing queued, and the core has received
 * all it sent: a check that something happened exactly once waits on this, not on a fixed time.
 */
export async function settled({ core, daemon, runnerId }: Pick<Harness, 'core' | 'daemon' | 'runnerId'>): Promise<void> {
  await until(() => daemon.tasks.running().length === 0 && daemon.outbox.size === 0, 'the daemon to finish its tasks and send its queue');
  await heartbeatRoundTrip(core, runnerId);
}

/** A real `sibyl-runner` process (the pinned Node runs the bin). */
export function cli(
  args: string[],
  env: Record<string, string | undefined>,
): ChildProcess & { output: () => { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return Object.assign(child, { output: () => ({ stdout, stderr }) });
}

export async function cliRun(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = cli(args, env);
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  return { code, ...child.output() };
}

/**
 * A fake Sibyl Core (stopped after the test file) with one registered runner, and a runner.yaml in
 * a fresh HOME naming it, with its worktrees in `<home>/wt` and logs in `<home>/logs` plus any
 * `extra` keys: what a test needs to start the real `sibyl-runner run --config <config>` with `env`.
 */
export async function registeredRunner(
  extra: Record<string, unknown> = {},
): Promise<{ core: FakeCore; id: string; home: string; config: string; env: Record<string, string> }> {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const home = tempDir();
  const { id, accessToken } = core.addRunner({ name: 'one' });
  const config = join(home, 'runner.yaml');
  writeYaml(config, { server_url: core.url, runner_id: id, worktree_base: join(home, 'wt'), log_dir: join(home, 'logs'), ...extra });
  return { core, id, home, config, env: { HOME: home, SIBYL_ACCESS_TOKEN: accessToken } };
}

export function writeYaml(path: string, value: Record<string, unknown>): void {
  writeFileSync(path, YAML.stringify(value));
}
