import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/tmp.ts';

const REPO = join(import.meta.dirname, '..', '..');
const SRC = join(REPO, 'renderer', 'src');
/** The core's shared words: pure, value-import free (lint), so the page may bundle them. */
const VOCABULARY = join(REPO, 'main', 'runner', 'vocabulary.ts');
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
const IMPORT = /^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm;

test('the renderer imports only itself, the shared vocabulary, and the contract as types: no Node, no electron, no zod at run time', () => {
  const problems: string[] = [];
  for (const file of files(SRC)) {
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const [, , typeOnly, spec = ''] = m;
      const where = `${relative(REPO, file)}: ${spec}`;
      if (!spec.startsWith('.')) problems.push(`${where} (not a local module)`);
      else if (!spec.endsWith('.ts')) problems.push(`${where} (local imports end in .ts)`);
      else if (spec.includes('/preload/') && !typeOnly) problems.push(`${where} (the contract is imported as types only)`);
      else if (join(file, '..', spec) === VOCABULARY) continue;
      else if (!spec.includes('/preload/contract.ts') && relative(SRC, join(file, '..', spec)).startsWith('..'))
        problems.push(`${where} (outside renderer/src)`);
    }
  }
  for (const [, , typeOnly, spec = ''] of readFileSync(VOCABULARY, 'utf8').matchAll(IMPORT))
    if (!typeOnly) problems.push(`main/runner/vocabulary.ts: ${spec} (the page bundles it: type imports only)`);
  assert.deepEqual(problems, []);
});

test('the bundle is one self-contained script under the strict CSP', () => {
  const out = tempDir('sibyl-renderer-build-');
  execFileSync(process.execPath, [join(REPO, 'scripts', 'build-renderer.mjs'), out]);
  const js = readFileSync(join(out, 'main.js'), 'utf8');
  assert.doesNotMatch(js, /\brequire\(|\beval\(|new Function\(/);
  assert.doesNotMatch(js, /ZodError|safeParse/, 'zod stays out of the renderer bundle');
  const html = readFileSync(join(out, 'index.html'), 'utf8');
  assert.match(
    html,
    /content="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"/,
  );
  assert.doesNotMatch(html, /<script>|<style>|\sstyle="|\son[a-z]+="/, 'no inline script, style or handler');
  // Deterministic: building again gives the same bytes.
  const again = tempDir('sibyl-renderer-build-');
  execFileSync(process.execPath, [join(REPO, 'scripts', 'build-renderer.mjs'), again]);
  assert.equal(readFileSync(join(again, 'main.js'), 'utf8'), js);
  assert.equal(readFileSync(join(again, 'app.css'), 'utf8'), readFileSync(join(out, 'app.css'), 'utf8'));
});
