import assert from 'node:assert/strict';
import { readFileSync, statSync, symlinkSync, writeFileSync, chmodSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { RunnerConfigFile } from '../../main/runner/config/configFile.ts';
import { ConfigError } from '../../main/runner/errors.ts';
import { tempDir } from '../helpers/tmp.ts';

/** README "Configuration" example, plus a header comment and a key this version does not know. */
const ANNOTATED = `# Sibyl Runner on the build box; ask Dana before changing the server.

server_url: https://sibyl.example.com   # the site root, not …/api
runner_id: 5b0f9d8e-2c61-4f0e-9a7b-1d2e3f4a5b6c
name: dev-machine
max_concurrent_agents: 3                # 1–20
capabilities: [docker, gpu]             # sent at registration, plus detected ones
worktree_base: ~/.sibyl/worktrees
log_dir: ~/.sibyl/logs
reconnect_interval: 1.0                 # backoff base, seconds (full jitter, cap 60 s)
max_reconnect_attempts: 0               # 0 = reconnect forever
heartbeat_interval: 30.0                # the server's; no heartbeat for 2.5× ⇒ reconnect
# ours
execution_timeout: 3600                 # default agent timeout, seconds
drain_timeout: 30                       # graceful stop limit, seconds
exec_command: ''                        # default agent command (shell string)
state_dir: ~/.sibyl/state               # journal and task history
repo_cache_dir: ~/.sibyl/repos          # mirrors for tasks with repo_url
keep_failed_worktrees_hours: 24         # failed or dirty worktrees kept for inspection
worktree_disk_cap_mb: 0                 # 0 = no cap; else oldest finished worktrees go first
history_retention_days: 90              # and their logs
history_max_tasks: 10000
task_log_max_mb: 50                     # per task; a marker line says where it was cut
# read by our deploy script, not by the runner
deploy_slot: blue                       # blue/green
`;

function commentsOf(text: string): string[] {
  return text
    .split('\n')
    .map((line) => /#.*$/.exec(line)?.[0])
    .filter((c): c is string => c !== undefined);
}

function annotatedFile(): RunnerConfigFile {
  const path = join(tempDir(), 'runner.yaml');
  writeFileSync(path, ANNOTATED);
  return new RunnerConfigFile(path);
}

test('an update keeps every comment, the key order and unknown keys', () => {
  const file = annotatedFile();
  file.update({ max_concurrent_agents: 5, name: 'x' });
  const text = readFileSync(file.path, 'utf8');
  for (const comment of commentsOf(ANNOTATED)) assert.ok(text.includes(comment), `lost comment: ${comment}\n${text}`);
  assert.match(text, /^max_concurrent_agents: 5 +# 1–20$/m);
  assert.match(text, /^capabilities: \[docker, gpu\] +# sent at registration/m);
  assert.match(text, /^deploy_slot: blue +# blue\/green$/m);
  const after = YAML.parse(text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(after), Object.keys(YAML.parse(ANNOTATED) as object));
  assert.equal(after.max_concurrent_agents, 5);
  assert.equal(after.name, 'x');
  assert.equal(after.deploy_slot, 'blue');
  assert.equal(text.split('\n').length, ANNOTATED.split('\n').length, 'no line added or removed');
});

test('new keys are appended; a list keeps its flow style and comment; secrets are removed, not written', () => {
  const file = annotatedFile();
  writeFileSync(file.path, readFileSync(file.path, 'utf8') + 'access_token: old-secret\n');
  const command = `claude -p "${'a long prompt '.repeat(10)}" --verbose`;
  file.update({ capabilities: ['docker'], graph_runner_id: 'g-1', access_token: 'new-secret', exec_command: command });
  const text = readFileSync(file.path, 'utf8');
  assert.match(text, /^capabilities: \[docker\] +# sent at registration/m);
  assert.ok(text.trimEnd().endsWith('graph_runner_id: g-1'), text);
  assert.doesNotMatch(text, /secret/);
  assert.match(
    text,
    /^exec_command: '.*--verbose' {24}# default agent command/m,
    'a long value keeps its line, quotes and comment spacing',
  );
  assert.equal(file.read().graph_runner_id, 'g-1');
  assert.equal(file.read().exec_command, command);
});

test('an invalid patch writes nothing', () => {
  const file = annotatedFile();
  assert.throws(
    () => file.update({ max_concurrent_agents: 99, drain_timeout: -1 }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.remedy === 'fixConfig' &&
      err.message.startsWith(`refusing to write ${file.path}: `) &&
      /key "max_concurrent_agents": .*; key "drain_timeout": /.test(err.message),
  );
  assert.equal(readFileSync(file.path, 'utf8'), ANNOTATED);
});

test('a YAML syntax error is a ConfigError naming the file and the line; nothing is written', () => {
  const path = join(tempDir(), 'runner.yaml');
  const broken = 'name: a\nserver_url: [unclosed\n';
  writeFileSync(path, broken);
  const file = new RunnerConfigFile(path);
  for (const attempt of [() => file.raw(), () => file.read(), () => file.update({ name: 'b' })]) {
    assert.throws(attempt, (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.exitCode, 2);
      assert.match(err.message, new RegExp(`^${path}: not valid YAML at line 3, column 1: `));
      return true;
    });
  }
  assert.equal(readFileSync(path, 'utf8'), broken);
});

test('a missing file reads as empty and is created 0644; an existing file keeps its mode and its symlink', () => {
  const dir = tempDir();
  const file = new RunnerConfigFile(join(dir, 'sub', 'runner.yaml'));
  assert.deepEqual(file.raw(), {});
  file.update({ name: 'new' });
  assert.equal(readFileSync(file.path, 'utf8'), 'name: new\n');
  assert.equal(statSync(file.path).mode & 0o777, 0o644);

  const real = join(dir, 'dotfiles-runner.yaml');
  writeFileSync(real, '# mine\nname: a\n');
  chmodSync(real, 0o600);
  const link = join(dir, 'runner.yaml');
  symlinkSync(real, link);
  new RunnerConfigFile(link).update({ name: 'b' });
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readFileSync(real, 'utf8'), '# mine\nname: b\n');
  assert.equal(statSync(real).mode & 0o777, 0o600);
});
