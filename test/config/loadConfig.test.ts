import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { FileCredentialStore } from '../../main/runner/config/credentials.ts';
import { RunnerConfigFile } from '../../main/runner/config/configFile.ts';
import { loadConfig, locateConfig } from '../../main/runner/config/loadConfig.ts';
import { ConfigError } from '../../main/runner/errors.ts';
import { tempDir } from '../helpers/tmp.ts';

test('config location: flag, then SIBYL_CONFIG_FILE, then SIBYL_CONFIG_DIR, then ~/.config/sibyl', () => {
  assert.equal(locateConfig('/x/a.yaml', { SIBYL_CONFIG_FILE: '/y/b.yaml' }, '/home/u'), '/x/a.yaml');
  assert.equal(locateConfig(undefined, { SIBYL_CONFIG_FILE: '/y/b.yaml', SIBYL_CONFIG_DIR: '/z' }, '/home/u'), '/y/b.yaml');
  assert.equal(locateConfig(undefined, { SIBYL_CONFIG_DIR: '/z' }, '/home/u'), '/z/runner.yaml');
  assert.equal(locateConfig(undefined, {}, '/home/u'), '/home/u/.config/sibyl/runner.yaml');
});

test('a missing file means defaults; ~ is expanded', () => {
  const home = tempDir();
  const { config, exists } = loadConfig({ env: {}, home });
  assert.equal(exists, false);
  assert.equal(config.max_concurrent_agents, 3);
  assert.equal(config.worktree_base, join(home, '.sibyl/worktrees'));
  assert.equal(config.max_reconnect_attempts, 0);
});

test('precedence: flag > env > file > default, with the original env names', () => {
  const home = tempDir();
  const path = join(home, 'runner.yaml');
  writeFileSync(
    path,
    YAML.stringify({
      server_url: 'https://file.example',
      name: 'file',
      max_concurrent_agents: 2,
      worktree_base: '~/wt',
      some_future_key: { a: 1 },
    }),
  );
  const env = {
    SIBYL_CONFIG_FILE: path,
    SIBYL_RUNNER_NAME: 'env',
    SIBYL_MAX_AGENTS: '5',
    SIBYL_EXECUTION_TIMEOUT: '12',
    SIBYL_RUNNER_EXEC_CMD: 'echo hi',
  };
  const { config } = loadConfig({ env, home, flags: { maxAgents: 7 } });
  assert.equal(config.server_url, 'https://file.example');
  assert.equal(config.name, 'env');
  assert.equal(config.max_concurrent_agents, 7);
  assert.equal(config.execution_timeout, 12);
  assert.equal(config.exec_command, 'echo hi');
  assert.equal(config.worktree_base, join(home, 'wt'));
});

test('sandbox mode from env decides the sandbox worktree default (§5.3)', () => {
  const home = tempDir();
  const { config } = loadConfig({ env: { SIBYL_CONFIG_DIR: home, SIBYL_RUNNER_TOKEN: 'tok-abcdefgh', SIBYL_SANDBOX_ID: 'sbx1' }, home });
  assert.equal(config.sandbox_mode, true);
  assert.equal(config.worktree_base, '/tmp/sibyl/sandboxes/sbx1/worktrees');
  const off = loadConfig({ env: { SIBYL_CONFIG_DIR: home, SIBYL_RUNNER_TOKEN: 'x', SIBYL_SANDBOX_MODE: 'off' }, home });
  assert.equal(off.config.sandbox_mode, false);
});

test('an invalid value names the file, the key and what was expected', () => {
  const home = tempDir();
  const path = join(home, 'runner.yaml');
  writeFileSync(path, 'max_concurrent_agents: lots\n');
  assert.throws(
    () => loadConfig({ env: { SIBYL_CONFIG_FILE: path }, home }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.exitCode, 2);
      assert.match(err.message, new RegExp(`${path}: key "max_concurrent_agents": .*number`));
      return true;
    },
  );
  writeFileSync(path, 'server_url: [unclosed\n');
  assert.throws(() => loadConfig({ env: { SIBYL_CONFIG_FILE: path }, home }), /not valid YAML at line 2/);
  writeFileSync(path, '- a\n- b\n');
  assert.throws(() => loadConfig({ env: { SIBYL_CONFIG_FILE: path }, home }), /expected a YAML mapping/);
  assert.throws(
    () => loadConfig({ env: { SIBYL_CONFIG_DIR: tempDir(), SIBYL_MAX_AGENTS: 'many' }, home }),
    /SIBYL_MAX_AGENTS="many": expected a positive integer/,
  );
  writeFileSync(path, 'server_url: https://sibyl.example.com/api\n');
  assert.throws(() => loadConfig({ env: { SIBYL_CONFIG_FILE: path }, home }), /site root/);
});

test('a bad value is blamed on its source: the file (with the file in its context), an environment variable, or a flag', () => {
  const home = tempDir();
  const path = join(home, 'runner.yaml');
  const blamed = (opts: Parameters<typeof loadConfig>[0]): ConfigError => {
    try {
      loadConfig({ home, ...opts });
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err;
    }
    assert.fail('expected a ConfigError');
  };
  writeFileSync(path, 'server_url: nope\nlog_dir: logs\n');
  const relative = blamed({ env: { SIBYL_CONFIG_FILE: path } });
  assert.equal(relative.message, 'key "log_dir": expected an absolute path (or one starting with ~/), got "logs"');
  assert.deepEqual(relative.context, { file: path, key: 'log_dir' });
  writeFileSync(path, 'server_url: nope\n');
  const url = blamed({ env: { SIBYL_CONFIG_FILE: path } });
  assert.match(url.message, /^key "server_url": "nope" is not an http\(s\) URL of a Sibyl site root/);
  assert.deepEqual(url.context, { file: path, key: 'server_url' });
  const env = blamed({ env: { SIBYL_CONFIG_FILE: path, SIBYL_SERVER_URL: 'also-nope' } });
  assert.match(env.message, /^environment variable SIBYL_SERVER_URL: "also-nope" is not/);
  assert.equal(env.context.file, undefined, 'not the file');
  const flag = blamed({ env: { SIBYL_CONFIG_FILE: path, SIBYL_SERVER_URL: 'also-nope' }, flags: { server: 'http://x/api' } });
  assert.equal(flag.message, '--server: "http://x/api" ends in /api: use the site root, without the trailing /api');
  const worktrees = blamed({ env: { SIBYL_CONFIG_DIR: tempDir(), SIBYL_WORKTREE_BASE: 'wt' } });
  assert.match(worktrees.message, /^environment variable SIBYL_WORKTREE_BASE: expected an absolute path/);
});

test('updates keep unknown keys and never write secrets', () => {
  const home = tempDir();
  const path = join(home, 'runner.yaml');
  writeFileSync(path, YAML.stringify({ name: 'a', custom_thing: [1, 2] }));
  const file = new RunnerConfigFile(path);
  file.update({ runner_id: 'r-1', access_token: 'secret-token' });
  const written = YAML.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(written, { name: 'a', custom_thing: [1, 2], runner_id: 'r-1' });
  assert.throws(() => file.update({ max_concurrent_agents: 99 }), /refusing to write .*max_concurrent_agents/);
});

test('credentials are written 0600 and validated on read', async () => {
  const dir = tempDir();
  const store = new FileCredentialStore(join(dir, 'credentials.json'));
  assert.deepEqual(await store.load(), {});
  await store.save({ access_token: 'a.b.c', refresh_token: 'r', access_token_expires_at: 1 });
  assert.equal(statSync(store.path).mode & 0o777, 0o600);
  assert.equal((await store.load()).refresh_token, 'r');
  writeFileSync(store.path, '{"access_token": 5}');
  await assert.rejects(store.load(), /key "access_token"/);
});

test('the default state folder is per configuration file: the default runner.yaml keeps ~/.sibyl/state, any other gets its own', () => {
  const home = tempDir();
  const atDefault = loadConfig({ env: {}, home }).config;
  assert.equal(atDefault.state_dir, join(home, '.sibyl', 'state'), 'existing installs keep their journal');
  const a = loadConfig({ env: {}, home, flags: { config: join(home, 'a', 'runner.yaml') } }).config;
  const b = loadConfig({ env: { SIBYL_CONFIG_DIR: join(home, 'b') }, home }).config;
  assert.match(a.state_dir, new RegExp(`^${home}/\\.sibyl/state-[0-9a-f]{12}$`));
  assert.match(b.state_dir, new RegExp(`^${home}/\\.sibyl/state-[0-9a-f]{12}$`));
  assert.notEqual(a.state_dir, b.state_dir);
  assert.equal(loadConfig({ env: {}, home, flags: { config: join(home, 'a', 'runner.yaml') } }).config.state_dir, a.state_dir, 'stable');
  // A state_dir in the file wins.
  const withKey = join(home, 'c', 'runner.yaml');
  mkdirSync(join(home, 'c'));
  writeFileSync(withKey, YAML.stringify({ state_dir: '~/mine' }));
  assert.equal(loadConfig({ env: {}, home, flags: { config: withKey } }).config.state_dir, join(home, 'mine'));
});
