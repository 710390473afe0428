import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileCredentialStore } from '../../main/runner/config/credentials.ts';
import { defaultConfig, type RunnerConfig } from '../../main/runner/config/schema.ts';
import { configureLogging } from '../../main/runner/logger.ts';
import { startRunner, type StartedRunner } from '../../main/runner/startRunner.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { ModelServer, say } from '../helpers/modelServer.ts';
import { assign, completionOf, REPO } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';
import { fetchPath } from './endpointClient.ts';
import { parseExposition, type Exposition } from './promText.ts';

configureLogging({ quiet: true });

const BIN = join(REPO, 'node_modules', '.bin');

async function scrape(url: string): Promise<Exposition> {
  const res = await fetchPath(url, '/metrics');
  assert.equal(res.status, 200, res.body);
  assert.match(res.type, /^text\/plain; version=0\.0\.4/);
  return parseExposition(res.body);
}

/** A runner started the way `run` and the desktop app start it, against `core`, with metrics on an ephemeral loopback port. */
async function runnerWithMetrics(
  core: FakeCore,
  opts: { config?: Partial<RunnerConfig>; env?: Record<string, string | undefined> } = {},
): Promise<{ runner: StartedRunner; id: string; url: string; config: RunnerConfig }> {
  const { id, accessToken } = core.addRunner({ name: 'metrics' });
  const home = tempDir();
  const configPath = join(home, 'runner.yaml');
  const config: RunnerConfig = {
    ...defaultConfig(home, configPath),
    server_url: core.url,
    runner_id: id,
    access_token: accessToken,
    worktree_base: join(home, 'wt'),
    log_dir: join(home, 'logs'),
    reconnect_interval: 0.05,
    metrics_listen: '127.0.0.1:0',
    ...opts.config,
  };
  const runner = await startRunner(config, {
    configPath,
    home,
    credentials: new FileCredentialStore(join(home, 'credentials.json')),
    env: opts.env ?? { PATH: process.env.PATH },
    tuning: { controlSocket: false, redialGraceMs: 50 },
  });
  after(() => runner.stop());
  assert.ok(runner.metricsUrl, 'startRunner says where the endpoint is');
  return { runner, id, url: runner.metricsUrl, config };
}

/** What Claude Code needs to run against the scripted model server and nothing else (see test/agents/runnerAgents.test.ts). */
function claudeEnv(server: ModelServer): Record<string, string> {
  const home = tempDir('sibyl-agent-home-');
  mkdirSync(join(home, 'tmp'));
  return {
    PATH: `${BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: home,
    TMPDIR: join(home, 'tmp'),
    LANG: 'C.UTF-8',
    CLAUDE_CONFIG_DIR: join(home, '.claude'),
    ANTHROPIC_BASE_URL: server.url,
    ANTHROPIC_API_KEY: 'sk-ant-test-not-a-key',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    HTTPS_PROXY: server.url,
    HTTP_PROXY: server.url,
    NO_PROXY: '127.0.0.1,localhost',
  };
}

test(
  'after real tasks, /metrics counts them by status, times them and their workspaces, and adds up what the agent reported',
  { timeout: 120_000 },
  async (t) => {
    const server = await ModelServer.start([say('Nothing to change here.', { input: 321, output: 45 })]);
    t.after(() => server.close());
    const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
    after(() => core.stop());
    const { runner, id, url, config } = await runnerWithMetrics(core, {
      config: { agent: 'claude-code', max_concurrent_agents: 4 },
      env: claudeEnv(server),
    });
    await core.until(() => core.connected(id), 10_000, 'the runner connects');

    const before = await scrape(url);
    for (const status of ['completed', 'failed', 'timeout', 'cancelled', 'rejected'])
      assert.equal(before.value('sibyl_runner_tasks_total', { status }), 0, `${status} is exported, at 0, before any task`);
    assert.equal(before.value('sibyl_runner_task_duration_seconds_count'), 0);

    const ok = assign(id, core, { command: ['/bin/sh', '-c', 'echo fine'] });
    const bad = assign(id, core, { command: ['/bin/sh', '-c', 'echo broken >&2; exit 3'] });
    const agent = assign(id, core, { prompt: 'Look around and say what you see.', agent_type: 'implementer' });
    // Neither a prompt nor a command: refused at assignment (invalid_task), never run.
    const refused = assign(id, core, {});
    await until(() => [ok, bad, agent].every((task) => completionOf(core, task).length > 0), 'the three tasks to finish', 90_000);
    await until(() => core.messagesOf('task_reject').some((m) => m.task_id === refused), 'the empty task to be refused');
    const results = Object.fromEntries([ok, bad, agent].map((task) => [task, completionOf(core, task)[0]!]));
    assert.equal(results[ok]!.result.status, 'completed');
    assert.equal(results[bad]!.result.status, 'failed');
    const claude = results[agent]!;
    assert.equal(claude.result.status, 'completed', `${claude.error ?? ''} ${JSON.stringify(server.problems)}`);
    await until(() => runner.daemon.outbox.size === 0, 'the server to confirm every result');

    const m = await scrape(url);
    assert.equal(m.value('sibyl_runner_tasks_total', { status: 'completed' }), 2);
    assert.equal(m.value('sibyl_runner_tasks_total', { status: 'failed' }), 1);
    assert.equal(m.value('sibyl_runner_tasks_total', { status: 'rejected' }), 1);
    assert.equal(m.value('sibyl_runner_tasks_total', { status: 'timeout' }), 0);
    assert.equal(m.types.get('sibyl_runner_task_duration_seconds'), 'histogram');
    assert.equal(m.value('sibyl_runner_task_duration_seconds_count'), 3, 'one observation per finished task');
    const durations = Object.values(results).reduce((sum, r) => sum + r.result.duration_s, 0);
    assert.ok(Math.abs(m.value('sibyl_runner_task_duration_seconds_sum') - durations) < 1e-6, 'the sum is the results’ duration_s');
    assert.equal(m.value('sibyl_runner_task_duration_seconds_bucket', { le: '+Inf' }), 3, 'every observation is in the +Inf bucket');
    assert.equal(m.types.get('sibyl_runner_worktree_prepare_seconds'), 'histogram');
    assert.equal(m.value('sibyl_runner_worktree_prepare_seconds_count'), 3, 'each run task prepared one workspace; the refused one none');

    // What Claude Code reported for its run, as the task's result carries it.
    const report = claude.result as Record<string, unknown>;
    const usage = report.usage as {
      input_tokens: number;
      output_tokens: number;
      cache_read_input_tokens: number;
      cache_creation_input_tokens: number;
    };
    const cost = report.cost_usd as number;
    assert.ok(usage.output_tokens > 0 && cost > 0, JSON.stringify(claude.result));
    assert.equal(m.value('sibyl_runner_agent_tokens_total', { kind: 'input' }), usage.input_tokens);
    assert.equal(m.value('sibyl_runner_agent_tokens_total', { kind: 'output' }), usage.output_tokens);
    assert.equal(m.value('sibyl_runner_agent_tokens_total', { kind: 'cache_read' }), usage.cache_read_input_tokens);
    assert.equal(m.value('sibyl_runner_agent_tokens_total', { kind: 'cache_creation' }), usage.cache_creation_input_tokens);
    assert.equal(m.value('sibyl_runner_agent_cost_usd_total'), cost);

    assert.equal(m.value('sibyl_runner_capacity'), config.max_concurrent_agents);
    assert.equal(m.value('sibyl_runner_agents_running'), 0);
    assert.equal(m.value('sibyl_runner_link_up'), 1);
    assert.equal(m.value('sibyl_runner_outbox_pending'), 0);
    assert.equal(m.value('sibyl_runner_reconnects_total'), 0);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes'])
      assert.ok(m.has(name), `prom-client's process metric ${name} is exported`);
  },
);

test('the gauges follow the live state: a running agent, a changed capacity', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const { runner, id, url } = await runnerWithMetrics(core, { config: { max_concurrent_agents: 2 } });
  await core.until(() => core.connected(id), 10_000, 'the runner connects');
  const gate = join(tempDir('sibyl-gate-'), 'open');
  const task = assign(id, core, { command: ['/bin/sh', '-c', `while [ ! -e '${gate}' ]; do sleep 0.02; done`] });
  await until(() => runner.daemon.tasks.running().some((r) => r.taskId === task && r.phase === 'running'), 'the agent to run');
  await runner.daemon.control({ method: 'setMaxAgents', maxAgents: 5 });
  const m = await scrape(url);
  assert.equal(m.value('sibyl_runner_agents_running'), 1);
  assert.equal(m.value('sibyl_runner_capacity'), 5);
  spawnSync('touch', [gate]);
  await until(() => completionOf(core, task).length > 0, 'the task to finish');
  await until(async () => (await scrape(url)).value('sibyl_runner_agents_running') === 0, 'the gauge to drop to 0');
});

test('/readyz: 503 with the reason while the server cannot be reached, 200 once the link is up, 503 again when the server goes away; reconnects are counted', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  // Down before the runner starts: its first dial fails.
  await core.stop();
  const { id, url } = await runnerWithMetrics(core);
  const down = await fetchPath(url, '/readyz');
  assert.equal(down.status, 503);
  assert.match(down.type, /^application\/json/);
  const reason = JSON.parse(down.body) as { ready: boolean; link?: string; reason: string };
  assert.equal(reason.ready, false);
  assert.ok(reason.reason.length > 0, down.body);
  assert.equal((await fetchPath(url, '/healthz')).status, 200, 'alive all the same');
  assert.equal((await scrape(url)).value('sibyl_runner_link_up'), 0);

  await core.listen();
  await core.until(() => core.connected(id), 10_000, 'the runner connects once the server is up');
  const up = await until(async () => {
    const r = await fetchPath(url, '/readyz');
    return r.status === 200 ? r : undefined;
  }, '/readyz to say ready');
  assert.deepEqual(JSON.parse(up.body), { ready: true, link: 'open' });
  assert.equal((await scrape(url)).value('sibyl_runner_reconnects_total'), 0, 'the first connection is not a reconnect');

  await core.stop();
  const gone = await until(async () => {
    const r = await fetchPath(url, '/readyz');
    return r.status === 503 ? r : undefined;
  }, '/readyz to say not ready once the server is gone');
  assert.equal((JSON.parse(gone.body) as { ready: boolean }).ready, false);
  assert.equal((await scrape(url)).value('sibyl_runner_link_up'), 0);

  await core.listen();
  await core.until(() => core.connected(id), 10_000, 'the runner reconnects');
  await until(async () => (await fetchPath(url, '/readyz')).status === 200, '/readyz to say ready again');
  assert.equal((await scrape(url)).value('sibyl_runner_reconnects_total'), 1);
});

test('only GET and HEAD of /metrics, /healthz and /readyz are answered; a stopped runner stops serving', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const { runner, id, url } = await runnerWithMetrics(core);
  await core.until(() => core.connected(id), 10_000, 'the runner connects');
  for (const path of ['/', '/metric', '/metrics/x', '/healthz/', '/favicon.ico', '/METRICS'])
    assert.equal((await fetchPath(url, path)).status, 404, path);
  const post = await fetchPath(url, '/metrics', 'POST');
  assert.equal(post.status, 405);
  assert.equal(post.allow, 'GET, HEAD');
  assert.equal((await fetchPath(url, '/readyz', 'DELETE')).status, 405);
  const head = await fetchPath(url, '/healthz', 'HEAD');
  assert.deepEqual([head.status, head.body], [200, '']);
  assert.equal((await fetchPath(url, '/healthz?verbose=1')).status, 200, 'a query string is ignored');

  await runner.stop();
  await assert.rejects(fetchPath(url, '/healthz'), /ECONNREFUSED/, 'nothing listens after stop');
});

test('/readyz says stopping (503) while the runner drains its running task', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const { runner, id, url } = await runnerWithMetrics(core);
  await core.until(() => core.connected(id), 10_000, 'the runner connects');
  const gate = join(tempDir('sibyl-gate-'), 'open');
  // Deaf to the drain's SIGTERM (its sleeps are not): it ends when the gate opens.
  const task = assign(id, core, { command: ['/bin/sh', '-c', `trap '' TERM; while [ ! -e '${gate}' ]; do sleep 0.02; done`] });
  await until(() => runner.daemon.tasks.running().some((r) => r.taskId === task && r.phase === 'running'), 'the agent to run');
  assert.equal((await fetchPath(url, '/readyz')).status, 200);
  const stopped = runner.stop();
  const draining = await fetchPath(url, '/readyz');
  assert.equal(draining.status, 503);
  assert.match((JSON.parse(draining.body) as { reason: string }).reason, /^stopping/);
  assert.equal((await fetchPath(url, '/healthz')).status, 200, 'alive while draining');
  spawnSync('touch', [gate]);
  await stopped;
  assert.equal(completionOf(core, task).length, 1, 'the drained task was reported');
});
