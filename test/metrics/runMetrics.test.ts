import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { cli, cliRun, registeredRunner } from '../helpers/runnerHarness.ts';
import { until } from '../helpers/tmp.ts';
import { fetchPath } from './endpointClient.ts';
import { parseExposition } from './promText.ts';

/** The endpoint's address, from the line `run` says on stdout when it starts serving. */
async function metricsUrl(child: ChildProcess & { output: () => { stdout: string } }): Promise<string> {
  return until(
    () => /metrics and health at (http:\/\/\S+)\/metrics, \/healthz and \/readyz$/m.exec(child.output().stdout)?.[1],
    'the runner to say where metrics are',
  );
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.on('close', (code) => r(code)));
}

test('`run --metrics-listen 127.0.0.1:0` says the port it got, serves /metrics and /readyz for the real daemon, and SIGTERM still exits 0', async () => {
  const { core, id, config, env } = await registeredRunner();
  const child = cli(['run', '--config', config, '--metrics-listen', '127.0.0.1:0'], env);
  const url = await metricsUrl(child);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  await core.until(() => core.connected(id), 10_000, 'the runner connects');
  await until(async () => (await fetchPath(url, '/readyz')).status === 200, '/readyz to say ready');
  const m = parseExposition((await fetchPath(url, '/metrics')).body);
  assert.equal(m.value('sibyl_runner_link_up'), 1);
  assert.equal(m.value('sibyl_runner_capacity'), 3, 'the default max_concurrent_agents');
  assert.ok(m.has('process_resident_memory_bytes'));
  child.kill('SIGTERM');
  assert.equal(await exitOf(child), 0, child.output().stderr);
});

test('a non-loopback metrics address is refused (exit 2, naming the key and its opt-in) before anything connects', async () => {
  const { core, config, env } = await registeredRunner();
  const flag = await cliRun(['run', '--config', config, '--metrics-listen', '0.0.0.0:9464'], env);
  assert.equal(flag.code, 2, flag.stderr);
  assert.match(flag.stderr, /--metrics-listen: 0\.0\.0\.0:9464 can be reached from other machines/);
  assert.match(flag.stderr, /metrics_allow_remote: true/);
  const fromEnv = await cliRun(['run', '--config', config], { ...env, SIBYL_METRICS_LISTEN: '0.0.0.0:9464' });
  assert.equal(fromEnv.code, 2, fromEnv.stderr);
  assert.match(fromEnv.stderr, /environment variable SIBYL_METRICS_LISTEN: 0\.0\.0\.0:9464 can be reached/);
  assert.equal(core.handshakes.length, 0, 'the runner never connected');
});

test('with metrics_allow_remote, 0.0.0.0 is served', async () => {
  const { core, id, config, env } = await registeredRunner({ metrics_allow_remote: true });
  const child = cli(['run', '--verbose', '--config', config], { ...env, SIBYL_METRICS_LISTEN: '0.0.0.0:0' });
  const url = await metricsUrl(child);
  await core.until(() => core.connected(id), 10_000, 'the runner connects');
  const port = new URL(url).port;
  assert.equal((await fetchPath(`http://127.0.0.1:${port}`, '/healthz')).status, 200);
  child.kill('SIGTERM');
  assert.equal(await exitOf(child), 0);
});

test('a metrics address already in use ends the start (exit 1) with the address and the key, before the runner connects', async () => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  after(() => busy.close());
  const port = (busy.address() as AddressInfo).port;
  const { core, config, env } = await registeredRunner({ metrics_listen: `127.0.0.1:${port}` });
  const run = await cliRun(['run', '--config', config], env);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`cannot serve metrics on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  assert.equal(core.handshakes.length, 0);
});

test('a malformed metrics_listen in runner.yaml is a configuration error naming the key', async () => {
  const { config, env } = await registeredRunner({ metrics_listen: '9464' });
  const run = await cliRun(['run', '--config', config], env);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /key "metrics_listen": expected HOST:PORT such as 127\.0\.0\.1:9464/);
});
