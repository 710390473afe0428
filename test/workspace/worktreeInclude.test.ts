import assert from 'node:assert/strict';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { commit, writeFiles } from '../helpers/gitRepo.ts';
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
