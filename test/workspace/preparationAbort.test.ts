import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GitFailed, fetch } from '../../main/runner/git/git.ts';
import { mirrorDir } from '../../main/runner/workspace/repoCache.ts';
import { GitWorkspaces } from '../../main/runner/workspace/worktrees.ts';
import { git } from '../helpers/gitRepo.ts';
import { hangingServer, processesWith } from '../helpers/hangingServer.ts';
import { until } from '../helpers/tmp.ts';
import { quiet, scratch, spec } from '../helpers/workspaceFixture.ts';

/**
 * Preparation against a server that accepts the connection and never answers (issue 12, case 10):
 * an abort kills git and its transport helpers, and a fetch shared by several tasks is killed only
 * when the last of them gives up.
 */

const noLinks = { find: async () => undefined, links: async () => ({ links: [], warnings: [] }) };
const gitFor = (port: number): number[] => processesWith(`127.0.0.1:${port}`);

/** A mirror already in the cache whose origin is the hanging server: preparing it fetches from there. */
function cachedMirror(cacheDir: string, url: string): void {
  const dir = mirrorDir(cacheDir, url);
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '--quiet', '--bare');
  git(dir, 'remote', 'add', 'origin', url);
}

describe('aborting preparation', () => {
  test('a git call killed by its signal takes its transport helpers with it', async () => {
    const hang = await hangingServer();
    const repo = scratch();
    git(repo, 'init', '--quiet', '--bare');
    const ac = new AbortController();
    const call = fetch(repo, hang.url, [], { signal: ac.signal });
    await until(() => hang.connections() > 0, 'the helper to connect');
    assert.ok(gitFor(hang.port).length >= 2, 'git and its remote helper run');
    ac.abort(new Error('test stop'));
    await assert.rejects(call, { code: 'git_failed' });
    await until(() => gitFor(hang.port).length === 0, 'git and its helpers gone');
  });

  test('a git call over its timeout is killed with its helpers and says it timed out', async () => {
    const hang = await hangingServer();
    const repo = scratch();
    git(repo, 'init', '--quiet', '--bare');
    const call = fetch(repo, hang.url, [], { timeoutMs: 300 });
    await assert.rejects(call, (err: unknown) => {
      assert.ok(err instanceof GitFailed);
      assert.equal(err.timedOut, true);
      assert.match(err.message, /timed out after 300 ms/);
      return true;
    });
    await until(() => gitFor(hang.port).length === 0, 'git and its helpers gone');
  });

  test('a fetch of a cached mirror: shared by two tasks, killed only once both are stopped', async () => {
    const hang = await hangingServer();
    const dir = scratch();
    const cacheDir = join(dir, 'repos');
    cachedMirror(cacheDir, hang.url);
    const ws = new GitWorkspaces({ worktreeBase: join(dir, 'wt'), repoCacheDir: cacheDir, links: noLinks, log: quiet });
    const [a, b] = [new AbortController(), new AbortController()];
    const first = ws.prepare(spec({ projectId: 'project_notlinked00', repoUrl: hang.url }), a.signal);
    const second = ws.prepare(spec({ projectId: 'project_notlinked00', repoUrl: hang.url }), b.signal);
    await until(() => hang.connections() > 0, 'the fetch to connect');

    a.abort(new Error('first stopped'));
    await assert.rejects(first, /first stopped/);
    // The second task still waits on the same fetch: it must not have been killed under it.
    assert.equal(hang.connections(), 1, 'one fetch for both tasks');
    assert.ok(gitFor(hang.port).length > 0, 'the shared fetch lives on for the second task');

    b.abort(new Error('second stopped'));
    await assert.rejects(second, /second stopped/);
    await until(() => gitFor(hang.port).length === 0, 'the shared fetch killed once nobody waits on it');
  });

  test('a first clone aborted: nothing half-cloned is left in the cache', async () => {
    const hang = await hangingServer();
    const dir = scratch();
    const cacheDir = join(dir, 'repos');
    const ws = new GitWorkspaces({ worktreeBase: join(dir, 'wt'), repoCacheDir: cacheDir, links: noLinks, log: quiet });
    const ac = new AbortController();
    const prep = ws.prepare(spec({ projectId: 'project_notlinked00', repoUrl: hang.url }), ac.signal);
    await until(() => hang.connections() > 0, 'the clone to connect');
    ac.abort(new Error('stopped'));
    await assert.rejects(prep, { code: 'repo_unavailable' });
    await until(() => gitFor(hang.port).length === 0, 'the clone killed');
    assert.deepEqual(existsSync(cacheDir) ? readdirSync(cacheDir) : [], [], 'no temporary clone folder left');
  });
});
