import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO } from '../helpers/runnerHarness.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * End to end in a real Electron (Playwright's _electron): launch, tray state, window, IPC round
 * trip. Runs where an Electron binary exists (ELECTRON_PATH, or node_modules/electron/dist);
 * the binary downloads on first use, which these machines cannot do, so here it is skipped.
 */
function electronBinary(): string | undefined {
  if (process.env.ELECTRON_PATH && existsSync(process.env.ELECTRON_PATH)) return process.env.ELECTRON_PATH;
  try {
    const pathFile = join(REPO, 'node_modules', 'electron', 'path.txt');
    if (!existsSync(pathFile)) return undefined;
    const bin = createRequire(import.meta.url)('electron') as unknown;
    return typeof bin === 'string' && existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

const binary = electronBinary();

test(
  'Electron end to end: launch, window, IPC round trip',
  {
    skip: binary
      ? false
      : 'no Electron binary here (set ELECTRON_PATH or install one with network access); the shell is covered by test/desktop/desktopApp.test.ts',
  },
  async () => {
    const { _electron } = await import('playwright-core');
    const home = tempDir();
    mkdirSync(join(home, '.config', 'sibyl'), { recursive: true });
    const app = await _electron.launch({
      executablePath: binary!,
      args: [REPO],
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') },
    });
    try {
      const page = await app.firstWindow();
      assert.match(page.url(), /^app:\/\/sibyl\//);
      const state = await page.evaluate(async () =>
        (
          window as unknown as { sibyl: { invoke(c: string, i: unknown): Promise<{ ok: boolean; value: { registered: boolean } }> } }
        ).sibyl.invoke('app:state', {}),
      );
      assert.equal(state.ok, true);
      assert.equal(state.value.registered, false);
      const hasNode = await page.evaluate(
        () =>
          typeof (globalThis as { require?: unknown }).require !== 'undefined' ||
          typeof (globalThis as { process?: unknown }).process !== 'undefined',
      );
      assert.equal(hasNode, false, 'no Node in the renderer');
    } finally {
      await app.close();
    }
  },
);
