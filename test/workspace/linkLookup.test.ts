import assert from 'node:assert/strict';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { UsableLink } from '../../main/runner/projects/links.ts';
import { LinkLookup, type LinkSource } from '../../main/runner/workspace/linkLookup.ts';
import { tempDir } from '../helpers/tmp.ts';

/** A link source that counts its lookups, over real files and a real folder. */
function source(dir: string): LinkSource & { calls: number } {
  const checkout = join(dir, 'checkout');
  mkdirSync(join(checkout, '.git'), { recursive: true });
  const linksFile = join(dir, 'projects.yaml');
  writeFileSync(linksFile, 'version: 1\nlinks: []\n');
  const link: UsableLink = {
    projectId: 'project_1',
    path: checkout,
    source: 'runner',
    repo: { commonDir: join(checkout, '.git'), bare: false, topLevel: checkout, prefix: '' },
  };
  const s = {
    calls: 0,
    linksFile,
    cliConfigFile: join(dir, 'config.toml'),
    find: (id: string) => {
      s.calls++;
      return Promise.resolve(id === 'project_1' ? link : undefined);
    },
    links: () => Promise.resolve({ links: [], warnings: [] }),
  };
  return s;
}

test('a link is looked up once while the link files and the repository stay the same', async () => {
  const dir = tempDir();
  const links = source(dir);
  const lookup = new LinkLookup(links);
  assert.equal((await lookup.find('project_1'))?.path, join(dir, 'checkout'));
  assert.equal((await lookup.find('project_1'))?.path, join(dir, 'checkout'));
  assert.equal(await lookup.find('project_other'), undefined);
  assert.equal(await lookup.find('project_other'), undefined);
  assert.equal(links.calls, 2, 'one lookup per project');
});

test('a changed link file, a new CLI config or a replaced repository is looked up again', async () => {
  const dir = tempDir();
  const links = source(dir);
  const lookup = new LinkLookup(links);
  await lookup.find('project_1');
  writeFileSync(links.linksFile!, 'version: 1\nlinks: []\n# edited\n');
  await lookup.find('project_1');
  assert.equal(links.calls, 2, 'projects.yaml changed');
  writeFileSync(links.cliConfigFile!, '[paths]\n');
  await lookup.find('project_1');
  assert.equal(links.calls, 3, 'config.toml appeared');
  await lookup.find('project_1');
  assert.equal(links.calls, 3);
  // The repository re-cloned at the same place: another .git folder.
  renameSync(join(dir, 'checkout', '.git'), join(dir, 'old-git'));
  mkdirSync(join(dir, 'checkout', '.git'));
  await lookup.find('project_1');
  assert.equal(links.calls, 4, 'the repository was replaced');
});

test('without the link files’ paths every lookup asks the source', async () => {
  const dir = tempDir();
  const { find, links: list } = source(dir);
  let calls = 0;
  const lookup = new LinkLookup({ find: (id) => (calls++, find(id)), links: list });
  await lookup.find('project_1');
  await lookup.find('project_1');
  assert.equal(calls, 2);
});
