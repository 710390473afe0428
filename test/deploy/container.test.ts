import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { locateConfig } from '../../main/runner/config/loadConfig.ts';
import { controlSocketPath } from '../../main/runner/control/controlSocket.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { assign, completionOf, REPO } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';
import { buildContext, dockerIgnores, dockerignorePatterns, linkNodeModules, parseDockerfile } from './dockerfile.ts';

/**
 * The container image, as far as it can be checked without building one: the Dockerfile's
 * references, then its two steps as scripts — the build stage's pack.sh on exactly the build
 * context .dockerignore leaves, the runtime stage's install.sh into a temp root — and the
 * installed runner started through the image's entry point against the fake core, checked by the
 * image's HEALTHCHECK and stopped through the Kubernetes preStop hook.
 */

const CONTAINER = join(REPO, 'deploy', 'container');
const dockerfile = parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));

test('the Dockerfile: two node:22-slim stages, copies what exists and is in the build context, runs executable scripts', () => {
  const froms = dockerfile.filter((i) => i.cmd === 'FROM').map((i) => i.args);
  assert.deepEqual(froms, ['node:22-slim AS build', 'node:22-slim']);
  const patterns = dockerignorePatterns(REPO);
  const copies = dockerfile.filter((i) => i.cmd === 'COPY' && !i.flags.from);
  assert.ok(copies.length > 0);
  for (const copy of copies) {
    for (const src of copy.args.split(/\s+/).slice(0, -1)) {
      if (src === '.') continue;
      assert.ok(existsSync(join(REPO, src)), `COPY ${src}: exists`);
      assert.equal(dockerIgnores(patterns, src.replace(/\/$/, '')), false, `COPY ${src}: not excluded by .dockerignore`);
    }
  }
  const scripts = readdirSync(CONTAINER);
  for (const name of scripts) accessSync(join(CONTAINER, name), constants.X_OK);
  // Every deploy/container path the image runs is one of those scripts, copied to /usr/local/lib/sibyl-runner/.
  const runs = dockerfile
    .filter((i) => ['RUN', 'ENTRYPOINT', 'HEALTHCHECK', 'CMD'].includes(i.cmd))
    .flatMap((i) => [...i.args.matchAll(/(?:deploy\/container|\/usr\/local\/lib\/sibyl-runner)\/([\w.-]+)/g)].map((m) => m[1]!));
  assert.ok(runs.includes('entrypoint.sh') && runs.includes('healthcheck.mjs') && runs.includes('install.sh') && runs.includes('pack.sh'));
  for (const name of runs) assert.ok(scripts.includes(name), `${name} is in deploy/container`);
  assert.ok(copies.some((c) => c.args === 'deploy/container/ /usr/local/lib/sibyl-runner/'));

  const entry = JSON.parse(dockerfile.find((i) => i.cmd === 'ENTRYPOINT')!.args) as string[];
  assert.deepEqual(entry, ['/usr/bin/tini', '--', '/usr/local/lib/sibyl-runner/entrypoint.sh']);
  const health = dockerfile.find((i) => i.cmd === 'HEALTHCHECK')!.args;
  assert.match(health, /CMD \["node", "\/usr\/local\/lib\/sibyl-runner\/healthcheck\.mjs"\]$/);
  const user = dockerfile.filter((i) => i.cmd === 'USER').map((i) => i.args);
  assert.deepEqual(user, ['1000:1000'], 'not root');
  const env = dockerfile.find((i) => i.cmd === 'ENV')!.args;
  assert.match(env, /HOME=\/var\/sibyl/);
  assert.match(env, /SIBYL_METRICS_LISTEN=0\.0\.0\.0:9464/);
  assert.deepEqual(
    dockerfile.filter((i) => i.cmd === 'EXPOSE').map((i) => i.args),
    ['9464'],
  );
  assert.deepEqual(
    dockerfile.filter((i) => i.cmd === 'VOLUME').map((i) => i.args),
    ['/var/sibyl'],
  );
});

test("the image's agent CLIs are the versions the presets are tested with (package.json)", () => {
  const arg = dockerfile.find((i) => i.cmd === 'ARG' && i.args.startsWith('AGENT_PACKAGES='))!.args;
  const packages = JSON.parse(arg.slice('AGENT_PACKAGES='.length)) as string;
  const dev = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies;
  const pinned = packages.split(' ').map((p) => [p.slice(0, p.lastIndexOf('@')), p.slice(p.lastIndexOf('@') + 1)] as const);
  assert.deepEqual(
    pinned.map(([name]) => name),
    ['@anthropic-ai/claude-code', '@openai/codex'],
  );
  for (const [name, version] of pinned) assert.equal(version, dev[name], name);
});

test('install.sh installs the agent packages word by word: blanks are none, and a word is never a file pattern', () => {
  // npm here is a stand-in that records its arguments and installs a `sibyl-runner` that prints a
  // version: this test is about the script's words, the suite below installs for real.
  const bin = tempDir('sibyl-install-bin-');
  const log = join(bin, 'npm.log');
  writeFileSync(
    join(bin, 'npm'),
    `#!/bin/sh\nprintf '%s|' "$@" >> '${log}'\necho >> '${log}'\nmkdir -p "$SIBYL_INSTALL_ROOT/usr/local/bin"\nprintf '#!/bin/sh\\necho 9.9.9\\n' > "$SIBYL_INSTALL_ROOT/usr/local/bin/sibyl-runner"\nchmod +x "$SIBYL_INSTALL_ROOT/usr/local/bin/sibyl-runner"\n`,
    { mode: 0o755 },
  );
  const calls = (agentPackages: string): string[][] => {
    const root = tempDir('sibyl-install-root-');
    // In a folder with files, so `name@*` would match one if it were taken as a pattern.
    writeFileSync(join(root, 'name@x'), '');
    writeFileSync(log, '');
    const run = spawnSync(join(CONTAINER, 'install.sh'), ['/pkg/sibyl runner.tgz'], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin`, HOME: root, SIBYL_INSTALL_ROOT: root, AGENT_PACKAGES: agentPackages },
    });
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.equal(run.stdout.trim().split('\n').at(-1), '9.9.9');
    return readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split('|').slice(0, -1))
      .filter((args) => args[0] === 'install');
  };
  const [only, ...rest] = calls(' \n\t ');
  assert.deepEqual(rest, [], 'no second npm install for blank AGENT_PACKAGES');
  assert.deepEqual(only!.slice(-2), ['--omit=dev', '/pkg/sibyl runner.tgz']);
  const [, agents] = calls('  @anthropic-ai/claude-code@2.1.332\n name@*  ');
  assert.deepEqual(agents!.slice(-2), ['@anthropic-ai/claude-code@2.1.332', 'name@*']);
  assert.deepEqual(agents!.slice(0, 2), ['install', '--global']);
});

/** A real `sh` process (the entry point, a script) whose output the test reads. */
function start(cmd: string, args: string[], env: Record<string, string>, cwd?: string): ChildProcess & { out: () => string } {
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return Object.assign(child, { out: () => out });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.on('close', (code) => r(code)));
}

describe('the image built from scripts: pack, install, entry point, health check, preStop', { timeout: 180_000 }, () => {
  // Made here, not in before(): a temp folder's removal belongs to the suite, not to the hook.
  const context = tempDir('sibyl-docker-context-');
  const pkg = tempDir('sibyl-pkg-');
  /** the temp root install.sh installs into: <root>/usr/local/bin/sibyl-runner */
  const root = tempDir('sibyl-image-root-');
  const npmHome = tempDir('sibyl-npm-home-');
  /** PATH of the "image": the installed bin, this Node as `node`, the system's tools */
  const path = `${join(root, 'usr/local/bin')}:${join(root, 'node-bin')}:/usr/bin:/bin`;

  before(async () => {
    const kept = buildContext(REPO, context);
    assert.ok(!kept.some((p) => p.startsWith('node_modules/') || p.startsWith('out/')), 'the context has no build output');
    linkNodeModules(REPO, context);
    const packed = spawnSync(join(context, 'deploy/container/pack.sh'), ['--no-install', pkg], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(REPO, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` },
    });
    assert.equal(packed.status, 0, packed.stderr + packed.stdout);
    const tarball = packed.stdout.trim();
    assert.match(tarball, /sibyl-runner-[\d.]+\.tgz$/);

    mkdirSync(join(root, 'node-bin'));
    symlinkSync(process.execPath, join(root, 'node-bin', 'node'));
    const installed = spawnSync(join(CONTAINER, 'install.sh'), [tarball], {
      encoding: 'utf8',
      env: { PATH: path, HOME: npmHome, SIBYL_INSTALL_ROOT: root, AGENT_PACKAGES: '', npm_config_offline: 'true' },
    });
    assert.equal(installed.status, 0, installed.stderr + installed.stdout);
    const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal(installed.stdout.trim().split('\n').at(-1), version, 'install.sh ends by running the installed sibyl-runner');
    assert.equal(statSync(join(root, 'var/sibyl')).mode & 0o777, 0o700, "the runner's HOME is private");
  });

  test('the entry point registers once (API key), signs in from the seeded login, runs, and is healthy only while connected', async () => {
    const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
    after(() => core.stop());
    const home = tempDir('sibyl-container-home-');
    const seed = tempDir('sibyl-logins-');
    const login = core.issueTokenPair();
    // The StatefulSet mounts one login per pod, named after the pod (= the host name).
    writeFileSync(
      join(seed, `${hostname()}.json`),
      JSON.stringify({ ...login, access_token_expires_at: Math.floor(Date.now() / 1000) + login.expires_in, server_url: core.url }),
    );
    const apiKey = core.issueApiKey(['api:write']);
    const metricsPort = await freePort();
    const env = {
      PATH: path,
      HOME: home,
      SIBYL_SERVER_URL: core.url,
      SIBYL_RUNNER_NAME: 'pod-0',
      SIBYL_REGISTRATION_TOKEN: apiKey,
      SIBYL_CREDENTIALS_SEED: seed,
      SIBYL_METRICS_LISTEN: `0.0.0.0:${metricsPort}`,
      SIBYL_METRICS_ALLOW_REMOTE: 'true',
    };
    const health = (...args: string[]) => spawnSync('node', [join(CONTAINER, 'healthcheck.mjs'), ...args], { env, encoding: 'utf8' });

    const first = start(join(CONTAINER, 'entrypoint.sh'), [], env);
    const configFile = join(home, '.config/sibyl/runner.yaml');
    const id = await until(
      () => existsSync(configFile) && /runner_id: (\S+)/.exec(readFileSync(configFile, 'utf8'))?.[1],
      'the entry point to register',
      20_000,
    );
    const registered = readFileSync(configFile, 'utf8');
    assert.ok(id && core.runner(id)?.name === 'pod-0', registered);
    await core.until(() => core.connected(id), 20_000, 'the runner to connect with the seeded login');
    const credentials = join(home, '.config/sibyl/credentials.json');
    assert.equal(statSync(credentials).mode & 0o777, 0o600);
    await until(() => health().status === 0, 'the health check to pass');
    assert.match(health().stdout, /^200 \{"ready":true,"link":"open"\}/);
    assert.equal(health('/healthz').status, 0);

    // The registration token stays with `register`: an agent's environment does not have it.
    const task = assign(id, core, { command: ['/bin/sh', '-c', 'echo "token=${SIBYL_REGISTRATION_TOKEN:-none}"'] });
    await until(() => completionOf(core, task).length > 0, 'the task to finish');
    assert.match(completionOf(core, task)[0]!.result.stdout ?? '', /^token=none$/m);

    // The server goes away: unhealthy, with the runner's reason; alive all the same.
    await core.stop();
    await until(() => health().status === 1, 'the health check to fail while the server is down');
    assert.match(health().stdout, /^503 \{"ready":false/);
    assert.equal(health('/healthz').status, 0);
    await core.listen();
    await core.until(() => core.connected(id), 20_000, 'the runner to reconnect');

    first.kill('SIGTERM');
    assert.equal(await exitOf(first), 0, first.out());
    const dead = health();
    assert.equal(dead.status, 1, 'a stopped runner is not healthy');
    assert.match(dead.stdout, /ECONNREFUSED/);

    // A restarted container is the same runner: no second registration.
    const second = start(join(CONTAINER, 'entrypoint.sh'), ['run', '--quiet'], env);
    await core.until(() => core.connected(id), 20_000, 'the restarted runner to connect');
    assert.equal(core.requests.filter((r) => r.path === '/api/runners/register').length, 1, 'registered once');
    second.kill('SIGTERM');
    assert.equal(await exitOf(second), 0, second.out());
  });

  test('the entry point seeds and registers the configuration the runner reads: `~` in SIBYL_CONFIG_FILE, or --config', async () => {
    const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
    after(() => core.stop());
    const seed = tempDir('sibyl-logins-');
    const login = core.issueTokenPair();
    writeFileSync(
      join(seed, 'credentials.json'),
      JSON.stringify({ ...login, access_token_expires_at: Math.floor(Date.now() / 1000) + login.expires_in, server_url: core.url }),
    );
    const base = { PATH: path, SIBYL_SERVER_URL: core.url, SIBYL_CREDENTIALS_SEED: seed, SIBYL_METRICS_LISTEN: '' };
    const cases: { name: string; args: string[]; extra: Record<string, string>; file: (home: string) => string }[] = [
      {
        name: '~ in SIBYL_CONFIG_FILE',
        args: [],
        extra: { SIBYL_CONFIG_FILE: '~/etc/fleet.yaml' },
        file: (h) => join(h, 'etc/fleet.yaml'),
      },
      { name: '--config', args: ['run', '--config', 'conf/r.yaml'], extra: {}, file: (h) => join(h, 'conf/r.yaml') },
    ];
    for (const c of cases) {
      const home = tempDir('sibyl-container-home-');
      const env = { ...base, ...c.extra, HOME: home, SIBYL_REGISTRATION_TOKEN: core.issueApiKey(['api:write']) };
      // Started in HOME, as the image's WORKDIR is: a literal "~" folder would appear here.
      const runner = start(join(CONTAINER, 'entrypoint.sh'), c.args, env, home);
      const id = await until(
        () => existsSync(c.file(home)) && /runner_id: (\S+)/.exec(readFileSync(c.file(home), 'utf8'))?.[1],
        `${c.name}: the entry point to register into ${c.file(home)}`,
        20_000,
      );
      assert.ok(id);
      // Connected with the seeded login: it was copied beside the file the runner reads.
      await core.until(() => core.connected(id), 20_000, `${c.name}: the runner to connect with the seeded login`);
      assert.ok(existsSync(join(c.file(home), '..', 'credentials.json')), c.name);
      assert.equal(existsSync(join(home, '~')), false, `${c.name}: no literal ~ folder`);
      assert.equal(existsSync(join(home, '.config/sibyl/runner.yaml')), false, `${c.name}: nothing registered at the default path`);
      runner.kill('SIGTERM');
      assert.equal(await exitOf(runner), 0, runner.out());
    }
  });

  test('other commands pass through the entry point', () => {
    const home = tempDir('sibyl-container-home-');
    const status = spawnSync(join(CONTAINER, 'entrypoint.sh'), ['status'], { env: { PATH: path, HOME: home }, encoding: 'utf8' });
    assert.equal(status.status, 1, 'status of an unregistered runner');
    assert.match(status.stdout, /not registered/i);
  });

  test('preStop pauses the runner and waits for its running task, up to its budget; without a runner it returns at once', async () => {
    const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
    after(() => core.stop());
    const { id, accessToken } = core.addRunner({ name: 'pod-1' });
    const home = tempDir('sibyl-container-home-');
    mkdirSync(join(home, '.config/sibyl'), { recursive: true });
    writeFileSync(join(home, '.config/sibyl/runner.yaml'), `server_url: ${core.url}\nrunner_id: ${id}\n`);
    const env = { PATH: path, HOME: home, SIBYL_ACCESS_TOKEN: accessToken, SIBYL_METRICS_LISTEN: '' };
    const runner = start(join(CONTAINER, 'entrypoint.sh'), [], env);
    await core.until(() => core.connected(id), 20_000, 'the runner to connect');
    const gate = join(tempDir('sibyl-gate-'), 'open');
    const task = assign(id, core, { command: ['/bin/sh', '-c', `while [ ! -e '${gate}' ]; do sleep 0.02; done; echo done`] });
    await core.until(() => core.messagesOf('task_ack').some((m) => m.task_id === task), 10_000, 'the task to start');

    // Out of budget with the task still running: the hook returns, leaving the task to the drain.
    const hurried = spawnSync('node', [join(CONTAINER, 'prestop.mjs'), '0'], { env, encoding: 'utf8' });
    assert.equal(hurried.status, 0);
    assert.match(hurried.stdout, /1 task\(s\) still running: the drain stops and reports them/);

    const hook = start('node', [join(CONTAINER, 'prestop.mjs'), '60'], env);
    await until(() => /paused: no new tasks; 1 running/.test(hook.out()), 'the hook to pause the runner');
    await core.until(() => core.messagesOf('status', id).at(-1)?.status === 'draining', 10_000, 'the server to see it draining');
    assert.equal(hook.exitCode, null, 'the hook waits while the task runs');
    // Paused: new work is refused, so nothing starts that the drain would have to stop.
    const late = assign(id, core, { command: ['/bin/true'] });
    await core.until(() => core.messagesOf('task_reject').some((m) => m.task_id === late), 10_000, 'a paused runner to refuse new work');
    writeFileSync(gate, '');
    assert.equal(await exitOf(hook), 0);
    assert.match(hook.out(), /no task running: ready to stop/);
    await until(() => completionOf(core, task).length > 0, 'the result to arrive');
    assert.equal(completionOf(core, task)[0]!.success, true, 'the task finished on its own, not stopped');

    runner.kill('SIGTERM');
    assert.equal(await exitOf(runner), 0, runner.out());

    const none = spawnSync('node', [join(CONTAINER, 'prestop.mjs'), '60'], { env, encoding: 'utf8' });
    assert.equal(none.status, 0);
    const named = /no runner answers on (\S+) /.exec(none.stdout)?.[1];
    assert.equal(named, controlSocketPath(locateConfig(undefined, env, home)), 'the socket `sibyl-runner` itself uses');
  });
});

test('preStop finds the control socket where `sibyl-runner` puts it, for each way of naming the configuration', () => {
  const home = tempDir('sibyl-prestop-');
  mkdirSync(join(home, 'etc'));
  symlinkSync(join(home, 'etc'), join(home, 'linked'));
  const cases: Record<string, string>[] = [
    {},
    { SIBYL_CONFIG_DIR: join(home, 'etc') },
    { SIBYL_CONFIG_FILE: join(home, 'linked', 'fleet.yml') },
    { SIBYL_CONFIG_FILE: '~/etc/runner.json', SIBYL_CONFIG_DIR: '/elsewhere' },
  ];
  for (const extra of cases) {
    const env = { PATH: process.env.PATH ?? '', HOME: home, ...extra };
    const run = spawnSync(process.execPath, [join(CONTAINER, 'prestop.mjs'), '0'], { env, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const named = /no runner answers on (\S+) /.exec(run.stdout)?.[1];
    assert.equal(named, controlSocketPath(locateConfig(undefined, env, home)), JSON.stringify(extra));
  }
});

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
