import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ProjectLinks } from '../../main/runner/projects/links.ts';
import { GitWorkspaces } from '../../main/runner/workspace/worktrees.ts';
import { commit, git, makeRepo } from '../helpers/gitRepo.ts';
import { hangingServer } from '../helpers/hangingServer.ts';
import { PROJECT, quiet, scratch, spec } from '../helpers/workspaceFixture.ts';

/**
 * Issue 13, case 8: a task's worktree has the submodules a checkout of its commit has — from the
 * linked checkout's own clones when they have the commit, else fetched under the repo_url rules —
 * and the result names those it could not get. Real repositories with real submodules throughout.
 */

/** Adding a submodule from a local path needs this since git 2.38.1; the runner never sets it. */
const FILE_OK = ['-c', 'protocol.file.allow=always'];

/**
 * `nested` ← submodule `deep` of `lib` ← submodule `vendor/lib` of the project; the project is
 * pushed to `upstream.git` and cloned as `checkout` (the linked folder), with its submodules
 * initialised when `initialised`.
 */
async function fixture(opts: { initialised: boolean; fetchTimeoutMs?: number }) {
  const dir = scratch();
  const nested = makeRepo(join(dir, 'nested'), { files: { 'n.txt': 'nested\n' } });
  const lib = makeRepo(join(dir, 'lib'), { files: { 'l.txt': 'lib\n' } });
  git(lib, ...FILE_OK, 'submodule', 'add', '--quiet', `file://${nested}`, 'deep');
  git(lib, 'commit', '--quiet', '-m', 'add deep');
  const seed = makeRepo(join(dir, 'seed'), { files: { 'README.md': '# app\n' } });
  git(seed, ...FILE_OK, 'submodule', 'add', '--quiet', `file://${lib}`, 'vendor/lib');
  git(seed, 'commit', '--quiet', '-m', 'add vendor/lib');
  const upstream = join(dir, 'upstream.git');
  git(dir, 'clone', '--quiet', '--bare', seed, upstream);
  const checkout = join(dir, 'checkout');
  git(dir, 'clone', '--quiet', `file://${upstream}`, checkout);
  if (opts.initialised) git(checkout, ...FILE_OK, 'submodule', 'update', '--quiet', '--init', '--recursive');
  const links = new ProjectLinks({ homeDir: join(dir, 'home'), configDir: join(dir, 'config'), log: quiet });
  await links.link(checkout, PROJECT);
  const ws = new GitWorkspaces({
    worktreeBase: join(dir, 'worktrees'),
    repoCacheDir: join(dir, 'repos'),
    links,
    log: quiet,
    fetchTimeoutMs: opts.fetchTimeoutMs ?? 10_000,
  });
  /** Make the submodules' own repositories unreachable: only the checkout's clones are left. */
  const hideSources = (): void => {
    renameSync(lib, `${lib}-gone`);
    renameSync(nested, `${nested}-gone`);
  };
  return { dir, lib, nested, seed, checkout, ws, hideSources };
}

describe('submodules in task worktrees (case 8)', () => {
  test("initialised in the linked checkout: checked out offline from its clones, nested too, the user's config untouched", async () => {
    const { checkout, ws, hideSources, lib } = await fixture({ initialised: true });
    hideSources();
    const config = readFileSync(join(checkout, '.git', 'config'), 'utf8');
    const w = await ws.prepare(spec());
    assert.equal(readFileSync(join(w.path, 'vendor/lib/l.txt'), 'utf8'), 'lib\n');
    assert.equal(readFileSync(join(w.path, 'vendor/lib/deep/n.txt'), 'utf8'), 'nested\n');
    const status = git(w.path, 'submodule', 'status', '--recursive');
    assert.doesNotMatch(status, /^[-+U]/m, `every submodule initialised at its recorded commit:\n${status}`);
    // The agent sees the real remote, not the runner's local source.
    assert.equal(git(join(w.path, 'vendor/lib'), 'remote', 'get-url', 'origin'), `file://${lib}`);
    const d = await w.describe();
    assert.equal(d.submodules_missing, undefined);
    assert.equal(d.dirty, false);
    assert.equal(readFileSync(join(checkout, '.git', 'config'), 'utf8'), config, "the linked checkout's configuration is not written");
    assert.doesNotMatch(git(checkout, 'submodule', 'status', '--recursive'), /^[-+U]/m, "the user's checkout is as it was");

    await w.release({ status: 'completed' });
    assert.equal(existsSync(w.path), false, 'a worktree with submodules is removed');
    assert.deepEqual(readdirSync(join(checkout, '.git')).includes('worktrees') ? readdirSync(join(checkout, '.git', 'worktrees')) : [], []);
  });

  test('not initialised in the linked checkout: fetched from the URLs in .gitmodules', async () => {
    const { checkout, ws } = await fixture({ initialised: false });
    const w = await ws.prepare(spec());
    assert.equal(readFileSync(join(w.path, 'vendor/lib/l.txt'), 'utf8'), 'lib\n');
    assert.equal(readFileSync(join(w.path, 'vendor/lib/deep/n.txt'), 'utf8'), 'nested\n');
    assert.equal((await w.describe()).submodules_missing, undefined);
    assert.doesNotMatch(readFileSync(join(checkout, '.git', 'config'), 'utf8'), /submodule/, "nothing recorded in the user's config");
    assert.equal(existsSync(join(checkout, 'vendor/lib/l.txt')), false, "the user's checkout is not initialised behind their back");
    await w.release({ status: 'completed' });
  });

  test('a commit the checkout’s clone lacks is fetched; nested submodules follow the same rules', async () => {
    const { checkout, ws, lib, seed } = await fixture({ initialised: true });
    // The project moves vendor/lib to a commit the user's clone of it has never seen.
    const newer = commit(lib, { 'l.txt': 'lib v2\n' }, 'lib v2');
    git(join(seed, 'vendor/lib'), 'pull', '--quiet', 'origin', 'main');
    git(seed, 'commit', '--quiet', '-am', 'bump vendor/lib');
    git(seed, 'push', '--quiet', join(checkout, '..', 'upstream.git'), 'HEAD:main');
    const w = await ws.prepare(spec());
    assert.equal(git(join(w.path, 'vendor/lib'), 'rev-parse', 'HEAD'), newer);
    assert.equal(readFileSync(join(w.path, 'vendor/lib/l.txt'), 'utf8'), 'lib v2\n');
    assert.equal(readFileSync(join(w.path, 'vendor/lib/deep/n.txt'), 'utf8'), 'nested\n');
    await w.release({ status: 'completed' });
  });

  test('impossible to get: the task still runs and the result names what is missing and why', async () => {
    const { ws, hideSources } = await fixture({ initialised: false });
    hideSources();
    const w = await ws.prepare(spec());
    assert.equal(existsSync(join(w.path, 'README.md')), true, 'the task has its worktree');
    assert.equal(existsSync(join(w.path, 'vendor/lib/l.txt')), false);
    const d = await w.describe();
    assert.deepEqual(d.submodules_missing, ['vendor/lib']);
    assert.match(String(d.submodules_note), /^vendor\/lib: could not be fetched: /);
    assert.equal(d.dirty, false);
    await w.release({ status: 'completed' });
  });

  test('URLs outside the repo_url rules are refused, and a silent server costs one fetch timeout', async () => {
    const dir = scratch();
    const marker = join(dir, 'pwned');
    const server = await hangingServer();
    const project = makeRepo(join(dir, 'project'), { files: { 'README.md': '# app\n' } });
    const head = git(project, 'rev-parse', 'HEAD');
    // Gitlinks and .gitmodules written by hand: git would refuse to add these itself.
    const evil = [
      ['evil', 'vendor/evil', `ext::sh -c touch% ${marker}`],
      ['local', 'vendor/local', '/etc'],
      ['silent', 'vendor/silent', server.url],
    ];
    for (const [name = '', path = '', url = ''] of evil) {
      git(project, 'config', '-f', '.gitmodules', `submodule.${name}.path`, path);
      git(project, 'config', '-f', '.gitmodules', `submodule.${name}.url`, url);
      git(project, 'update-index', '--add', '--cacheinfo', `160000,${head},${path}`);
    }
    git(project, 'add', '.gitmodules');
    git(project, 'commit', '--quiet', '-m', 'hostile submodules');
    const links = new ProjectLinks({ homeDir: join(dir, 'home'), configDir: join(dir, 'config'), log: quiet });
    await links.link(project, PROJECT);
    const ws = new GitWorkspaces({
      worktreeBase: join(dir, 'wt'),
      repoCacheDir: join(dir, 'repos'),
      links,
      log: quiet,
      fetchTimeoutMs: 1500,
    });
    const w = await ws.prepare(spec());
    const d = await w.describe();
    assert.deepEqual(d.submodules_missing, ['vendor/evil', 'vendor/local', 'vendor/silent']);
    const note = String(d.submodules_note);
    assert.match(note, /vendor\/evil: not in the linked checkout, and its URL "ext::sh/);
    assert.match(note, /vendor\/local: not in the linked checkout, and its URL "\/etc" is not an https/);
    assert.match(note, /vendor\/silent: could not be fetched: git submodule: timed out after 1500 ms/);
    assert.ok(server.connections() > 0, 'the silent server was asked');
    assert.equal(existsSync(marker), false, 'the ext:: command never ran');
    await w.release({ status: 'completed' });
  });
});
