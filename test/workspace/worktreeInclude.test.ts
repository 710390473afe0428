import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { commit, git, writeFiles } from '../helpers/gitRepo.ts';
import { setup, spec } from '../helpers/workspaceFixture.ts';

describe('.worktreeinclude', () => {
  test('.worktreeinclude files are copied; symlinks out of the repository are not', async () => {
    const { dir, pair, ws } = await setup();
    commit(pair.checkout, { '.gitignore': '.env\nlocal/\n*.secret\n', '.worktreeinclude': '.env\nlocal/\n*.secret\n' }, 'include rules');
    writeFiles(pair.checkout, { '.env': 'TOKEN=x\n', 'local/settings.json': '{}\n', 'other.log': 'not included\n' });
    writeFileSync(join(dir, 'outside.txt'), 'private');
    symlinkSync(join(dir, 'outside.txt'), join(pair.checkout, 'escape.secret'));
    const w = await ws.prepare(spec({ baseRef: 'main' }));
    assert.equal(readFileSync(join(w.path, '.env'), 'utf8'), 'TOKEN=x\n');
    assert.equal(readFileSync(join(w.path, 'local/settings.json'), 'utf8'), '{}\n');
    assert.equal(existsSync(join(w.path, 'other.log')), false);
    assert.equal(existsSync(join(w.path, 'escape.secret')), false);
    assert.equal((await w.describe()).dirty, false);
    await w.release({ status: 'completed' });
  });
});

/** Commit in a fresh clone of `url`: `change` edits the clone, then everything is committed and pushed. */
function pushChange(url: string, scratchDir: string, change: (clone: string) => void): void {
  const clone = join(scratchDir, 'change');
  git(scratchDir, 'clone', '--quiet', url, clone);
  change(clone);
  git(clone, 'add', '-A');
  git(clone, 'commit', '--quiet', '--no-verify', '-m', 'change');
  git(clone, 'push', '--quiet', 'origin', 'HEAD:main');
}

describe('.worktreeinclude and symlinks in the new worktree (issue 13, case 3)', () => {
  test('a folder that is a symlink out of the worktree: nothing copied, no folder made outside', async () => {
    const { dir, pair, ws } = await setup();
    commit(pair.checkout, { '.gitignore': '.env\n', '.worktreeinclude': '.env\n', 'conf/README': 'settings\n' }, 'conf folder');
    git(pair.checkout, 'push', '--quiet', 'origin', 'HEAD:main');
    writeFiles(pair.checkout, { 'conf/deep/er/.env': 'TOKEN=x\n' });
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    // Upstream replaces conf/ with a symlink leading out; the checkout still has the folder with the untracked .env.
    pushChange(pair.url, dir, (clone) => {
      rmSync(join(clone, 'conf'), { recursive: true });
      symlinkSync(outside, join(clone, 'conf'));
    });
    const w = await ws.prepare(spec());
    assert.equal(lstatSync(join(w.path, 'conf')).isSymbolicLink(), true, 'the worktree has the new symlink');
    assert.deepEqual(readdirSync(outside), [], 'no folder and no file made outside the worktree');
    await w.release({ status: 'completed' });
  });

  test('a copied symlink that would lead out of the worktree (absolute, into the checkout) is not copied', async () => {
    const { pair, ws } = await setup();
    commit(pair.checkout, { '.gitignore': '*.local\n', '.worktreeinclude': '*.local\n' }, 'include rules');
    writeFiles(pair.checkout, { 'real.local': 'x\n' });
    symlinkSync(join(pair.checkout, 'real.local'), join(pair.checkout, 'abs.local'));
    symlinkSync('real.local', join(pair.checkout, 'rel.local'));
    const w = await ws.prepare(spec({ baseRef: 'main' }));
    assert.equal(readFileSync(join(w.path, 'real.local'), 'utf8'), 'x\n');
    assert.equal(readlinkSync(join(w.path, 'rel.local')), 'real.local', 'a relative link inside is copied');
    assert.equal(existsSync(join(w.path, 'abs.local')), false, "a link into the user's checkout is not");
    await w.release({ status: 'completed' });
  });
});
