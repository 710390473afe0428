import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { REPO } from './helpers/runnerHarness.ts';

function files(dir: string, ext = /\.(ts|tsx|mjs|js)$/): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p, ext));
    else if (ext.test(name)) out.push(p);
  }
  return out;
}

// Import rules between layers are lint rules (eslint.config.js, proven by test/lint/layers.test.ts);
// what lint cannot see is checked here.
test('the renderer reaches for no Node or Electron global', () => {
  for (const f of files(join(REPO, 'renderer'))) {
    const text = readFileSync(f, 'utf8');
    assert.ok(!/\bipcRenderer\b|\brequire\(|\bprocess\.env\b/.test(text), `${relative(REPO, f)} reaches for Node/Electron`);
  }
});

test('only the one IPC module touches ipcMain; only the preload touches ipcRenderer/contextBridge', () => {
  for (const f of [...files(join(REPO, 'main')), ...files(join(REPO, 'preload'))]) {
    const rel = relative(REPO, f);
    const text = readFileSync(f, 'utf8').replace(/\/\/.*|\/\*[\s\S]*?\*\//g, '');
    if (/ipcMain\.(handle|on)\(/.test(text)) assert.equal(rel, 'main/desktop/ipc.ts', `${rel} registers IPC`);
    if (/contextBridge|ipcRenderer\./.test(text))
      assert.ok(rel === 'preload/index.ts' || rel === 'preload/bridge.ts', `${rel} uses the renderer IPC`);
  }
});
