import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, RunnerError, UsageError } from '../../main/runner/errors.ts';
import {
  detectHostCapabilities,
  detectProjectCapabilities,
  detectedCapabilities,
  unionCapabilities,
} from '../../main/runner/projects/capabilities.ts';
import { ProjectLinks } from '../../main/runner/projects/links.ts';
import { git, makeRepo, writeFiles } from '../helpers/gitRepo.ts';
import { quiet, scratch } from '../helpers/workspaceFixture.ts';

function fixture() {
  const dir = scratch();
  const home = join(dir, 'home');
  const configDir = join(dir, 'config');
  const links = new ProjectLinks({ homeDir: home, configDir, log: quiet });
  const cliConfig = (toml: string): void => {
    mkdirSync(join(home, '.sibyl'), { recursive: true });
    writeFileSync(join(home, '.sibyl', 'config.toml'), toml);
  };
  return { dir, home, configDir, links, cliConfig };
}

describe('ProjectLinks', () => {
  test('reads the Sibyl CLI [paths] table from $HOME/.sibyl/config.toml', async () => {
    const { dir, home, links, cliConfig } = fixture();
    const repo = makeRepo(join(dir, 'uploader'), { files: { 'package.json': '{}', 'go.mod': 'module x' } });
    git(repo, 'remote', 'add', 'origin', 'https://user:s3cret@example.com/uploader.git');
    makeRepo(join(home, 'src', 'site'));
    cliConfig(
      `[server]\nurl = "https://x"\n\n[paths]\n"${repo}" = "project_1a2b3c4d5e6f"\n"~/src/site" = "project_9f8e7d6c5b4a"\n"/elsewhere" = 42\n`,
    );
    const { links: all, warnings } = await links.links();
    assert.deepEqual(all, [
      { projectId: 'project_1a2b3c4d5e6f', path: repo, source: 'sibyl-cli' },
      { projectId: 'project_9f8e7d6c5b4a', path: join(home, 'src', 'site'), source: 'sibyl-cli' },
    ]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /paths\."\/elsewhere"/);
    const [first] = await links.list();
    assert.equal(first?.usable, true);
    assert.deepEqual(first?.capabilities, ['node', 'go']);
    assert.equal(first?.remoteUrl, 'https://user:***@example.com/uploader.git');
  });

  test('an unparsable config.toml is a warning, not a failure', async () => {
    const { links, cliConfig } = fixture();
    cliConfig('[paths\n"x" = ');
    const { links: all, warnings } = await links.links();
    assert.deepEqual(all, []);
    assert.match(warnings[0] ?? '', /not valid TOML/);
  });

  test('link, list and unlink our own links; ours win over the CLI for the same project', async () => {
    const { dir, configDir, links, cliConfig } = fixture();
    const a = makeRepo(join(dir, 'a'));
    const b = makeRepo(join(dir, 'b'));
    cliConfig(`[paths]\n"${a}" = "project_aaaaaaaaaaaa"\n`);
    await links.link(b, 'project_aaaaaaaaaaaa');
    assert.match(readFileSync(join(configDir, 'projects.yaml'), 'utf8'), /project_id: project_aaaaaaaaaaaa/);
    assert.equal((await links.find('project_aaaaaaaaaaaa'))?.path, b);
    await links.link(a, 'project_aaaaaaaaaaaa'); // relinking replaces
    assert.deepEqual((await links.links()).links, [{ projectId: 'project_aaaaaaaaaaaa', path: a, source: 'runner' }]);
    assert.equal((await links.unlink('project_aaaaaaaaaaaa')).path, a);
    // Now only the CLI's link is left, and it is not ours to remove.
    await assert.rejects(links.unlink('project_aaaaaaaaaaaa'), (e: unknown) => e instanceof RunnerError && e.code === 'link_external');
    await assert.rejects(links.unlink('project_nope00000000'), (e: unknown) => e instanceof RunnerError && e.code === 'link_not_found');
  });

  test('link refuses a bad project id, a missing folder and a folder that is not a repository', async () => {
    const { dir, links } = fixture();
    mkdirSync(join(dir, 'plain'));
    await assert.rejects(links.link(dir, '../etc'), UsageError);
    await assert.rejects(links.link(join(dir, 'missing'), 'project_x'), /does not exist/);
    await assert.rejects(links.link(join(dir, 'plain'), 'project_x'), /not a git repository/);
  });

  test('a link whose path is missing or not a git repository is reported and skipped', async () => {
    const { dir, links, cliConfig } = fixture();
    const good = makeRepo(join(dir, 'good'));
    mkdirSync(join(dir, 'plain'));
    cliConfig(
      `[paths]\n"${join(dir, 'gone')}" = "project_gone00000000"\n"${join(dir, 'plain')}" = "project_plain0000000"\n"${good}" = "project_good00000000"\n`,
    );
    const listed = await links.list();
    const byId = new Map(listed.map((p) => [p.projectId, p]));
    assert.equal(byId.get('project_gone00000000')?.exists, false);
    assert.equal(byId.get('project_gone00000000')?.usable, false);
    assert.match(byId.get('project_gone00000000')?.problem ?? '', /does not exist/);
    assert.equal(byId.get('project_plain0000000')?.exists, true);
    assert.equal(byId.get('project_plain0000000')?.isGitRepo, false);
    assert.match(byId.get('project_plain0000000')?.problem ?? '', /not a git repository/);
    assert.equal(byId.get('project_good00000000')?.usable, true);
    assert.equal(await links.find('project_gone00000000'), undefined);
    assert.equal(await links.find('project_plain0000000'), undefined);
    assert.equal((await links.find('project_good00000000'))?.path, good);
  });

  test('a bad projects.yaml is an error naming the file and the key', async () => {
    const { configDir, links } = fixture();
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, 'projects.yaml'), 'version: 1\nlinks:\n  - project_id: project_x\n    path: relative/path\n');
    await assert.rejects(
      links.links(),
      (e: unknown) => e instanceof ConfigError && e.message.includes('projects.yaml') && e.message.includes('links.0.path'),
    );
    writeFileSync(join(configDir, 'projects.yaml'), 'version: 1\nlinks: [\n');
    await assert.rejects(links.links(), (e: unknown) => e instanceof ConfigError && /projects\.yaml: not valid YAML/.test(e.message));
  });
});

describe('capabilities', () => {
  test('project markers follow the original table, top level only', async () => {
    const dir = scratch();
    writeFiles(dir, { 'pyproject.toml': '', 'App.csproj': '', Dockerfile: '', 'nested/Cargo.toml': '' });
    assert.deepEqual(await detectProjectCapabilities(dir), ['python', 'dotnet', 'docker']);
    assert.deepEqual(await detectProjectCapabilities(join(dir, 'missing')), []);
  });

  test('host: docker only when the daemon answers, gpu when nvidia-smi lists a device', async () => {
    const calls: string[] = [];
    const caps = await detectHostCapabilities({
      timeoutMs: 100,
      probe: async (cmd, args) => {
        calls.push(`${cmd} ${args[0]}`);
        return cmd === 'nvidia-smi';
      },
    });
    assert.deepEqual(caps, ['gpu']);
    assert.deepEqual(calls.sort(), ['docker version', 'nvidia-smi -L']);
  });

  test('detected = host ∪ usable projects; a Dockerfile does not give the host docker', async () => {
    assert.deepEqual(unionCapabilities([], [['node', 'docker'], ['python']], ['custom']), ['custom', 'node', 'python']);
    const { dir, links } = fixture();
    await links.link(makeRepo(join(dir, 'r'), { files: { 'Cargo.toml': '', Dockerfile: '' } }), 'project_rust00000000');
    assert.deepEqual(await detectedCapabilities({ links, probe: async (cmd) => cmd === 'docker' }), ['docker', 'rust']);
    assert.deepEqual(await detectedCapabilities({ links, probe: async () => false }), ['rust']);
  });
});
