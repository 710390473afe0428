import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { mirrorDir } from '../../main/runner/workspace/repoCache.ts';
import { git } from '../helpers/gitRepo.ts';
import { setup, spec } from '../helpers/workspaceFixture.ts';

describe('repo_url mirrors', () => {
  test('repo_url: mirrored once, fetched again before the next task', async () => {
    const { pair, ws, dir } = await setup();
    const s1 = spec({ projectId: 'project_notlinked00', repoUrl: pair.url });
    const w1 = await ws.prepare(s1);
    const cache = mirrorDir(join(dir, 'repos'), pair.url);
    assert.ok(existsSync(cache), 'mirror created in the repo cache');
    assert.equal(git(cache, 'rev-parse', '--is-bare-repository'), 'true');
    assert.equal(readFileSync(join(w1.path, 'src/app.txt'), 'utf8'), 'one\ntwo\n');
    const first = (await w1.describe()).base_commit;

    const moved = pair.pushUpstream({ 'src/app.txt': 'one\ntwo\nthree\n' }, 'upstream change');
    const w2 = await ws.prepare(spec({ projectId: 'project_notlinked00', repoUrl: pair.url }));
    const d2 = await w2.describe();
    assert.notEqual(d2.base_commit, first);
    assert.equal(d2.base_commit, moved);
    assert.equal(d2.base_fetched, true);
    assert.equal(readFileSync(join(w2.path, 'src/app.txt'), 'utf8'), 'one\ntwo\nthree\n');
    await w1.release({ status: 'completed' });
    await w2.release({ status: 'completed' });
  });
});
