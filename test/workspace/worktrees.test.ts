import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { TaskRejected } from '../../main/runner/errors.ts';
import { ProjectLinks } from '../../main/runner/projects/links.ts';
import { GitWorkspaces, defaultBranchName, validateGitRefs } from '../../main/runner/workspace/worktrees.ts';
import { commit, git, makeRemotePair, makeRepo } from '../helpers/gitRepo.ts';
import { quiet, scratch, setup, spec } from '../helpers/workspaceFixture.ts';

describe('GitWorkspaces.prepare', () => {
  test('linked project: own worktree and branch from the fetched default branch', async () => {
    const { pair, ws, base } = await setup();
    const upstreamHead = pair.pushUpstream({ 'new.txt': 'fresh\n' }, 'upstream moved');
    const s = spec();
    const w = await ws.prepare(s);
    assert.equal(w.path, join(base, s.projectId, s.taskId));
    assert.equal(git(w.path, 'rev-parse', '--abbrev-ref', 'HEAD'), defaultBranchName(s.taskId));
    assert.match(w.env.SIBYL_BRANCH ?? '', /^sibyl\/[0-9a-f]{8}$/);
    assert.equal(w.env.SIBYL_BASE_REF, 'origin/main');
    // The base was fetched before the worktree was made: the agent starts from upstream's tip.
    assert.equal(git(w.path, 'rev-parse', 'HEAD'), upstreamHead);
    assert.equal(readFileSync(join(w.path, 'new.txt'), 'utf8'), 'fresh\n');
    const d = await w.describe();
    assert.equal(d.base_fetched, true);
    assert.equal(d.base_commit, upstreamHead);
    assert.deepEqual(d.commits, { count: 0, items: [] });
    assert.equal(d.dirty, false);
    // The user's own checkout was not switched or modified.
    assert.equal(git(pair.checkout, 'rev-parse', '--abbrev-ref', 'HEAD'), 'main');
    assert.equal(git(pair.checkout, 'status', '--porcelain'), '');
    await w.release({ status: 'completed' });
  });

  test('two concurrent tasks on one project get two worktrees and two branches', async () => {
    const { ws } = await setup();
    const [a, b] = await Promise.all([ws.prepare(spec()), ws.prepare(spec())]);
    assert.ok(a && b);
    assert.notEqual(a.path, b.path);
    assert.notEqual(a.env.SIBYL_BRANCH, b.env.SIBYL_BRANCH);
    writeFileSync(join(a.path, 'README.md'), 'changed by A\n');
    assert.equal(readFileSync(join(b.path, 'README.md'), 'utf8'), '# app\n');
    await Promise.all([a.release({ status: 'completed', dirty: false }), b.release({ status: 'completed' })]);
  });

  test('hostile branch names, base refs and repo URLs are rejected', async () => {
    const { ws, base } = await setup();
    const badBranches = [
      '--upload-pack=x',
      '../x',
      'a b',
      'tab\there',
      'nul\0x',
      'a..b',
      'x.lock',
      '-b',
      'a~1',
      'a^',
      'a:b',
      'a?',
      'a*',
      'a[b',
      'a\\b',
      '@',
      'a@{1}',
      '/x',
      'x/',
      'a//b',
      '.hidden',
      'x.',
      'HEAD',
      'line\nbreak',
      'x'.repeat(300),
    ];
    for (const branch of badBranches) {
      assert.throws(
        () => validateGitRefs({ branch, baseRef: undefined, repoUrl: undefined }),
        (e: unknown) => e instanceof TaskRejected && e.reason === 'invalid_task',
        `branch ${JSON.stringify(branch)}`,
      );
    }
    for (const baseRef of ['--upload-pack=x', '../main', 'main..evil', 'a b', '-', 'main\r']) {
      assert.throws(
        () => validateGitRefs({ branch: undefined, baseRef, repoUrl: undefined }),
        TaskRejected,
        `base ${JSON.stringify(baseRef)}`,
      );
    }
    for (const repoUrl of [
      '--upload-pack=touch /tmp/pwned',
      'ext::sh -c touch% /tmp/pwned',
      'fd::17',
      'https://host/a b',
      '/srv/local/path',
      'ssh://-oProxyCommand=touch%20x/repo',
      'git@-oProxyCommand=x:repo',
    ]) {
      assert.throws(
        () => validateGitRefs({ branch: undefined, baseRef: undefined, repoUrl }),
        TaskRejected,
        `url ${JSON.stringify(repoUrl)}`,
      );
    }
    for (const ok of ['feature/x', 'sibyl/agent-1a2b', 'release-1.2', 'user@feature'])
      validateGitRefs({ branch: ok, baseRef: ok, repoUrl: undefined });
    for (const url of ['https://github.com/a/b.git', 'git@github.com:a/b.git', 'ssh://git@host/x', 'file:///srv/x.git'])
      validateGitRefs({ branch: undefined, baseRef: undefined, repoUrl: url });

    await assert.rejects(ws.prepare(spec({ branch: '--upload-pack=x' })), TaskRejected);
    await assert.rejects(ws.prepare(spec({ baseRef: '--upload-pack=x' })), TaskRejected);
    assert.equal(existsSync(join(base, 'project_1a2b3c4d5e6f')), false, 'no worktree was created');
  });

  test('explicit branch and base ref are honoured; a missing base fails clearly', async () => {
    const { pair, ws } = await setup();
    git(pair.checkout, 'tag', 'v1');
    commit(pair.checkout, { 'later.txt': 'x' }, 'local commit after v1');
    const w = await ws.prepare(spec({ branch: 'feature/retry', baseRef: 'v1' }));
    assert.equal(w.env.SIBYL_BRANCH, 'feature/retry');
    assert.equal(w.env.SIBYL_BASE_REF, 'v1');
    assert.equal(existsSync(join(w.path, 'later.txt')), false);
    await w.release({ status: 'completed' });
    await assert.rejects(ws.prepare(spec({ baseRef: 'no-such-branch' })), /does not exist/);
  });

  test('result carries commits and diffstat after the agent commits', async () => {
    const { ws } = await setup();
    const w = await ws.prepare(spec());
    commit(w.path, { 'src/app.txt': 'one\nTWO\nthree\n', 'docs/notes.md': 'a\nb\n' }, 'agent: first change');
    const second = commit(w.path, { 'src/app.txt': 'one\nTWO\nthree\nfour\n' }, 'agent: second change');
    const d = await w.describe();
    assert.equal(d.head_commit, second);
    assert.deepEqual(d.commits, {
      count: 2,
      items: [
        { sha: second, subject: 'agent: second change' },
        { sha: git(w.path, 'rev-parse', 'HEAD~1'), subject: 'agent: first change' },
      ],
    });
    assert.equal(d.files_changed, 2);
    assert.equal(d.insertions, 5);
    assert.equal(d.deletions, 1);
    assert.equal(d.dirty, false);
    writeFileSync(join(w.path, 'scratch.txt'), 'left behind');
    assert.equal((await w.describe()).dirty, true);
    await w.release({ status: 'completed', dirty: false });
  });

  test('default branch is the remote HEAD (not origin/main); unreachable remote uses the local ref', async () => {
    const dir = scratch();
    const pair = makeRemotePair(join(dir, 'src'), { branch: 'trunk' });
    const links = new ProjectLinks({ homeDir: join(dir, 'home'), configDir: join(dir, 'config'), log: quiet });
    await links.link(pair.checkout, 'project_trunk000000');
    const ws = new GitWorkspaces({
      worktreeBase: join(dir, 'wt'),
      repoCacheDir: join(dir, 'repos'),
      links,
      log: quiet,
      fetchTimeoutMs: 5000,
    });
    const w = await ws.prepare(spec({ projectId: 'project_trunk000000' }));
    assert.equal(w.env.SIBYL_BASE_REF, 'origin/trunk');
    await w.release({ status: 'completed' });

    git(pair.checkout, 'remote', 'set-url', 'origin', `file://${join(dir, 'gone.git')}`);
    const offline = await ws.prepare(spec({ projectId: 'project_trunk000000' }));
    const d = await offline.describe();
    assert.equal(d.base_fetched, false);
    assert.equal(d.base_ref, 'origin/trunk');
    await offline.release({ status: 'completed' });
  });

  test('a repository without a remote uses its local HEAD branch', async () => {
    const dir = scratch();
    const repo = makeRepo(join(dir, 'local'), { branch: 'develop' });
    const links = new ProjectLinks({ homeDir: join(dir, 'home'), configDir: join(dir, 'config'), log: quiet });
    await links.link(repo, 'project_local0000000');
    const ws = new GitWorkspaces({ worktreeBase: join(dir, 'wt'), repoCacheDir: join(dir, 'repos'), links, log: quiet });
    const w = await ws.prepare(spec({ projectId: 'project_local0000000' }));
    assert.equal(w.env.SIBYL_BASE_REF, 'develop');
    assert.equal((await w.describe()).base_fetched, false);
    await w.release({ status: 'completed' });
  });

  test('no link and no repo_url: a plain folder, said so in the result', async () => {
    const { ws, base } = await setup();
    const s = spec({ projectId: 'project_unknown00000' });
    const w = await ws.prepare(s);
    assert.equal(w.path, join(base, s.projectId, s.taskId));
    assert.equal(existsSync(join(w.path, '.git')), false);
    assert.equal((await w.describe()).workspace, 'folder');
  });

  test('warm worktrees: the running task first, else the linked checkout', async () => {
    const { ws, pair } = await setup();
    assert.deepEqual(await ws.warmWorktrees(), [{ projectId: 'project_1a2b3c4d5e6f', path: pair.checkout, branch: 'main' }]);
    const w = await ws.prepare(spec());
    assert.deepEqual(await ws.warmWorktrees(), [{ projectId: 'project_1a2b3c4d5e6f', path: w.path, branch: w.env.SIBYL_BRANCH ?? null }]);
    await w.release({ status: 'completed' });
  });
});
