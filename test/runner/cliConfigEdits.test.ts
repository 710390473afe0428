import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FakeCore } from '../helpers/fakeCore.ts';
import { ANNOTATED_PROJECTS_YAML, ANNOTATED_RUNNER_YAML, crlf, lineDiff } from '../helpers/annotatedYaml.ts';
import { makeRepo } from '../helpers/gitRepo.ts';
import { cliRun } from '../helpers/runnerHarness.ts';
import { tempDir } from '../helpers/tmp.ts';

/** `sibyl-runner` edits files people annotate: a line diff of the file shows only the lines the command decided. */

const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
after(() => core.stop());

const lf = (text: string): string => text.replace(/\r/g, '');

for (const [variant, fixture] of [
  ['LF', ANNOTATED_RUNNER_YAML],
  ['CRLF', crlf(ANNOTATED_RUNNER_YAML)],
] as const) {
  test(`register writes the server and the runner's ids, nothing it did not decide (${variant})`, async () => {
    const home = tempDir();
    const config = join(home, 'runner.yaml');
    writeFileSync(config, fixture);
    const r = await cliRun(['register', '--server', core.url, '--token', core.mintAccessToken(), '--json', '--config', config], {
      HOME: home,
    });
    assert.equal(r.code, 0, r.stderr);
    const { runner_id, graph_runner_id } = JSON.parse(r.stdout) as { runner_id: string; graph_runner_id: string };
    const text = readFileSync(config, 'utf8');
    if (variant === 'CRLF') assert.doesNotMatch(text, /(^|[^\r])\n/, 'CRLF kept');
    assert.deepEqual(lineDiff(lf(fixture), lf(text)), {
      removed: ['server_url: https://old.example.com   # moved in March'],
      added: [`server_url: ${core.url}   # moved in March`, `runner_id: ${runner_id}`, `graph_runner_id: ${graph_runner_id}`],
    });
    const sent = core.requests.filter((q) => q.path === '/api/runners/register').at(-1)!.body as Record<string, unknown>;
    assert.equal(sent.name, 'build-box');
    assert.equal(sent.max_concurrent_agents, 3, 'the alias is read, and left as written');
  });
}

test('register into a new runner.yaml writes no defaults the person never set; flags are written', async () => {
  const home = tempDir();
  const config = join(home, 'runner.yaml');
  const r = await cliRun(['register', '--server', core.url, '--token', core.mintAccessToken(), '--config', config], { HOME: home });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    readFileSync(config, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(':')[0]),
    ['server_url', 'runner_id', 'graph_runner_id'],
  );
  const again = await cliRun(
    [
      'register',
      '--replace',
      '--name',
      'ci',
      '--max-agents',
      '2',
      '--capability',
      'gpu',
      '--token',
      core.mintAccessToken(),
      '--config',
      config,
    ],
    { HOME: home },
  );
  assert.equal(again.code, 0, again.stderr);
  assert.match(readFileSync(config, 'utf8'), /^name: ci\nmax_concurrent_agents: 2\ncapabilities:\n {2}- gpu\n$/m);
});

test('projects link and unlink change only the link lines of an annotated projects.yaml', async () => {
  const home = tempDir();
  const configDir = join(home, 'cfg');
  mkdirSync(configDir);
  const file = join(configDir, 'projects.yaml');
  writeFileSync(file, ANNOTATED_PROJECTS_YAML);
  const repo = makeRepo(join(home, 'web'));
  const config = join(configDir, 'runner.yaml');
  const link = await cliRun(['projects', 'link', repo, 'project_bbbbbbbbbbbb', '--config', config], { HOME: home });
  assert.equal(link.code, 0, link.stderr);
  assert.deepEqual(lineDiff(ANNOTATED_PROJECTS_YAML, readFileSync(file, 'utf8')), {
    removed: [],
    added: ['  - project_id: project_bbbbbbbbbbbb', `    path: ${repo}`],
  });
  const unlink = await cliRun(['projects', 'unlink', 'project_bbbbbbbbbbbb', '--config', config], { HOME: home });
  assert.equal(unlink.code, 0, unlink.stderr);
  assert.equal(readFileSync(file, 'utf8'), ANNOTATED_PROJECTS_YAML);
});
