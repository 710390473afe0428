import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { RUNNER_ENV_VARS } from '../../main/runner/config/loadConfig.ts';
import { agentEnv } from '../../main/runner/tasks/agentEnv.ts';
import { spec } from '../helpers/workspaceFixture.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { cli, completionOf, REPO, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

/** Every file under `dir` (recursively), except `skip`. */
function filesUnder(dir: string, skip: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && path !== skip) out.push(path);
  }
  return out;
}

test("an agent told to read the runner's credentials finds no path to them and no token in its environment (real `run`, stored login)", async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  const { id } = core.addRunner({ name: 'secrets' });
  // A stored login, as `sibyl-runner login` leaves it: the access token and the 30-day refresh token.
  const login = core.issueTokenPair();
  const home = tempDir('sibyl-agent-secrets-');
  // Not the default path: the attack in the issue finds this folder through the agent's environment (the README's
  // Security section lists what a same-user agent can still reach: /proc, the control socket).
  const configDir = join(home, 'etc', 'sibyl-runner');
  mkdirSync(configDir, { recursive: true });
  const config = join(configDir, 'runner.yaml');
  const credentials = join(configDir, 'credentials.json');
  writeYaml(config, { server_url: core.url, runner_id: id, worktree_base: join(home, 'wt'), log_dir: join(home, 'logs') });
  writeFileSync(
    credentials,
    JSON.stringify({
      access_token: login.access_token,
      refresh_token: login.refresh_token,
      access_token_expires_at: Math.floor(Date.now() / 1000) + login.expires_in,
      server_url: core.url,
    }),
    { mode: 0o600 },
  );
  const run = cli(['run'], {
    HOME: home,
    SIBYL_RUNNER_SOURCE: '1',
    SIBYL_CONFIG_FILE: config,
    SIBYL_CONFIG_DIR: configDir,
    // Variables that merely contain a token: a header value, a whole header, a URL.
    LEAK_BEARER: `Bearer ${login.access_token}`,
    LEAK_HEADER: `Authorization: Bearer ${login.access_token}`,
    LEAK_URL: `https://mirror.example/fetch?refresh=${login.refresh_token}&x=1`,
    // The agents' own keys must stay.
    ANTHROPIC_API_KEY: 'sk-ant-kept-for-the-agent-0001',
    OPENAI_API_KEY: 'sk-openai-kept-for-the-agent-02',
  });
  const closed = new Promise((r) => run.on('close', r));
  try {
    await core.until(() => core.connected(id), 15_000, 'the runner connects with the stored login');
    const taskId = crypto.randomUUID();
    const injected = [
      'env | sort',
      'echo "config=${SIBYL_CONFIG_FILE:-unset} dir=${SIBYL_CONFIG_DIR:-unset}"',
      'cat "$(dirname "$SIBYL_CONFIG_FILE")/credentials.json"',
      'cat "$SIBYL_CONFIG_DIR/credentials.json"',
      'true',
    ].join('; ');
    core.send(id, {
      type: 'task_assign',
      task_id: taskId,
      agent_id: 'agent_aaaaaaaaaaaa',
      project_id: 'project_1',
      config: { command: ['/bin/sh', '-c', injected] },
    });
    await until(() => completionOf(core, taskId).length > 0, 'the task completes', 15_000);
    const done = completionOf(core, taskId)[0]!;
    assert.equal(done.success, true, done.error);
    const stdout = done.result.stdout ?? '';
    const vars = new Map(
      stdout
        .split('\n')
        .filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
    );
    assert.match(stdout, /^config=unset dir=unset$/m, 'the agent is not told where the configuration is');
    for (const name of ['SIBYL_CONFIG_FILE', 'SIBYL_CONFIG_DIR', 'LEAK_BEARER', 'LEAK_HEADER', 'LEAK_URL'])
      assert.equal(vars.has(name), false, `${name} reached the agent`);
    assert.equal(vars.get('ANTHROPIC_API_KEY'), 'sk-ant-kept-for-the-agent-0001', "the agent's own API keys are kept");
    assert.equal(vars.get('OPENAI_API_KEY'), 'sk-openai-kept-for-the-agent-02');
    assert.equal(vars.get('SIBYL_TASK_ID'), taskId, 'the task variables are there');

    // Nowhere: not in anything the runner sent (results, activity), its output, or any file it wrote.
    // Read once it has stopped: until then it writes some files in the background (the worktree
    // registry goes through a temporary file renamed into place), and what it writes at exit counts too.
    run.kill('SIGTERM');
    await closed;
    const stored = JSON.parse(readFileSync(credentials, 'utf8')) as { access_token: string; refresh_token: string };
    const tokens = [login.access_token, login.refresh_token, stored.access_token, stored.refresh_token];
    const places: [string, string][] = [
      ['the frames sent to the server', JSON.stringify(core.frames)],
      ["the runner's stdout and stderr", run.output().stdout + run.output().stderr],
      ...filesUnder(home, credentials).map((f): [string, string] => [relative(home, f), readFileSync(f, 'latin1')]),
    ];
    assert.ok(places.length > 3, 'the task log and the journal were scanned too');
    for (const [where, text] of places) for (const token of tokens) assert.equal(text.includes(token), false, `a token in ${where}`);
  } finally {
    run.kill('SIGTERM');
    await closed;
    await core.stop();
  }
});

test('agentEnv drops every variable holding a runner token anywhere in its value, and the runner-only SIBYL_* variables', () => {
  const access = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.access-signature';
  const refresh = 'eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJyZWZyZXNoIn0.refresh-signature';
  const env = agentEnv({
    base: {
      PATH: '/usr/bin',
      EXACT: access,
      BEARER: `Bearer ${access}`,
      URL: `https://x.example/?t=${refresh}`,
      SHORT_SECRET_IGNORED: 'abc',
      ANTHROPIC_API_KEY: 'sk-ant-1',
      SIBYL_CONFIG_FILE: '/etc/sibyl/runner.yaml',
      SIBYL_CONFIG_DIR: '/etc/sibyl',
      SIBYL_SERVER_URL: 'https://sibyl.example.com',
      SIBYL_LOG_DIR: '/var/log/sibyl',
      SIBYL_REFRESH_TOKEN: 'not-ours-but-a-token-name',
      SIBYL_SANDBOX_ID: 'from-the-environment',
      UNRELATED_SIBYL_NOTE: 'kept',
      ELECTRON_RUN_AS_NODE: '1',
    },
    spec: spec(),
    worktreePath: '/wt',
    promptFile: '/state/prompt',
    sandboxId: 'sbx-1',
    // A short "secret" must not make unrelated variables vanish (every value contains "a").
    secrets: [access, refresh, 'abc'],
    extra: {},
  });
  assert.equal(env.PATH, '/usr/bin');
  assert.equal(env.ANTHROPIC_API_KEY, 'sk-ant-1');
  assert.equal(env.UNRELATED_SIBYL_NOTE, 'kept');
  assert.equal(env.SHORT_SECRET_IGNORED, 'abc');
  for (const gone of [
    'EXACT',
    'BEARER',
    'URL',
    'SIBYL_CONFIG_FILE',
    'SIBYL_CONFIG_DIR',
    'SIBYL_SERVER_URL',
    'SIBYL_LOG_DIR',
    'SIBYL_REFRESH_TOKEN',
    'ELECTRON_RUN_AS_NODE',
  ])
    assert.equal(env[gone], undefined, gone);
  assert.equal(env.SIBYL_SANDBOX_ID, 'sbx-1', 'the configured sandbox id, as §5.10 sets it');
  assert.ok(!JSON.stringify(env).includes(access) && !JSON.stringify(env).includes(refresh));
});

test('every SIBYL_* variable the runner reads for itself is kept from the agent (RUNNER_ENV_VARS is complete)', () => {
  const sources = ['main/runner/config', 'main/cli', 'main/desktop'].flatMap((dir) =>
    readdirSync(join(REPO, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(REPO, dir, f)),
  );
  const read = new Set(sources.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/\bSIBYL_[A-Z_]+\b/g)].map((m) => m[0])));
  assert.ok(read.has('SIBYL_CONFIG_FILE') && read.has('SIBYL_SERVER_URL'), 'the scan finds the configuration variables');
  const missing = [...read].filter((v) => !RUNNER_ENV_VARS.includes(v));
  assert.deepEqual(missing, [], 'read by the runner but passed on to agents');
});
