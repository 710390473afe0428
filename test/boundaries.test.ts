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

const importsOf = (file: string): string[] => [...readFileSync(file, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2] ?? '');

test('the core (main/runner) never imports electron', () => {
  for (const f of files(join(REPO, 'main', 'runner'))) {
    for (const spec of importsOf(f)) assert.ok(spec !== 'electron' && !spec.startsWith('electron/'), `${relative(REPO, f)} imports ${spec}`);
  }
});

test('the renderer imports no Node module and no electron; only types from the contract', () => {
  let dir: string;
  try {
    dir = join(REPO, 'renderer');
    statSync(dir);
  } catch {
    return;
  }
  for (const f of files(dir)) {
    const text = readFileSync(f, 'utf8');
    for (const spec of importsOf(f)) {
      assert.ok(!spec.startsWith('node:') && spec !== 'electron' && !['fs', 'path', 'child_process', 'os', 'net'].includes(spec), `${relative(REPO, f)} imports ${spec}`);
    }
    assert.ok(!/\bipcRenderer\b|\brequire\(/.test(text), `${relative(REPO, f)} reaches for Node/Electron`);
  }
});

test('only the one IPC module touches ipcMain; only the preload touches ipcRenderer/contextBridge', () => {
  for (const f of [...files(join(REPO, 'main')), ...files(join(REPO, 'preload'))]) {
    const rel = relative(REPO, f);
    const text = readFileSync(f, 'utf8').replace(/\/\/.*|\/\*[\s\S]*?\*\//g, '');
    if (/ipcMain\.(handle|on)\(/.test(text)) assert.equal(rel, 'main/desktop/ipc.ts', `${rel} registers IPC`);
    if (/contextBridge|ipcRenderer\./.test(text)) assert.ok(rel === 'preload/index.ts' || rel === 'preload/bridge.ts', `${rel} uses the renderer IPC`);
  }
});
