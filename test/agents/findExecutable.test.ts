import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { findExecutable } from '../../main/runner/agents/detectAgents.ts';
import { tempDir } from '../helpers/tmp.ts';

/** An executable file `name` in `dir`. */
function put(dir: string, name: string): string {
  const file = join(dir, name);
  writeFileSync(file, '');
  chmodSync(file, 0o755);
  return file;
}

test('Windows: an npm-installed agent is found as its .cmd shim, never as the POSIX script beside it', () => {
  const npm = tempDir();
  put(npm, 'claude');
  put(npm, 'claude.ps1');
  const shim = put(npm, 'claude.cmd');
  // Path, as a copied Windows environment spells it; the delimiter is ';'.
  assert.equal(findExecutable('claude', { Path: `C:\\nowhere;${npm}` }, 'win32'), shim);
  assert.equal(findExecutable('claude', { Path: npm, PATHEXT: '.EXE' }, 'win32'), undefined, 'only PATHEXT extensions');
  assert.equal(findExecutable('claude.cmd', { PATH: npm }, 'win32'), shim, 'a name with its extension is taken as it is');
  assert.equal(findExecutable(join(npm, 'claude'), {}, 'win32'), shim, 'an absolute path gets the extensions too');
});

test('Windows: PATHEXT order decides within a folder (.exe before .cmd), PATH order across folders', () => {
  const first = tempDir();
  const second = tempDir();
  const shim = put(first, 'codex.cmd');
  const exe = put(first, 'codex.exe');
  put(second, 'codex.com');
  assert.equal(findExecutable('codex', { PATH: first, PATHEXT: '.COM;.EXE;.BAT;.CMD' }, 'win32'), exe);
  assert.equal(findExecutable('codex', { PATH: first, PATHEXT: '.CMD;.EXE' }, 'win32'), shim);
  assert.equal(findExecutable('codex', { PATH: `${second};${first}` }, 'win32'), join(second, 'codex.com'));
});

test(
  'elsewhere: the name itself on PATH (":"), executable only',
  { skip: process.platform === 'win32' && 'POSIX paths and modes: runs on Linux and macOS' },
  () => {
    const dir = tempDir();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'gemini'), '');
    assert.equal(findExecutable('gemini', { PATH: bin }, 'linux'), undefined, 'not executable');
    const gemini = put(bin, 'gemini');
    put(bin, 'gemini.cmd');
    assert.equal(findExecutable('gemini', { PATH: `/nowhere:${bin}` }, 'linux'), gemini);
    assert.equal(findExecutable('gemini', { Path: bin }, 'linux'), undefined, 'PATH is case-sensitive off Windows');
  },
);
