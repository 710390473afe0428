import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import YAML from 'yaml';
import { RunnerConfigFile } from '../../main/runner/config/configFile.ts';
import { ProjectLinks } from '../../main/runner/projects/links.ts';
import { ANNOTATED_PROJECTS_YAML, ANNOTATED_RUNNER_YAML, crlf, lineDiff } from '../helpers/annotatedYaml.ts';
import { makeRepo } from '../helpers/gitRepo.ts';
import { tempDir } from '../helpers/tmp.ts';

const VARIANTS = [
  { name: 'LF', text: ANNOTATED_RUNNER_YAML },
  { name: 'CRLF', text: crlf(ANNOTATED_RUNNER_YAML) },
];

/** Every line break of `text` is the variant's: no CRLF file comes back with a bare LF, nor the reverse. */
function assertLineEnds(text: string, variant: string): void {
  if (variant === 'CRLF') assert.doesNotMatch(text, /(^|[^\r])\n/, 'a bare LF in a CRLF file');
  else assert.doesNotMatch(text, /\r/, 'a CR in an LF file');
}

/** Apply `patch` to the annotated file and return the line diff (line ends compared apart). */
function edit(variant: { name: string; text: string }, patch: Parameters<RunnerConfigFile['update']>[0]) {
  const path = join(tempDir(), 'runner.yaml');
  writeFileSync(path, variant.text);
  new RunnerConfigFile(path).update(patch);
  const after = readFileSync(path, 'utf8');
  assertLineEnds(after, variant.name);
  return { after, path, ...lineDiff(variant.text.replace(/\r/g, ''), after.replace(/\r/g, '')) };
}

for (const variant of VARIANTS) {
  describe(`runner.yaml edits (${variant.name})`, () => {
    test('values that did not change leave the file as it was, byte for byte, and unwritten', () => {
      const path = join(tempDir(), 'runner.yaml');
      writeFileSync(path, variant.text);
      const before = statSync(path).mtimeMs;
      new RunnerConfigFile(path).update({
        server_url: 'https://old.example.com',
        name: 'build-box',
        max_concurrent_agents: 3, // written as the alias *three
        capabilities: ['docker', 'gpu'],
        exec_command: 'claude -p "fix the failing test" --verbose', // a folded scalar
        reconnect_interval: 1, // written as 1.0
      });
      assert.equal(readFileSync(path, 'utf8'), variant.text);
      assert.equal(statSync(path).mtimeMs, before, 'nothing was written');
    });

    test('a changed value changes its own line only: inline comment, its spacing and quotes stay', () => {
      const d = edit(variant, { server_url: 'https://new.example.com', name: "Dana's box" });
      assert.deepEqual(d.removed, [
        'server_url: https://old.example.com   # moved in March',
        'name: build-box                # shows in the dashboard',
      ]);
      assert.deepEqual(d.added, [
        'server_url: https://new.example.com   # moved in March',
        `name: Dana's box                # shows in the dashboard`,
      ]);
    });

    test('a block list keeps the lines and comments of the items that stay; new items get its indentation', () => {
      let d = edit(variant, { capabilities: ['docker', 'gpu', 'node'] });
      assert.deepEqual(d.removed, []);
      assert.deepEqual(d.added, ['  - node']);
      d = edit(variant, { capabilities: ['gpu'] });
      assert.deepEqual(d.removed, ['  - docker     # we have docker']);
      assert.deepEqual(d.added, []);
      assert.match(d.after, /capabilities:\r?\n {2}# the GPU box only\r?\n {2}- gpu\r?\n/);
    });

    test('an alias is replaced only when its value changes; the anchor stays', () => {
      const d = edit(variant, { max_concurrent_agents: 5 });
      assert.deepEqual(d.removed, ['max_concurrent_agents: *three']);
      assert.deepEqual(d.added, ['max_concurrent_agents: 5']);
      assert.equal((YAML.parse(d.after) as Record<string, unknown>).defaults, 3);
    });

    test('new keys are appended after the last one, removed keys take only their own lines', () => {
      const d = edit(variant, { runner_id: 'r-1', graph_runner_id: 'g-1', access_token: 'secret', reconnect_interval: undefined });
      assert.deepEqual(d.removed, ['reconnect_interval: 1.0        # seconds']);
      assert.deepEqual(d.added, ['runner_id: r-1', 'graph_runner_id: g-1']);
      assert.doesNotMatch(d.after, /secret/);
    });

    test('a changed folded scalar rewrites its own lines and keeps its style', () => {
      const d = edit(variant, { exec_command: 'codex exec --full-auto' });
      assert.deepEqual(d.removed, ['  claude -p "fix the failing test"', '  --verbose']);
      assert.deepEqual(d.added, ['  codex exec --full-auto']);
    });
  });
}

describe('projects.yaml edits', () => {
  for (const variant of [
    { name: 'LF', text: ANNOTATED_PROJECTS_YAML },
    { name: 'CRLF', text: crlf(ANNOTATED_PROJECTS_YAML) },
  ]) {
    test(`link and unlink change only the link's own lines; comments and unknown keys stay (${variant.name})`, async () => {
      const dir = tempDir();
      const configDir = join(dir, 'config');
      const file = join(configDir, 'projects.yaml');
      const repo = makeRepo(join(dir, 'api'));
      const links = new ProjectLinks({ homeDir: join(dir, 'home'), configDir });
      // The first link comes into an empty folder: the file is created with its header.
      await links.link(repo, 'project_cccccccccccc');
      assert.match(readFileSync(file, 'utf8'), /^# Project links of sibyl-runner/);
      writeFileSync(file, variant.text);
      await links.link(repo, 'project_bbbbbbbbbbbb');
      const linked = readFileSync(file, 'utf8');
      assertLineEnds(linked, variant.name);
      assert.deepEqual(lineDiff(variant.text.replace(/\r/g, ''), linked.replace(/\r/g, '')), {
        removed: [],
        added: ['  - project_id: project_bbbbbbbbbbbb', `    path: ${repo}`],
      });
      await links.unlink('project_bbbbbbbbbbbb');
      assert.equal(readFileSync(file, 'utf8'), variant.text);
    });
  }
});
